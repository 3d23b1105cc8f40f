package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// The repository is tested on a Widget, built at run time in two schema
// versions: v2 adds the field colour, as a newer replica's schema would.
type widget = *dynamicpb.Message

func widgetSchema(t testing.TB, withColour bool) protoreflect.MessageDescriptor {
	t.Helper()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fields := []*descriptorpb.FieldDescriptorProto{
		{Name: proto.String("name"), Number: proto.Int32(1), Type: str, Label: opt, JsonName: proto.String("name")},
		{Name: proto.String("title"), Number: proto.Int32(2), Type: str, Label: opt, JsonName: proto.String("title")},
		{Name: proto.String("tags"), Number: proto.Int32(3), Type: str, Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(), JsonName: proto.String("tags")},
		{Name: proto.String("etag"), Number: proto.Int32(4), Type: str, Label: opt, JsonName: proto.String("etag")},
		{Name: proto.String("update_time"), Number: proto.Int32(5), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".google.protobuf.Timestamp"), Label: opt, JsonName: proto.String("updateTime")},
	}
	file := "storetest/widget_v1.proto"
	if withColour {
		fields = append(fields, &descriptorpb.FieldDescriptorProto{Name: proto.String("colour"), Number: proto.Int32(6), Type: str, Label: opt, JsonName: proto.String("colour")})
		file = "storetest/widget_v2.proto"
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String(file), Package: proto.String("storetest.v1"), Syntax: proto.String("proto3"),
		Dependency:  []string{"google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Widget"), Field: fields}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Widget")
}

func getString(m widget, field string) string {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(field))).String()
}

func setString(m widget, field, v string) {
	m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOfString(v))
}

func tagsOf(m widget) []string {
	l := m.Get(m.Descriptor().Fields().ByName("tags")).List()
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.Get(i).String()
	}
	return out
}

func newWidget(md protoreflect.MessageDescriptor, title string, tags ...string) widget {
	m := dynamicpb.NewMessage(md)
	setString(m, "title", title)
	l := m.Mutable(md.Fields().ByName("tags")).List()
	for _, tag := range tags {
		l.Append(protoreflect.ValueOfString(tag))
	}
	return m
}

func widgetRepo(t testing.TB, s store.Store, ns store.Namespace, md protoreflect.MessageDescriptor, configure ...func(*repo.Config[widget])) *repo.Repo[widget] {
	cfg := repo.Config[widget]{
		Store: s, Service: ns.Service, Domain: errs.Domain("test.motor"), Kind: "widget",
		New: func() widget { return dynamicpb.NewMessage(md) },
		Index: func(e *repo.Entry[widget]) []store.IndexEntry {
			out := []store.IndexEntry{{Index: "widgets", Term: getString(e.Msg, "title")}}
			for _, tag := range tagsOf(e.Msg) {
				out = append(out, store.IndexEntry{Index: "widget_tag", Term: tag + "/" + getString(e.Msg, "title")})
			}
			return out
		},
		Legacy: repo.Legacy{Wrapped: "widget"},
	}
	for _, c := range configure {
		c(&cfg)
	}
	return repo.New(cfg)
}

func ref(ns store.Namespace, id string) repo.Ref {
	return repo.Ref{Region: ns.Region, Key: "widget/" + id, Name: "widgets/" + id}
}

func create(t testing.TB, r *repo.Repo[widget], ns store.Namespace, id string, m widget, req *repo.Request) (*repo.Entry[widget], bool) {
	t.Helper()
	setString(m, "name", "widgets/"+id)
	e, replayed, err := r.Create(context.Background(), &repo.Entry[widget]{Ref: ref(ns, id), Msg: m, Owner: "ann"}, repo.Create{Actor: "ann", Action: "CreateWidget", Request: req})
	if err != nil {
		t.Fatalf("Create %s: %v", id, err)
	}
	return e, replayed
}

func retitle(title string) func(e *repo.Entry[widget], _ time.Time) (repo.Change, error) {
	return func(e *repo.Entry[widget], _ time.Time) (repo.Change, error) {
		setString(e.Msg, "title", title)
		return repo.Change{Action: "RetitleWidget"}, nil
	}
}

