// Package storetest owns the conformance suite every store.Store backend must
// pass. Backends differ in how they reach atomicity (a bbolt transaction, a
// Redis Lua script); the suite pins down the behaviour services rely on so
// that the choice of backend is invisible to them.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/innovationsmotorer/motor/internal/store"
)

// Run runs the conformance suite. open must return a ready store and arrange
// its Close with t.Cleanup. Every subtest calls open once and works in
// namespaces derived from its own name, so backends may hand out stores that
// share one server.
func Run(t *testing.T, open func(t testing.TB) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"Create", testCreate},
		{"CompareAndSet", testCompareAndSet},
		{"Delete", testDelete},
		{"MultiPutAtomicity", testMultiPutAtomicity},
		{"IndexMaintenance", testIndexMaintenance},
		{"IndexOrdering", testIndexOrdering},
		{"IndexPrefix", testIndexPrefix},
		{"Count", testCount},
		{"Intersection", testIntersection},
		{"IntersectionSparse", testIntersectionSparse},
		{"Pagination", testPagination},
		{"ReverseScan", testReverseScan},
		{"PaginationDefaultLimit", testPaginationDefaultLimit},
		{"CursorAfterDeletedItem", testCursorAfterDeletedItem},
		{"IdempotentReplay", testIdempotentReplay},
		{"IdempotencyMismatch", testIdempotencyMismatch},
		{"IdempotencyExpires", testIdempotencyExpires},
		{"ForgetIdempotency", testForgetIdempotency},
		{"Events", testEvents},
		{"EventsOnlyWrite", testEventsOnlyWrite},
		{"EventsBefore", testEventsBefore},
		{"RedactActor", testRedactActor},
		{"NamespacesIsolated", testNamespacesIsolated},
		{"BinaryValues", testBinaryValues},
		{"ReturnedValuesAreCopies", testReturnedValuesAreCopies},
		{"InvalidWrites", testInvalidWrites},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentCompareAndSet", testConcurrentCompareAndSet},
		{"ConcurrentIdempotentCreate", testConcurrentIdempotentCreate},
		{"RepoRollingUpgrade", testRepoRollingUpgrade},
		{"RepoLegacyRecord", testRepoLegacyRecord},
		{"RepoEtag", testRepoEtag},
		{"RepoConcurrentUpdates", testRepoConcurrentUpdates},
		{"RepoIdempotentCreate", testRepoIdempotentCreate},
		{"RepoList", testRepoList},
		{"RepoRewrite", testRepoRewrite},
		{"RepoReindex", testRepoReindex},
		{"RepoIdempotentChange", testRepoIdempotentChange},
		{"RepoChangeParts", testRepoChangeParts},
		{"RepoAuditOfOtherRecords", testRepoAuditOfOtherRecords},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// equateEmpty treats nil and empty slices alike: backends legitimately
// differ in whether an empty value comes back as nil.
func equateEmpty() cmp.Option { return cmpopts.EquateEmpty() }

// nsFor derives a namespace from the test name so that subtests sharing a
// server never see each other's data.
func nsFor(t testing.TB, suffix string) store.Namespace {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == '/':
			return r
		}
		return '_'
	}, t.Name())
	return store.Namespace{Service: name, Region: "r" + suffix}
}

func commit(t testing.TB, s store.Store, ns store.Namespace, w store.Write) store.WriteResult {
	t.Helper()
	res, err := s.Commit(t.Context(), ns, w)
	if err != nil {
		t.Fatalf("Commit(%s): %v", ns, err)
	}
	return res
}

func get(t testing.TB, s store.Store, ns store.Namespace, key string) store.Record {
	t.Helper()
	rec, err := s.Get(t.Context(), ns, key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", ns, key, err)
	}
	return rec
}

func wantRecord(t testing.TB, s store.Store, ns store.Namespace, want store.Record) {
	t.Helper()
	got := get(t, s, ns, want.Key)
	if diff := cmp.Diff(want, got, equateEmpty()); diff != "" {
		t.Errorf("Get(%q) mismatch (-want +got):\n%s", want.Key, diff)
	}
}

func wantMissing(t testing.TB, s store.Store, ns store.Namespace, key string) {
	t.Helper()
	if rec, err := s.Get(t.Context(), ns, key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(%q) = %+v, %v; want ErrNotFound", key, rec, err)
	}
}

func put(key, value string, version int64, index ...store.IndexEntry) store.Put {
	return store.Put{Key: key, Value: []byte(value), Version: version, Index: index}
}

func ix(index, term string) store.IndexEntry { return store.IndexEntry{Index: index, Term: term} }

// hit is the comparable essence of a scan item.
type hit struct {
	Term    string
	Key     string
	Value   string
	Version int64
}

func hits(items []store.Item) []hit {
	var out []hit
	for _, it := range items {
		out = append(out, hit{it.Term, it.Record.Key, string(it.Record.Value), it.Record.Version})
	}
	return out
}

// scanAll follows cursors to the end and checks every page's More flag.
func scanAll(t testing.TB, s store.Store, ns store.Namespace, q store.Query) []hit {
	t.Helper()
	var all []store.Item
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("Scan(%+v) does not terminate", q)
		}
		page, err := s.Scan(t.Context(), ns, q)
		if err != nil {
			t.Fatalf("Scan(%s, %+v): %v", ns, q, err)
		}
		all = append(all, page.Items...)
		if !page.More {
			break
		}
		if len(page.Items) == 0 {
			t.Fatalf("Scan(%+v): More without items", q)
		}
		q.After = page.Items[len(page.Items)-1].Cursor
	}
	return hits(all)
}

func wantScan(t testing.TB, s store.Store, ns store.Namespace, q store.Query, want []hit) {
	t.Helper()
	if diff := cmp.Diff(want, scanAll(t, s, ns, q), equateEmpty()); diff != "" {
		t.Errorf("Scan(%+v) mismatch (-want +got):\n%s", q, diff)
	}
}

func events(t testing.TB, s store.Store, ns store.Namespace, after int64, limit int) []store.Event {
	t.Helper()
	evs, err := s.Events(t.Context(), ns, after, limit)
	if err != nil {
		t.Fatalf("Events(%s, %d, %d): %v", ns, after, limit, err)
	}
	return evs
}

func testGetMissing(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	wantMissing(t, s, ns, "nothing-here")
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testCreate(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	res := commit(t, s, ns, store.Write{Puts: []store.Put{put("a", "one", 0)}})
	if diff := cmp.Diff(store.WriteResult{Versions: []int64{1}}, res, equateEmpty()); diff != "" {
		t.Errorf("create result mismatch (-want +got):\n%s", diff)
	}
	wantRecord(t, s, ns, store.Record{Key: "a", Value: []byte("one"), Version: 1})

	_, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{put("a", "two", 0)}})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: err = %v, want ErrExists", err)
	}
	wantRecord(t, s, ns, store.Record{Key: "a", Value: []byte("one"), Version: 1})

	// An empty value is a value, not an absence.
	commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "empty", Version: 0}}})
	wantRecord(t, s, ns, store.Record{Key: "empty", Version: 1})
}

