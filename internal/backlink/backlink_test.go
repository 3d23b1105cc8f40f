package backlink_test

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

func TestChanges(t *testing.T) {
	got := backlink.Changes("regions/v/subprojects/s", []string{"a", "b"}, []string{"b", "c", "c"}, 7)
	want := []backlink.Message{
		{Target: "c", Source: "regions/v/subprojects/s", Linked: true, Version: 7},
		{Target: "a", Source: "regions/v/subprojects/s", Linked: false, Version: 7},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Changes: %v, want %v", got, want)
	}
}

// TestSetAndOutbox on both stores: messages apply in version order whatever
// order they arrive in, and the outbox keeps what could not be delivered.
func TestSetAndOutbox(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			ctx := context.Background()
			target := store.Namespace{Service: "idea", Region: "vasterbotten"}
			source := store.Namespace{Service: "needs", Region: "vasterbotten"}
			set := func(linked bool, version int64) bool {
				t.Helper()
				ok, err := backlink.Set(ctx, st, target, "i1", backlink.Message{Target: "regions/vasterbotten/ideas/i1", Source: "regions/vasterbotten/needs/n1", Linked: linked, Version: version})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			sources := func() []string {
				t.Helper()
				got, err := backlink.Sources(ctx, st, target, "i1")
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if !set(true, 4) || set(true, 4) || set(false, 3) {
				t.Error("link 4, its repeat and a late unlink 3: want only the first applied")
			}
			if got := sources(); !slices.Equal(got, []string{"regions/vasterbotten/needs/n1"}) {
				t.Errorf("sources %v", got)
			}
			if !set(false, 5) || len(sources()) != 0 || set(true, 4) {
				t.Error("unlink 5, then the link 4 again: want the unlink to stand")
			}

			// The outbox: a failing delivery keeps the message, a final
			// refusal drops it, a delivered one is gone.
			m := backlink.Message{Target: "regions/vasterbotten/ideas/i1", Source: "regions/vasterbotten/needs/n1", Linked: true, Version: 6}
			gone := backlink.Message{Target: "regions/vasterbotten/ideas/gone", Source: "regions/vasterbotten/needs/n1", Linked: true, Version: 6}
			var puts []store.Put
			for _, msg := range []backlink.Message{m, gone} {
				p, err := backlink.Outbox(msg)
				if err != nil {
					t.Fatal(err)
				}
				puts = append(puts, p)
			}
			if _, err := st.Commit(ctx, source, store.Write{Puts: puts}); err != nil {
				t.Fatal(err)
			}
			down := func(_ context.Context, msg backlink.Message) error {
				if msg.Target == gone.Target {
					return status.Error(codes.NotFound, "no such idea")
				}
				return status.Error(codes.Unavailable, "down")
			}
			if err := backlink.Flush(ctx, st, source, down, m, gone); err == nil {
				t.Error("flush while down: no error")
			}
			if n, _ := backlink.Pending(ctx, st, source); n != 1 {
				t.Errorf("pending after a failed flush: %d, want 1 (the refused one dropped)", n)
			}
			deliver := func(ctx context.Context, msg backlink.Message) error {
				_, err := backlink.Set(ctx, st, target, "i1", msg)
				return err
			}
			if n, failed, err := backlink.Sweep(ctx, st, source, deliver, 10); err != nil || n != 1 || failed != 0 {
				t.Errorf("sweep: %d delivered, %d failed, %v", n, failed, err)
			}
			if n, _ := backlink.Pending(ctx, st, source); n != 0 || len(sources()) != 1 {
				t.Errorf("after the sweep: %d pending, sources %v", n, sources())
			}
		})
	}
}