// testRepoRollingUpgrade: a record written by a newer schema is read,
// changed and written back by the current one, and the newer field is
// still there for the newer replica.
func testRepoRollingUpgrade(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	v1, v2 := widgetSchema(t, false), widgetSchema(t, true)
	older, newer := widgetRepo(t, s, ns, v1), widgetRepo(t, s, ns, v2)
	m := newWidget(v2, "pump", "red")
	setString(m, "colour", "blue")
	create(t, newer, ns, "w1", m, nil)

	got, err := older.Get(t.Context(), ref(ns, "w1"))
	if err != nil {
		t.Fatalf("older replica reads the newer record: %v", err)
	}
	if getString(got.Msg, "title") != "pump" {
		t.Errorf("older replica read title %q", getString(got.Msg, "title"))
	}
	if _, _, err := older.Update(t.Context(), ref(ns, "w1"), got.Etag(), "bo", retitle("infusion pump")); err != nil {
		t.Fatalf("older replica updates: %v", err)
	}
	after, err := newer.Get(t.Context(), ref(ns, "w1"))
	if err != nil {
		t.Fatal(err)
	}
	if c, title := getString(after.Msg, "colour"), getString(after.Msg, "title"); c != "blue" || title != "infusion pump" {
		t.Errorf("after the older replica's write: colour %q, title %q; want blue, infusion pump", c, title)
	}
	if after.Owner != "ann" || after.Etag() != "2" {
		t.Errorf("owner %q etag %s, want ann 2", after.Owner, after.Etag())
	}
}

// testRepoLegacyRecord: a record stored as protojson by code before the
// envelope is read, and rewritten in the envelope on its next change.
func testRepoLegacyRecord(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	legacy := `{"owner":"ann","children":2,"widget":{"name":"widgets/old","title":"old pump","tags":["red"],"updateTime":"2025-01-02T03:04:05Z"}}`
	commit(t, s, ns, store.Write{Puts: []store.Put{put("widget/old", legacy, 0, ix("widgets", "old pump"))}})

	e, err := r.Get(t.Context(), ref(ns, "old"))
	if err != nil {
		t.Fatalf("Get of a legacy record: %v", err)
	}
	if getString(e.Msg, "title") != "old pump" || e.Owner != "ann" || e.Count("children") != 2 || getString(e.Msg, "etag") != "1" {
		t.Fatalf("legacy record read as title %q owner %q children %d etag %q", getString(e.Msg, "title"), e.Owner, e.Count("children"), getString(e.Msg, "etag"))
	}
	if _, _, err := r.Update(t.Context(), ref(ns, "old"), "1", "bo", retitle("new pump")); err != nil {
		t.Fatal(err)
	}
	raw := get(t, s, ns, "widget/old")
	if strings.HasPrefix(string(raw.Value), "{") {
		t.Errorf("record still protojson after its change: %s", raw.Value)
	}
	e, err = r.Get(t.Context(), ref(ns, "old"))
	if err != nil {
		t.Fatal(err)
	}
	if getString(e.Msg, "title") != "new pump" || e.Owner != "ann" || e.Count("children") != 2 || len(tagsOf(e.Msg)) != 1 {
		t.Errorf("rewritten record: title %q owner %q children %d tags %v", getString(e.Msg, "title"), e.Owner, e.Count("children"), tagsOf(e.Msg))
	}
	// The index entries are today's: the tag index did not exist before.
	wantScan(t, s, ns, store.Query{Index: "widget_tag"}, []hit{{"red/new pump", "widget/old", string(raw.Value), 2}})
}