func testCompareAndSet(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{put("k", "v1", 0)}})

	tests := []struct {
		name    string
		put     store.Put
		wantErr error
		want    store.Record
	}{
		{"current version", put("k", "v2", 1), nil, store.Record{Key: "k", Value: []byte("v2"), Version: 2}},
		{"stale version", put("k", "stale", 1), store.ErrConflict, store.Record{Key: "k", Value: []byte("v2"), Version: 2}},
		{"future version", put("k", "future", 7), store.ErrConflict, store.Record{Key: "k", Value: []byte("v2"), Version: 2}},
		{"next write", put("k", "v3", 2), nil, store.Record{Key: "k", Value: []byte("v3"), Version: 3}},
		{"and the next", put("k", "v4", 3), nil, store.Record{Key: "k", Value: []byte("v4"), Version: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{tc.put}})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: err = %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff([]int64{tc.want.Version}, res.Versions); diff != "" {
					t.Errorf("Versions mismatch (-want +got):\n%s", diff)
				}
			}
			wantRecord(t, s, ns, tc.want)
		})
	}

	t.Run("missing key with version", func(t *testing.T) {
		_, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{put("absent", "x", 1)}})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("Commit: err = %v, want ErrConflict", err)
		}
		wantMissing(t, s, ns, "absent")
	})
}

func testDelete(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{put("d", "x", 0, ix("status", "open"))}})
	commit(t, s, ns, store.Write{Puts: []store.Put{put("d", "y", 1, ix("status", "open"))}})

	tests := []struct {
		name    string
		del     store.Put
		wantErr error
	}{
		{"stale version", store.Put{Key: "d", Version: 1, Delete: true}, store.ErrConflict},
		{"missing key", store.Put{Key: "nope", Version: 1, Delete: true}, store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Commit(t.Context(), ns, store.Write{Puts: []store.Put{tc.del}})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: err = %v, want %v", err, tc.wantErr)
			}
			wantRecord(t, s, ns, store.Record{Key: "d", Value: []byte("y"), Version: 2})
			wantScan(t, s, ns, store.Query{Index: "status"}, []hit{{"open", "d", "y", 2}})
		})
	}

	t.Run("current version", func(t *testing.T) {
		res := commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "d", Version: 2, Delete: true}}})
		if diff := cmp.Diff([]int64{0}, res.Versions); diff != "" {
			t.Errorf("Versions mismatch (-want +got):\n%s", diff)
		}
		wantMissing(t, s, ns, "d")
		wantScan(t, s, ns, store.Query{Index: "status"}, nil)
	})

	t.Run("recreate", func(t *testing.T) {
		commit(t, s, ns, store.Write{Puts: []store.Put{put("d", "again", 0)}})
		wantRecord(t, s, ns, store.Record{Key: "d", Value: []byte("again"), Version: 1})
		wantScan(t, s, ns, store.Query{Index: "status"}, nil)
	})
}

func testMultiPutAtomicity(t *testing.T, s store.Store) {
	tests := []struct {
		name    string
		failing store.Put
		wantErr error
	}{
		{"create of existing key", put("existing", "x", 0, ix("status", "bad")), store.ErrExists},
		{"stale version", put("existing", "x", 1, ix("status", "bad")), store.ErrConflict},
		{"future version", put("existing", "x", 3, ix("status", "bad")), store.ErrConflict},
		{"missing key with version", put("missing", "x", 1, ix("status", "bad")), store.ErrConflict},
		{"stale delete", store.Put{Key: "existing", Version: 1, Delete: true}, store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := nsFor(t, "")
			commit(t, s, ns, store.Write{
				Puts:   []store.Put{put("existing", "v1", 0, ix("status", "old"))},
				Events: []store.Event{{Actor: "setup", Action: "create", Key: "existing"}},
			})
			commit(t, s, ns, store.Write{Puts: []store.Put{put("existing", "v2", 1, ix("status", "open"))}})

			w := store.Write{
				Puts: []store.Put{
					put("fresh", "new", 0, ix("status", "fresh"), ix("owner", "ann")),
					tc.failing,
					put("other", "new", 0, ix("status", "other")),
				},
				Idempotency: &store.Idempotency{Key: "req-1", Fingerprint: "fp", Result: []byte("r")},
				Events:      []store.Event{{Actor: "ann", Action: "create", Key: "fresh"}},
			}
			if _, err := s.Commit(t.Context(), ns, w); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Commit: err = %v, want %v", err, tc.wantErr)
			}

			wantMissing(t, s, ns, "fresh")
			wantMissing(t, s, ns, "other")
			wantMissing(t, s, ns, "missing")
			wantRecord(t, s, ns, store.Record{Key: "existing", Value: []byte("v2"), Version: 2})
			wantScan(t, s, ns, store.Query{Index: "status"}, []hit{{"open", "existing", "v2", 2}})
			wantScan(t, s, ns, store.Query{Index: "owner"}, nil)
			if got := events(t, s, ns, 0, 100); len(got) != 1 {
				t.Errorf("events after failed write: got %d, want 1: %+v", len(got), got)
			}

			// The idempotency key must not have been stored: the same request
			// with a write that can succeed is applied, not replayed.
			w.Puts = []store.Put{w.Puts[0]}
			res := commit(t, s, ns, w)
			if res.Replayed {
				t.Errorf("retry after failed write was replayed; the idempotency key leaked")
			}
			wantRecord(t, s, ns, store.Record{Key: "fresh", Value: []byte("new"), Version: 1})
		})
	}
}

func testIndexMaintenance(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("a", "A", 0, ix("status", "open"), ix("owner", "x")),
		put("b", "B", 0, ix("status", "open")),
		put("c", "C", 0, ix("status", "closed")),
		put("d", "D", 0, ix("status", "draft")),
		put("e", "E", 0, ix("tags", "red"), ix("tags", "blue"), ix("tags", "red")),
	}})

	wantScan(t, s, ns, store.Query{Index: "status"}, []hit{
		{"closed", "c", "C", 1}, {"draft", "d", "D", 1}, {"open", "a", "A", 1}, {"open", "b", "B", 1},
	})
	wantScan(t, s, ns, store.Query{Index: "owner"}, []hit{{"x", "a", "A", 1}})
	// Several terms of one index per record, duplicates collapsed.
	wantScan(t, s, ns, store.Query{Index: "tags"}, []hit{{"blue", "e", "E", 1}, {"red", "e", "E", 1}})

	steps := []struct {
		name   string
		put    store.Put
		status []hit
		owner  []hit
		tags   []hit
	}{
		{
			name:   "term replaced and entry dropped on update",
			put:    put("a", "A2", 1, ix("status", "closed")),
			status: []hit{{"closed", "a", "A2", 2}, {"closed", "c", "C", 1}, {"draft", "d", "D", 1}, {"open", "b", "B", 1}},
			tags:   []hit{{"blue", "e", "E", 1}, {"red", "e", "E", 1}},
		},
		{
			name:   "entries removed on delete",
			put:    store.Put{Key: "c", Version: 1, Delete: true},
			status: []hit{{"closed", "a", "A2", 2}, {"draft", "d", "D", 1}, {"open", "b", "B", 1}},
			tags:   []hit{{"blue", "e", "E", 1}, {"red", "e", "E", 1}},
		},
		{
			name:   "update without entries empties every index",
			put:    put("e", "E2", 1),
			status: []hit{{"closed", "a", "A2", 2}, {"draft", "d", "D", 1}, {"open", "b", "B", 1}},
		},
		{
			name:   "unchanged entries keep their place with the new record",
			put:    put("d", "D2", 1, ix("status", "draft"), ix("owner", "y")),
			status: []hit{{"closed", "a", "A2", 2}, {"draft", "d", "D2", 2}, {"open", "b", "B", 1}},
			owner:  []hit{{"y", "d", "D2", 2}},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			commit(t, s, ns, store.Write{Puts: []store.Put{st.put}})
			wantScan(t, s, ns, store.Query{Index: "status"}, st.status)
			wantScan(t, s, ns, store.Query{Index: "owner"}, st.owner)
			wantScan(t, s, ns, store.Query{Index: "tags"}, st.tags)
		})
	}
	wantScan(t, s, ns, store.Query{Index: "no-such-index"}, nil)
}

