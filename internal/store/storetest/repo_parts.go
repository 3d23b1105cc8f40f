package storetest

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// testRepoChangeParts: what a change or create may carry besides its
// record — other records' audit events and a detail — a change that deletes
// the record, a hidden record that stays NOT_FOUND whatever etag was sent,
// and a page that keep ends early.
func testRepoChangeParts(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	md := widgetSchema(t, false)
	r := widgetRepo(t, s, ns, md)
	m := newWidget(md, "a")
	setString(m, "name", "widgets/w")
	if _, _, err := r.Create(t.Context(), &repo.Entry[widget]{Ref: ref(ns, "w"), Msg: m}, repo.Create{
		Actor: "ann", Action: "CreateWidget", Detail: "from a form",
		Events: []store.Event{{Actor: "ann", Action: "NoteWidget", Key: "widgets/other"}},
	}); err != nil {
		t.Fatal(err)
	}
	evs := events(t, s, ns, 0, 10)
	if len(evs) != 2 || evs[0].Detail != "from a form" || evs[1].Action != "NoteWidget" || evs[1].Key != "widgets/other" {
		t.Errorf("create events %+v, want CreateWidget with its detail, then NoteWidget", evs)
	}

	hidden := errors.New("hidden")
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "7", "bo", func(*repo.Entry[widget], time.Time) (repo.Change, error) {
		return repo.Change{}, status.Error(codes.NotFound, "widget widgets/w not found")
	}); status.Code(err) != codes.NotFound {
		t.Errorf("a record the caller may not see, with a stale etag: %v, want NOT_FOUND", err)
	}
	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "", "bo", func(*repo.Entry[widget], time.Time) (repo.Change, error) {
		return repo.Change{}, hidden
	}); !errors.Is(err, hidden) {
		t.Errorf("the rule's own error: %v", err)
	}

	for _, id := range []string{"x1", "x2", "x3"} {
		create(t, r, ns, id, newWidget(md, "b"+id), nil)
	}
	var seen []string
	next, err := r.List(t.Context(), ns.Region, repo.Page[widget]{Plan: filter.Plan[widget]{Query: store.Query{Index: "widgets"}}, Size: 10},
		func(e *repo.Entry[widget]) (bool, error) {
			seen = append(seen, e.Ref.Key)
			if len(seen) == 2 {
				return true, repo.Full
			}
			return true, nil
		})
	if err != nil || len(seen) != 2 || next == "" {
		t.Errorf("a page that keep ended after 2: %v, next %q, %v", seen, next, err)
	}

	if _, _, err := r.Update(t.Context(), ref(ns, "w"), "1", "bo", func(*repo.Entry[widget], time.Time) (repo.Change, error) {
		return repo.Change{Action: "DeleteWidget", Delete: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(t.Context(), ref(ns, "w")); status.Code(err) != codes.NotFound {
		t.Errorf("after the delete: %v, want NOT_FOUND", err)
	}
	wantScan(t, s, ns, store.Query{Index: "widgets", Prefix: "a"}, nil)
	evs = events(t, s, ns, 0, 20)
	if last := evs[len(evs)-1]; last.Action != "DeleteWidget" || last.EtagBefore != "1" || last.EtagAfter != "2" {
		t.Errorf("delete event %+v", last)
	}

	// What the service keeps beside the resource: read from the members
	// of a legacy record, written in the envelope, and kept by a replica
	// whose schema of the resource is newer.
	side := func() proto.Message { return &descriptorpb.FileDescriptorProto{} }
	withSide := widgetRepo(t, s, ns, md, func(c *repo.Config[widget]) { c.Side = side })
	newer := widgetRepo(t, s, ns, widgetSchema(t, true), func(c *repo.Config[widget]) { c.Side = side })
	commit(t, s, ns, store.Write{Puts: []store.Put{put("widget/side", `{"owner":"cy","widget":{"name":"widgets/side","title":"p"},"package":"beside"}`, 0, ix("widgets", "p"))}})
	e, err := withSide.Get(t.Context(), ref(ns, "side"))
	if err != nil || e.Side.(*descriptorpb.FileDescriptorProto).GetPackage() != "beside" || e.Owner != "cy" {
		t.Fatalf("a legacy record's members beside the resource: %+v, %v", e, err)
	}
	if _, _, err := newer.Update(t.Context(), ref(ns, "side"), "1", "bo", retitle("q")); err != nil {
		t.Fatal(err)
	}
	e, err = withSide.Get(t.Context(), ref(ns, "side"))
	if err != nil || e.Side.(*descriptorpb.FileDescriptorProto).GetPackage() != "beside" || getString(e.Msg, "title") != "q" {
		t.Errorf("after a change: side %v title %q, %v", e.Side, getString(e.Msg, "title"), err)
	}
}