// testRepoEtag: a stale etag is ABORTED naming the current one, also when
// the rules would refuse the change; the audit event names both etags.
func testRepoEtag(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	create(t, r, ns, "w", newWidget(md, "a"), nil)
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "1", "bo", retitle("b")); err != nil {
		t.Fatal(err)
	}
	refuse := func(*repo.Entry[widget], time.Time) (repo.Change, error) {
		return repo.Change{}, status.Error(codes.FailedPrecondition, "no")
	}
	for name, apply := range map[string]func(*repo.Entry[widget], time.Time) (repo.Change, error){"change": retitle("c"), "refused change": refuse} {
		_, _, err := r.Update(t.Context(), ref(ns, "w"), "1", "bo", apply)
		if status.Code(err) != codes.Aborted || !strings.Contains(status.Convert(err).Message(), "etag is now 2") {
			t.Errorf("%s with a stale etag: %v, want ABORTED naming etag 2", name, err)
		}
	}
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "", "bo", refuse); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("refused change: %v, want the rule's error", err)
	}
	_, _, err := r.Update(t.Context(), ref(ns, "missing"), "", "bo", retitle("x"))
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "widget widgets/missing not found") {
		t.Errorf("update of a missing record: %v", err)
	}
	// The etag is derived, never stored: the stored record has none, and
	// encoding an entry leaves the entry's etag as it was.
	e, err := r.Get(t.Context(), ref(ns, "w"))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := r.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if getString(e.Msg, "etag") != "2" {
		t.Errorf("after Encode the entry's etag is %q, want 2", getString(e.Msg, "etag"))
	}
	for _, value := range [][]byte{enc, get(t, s, ns, "widget/w").Value} {
		if etag := storedEtag(t, md, value); etag != "" {
			t.Errorf("etag %q stored in the record", etag)
		}
	}
	evs := events(t, s, ns, 0, 10)
	if len(evs) != 2 || evs[1].Action != "RetitleWidget" || evs[1].EtagBefore != "1" || evs[1].EtagAfter != "2" || evs[1].Key != "widgets/w" || evs[1].Actor != "bo" {
		t.Errorf("audit events %+v, want CreateWidget then RetitleWidget 1→2 by bo", evs)
	}
}

// testRepoConcurrentUpdates: changes without an etag all land, each
// applied to the record as the one before left it.
func testRepoConcurrentUpdates(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md, func(c *repo.Config[widget]) { c.Attempts = 50 })
	create(t, r, ns, "w", newWidget(md, "a"), nil)
	const writers = 8
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			_, _, err := r.Update(context.Background(), ref(ns, "w"), "", "bo", func(e *repo.Entry[widget], _ time.Time) (repo.Change, error) {
				e.Incr("hits")
				return repo.Change{Action: "Hit"}, nil
			})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Error(err)
		}
	}
	e, err := r.Get(t.Context(), ref(ns, "w"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Count("hits") != writers || e.Version != writers+1 {
		t.Errorf("hits %d at version %d, want %d at %d", e.Count("hits"), e.Version, writers, writers+1)
	}
}

// testRepoIdempotentCreate: a retry gets the first record; the same
// request_id with another body is ALREADY_EXISTS; another caller's same
// request_id is their own; keys expire and are forgotten with the person.
func testRepoIdempotentCreate(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md, func(c *repo.Config[widget]) { c.IdempotencyTTL = time.Hour })
	short := widgetRepo(t, s, ns, md, func(c *repo.Config[widget]) { c.IdempotencyTTL = 20 * time.Millisecond })
	body := newWidget(md, "a")
	req := func(sub, id string, b proto.Message) *repo.Request {
		return &repo.Request{ID: id, Subject: sub, Body: b, Kind: "create"}
	}
	first, replayed := create(t, r, ns, "w1", newWidget(md, "a"), req("ann", "r1", body))
	if replayed {
		t.Fatal("first create replayed")
	}
	again, replayed := create(t, r, ns, "w2", newWidget(md, "a"), req("ann", "r1", body))
	if !replayed || again.Ref.Name != first.Ref.Name || again.Etag() != "1" {
		t.Errorf("retry: replayed %v name %s, want the first record %s", replayed, again.Ref.Name, first.Ref.Name)
	}
	_, _, err := r.Create(t.Context(), &repo.Entry[widget]{Ref: ref(ns, "w3"), Msg: newWidget(md, "b")}, repo.Create{Actor: "ann", Request: req("ann", "r1", newWidget(md, "b"))})
	if status.Code(err) != codes.AlreadyExists {
		t.Errorf("same request_id, other body: %v, want ALREADY_EXISTS", err)
	}
	if _, replayed := create(t, r, ns, "w4", newWidget(md, "a"), req("bo", "r1", body)); replayed {
		t.Error("another caller's request_id replayed ann's create")
	}
	// Raw subjects never reach the store's keys.
	if strings.Contains(repo.SubjectHash("ann"), "ann") || repo.SubjectHash("ann") == repo.SubjectHash("bo") {
		t.Error("SubjectHash does not hide or separate subjects")
	}
	if err := r.Forget(t.Context(), ns.Region, "ann"); err != nil {
		t.Fatal(err)
	}
	if _, replayed := create(t, r, ns, "w5", newWidget(md, "a"), req("ann", "r1", body)); replayed {
		t.Error("request_id still answered after the person was forgotten")
	}
	if _, replayed := create(t, r, ns, "w6", newWidget(md, "a"), req("bo", "r1", body)); !replayed {
		t.Error("forgetting ann forgot bo's request_id too")
	}
	create(t, short, ns, "w7", newWidget(md, "a"), req("cy", "r1", body))
	time.Sleep(300 * time.Millisecond)
	if _, replayed := create(t, short, ns, "w8", newWidget(md, "a"), req("cy", "r1", body)); replayed {
		t.Error("request_id answered after its TTL")
	}
}