// testCount: counts follow the index through creates, term changes and
// deletes, per prefix, without reaching into other namespaces.
func testCount(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	count := func(index, prefix string) int64 {
		t.Helper()
		n, err := s.Count(t.Context(), ns, index, prefix)
		if err != nil {
			t.Fatalf("Count(%s, %q): %v", index, prefix, err)
		}
		return n
	}
	want := func(step string, open, closed, all int64) {
		t.Helper()
		if got := [3]int64{count("status", "open/"), count("status", "closed/"), count("status", "")}; got != [3]int64{open, closed, all} {
			t.Errorf("%s: open, closed, all = %v, want %v", step, got, [3]int64{open, closed, all})
		}
	}
	want("empty", 0, 0, 0)
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("a", "A", 0, ix("status", "open/1")),
		put("b", "B", 0, ix("status", "open/2")),
		put("c", "C", 0, ix("status", "closed/3")),
		put("d", "D", 0, ix("status", "opened-by-mistake/4")),
	}})
	want("created", 2, 1, 4)
	commit(t, s, ns, store.Write{Puts: []store.Put{put("a", "A2", 1, ix("status", "closed/1"))}})
	want("a closed", 1, 2, 4)
	commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "b", Version: 1, Delete: true}}})
	want("b deleted", 0, 2, 3)
	if n := count("no-such-index", ""); n != 0 {
		t.Errorf("unknown index: %d, want 0", n)
	}
	other := nsFor(t, "other")
	if n, err := s.Count(t.Context(), other, "status", ""); err != nil || n != 0 {
		t.Errorf("another namespace: %d, %v, want 0", n, err)
	}
	if _, err := s.Count(t.Context(), ns, "", ""); err == nil {
		t.Error("Count without an index name: no error")
	}
}

func testIndexOrdering(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	// Term order wins over key order, byte-wise: "a" < "a\x01" < "ab" < "b" <
	// "\xff", and within one term keys are ordered byte-wise.
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("z", "1", 0, ix("i", "a")),
		put("a", "2", 0, ix("i", "ab")),
		put("m", "3", 0, ix("i", "a")),
		put("b", "4", 0, ix("i", "a\x01")),
		put("y", "5", 0, ix("i", "b")),
		put("c", "6", 0, ix("i", "\xff")),
		put("k\xff", "7", 0, ix("i", "a")),
		put("k", "8", 0, ix("i", "a")),
		put("e", "9", 0, ix("i", "")),
	}})
	wantScan(t, s, ns, store.Query{Index: "i"}, []hit{
		{"", "e", "9", 1},
		{"a", "k", "8", 1},
		{"a", "k\xff", "7", 1},
		{"a", "m", "3", 1},
		{"a", "z", "1", 1},
		{"a\x01", "b", "4", 1},
		{"ab", "a", "2", 1},
		{"b", "y", "5", 1},
		{"\xff", "c", "6", 1},
	})
}

func testIndexPrefix(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("1", "", 0, ix("by", "2024-01-05")),
		put("2", "", 0, ix("by", "2024-02-01")),
		put("3", "", 0, ix("by", "2024-02-17")),
		put("4", "", 0, ix("by", "2025-01-01")),
		put("5", "", 0, ix("by", "2024")),
		put("6", "", 0, ix("by", "\xff\xff")),
		put("7", "", 0, ix("by", "\xff\xff\x01")),
		put("8", "", 0, ix("by", "\xff")),
	}})
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"5", "1", "2", "3", "4", "8", "6", "7"}},
		{"2024", []string{"5", "1", "2", "3"}},
		{"2024-02", []string{"2", "3"}},
		{"2024-02-17", []string{"3"}},
		{"2024-03", nil},
		{"2", []string{"5", "1", "2", "3", "4"}},
		{"3", nil},
		{"\xff", []string{"8", "6", "7"}},
		{"\xff\xff", []string{"6", "7"}},
		{"\xff\xff\x01", []string{"7"}},
	}
	for _, tc := range tests {
		for _, limit := range []int{0, 1, 2} {
			t.Run(fmt.Sprintf("%q/limit=%d", tc.prefix, limit), func(t *testing.T) {
				var got []string
				for _, h := range scanAll(t, s, ns, store.Query{Index: "by", Prefix: tc.prefix, Limit: limit}) {
					if !strings.HasPrefix(h.Term, tc.prefix) {
						t.Errorf("term %q outside prefix %q", h.Term, tc.prefix)
					}
					got = append(got, h.Key)
				}
				if diff := cmp.Diff(tc.want, got, equateEmpty()); diff != "" {
					t.Errorf("keys mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}

	t.Run("cursor before prefix", func(t *testing.T) {
		// A cursor from outside the prefix range must not leak terms below it.
		page, err := s.Scan(t.Context(), ns, store.Query{Index: "by", Prefix: "2024-02", After: "2024\x005"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]hit{{"2024-02-01", "2", "", 1}, {"2024-02-17", "3", "", 1}}, hits(page.Items), equateEmpty()); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}

func testPagination(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	var puts []store.Put
	var all []hit
	for i := range 7 {
		key := fmt.Sprintf("k%02d", i)
		puts = append(puts, put(key, "v", 0, ix("n", fmt.Sprint(i%3))))
	}
	commit(t, s, ns, store.Write{Puts: puts})
	for term := range 3 {
		for i := term; i < 7; i += 3 {
			all = append(all, hit{fmt.Sprint(term), fmt.Sprintf("k%02d", i), "v", 1})
		}
	}

	tests := []struct {
		limit     int
		wantPages []int
	}{
		{1, []int{1, 1, 1, 1, 1, 1, 1}},
		{3, []int{3, 3, 1}},
		{6, []int{6, 1}},
		{7, []int{7}},
		{8, []int{7}},
		{0, []int{7}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("limit=%d", tc.limit), func(t *testing.T) {
			q := store.Query{Index: "n", Limit: tc.limit}
			var got []hit
			var sizes []int
			for {
				page, err := s.Scan(t.Context(), ns, q)
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(page.Items))
				got = append(got, hits(page.Items)...)
				for _, it := range page.Items {
					if it.Cursor == "" {
						t.Fatalf("item %q has no cursor", it.Record.Key)
					}
				}
				if !page.More {
					break
				}
				if len(sizes) > 20 {
					t.Fatal("pagination does not terminate")
				}
				q.After = page.Items[len(page.Items)-1].Cursor
			}
			if diff := cmp.Diff(tc.wantPages, sizes); diff != "" {
				t.Errorf("page sizes mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("after last item", func(t *testing.T) {
		page, err := s.Scan(t.Context(), ns, store.Query{Index: "n"})
		if err != nil {
			t.Fatal(err)
		}
		last := page.Items[len(page.Items)-1].Cursor
		page, err = s.Scan(t.Context(), ns, store.Query{Index: "n", After: last})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 0 || page.More {
			t.Errorf("Scan after last = %+v, want empty page without More", page)
		}
	})
}

// testReverseScan checks that a reversed scan yields exactly the forward
// scan's items backwards, with and without prefixes, for every page size,
// and that its cursors continue before the item (a deleted one too, and a
// cursor from outside the prefix range).
func testReverseScan(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("1", "", 0, ix("by", "2024-01-05")),
		put("2", "", 0, ix("by", "2024-02-01")),
		put("3", "", 0, ix("by", "2024-02-17")),
		put("3b", "", 0, ix("by", "2024-02-17")),
		put("4", "", 0, ix("by", "2025-01-01")),
		put("5", "", 0, ix("by", "2024")),
		put("6", "", 0, ix("by", "\xff\xff")),
		put("7", "", 0, ix("by", "\xff\xff\x01")),
		put("8", "", 0, ix("by", "\xff")),
		put("9", "", 0, ix("by", "")),
	}})
	reversed := func(h []hit) []hit {
		out := slices.Clone(h)
		slices.Reverse(out)
		return out
	}
	for _, prefix := range []string{"", "2024", "2024-02", "2024-02-17", "2024-03", "2", "3", "\xff", "\xff\xff", "\xff\xff\x01"} {
		forward := scanAll(t, s, ns, store.Query{Index: "by", Prefix: prefix})
		for _, limit := range []int{0, 1, 2, 3} {
			t.Run(fmt.Sprintf("%q/limit=%d", prefix, limit), func(t *testing.T) {
				got := scanAll(t, s, ns, store.Query{Index: "by", Prefix: prefix, Limit: limit, Reverse: true})
				if diff := cmp.Diff(reversed(forward), got, equateEmpty()); diff != "" {
					t.Errorf("reverse scan is not the forward scan backwards (-want +got):\n%s", diff)
				}
			})
		}
	}
	if got := scanAll(t, s, ns, store.Query{Index: "by", Prefix: "2024-02", Reverse: true}); len(got) != 3 || got[0].Key != "3b" || got[2].Key != "2" {
		t.Errorf("reverse of prefix 2024-02 = %+v, want 3b, 3, 2", got)
	}

	cursorOf := func(prefix, key string) string {
		page, err := s.Scan(t.Context(), ns, store.Query{Index: "by", Prefix: prefix, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.Record.Key == key {
				return it.Cursor
			}
		}
		t.Fatalf("no item %q", key)
		return ""
	}
	keys := func(q store.Query) []string {
		t.Helper()
		page, err := s.Scan(t.Context(), ns, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range page.Items {
			out = append(out, it.Record.Key)
		}
		return out
	}
	t.Run("cursor continues before its item", func(t *testing.T) {
		after := cursorOf("", "3")
		if diff := cmp.Diff([]string{"2", "1", "5"}, keys(store.Query{Index: "by", After: after, Limit: 3, Reverse: true})); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"3b", "4"}, keys(store.Query{Index: "by", After: after, Limit: 2})); diff != "" {
			t.Errorf("forward from the same cursor mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("cursor outside the prefix range", func(t *testing.T) {
		// Above the range: the scan starts at the range's end. Below it:
		// nothing comes before the range.
		if diff := cmp.Diff([]string{"3b", "3", "2"}, keys(store.Query{Index: "by", Prefix: "2024-02", After: cursorOf("", "4"), Reverse: true})); diff != "" {
			t.Errorf("cursor above mismatch (-want +got):\n%s", diff)
		}
		if got := keys(store.Query{Index: "by", Prefix: "2024-02", After: cursorOf("", "1"), Reverse: true}); len(got) != 0 {
			t.Errorf("cursor below the range = %q, want nothing", got)
		}
	})
	t.Run("cursor of a deleted item", func(t *testing.T) {
		after := cursorOf("2024", "2")
		commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "2", Version: 1, Delete: true}}})
		if diff := cmp.Diff([]string{"1", "5"}, keys(store.Query{Index: "by", Prefix: "2024", After: after, Reverse: true})); diff != "" {
			t.Errorf("mismatch (-want +got):\n%s", diff)
		}
	})
}

func testPaginationDefaultLimit(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	var puts []store.Put
	for i := range 55 {
		puts = append(puts, put(fmt.Sprintf("k%03d", i), "", 0, ix("all", "t")))
	}
	commit(t, s, ns, store.Write{Puts: puts})
	for _, limit := range []int{0, -1} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			page, err := s.Scan(t.Context(), ns, store.Query{Index: "all", Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 50 || !page.More {
				t.Fatalf("got %d items, More=%v; want 50, true", len(page.Items), page.More)
			}
			page, err = s.Scan(t.Context(), ns, store.Query{Index: "all", Limit: limit, After: page.Items[49].Cursor})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 5 || page.More {
				t.Fatalf("second page: %d items, More=%v; want 5, false", len(page.Items), page.More)
			}
			if got := page.Items[0].Record.Key; got != "k050" {
				t.Errorf("second page starts at %q, want k050", got)
			}
		})
	}
}

func testCursorAfterDeletedItem(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{
		put("a", "", 0, ix("i", "t")), put("b", "", 0, ix("i", "t")), put("c", "", 0, ix("i", "t")),
	}})
	page, err := s.Scan(t.Context(), ns, store.Query{Index: "i", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The item the cursor points at disappears between pages; the scan
	// continues after its position.
	commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "b", Version: 1, Delete: true}}})
	page, err = s.Scan(t.Context(), ns, store.Query{Index: "i", After: page.Items[1].Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]hit{{"t", "c", "", 1}}, hits(page.Items), equateEmpty()); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func testIdempotentReplay(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	idem := &store.Idempotency{Key: "req-42", Fingerprint: "sha256:abc", Result: []byte(`{"id":"a","etag":"1"}`)}
	w := store.Write{
		Puts:        []store.Put{put("a", "first", 0, ix("status", "open"))},
		Idempotency: idem,
		Events:      []store.Event{{Actor: "ann", Action: "create", Key: "a"}},
	}
	first := commit(t, s, ns, w)
	if diff := cmp.Diff(store.WriteResult{Versions: []int64{1}, Result: idem.Result}, first, equateEmpty()); diff != "" {
		t.Errorf("first result mismatch (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		w    store.Write
	}{
		{"same write", w},
		// The key is checked before the puts: a retry of a create that
		// succeeded must not surface as ErrExists.
		{"would conflict now", store.Write{
			Puts:        []store.Put{put("a", "second", 0, ix("status", "changed"))},
			Idempotency: &store.Idempotency{Key: "req-42", Fingerprint: "sha256:abc", Result: []byte("other")},
			Events:      []store.Event{{Actor: "ann", Action: "again"}},
		}},
		{"would succeed now", store.Write{
			Puts:        []store.Put{put("a", "second", 1), put("b", "new", 0)},
			Idempotency: &store.Idempotency{Key: "req-42", Fingerprint: "sha256:abc"},
			Events:      []store.Event{{Actor: "ann", Action: "again"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := commit(t, s, ns, tc.w)
			if diff := cmp.Diff(store.WriteResult{Replayed: true, Result: idem.Result}, res, equateEmpty()); diff != "" {
				t.Errorf("replay result mismatch (-want +got):\n%s", diff)
			}
			wantRecord(t, s, ns, store.Record{Key: "a", Value: []byte("first"), Version: 1})
			wantMissing(t, s, ns, "b")
			wantScan(t, s, ns, store.Query{Index: "status"}, []hit{{"open", "a", "first", 1}})
			if got := events(t, s, ns, 0, 100); len(got) != 1 {
				t.Errorf("replay appended events: %+v", got)
			}
		})
	}

	t.Run("other key applies", func(t *testing.T) {
		res := commit(t, s, ns, store.Write{
			Puts:        []store.Put{put("a", "second", 1)},
			Idempotency: &store.Idempotency{Key: "req-43", Fingerprint: "sha256:abc", Result: []byte("r43")},
		})
		if diff := cmp.Diff(store.WriteResult{Versions: []int64{2}, Result: []byte("r43")}, res, equateEmpty()); diff != "" {
			t.Errorf("result mismatch (-want +got):\n%s", diff)
		}
	})
}

// testIdempotencyExpires: a key is answered within its TTL and gone after
// it, so the same request_id is a first write again; a key without a TTL
// stays. The wait is many times the TTL, so a slow machine cannot flip it.
func testIdempotencyExpires(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	const ttl = 20 * time.Millisecond
	first := commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("a", "first", 0)},
		Idempotency: &store.Idempotency{Key: "short", Fingerprint: "one", Result: []byte("a"), TTL: ttl},
	})
	commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("k", "kept", 0)},
		Idempotency: &store.Idempotency{Key: "kept", Fingerprint: "one", Result: []byte("k")},
	})
	if len(first.Versions) != 1 {
		t.Fatalf("first write: %+v", first)
	}
	time.Sleep(15 * ttl)
	// Another fingerprint would be a mismatch if the key were still there.
	res := commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("b", "second", 0)},
		Idempotency: &store.Idempotency{Key: "short", Fingerprint: "two", Result: []byte("b"), TTL: time.Hour},
	})
	if diff := cmp.Diff(store.WriteResult{Versions: []int64{1}, Result: []byte("b")}, res, equateEmpty()); diff != "" {
		t.Errorf("write after expiry (-want +got):\n%s", diff)
	}
	// Written again with a long TTL, the key answers replays once more.
	again := commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("c", "third", 0)},
		Idempotency: &store.Idempotency{Key: "short", Fingerprint: "two", TTL: time.Hour},
	})
	if !again.Replayed || string(again.Result) != "b" {
		t.Errorf("retry within the new TTL = %+v, want a replay of b", again)
	}
	wantMissing(t, s, ns, "c")
	kept := commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("k2", "x", 0)},
		Idempotency: &store.Idempotency{Key: "kept", Fingerprint: "one"},
	})
	if !kept.Replayed {
		t.Errorf("key without TTL expired: %+v", kept)
	}
}