// testRepoList: a filter on a tag is planned onto the tag index, pages are
// bounded and continue where they stopped, and keep decides access.
func testRepoList(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	for i, tags := range [][]string{{"red"}, {"blue"}, {"red", "blue"}, {"red"}, {"red"}, {"green"}} {
		create(t, r, ns, fmt.Sprintf("w%d", i), newWidget(md, fmt.Sprintf("t%d", i), tags...), nil)
	}
	fields := []filter.Field[widget]{{
		Name: "tags", Repeated: true, Get: tagsOf,
		Index: func(v string) (store.Query, bool) { return store.Query{Index: "widget_tag", Prefix: v + "/"}, true },
	}, {Name: "title", Get: func(m widget) []string { return []string{getString(m, "title")} }}}
	plan, err := filter.Compile("tags : red AND title != t3", store.Query{Index: "widgets"}, fields)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Query.Index != "widget_tag" {
		t.Fatalf("planned onto %s, want widget_tag", plan.Query.Index)
	}
	got := listPages(t, r, ns, repo.Page[widget]{Plan: plan, Size: 1, Digest: "q"}, func(e *repo.Entry[widget]) bool {
		if getString(e.Msg, "etag") != "1" {
			t.Errorf("listed %s without its etag", e.Ref.Key)
		}
		return getString(e.Msg, "title") != "t4" // the caller may not see it
	})
	if strings.Join(got, ",") != "t0,t2" {
		t.Errorf("listed %v, want t0,t2", got)
	}

	// A union of the red and the blue widgets, in title order, t2 (both
	// colours) once, over pages of two.
	union := []store.Query{{Index: "widget_tag", Prefix: "red/"}, {Index: "widget_tag", Prefix: "blue/"}}
	got = listPages(t, r, ns, repo.Page[widget]{Union: union, Size: 2, Digest: "u"}, func(*repo.Entry[widget]) bool { return true })
	if strings.Join(got, ",") != "t0,t1,t2,t3,t4" {
		t.Errorf("union listed %v, want t0,t1,t2,t3,t4", got)
	}

	// The same union reversed: highest title first, t2 still once.
	for i := range union {
		union[i].Reverse = true
	}
	got = listPages(t, r, ns, repo.Page[widget]{Union: union, Size: 2, Digest: "u"}, func(*repo.Entry[widget]) bool { return true })
	if strings.Join(got, ",") != "t4,t3,t2,t1,t0" {
		t.Errorf("reversed union listed %v, want t4,t3,t2,t1,t0", got)
	}
	// A reversed plan, filtered, over pages of one.
	plan.Query.Reverse = true
	got = listPages(t, r, ns, repo.Page[widget]{Plan: plan, Size: 1, Digest: "q"}, func(*repo.Entry[widget]) bool { return true })
	if strings.Join(got, ",") != "t4,t2,t0" {
		t.Errorf("reversed list %v, want t4,t2,t0", got)
	}
}