// testForgetIdempotency: every key with the prefix goes, others stay.
func testForgetIdempotency(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	for i, key := range []string{"ann/create/1", "ann/create/2", "anna/create/1", "bob/create/1"} {
		commit(t, s, ns, store.Write{
			Puts:        []store.Put{put(fmt.Sprintf("r%d", i), "v", 0)},
			Idempotency: &store.Idempotency{Key: key, Fingerprint: "f", Result: []byte(key), TTL: time.Hour},
		})
	}
	n, err := s.ForgetIdempotency(t.Context(), ns, "ann/")
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("ForgetIdempotency = %d, want 2", n)
	}
	for key, replayed := range map[string]bool{"ann/create/1": false, "ann/create/2": false, "anna/create/1": true, "bob/create/1": true} {
		res := commit(t, s, ns, store.Write{
			Puts:        []store.Put{put("new-"+strings.ReplaceAll(key, "/", "-"), "v", 0)},
			Idempotency: &store.Idempotency{Key: key, Fingerprint: "f"},
		})
		if res.Replayed != replayed {
			t.Errorf("%s after forgetting ann/: replayed = %v, want %v", key, res.Replayed, replayed)
		}
	}
	if n, err := s.ForgetIdempotency(t.Context(), nsFor(t, "empty"), "ann/"); err != nil || n != 0 {
		t.Errorf("ForgetIdempotency on an empty namespace = %d, %v", n, err)
	}
}

func testIdempotencyMismatch(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{
		Puts:        []store.Put{put("a", "first", 0)},
		Idempotency: &store.Idempotency{Key: "req", Fingerprint: "one", Result: []byte("r")},
	})
	tests := []struct {
		name        string
		fingerprint string
	}{
		{"different fingerprint", "two"},
		{"empty fingerprint", ""},
		{"fingerprint with prefix", "one "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Commit(t.Context(), ns, store.Write{
				Puts:        []store.Put{put("a", "second", 1), put("b", "x", 0)},
				Idempotency: &store.Idempotency{Key: "req", Fingerprint: tc.fingerprint},
				Events:      []store.Event{{Action: "x"}},
			})
			if !errors.Is(err, store.ErrIdempotencyMismatch) {
				t.Fatalf("Commit: err = %v, want ErrIdempotencyMismatch", err)
			}
			wantRecord(t, s, ns, store.Record{Key: "a", Value: []byte("first"), Version: 1})
			wantMissing(t, s, ns, "b")
			if got := events(t, s, ns, 0, 100); len(got) != 0 {
				t.Errorf("mismatch appended events: %+v", got)
			}
		})
	}
}

func testEvents(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	if got := events(t, s, ns, 0, 10); len(got) != 0 {
		t.Fatalf("fresh namespace has events: %+v", got)
	}
	fixed := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	before := time.Now()
	commit(t, s, ns, store.Write{
		Puts: []store.Put{put("a", "1", 0)},
		Events: []store.Event{
			{Actor: "ann", Action: "create", Key: "a", EtagAfter: "1"},
			{Actor: "ann", Action: "notify", Key: "a", Detail: "mail sent"},
		},
	})
	commit(t, s, ns, store.Write{
		Puts:   []store.Put{put("a", "2", 1)},
		Events: []store.Event{{Time: fixed, Actor: "bo", Action: "update", Key: "a", EtagBefore: "1", EtagAfter: "2"}},
	})
	commit(t, s, ns, store.Write{
		Puts:   []store.Put{{Key: "a", Version: 2, Delete: true}},
		Events: []store.Event{{Actor: "cy", Action: "delete", Key: "a", EtagBefore: "2", Detail: "åäö \"quoted\" \n"}},
	})
	after := time.Now()

	want := []store.Event{
		{Seq: 1, Actor: "ann", Action: "create", Key: "a", EtagAfter: "1"},
		{Seq: 2, Actor: "ann", Action: "notify", Key: "a", Detail: "mail sent"},
		{Seq: 3, Time: fixed, Actor: "bo", Action: "update", Key: "a", EtagBefore: "1", EtagAfter: "2"},
		{Seq: 4, Actor: "cy", Action: "delete", Key: "a", EtagBefore: "2", Detail: "åäö \"quoted\" \n"},
	}
	got := events(t, s, ns, 0, 100)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Event{}, "Time")); diff != "" {
		t.Fatalf("events mismatch (-want +got):\n%s", diff)
	}
	for i, ev := range got {
		switch {
		case want[i].Time.IsZero() && (ev.Time.Before(before.Add(-time.Second)) || ev.Time.After(after.Add(time.Second))):
			t.Errorf("event %d: assigned time %v outside [%v, %v]", ev.Seq, ev.Time, before, after)
		case !want[i].Time.IsZero() && !ev.Time.Equal(want[i].Time):
			t.Errorf("event %d: time %v, want the given %v", ev.Seq, ev.Time, want[i].Time)
		}
	}

	pages := []struct {
		after    int64
		limit    int
		wantSeqs []int64
	}{
		{0, 2, []int64{1, 2}},
		{2, 2, []int64{3, 4}},
		{1, 10, []int64{2, 3, 4}},
		{3, 1, []int64{4}},
		{4, 10, nil},
		{100, 10, nil},
		{0, 0, []int64{1, 2, 3, 4}},
		{-5, 1, []int64{1}},
	}
	for _, p := range pages {
		t.Run(fmt.Sprintf("after=%d/limit=%d", p.after, p.limit), func(t *testing.T) {
			var seqs []int64
			for _, ev := range events(t, s, ns, p.after, p.limit) {
				seqs = append(seqs, ev.Seq)
			}
			if diff := cmp.Diff(p.wantSeqs, seqs, equateEmpty()); diff != "" {
				t.Errorf("seqs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// testEventsBefore reads the log backwards: newest first from the end or
// from before a Seq, the same events as the forward read, paged either way.
func testEventsBefore(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	if got, err := s.EventsBefore(t.Context(), ns, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("fresh namespace: %+v, %v", got, err)
	}
	for i := range 5 {
		commit(t, s, ns, store.Write{Events: []store.Event{{Actor: "ann", Action: "a", Key: fmt.Sprint(i + 1)}}})
	}
	// A second namespace's events are not this one's.
	commit(t, s, nsFor(t, "other"), store.Write{Events: []store.Event{{Actor: "bo", Action: "b"}}})
	forward := events(t, s, ns, 0, 100)
	for _, p := range []struct {
		before   int64
		limit    int
		wantSeqs []int64
	}{
		{0, 2, []int64{5, 4}},
		{4, 2, []int64{3, 2}},
		{2, 2, []int64{1}},
		{1, 10, nil},
		{6, 10, []int64{5, 4, 3, 2, 1}},
		{100, 2, []int64{5, 4}},
		{0, 0, []int64{5, 4, 3, 2, 1}},
		{-3, 1, []int64{5}},
		{3, 0, []int64{2, 1}},
	} {
		t.Run(fmt.Sprintf("before=%d/limit=%d", p.before, p.limit), func(t *testing.T) {
			evs, err := s.EventsBefore(t.Context(), ns, p.before, p.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, ev := range evs {
				seqs = append(seqs, ev.Seq)
				// The same event as the forward read has under its Seq.
				if diff := cmp.Diff(forward[ev.Seq-1], ev); diff != "" {
					t.Errorf("event %d read backwards (-forward +backwards):\n%s", ev.Seq, diff)
				}
			}
			if diff := cmp.Diff(p.wantSeqs, seqs, equateEmpty()); diff != "" {
				t.Errorf("seqs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func testEventsOnlyWrite(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	res := commit(t, s, ns, store.Write{Events: []store.Event{{Actor: "sys", Action: "login"}}})
	if len(res.Versions) != 0 || res.Replayed {
		t.Errorf("result = %+v, want no versions", res)
	}
	got := events(t, s, ns, 0, 10)
	if len(got) != 1 || got[0].Action != "login" || got[0].Seq != 1 {
		t.Errorf("events = %+v", got)
	}
}

// testRedactActor: erasing a person rewrites their events, only theirs, only
// in the namespace asked, keeps every Seq, and is idempotent.
func testRedactActor(t *testing.T, s store.Store) {
	ns, other := nsFor(t, "a"), nsFor(t, "b")
	for i := range 700 { // more than one page of a paging backend
		actor := "keep"
		if i%3 == 0 {
			actor = "erase-me"
		}
		commit(t, s, ns, store.Write{Events: []store.Event{{Actor: actor, Action: "a", Key: fmt.Sprint(i)}}})
	}
	commit(t, s, other, store.Write{Events: []store.Event{{Actor: "erase-me", Action: "a"}}})

	n, err := s.RedactActor(t.Context(), ns, "erase-me", "erased")
	if err != nil {
		t.Fatalf("RedactActor: %v", err)
	}
	if n != 234 {
		t.Errorf("RedactActor changed %d events, want 234", n)
	}
	got := events(t, s, ns, 0, 1000)
	if len(got) != 700 {
		t.Fatalf("%d events after redaction, want 700", len(got))
	}
	for i, ev := range got {
		want := "keep"
		if i%3 == 0 {
			want = "erased"
		}
		if ev.Actor != want || ev.Seq != int64(i+1) || ev.Key != fmt.Sprint(i) {
			t.Fatalf("event %d = %+v, want actor %q, seq %d", i, ev, want, i+1)
		}
	}
	if n, err := s.RedactActor(t.Context(), ns, "erase-me", "erased"); err != nil || n != 0 {
		t.Errorf("second RedactActor = %d, %v; want 0, nil", n, err)
	}
	if ev := events(t, s, other, 0, 10); len(ev) != 1 || ev[0].Actor != "erase-me" {
		t.Errorf("another namespace was redacted: %+v", ev)
	}
}

func testNamespacesIsolated(t *testing.T, s store.Store) {
	a, b := nsFor(t, "a"), nsFor(t, "b")
	other := store.Namespace{Service: a.Service + "x", Region: a.Region}
	for i, ns := range []store.Namespace{a, b} {
		commit(t, s, ns, store.Write{
			Puts:        []store.Put{put("k", ns.Region, 0, ix("i", "t"+ns.Region))},
			Idempotency: &store.Idempotency{Key: "req", Fingerprint: ns.Region, Result: []byte(ns.Region)},
			Events:      make([]store.Event, i+1),
		})
	}
	for i, ns := range []store.Namespace{a, b} {
		wantRecord(t, s, ns, store.Record{Key: "k", Value: []byte(ns.Region), Version: 1})
		wantScan(t, s, ns, store.Query{Index: "i"}, []hit{{"t" + ns.Region, "k", ns.Region, 1}})
		if got := events(t, s, ns, 0, 10); len(got) != i+1 {
			t.Errorf("%s: %d events, want %d", ns, len(got), i+1)
		}
	}
	wantMissing(t, s, other, "k")
	wantScan(t, s, other, store.Query{Index: "i"}, nil)
	if got := events(t, s, other, 0, 10); len(got) != 0 {
		t.Errorf("%s: events leaked: %+v", other, got)
	}
}

func testBinaryValues(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	all := make([]byte, 0, 3*256)
	for i := range 256 {
		all = append(all, byte(i))
	}
	all = append(all, bytes.Repeat([]byte{0, 0xff, '\r', '\n', '"', '\\', '\'', ']', ']'}, 32)...)
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{"all byte values", "all", all},
		{"nul only", "nul", []byte{0}},
		{"invalid utf8 key", "k\xff\xfe\x01", []byte("v")},
		{"lua long bracket", "lua", []byte("]]=]]\x00--[[")},
		{"large", "large", bytes.Repeat(all, 256)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := commit(t, s, ns, store.Write{
				Puts:        []store.Put{{Key: tc.key, Value: tc.value, Index: []store.IndexEntry{ix("bin\xff", "t\xff\x01"+tc.key)}}},
				Idempotency: &store.Idempotency{Key: "req\x00\xff" + tc.key, Fingerprint: string(tc.value[:min(len(tc.value), 300)]), Result: tc.value},
			})
			if !bytes.Equal(res.Result, tc.value) {
				t.Errorf("first Result differs from the stored one")
			}
			// bytes.Equal, not cmp: cmp walks large slices element by element.
			if rec := get(t, s, ns, tc.key); rec.Version != 1 || !bytes.Equal(rec.Value, tc.value) {
				t.Errorf("Get(%q) = version %d, %d bytes (equal=%v); want version 1, %d bytes",
					tc.key, rec.Version, len(rec.Value), bytes.Equal(rec.Value, tc.value), len(tc.value))
			}
			page, err := s.Scan(t.Context(), ns, store.Query{Index: "bin\xff", Prefix: "t\xff\x01" + tc.key})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != 1 || !bytes.Equal(page.Items[0].Record.Value, tc.value) {
				t.Errorf("Scan returned %d items or a different value", len(page.Items))
			}
			res = commit(t, s, ns, store.Write{
				Puts:        []store.Put{{Key: tc.key, Value: tc.value}},
				Idempotency: &store.Idempotency{Key: "req\x00\xff" + tc.key, Fingerprint: string(tc.value[:min(len(tc.value), 300)])},
			})
			if !res.Replayed || !bytes.Equal(res.Result, tc.value) {
				t.Errorf("replay: Replayed=%v, Result equal=%v", res.Replayed, bytes.Equal(res.Result, tc.value))
			}
		})
	}
}

func testReturnedValuesAreCopies(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	// Large enough that an embedded backend cannot keep it inline in a
	// small page: a slice into its memory map would then be read-only and
	// only valid inside the read transaction.
	original := append([]byte("original"), bytes.Repeat([]byte{'.'}, 8<<10)...)
	value := bytes.Clone(original)
	commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "k", Value: value, Index: []store.IndexEntry{ix("i", "t")}}}})
	value[0] = 'X' // the store must not keep the caller's slice
	rec := get(t, s, ns, "k")
	rec.Value[0] = 'Y'
	page, err := s.Scan(t.Context(), ns, store.Query{Index: "i"})
	if err != nil {
		t.Fatal(err)
	}
	page.Items[0].Record.Value[1] = 'Z'
	// Force the backend to move things around before reading again.
	for i := range 50 {
		commit(t, s, ns, store.Write{Puts: []store.Put{{Key: fmt.Sprint("filler", i), Value: original}}})
	}
	if !bytes.Equal(rec.Value[1:], original[1:]) || !bytes.Equal(page.Items[0].Record.Value[2:], original[2:]) {
		t.Errorf("returned values changed after later writes")
	}
	wantRecord(t, s, ns, store.Record{Key: "k", Value: original, Version: 1})
}

func testInvalidWrites(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	commit(t, s, ns, store.Write{Puts: []store.Put{put("ok", "v", 0)}})
	sentinels := []error{store.ErrNotFound, store.ErrConflict, store.ErrExists, store.ErrIdempotencyMismatch, store.ErrUnavailable}
	tests := []struct {
		name string
		ns   store.Namespace
		w    store.Write
	}{
		{"empty key", ns, store.Write{Puts: []store.Put{put("", "v", 0)}}},
		{"nul in key", ns, store.Write{Puts: []store.Put{put("a\x00b", "v", 0)}}},
		{"nul in term", ns, store.Write{Puts: []store.Put{put("a", "v", 0, ix("i", "t\x00"))}}},
		{"nul in index name", ns, store.Write{Puts: []store.Put{put("a", "v", 0, ix("i\x00", "t"))}}},
		{"empty index name", ns, store.Write{Puts: []store.Put{put("a", "v", 0, ix("", "t"))}}},
		{"negative version", ns, store.Write{Puts: []store.Put{put("a", "v", -1)}}},
		{"delete without version", ns, store.Write{Puts: []store.Put{{Key: "ok", Delete: true}}}},
		{"same key twice", ns, store.Write{Puts: []store.Put{put("a", "v", 0), put("a", "w", 0)}}},
		{"empty idempotency key", ns, store.Write{Puts: []store.Put{put("a", "v", 0)}, Idempotency: &store.Idempotency{}}},
		{"empty service", store.Namespace{Region: "r"}, store.Write{Puts: []store.Put{put("a", "v", 0)}}},
		{"empty region", store.Namespace{Service: "s"}, store.Write{Puts: []store.Put{put("a", "v", 0)}}},
		{"colon in service", store.Namespace{Service: "a:b", Region: "r"}, store.Write{Puts: []store.Put{put("a", "v", 0)}}},
		{"brace in region", store.Namespace{Service: "s", Region: "r}"}, store.Write{Puts: []store.Put{put("a", "v", 0)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Commit(t.Context(), tc.ns, tc.w)
			if err == nil {
				t.Fatal("Commit accepted an invalid write")
			}
			for _, sentinel := range sentinels {
				if errors.Is(err, sentinel) {
					t.Errorf("Commit: err = %v; an invalid write is not %v", err, sentinel)
				}
			}
			wantMissing(t, s, ns, "a")
			wantRecord(t, s, ns, store.Record{Key: "ok", Value: []byte("v"), Version: 1})
		})
	}

	reads := []struct {
		name string
		fn   func(ctx context.Context) error
	}{
		{"Get nul key", func(ctx context.Context) error { _, err := s.Get(ctx, ns, "a\x00"); return err }},
		{"Get bad namespace", func(ctx context.Context) error { _, err := s.Get(ctx, store.Namespace{}, "a"); return err }},
		{"Scan nul prefix", func(ctx context.Context) error {
			_, err := s.Scan(ctx, ns, store.Query{Index: "i", Prefix: "a\x00"})
			return err
		}},
		{"Scan empty index", func(ctx context.Context) error { _, err := s.Scan(ctx, ns, store.Query{}); return err }},
		{"Events bad namespace", func(ctx context.Context) error {
			_, err := s.Events(ctx, store.Namespace{Service: "{x}", Region: "r"}, 0, 1)
			return err
		}},
		{"EventsBefore bad namespace", func(ctx context.Context) error {
			_, err := s.EventsBefore(ctx, store.Namespace{Service: "{x}", Region: "r"}, 0, 1)
			return err
		}},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.fn(t.Context()); err == nil || errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v, want a validation error", err)
			}
		})
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Commit", func() error {
			_, err := s.Commit(ctx, ns, store.Write{Puts: []store.Put{put("k", "v", 0)}, Events: []store.Event{{Action: "x"}}})
			return err
		}},
		{"Get", func() error { _, err := s.Get(ctx, ns, "k"); return err }},
		{"Scan", func() error { _, err := s.Scan(ctx, ns, store.Query{Index: "i"}); return err }},
		{"Count", func() error { _, err := s.Count(ctx, ns, "i", ""); return err }},
		{"Events", func() error { _, err := s.Events(ctx, ns, 0, 1); return err }},
		{"EventsBefore", func() error { _, err := s.EventsBefore(ctx, ns, 0, 1); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			// The caller gave up; that is neither a missing record nor an
			// unavailable backend.
			err := c.fn()
			if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
				t.Errorf("err = %v, want context.Canceled only", err)
			}
		})
	}
	wantMissing(t, s, ns, "k")
	if got := events(t, s, ns, 0, 10); len(got) != 0 {
		t.Errorf("canceled Commit appended events: %+v", got)
	}
}