// listPages follows a list's page tokens to its end and returns the titles
// kept, in order.
func listPages(t *testing.T, r *repo.Repo[widget], ns store.Namespace, page repo.Page[widget], keep func(*repo.Entry[widget]) bool) []string {
	t.Helper()
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		var v errs.Violations
		page.After = resource.DecodeToken(&v, token, page.Digest)
		if v.Len() > 0 {
			t.Fatalf("token %q refused", token)
		}
		next, err := r.List(t.Context(), ns.Region, page, func(e *repo.Entry[widget]) (bool, error) {
			if !keep(e) {
				return false, nil
			}
			got = append(got, getString(e.Msg, "title"))
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if token = next; token == "" {
			return got
		}
	}
}

// testRepoRewrite: Rewrite brings the records earlier code stored onto
// today's form and indexes, once, and leaves current records alone.
func testRepoRewrite(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	for _, id := range []string{"a", "b", "c"} {
		legacy := `{"owner":"ann","widget":{"name":"widgets/` + id + `","title":"` + id + `","tags":["red"]}}`
		commit(t, s, ns, store.Write{Puts: []store.Put{put("widget/"+id, legacy, 0, ix("widgets", id))}})
	}
	create(t, r, ns, "d", newWidget(md, "d", "red"), nil)
	name := func(key string) string { return "widgets/" + strings.TrimPrefix(key, "widget/") }
	n, err := r.Rewrite(t.Context(), ns.Region, "widgets", name)
	if err != nil || n != 3 {
		t.Fatalf("Rewrite = %d, %v; want 3 records rewritten", n, err)
	}
	if n, err := r.Rewrite(t.Context(), ns.Region, "widgets", name); err != nil || n != 0 {
		t.Errorf("second Rewrite = %d, %v; want nothing to do", n, err)
	}
	var keys []string
	for _, h := range scanAll(t, s, ns, store.Query{Index: "widget_tag"}) {
		keys = append(keys, h.Key)
		if strings.HasPrefix(h.Value, "{") {
			t.Errorf("%s still protojson", h.Key)
		}
	}
	if strings.Join(keys, ",") != "widget/a,widget/b,widget/c,widget/d" {
		t.Errorf("tag index holds %v, want all four widgets", keys)
	}
	e, err := r.Get(t.Context(), ref(ns, "b"))
	if err != nil || e.Owner != "ann" || e.Etag() != "2" {
		t.Errorf("rewritten b: %+v, %v", e, err)
	}
	evs := events(t, s, ns, 0, 10)
	if len(evs) != 4 || evs[1].Action != "RewriteRecord" || evs[1].Key != "widgets/a" {
		t.Errorf("events %+v, want a create and three rewrites", evs)
	}
}

// testRepoReindex: Reindex puts the records an earlier code indexed
// without a new index onto it, once, and leaves indexed records alone.
func testRepoReindex(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	old := widgetRepo(t, s, ns, md)
	for _, id := range []string{"a", "b", "c"} {
		create(t, old, ns, id, newWidget(md, id, "red"), nil)
	}
	withLength := func(cfg *repo.Config[widget]) {
		index := cfg.Index
		cfg.Index = func(e *repo.Entry[widget]) []store.IndexEntry {
			return append(index(e), store.IndexEntry{Index: "widget_length", Term: fmt.Sprint(len(getString(e.Msg, "title")))})
		}
	}
	r := widgetRepo(t, s, ns, md, withLength)
	create(t, r, ns, "d", newWidget(md, "dd", "red"), nil)
	name := func(key string) string { return "widgets/" + strings.TrimPrefix(key, "widget/") }
	n, err := r.Reindex(t.Context(), ns.Region, "widgets", "widget_length", name)
	if err != nil || n != 3 {
		t.Fatalf("Reindex = %d, %v; want 3 records indexed", n, err)
	}
	if n, err := r.Reindex(t.Context(), ns.Region, "widgets", "widget_length", name); err != nil || n != 0 {
		t.Errorf("second Reindex = %d, %v; want nothing to do", n, err)
	}
	var keys []string
	for _, h := range scanAll(t, s, ns, store.Query{Index: "widget_length"}) {
		keys = append(keys, h.Key)
	}
	if strings.Join(keys, ",") != "widget/a,widget/b,widget/c,widget/d" {
		t.Errorf("new index holds %v, want all four widgets", keys)
	}
	if e, err := r.Get(t.Context(), ref(ns, "b")); err != nil || e.Etag() != "2" || getString(e.Msg, "title") != "b" {
		t.Errorf("reindexed b: %+v, %v", e, err)
	}
	if e, err := r.Get(t.Context(), ref(ns, "d")); err != nil || e.Etag() != "1" {
		t.Errorf("d, indexed when created, was rewritten: %+v, %v", e, err)
	}
}

// testRepoIdempotentChange: a change with a request_id is made once; its
// retry writes nothing and gets the first try's result.
func testRepoIdempotentChange(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	create(t, r, ns, "w", newWidget(md, "a"), nil)
	body := newWidget(md, "part")
	addPart := func(e *repo.Entry[widget], _ time.Time) (repo.Change, error) {
		n := e.Incr("parts")
		return repo.Change{
			Action:  "AddPart",
			Puts:    []store.Put{put(fmt.Sprintf("part/%d", n), "p", 0)},
			Request: &repo.Request{ID: "r1", Subject: "ann", Kind: "part", Body: body},
			Result:  fmt.Sprintf("parts/%d", n),
		}, nil
	}
	first, out, err := r.Update(t.Context(), ref(ns, "w"), "", "ann", addPart)
	if err != nil || out.Replayed || first.Etag() != "2" {
		t.Fatalf("first change: %v, %+v, etag %s", err, out, first.Etag())
	}
	again, out, err := r.Update(t.Context(), ref(ns, "w"), "", "ann", addPart)
	if err != nil || !out.Replayed || out.Result != "parts/1" {
		t.Fatalf("retry: %v, %+v; want a replay of parts/1", err, out)
	}
	if again.Etag() != "2" || again.Count("parts") != 1 {
		t.Errorf("after the retry: etag %s, parts %d; want 2 and 1", again.Etag(), again.Count("parts"))
	}
	wantMissing(t, s, ns, "part/2")
}

// testRepoAuditOfOtherRecords: a create's detail, the events of the other
// records a change writes, and a quiet change, which writes no event.
func testRepoAuditOfOtherRecords(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	m := newWidget(md, "a")
	setString(m, "name", "widgets/w")
	if _, _, err := r.Create(t.Context(), &repo.Entry[widget]{Ref: ref(ns, "w"), Msg: m}, repo.Create{Actor: "ann", Action: "CreateWidget", Detail: "one of two"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "1", "ann", func(e *repo.Entry[widget], now time.Time) (repo.Change, error) {
		setString(e.Msg, "title", "b")
		return repo.Change{
			Action: "PairWidget", Puts: []store.Put{put("part/1", "p", 0)},
			Events: []store.Event{{Time: now, Actor: "ann", Action: "PairWidget", Key: "parts/1", EtagAfter: "1"}},
		}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "2", "ann", func(e *repo.Entry[widget], _ time.Time) (repo.Change, error) {
		return repo.Change{Action: "RefreshWidget", Quiet: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := r.Get(t.Context(), ref(ns, "w"))
	if err != nil || after.Etag() != "3" {
		t.Fatalf("after the quiet change: %v, %v; want etag 3", after, err)
	}
	evs, err := s.Events(t.Context(), ns, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s %s %s→%s %s", ev.Action, ev.Key, ev.EtagBefore, ev.EtagAfter, ev.Detail))
	}
	want := []string{"CreateWidget widgets/w →1 one of two", "PairWidget widgets/w 1→2 ", "PairWidget parts/1 →1 "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit events %q, want %q", got, want)
	}
}

// storedEtag reads the etag field of the resource inside a stored envelope
// (field 2), bypassing the repository, which sets it on every read.
func storedEtag(t *testing.T, md protoreflect.MessageDescriptor, value []byte) string {
	t.Helper()
	for b := value; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("envelope: %v", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatalf("envelope: %v", protowire.ParseError(m))
		}
		if num == 2 && typ == protowire.BytesType {
			body, _ := protowire.ConsumeBytes(b[n : n+m])
			msg := dynamicpb.NewMessage(md)
			if err := proto.Unmarshal(body, msg); err != nil {
				t.Fatal(err)
			}
			return getString(msg, "etag")
		}
		b = b[n+m:]
	}
	t.Fatal("envelope without a resource")
	return ""
}