// contenders is above the 32 goroutines the design calls for, so that
// contention exceeds typical pool and batch sizes.
const contenders = 40

func testConcurrentCompareAndSet(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	ctx := t.Context()
	commit(t, s, ns, store.Write{Puts: []store.Put{put("hot", "start", 0, ix("i", "start"))}})
	for round := int64(1); round <= 5; round++ {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			var (
				wg                         sync.WaitGroup
				mu                         sync.Mutex
				winners, conflicts, others []string
				start                      = make(chan struct{})
			)
			for g := range contenders {
				wg.Go(func() {
					name := fmt.Sprintf("g%02d", g)
					<-start
					_, err := s.Commit(ctx, ns, store.Write{
						Puts:   []store.Put{put("hot", name, round, ix("i", name))},
						Events: []store.Event{{Actor: name, Action: "cas"}},
					})
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						winners = append(winners, name)
					case errors.Is(err, store.ErrConflict):
						conflicts = append(conflicts, name)
					default:
						others = append(others, name+": "+err.Error())
					}
				})
			}
			close(start)
			wg.Wait()
			if len(winners) != 1 || len(conflicts) != contenders-1 || len(others) != 0 {
				t.Fatalf("winners=%v conflicts=%d others=%v; want exactly one winner, %d conflicts",
					winners, len(conflicts), others, contenders-1)
			}
			wantRecord(t, s, ns, store.Record{Key: "hot", Value: []byte(winners[0]), Version: round + 1})
			wantScan(t, s, ns, store.Query{Index: "i"}, []hit{{winners[0], "hot", winners[0], round + 1}})
			if got := events(t, s, ns, 0, 1000); len(got) != int(round) || got[round-1].Actor != winners[0] {
				t.Errorf("events = %+v, want %d with the winner last", got, round)
			}
		})
	}
}

func testConcurrentIdempotentCreate(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	w := store.Write{
		Puts:        []store.Put{put("once", "v", 0, ix("i", "t"))},
		Idempotency: &store.Idempotency{Key: "req-once", Fingerprint: "fp", Result: []byte("created")},
		Events:      []store.Event{{Actor: "ann", Action: "create", Key: "once"}},
	}
	ctx := t.Context()
	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		applied, replayed  int
		errs               []error
		start              = make(chan struct{})
		wrongReplayResults int
	)
	for range contenders {
		wg.Go(func() {
			<-start
			res, err := s.Commit(ctx, ns, w)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, err)
			case res.Replayed:
				replayed++
				if string(res.Result) != "created" {
					wrongReplayResults++
				}
			default:
				applied++
			}
		})
	}
	close(start)
	wg.Wait()
	if applied != 1 || replayed != contenders-1 || len(errs) != 0 || wrongReplayResults != 0 {
		t.Fatalf("applied=%d replayed=%d errs=%v wrong results=%d; want 1 applied, %d replayed",
			applied, replayed, errs, wrongReplayResults, contenders-1)
	}
	wantRecord(t, s, ns, store.Record{Key: "once", Value: []byte("v"), Version: 1})
	wantScan(t, s, ns, store.Query{Index: "i"}, []hit{{"t", "once", "v", 1}})
	if got := events(t, s, ns, 0, 1000); len(got) != 1 {
		t.Errorf("events = %+v, want exactly one", got)
	}
}

// testIntersection reads an AND of two and three indexes (Query.Also): the
// records on all of them, in the scanned index's order, paged like any scan.
func testIntersection(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	// Ideas by care area and by stage, both newest first after the prefix,
	// as the services index them; a third index by origin.
	areas, stages, origins := []string{"lung", "psyk", "akut"}, []string{"SUBMITTED", "SELECTED"}, []string{"STAFF", "PATIENT", "OTHER", "STAFF"}
	type rec struct{ key, area, stage, origin, when string }
	var recs []rec
	var puts []store.Put
	for i := range 40 {
		r := rec{fmt.Sprintf("k%02d", i), areas[i%3], stages[min(i%5, 1)], origins[i%4], fmt.Sprintf("%03d", 100-i/2)}
		recs = append(recs, r)
		puts = append(puts, put(r.key, "v"+r.key, 0,
			ix("area", r.area+"/"+r.when), ix("stage", r.stage+"/"+r.when), ix("origin", r.origin+"/"+r.when), ix("all", r.when)))
	}
	commit(t, s, ns, store.Write{Puts: puts})
	// A record deleted afterwards leaves none of its entries behind.
	commit(t, s, ns, store.Write{Puts: []store.Put{{Key: "k05", Version: 1, Delete: true}}})

	want := func(area, stage, origin string) []hit {
		var out []hit
		for _, r := range recs {
			if r.key == "k05" || (area != "" && r.area != area) || (stage != "" && r.stage != stage) || (origin != "" && r.origin != origin) {
				continue
			}
			term := r.when
			if area != "" {
				term = r.area + "/" + r.when
			}
			out = append(out, hit{term, r.key, "v" + r.key, 1})
		}
		// Scan order: term, then key.
		slices.SortFunc(out, func(a, b hit) int {
			if c := strings.Compare(a.Term, b.Term); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		return out
	}
	tests := []struct {
		name                string
		q                   store.Query
		area, stage, origin string
	}{
		{"area and stage", store.Query{Index: "area", Prefix: "psyk/", Also: []store.Query{{Index: "stage", Prefix: "SUBMITTED/"}}}, "psyk", "SUBMITTED", ""},
		{"area and rare stage", store.Query{Index: "area", Prefix: "lung/", Also: []store.Query{{Index: "stage", Prefix: "SELECTED/"}}}, "lung", "SELECTED", ""},
		{"three indexes", store.Query{Index: "area", Prefix: "akut/", Also: []store.Query{{Index: "stage", Prefix: "SELECTED/"}, {Index: "origin", Prefix: "STAFF/"}}}, "akut", "SELECTED", "STAFF"},
		{"unprefixed scan", store.Query{Index: "all", Also: []store.Query{{Index: "origin", Prefix: "PATIENT/"}}}, "", "", "PATIENT"},
		{"nothing in common", store.Query{Index: "area", Prefix: "lung/", Also: []store.Query{{Index: "stage", Prefix: "WITHDRAWN/"}}}, "lung", "WITHDRAWN", ""},
		{"an index nothing is on", store.Query{Index: "area", Prefix: "lung/", Also: []store.Query{{Index: "nosuch", Prefix: ""}}}, "lung", "WITHDRAWN", ""},
	}
	for _, tc := range tests {
		for _, limit := range []int{0, 1, 2, 3} {
			t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
				q := tc.q
				q.Limit = limit
				wantScan(t, s, ns, q, want(tc.area, tc.stage, tc.origin))
				// Reversed: the same records, highest first.
				q.Reverse = true
				backwards := slices.Clone(want(tc.area, tc.stage, tc.origin))
				slices.Reverse(backwards)
				wantScan(t, s, ns, q, backwards)
			})
		}
	}

	t.Run("cursor before prefix", func(t *testing.T) {
		q := store.Query{Index: "area", Prefix: "psyk/", After: "akut/\x00k99", Also: []store.Query{{Index: "stage", Prefix: "SUBMITTED/"}}}
		wantScan(t, s, ns, q, want("psyk", "SUBMITTED", ""))
	})
	t.Run("an Also query with a cursor is refused", func(t *testing.T) {
		_, err := s.Scan(t.Context(), ns, store.Query{Index: "area", Also: []store.Query{{Index: "stage", After: "x"}}})
		if err == nil {
			t.Fatal("Scan with a cursor on an Also query: no error")
		}
	})
}

// testIntersectionSparse has the scan leap thousands of times between two
// indexes that share few records, more than one bounded step of a backend.
func testIntersectionSparse(t *testing.T, s store.Store) {
	ns := nsFor(t, "")
	var wantKeys []string
	for chunk := range 9 {
		var puts []store.Put
		for i := chunk * 500; i < (chunk+1)*500; i++ {
			key := fmt.Sprintf("k%05d", i)
			term := fmt.Sprintf("%05d", i)
			entries := []store.IndexEntry{ix("a", "x/"+term)}
			// b holds every other record of a, and a few of its own; both
			// hold only every 1 000th.
			if i%2 == 1 || i%1000 == 0 {
				entries = append(entries, ix("b", "y/"+term))
			}
			if i%1000 == 0 {
				wantKeys = append(wantKeys, key)
			} else if i%2 == 1 {
				entries = entries[1:]
			}
			puts = append(puts, put(key, "", 0, entries...))
		}
		commit(t, s, ns, store.Write{Puts: puts})
	}
	for _, limit := range []int{0, 2} {
		t.Run(fmt.Sprintf("limit=%d", limit), func(t *testing.T) {
			var got []string
			for _, h := range scanAll(t, s, ns, store.Query{Index: "a", Prefix: "x/", Limit: limit, Also: []store.Query{{Index: "b", Prefix: "y/"}}}) {
				got = append(got, h.Key)
			}
			if diff := cmp.Diff(wantKeys, got); diff != "" {
				t.Errorf("keys mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
