package needs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	"github.com/innovationsmotorer/motor/services/needs"
)

// scanCounter counts the index items the service reads.
type scanCounter struct {
	store.Store
	items atomic.Int64
}

func (c *scanCounter) Scan(ctx context.Context, ns store.Namespace, q store.Query) (store.Page, error) {
	p, err := c.Store.Scan(ctx, ns, q)
	c.items.Add(int64(len(p.Items)))
	return p, err
}

// TestList_ReporterReadsOnlyTheirOwn: a reporter's list comes from their
// own needs and the published ones, never from a walk over the region's.
func TestList_ReporterReadsOnlyTheirOwn(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			counter := &scanCounter{}
			e := newEnv(t, stack.Backend{Name: b.Name, Open: func(t testing.TB) store.Store {
				counter.Store = b.Open(t)
				return counter
			}})
			staff := e.As(t, auth.Advisor, "vasterbotten")
			anna := e.As(t, auth.Submitter, "vasterbotten", "anna")
			const others = 60
			for range others {
				e.mustCreate(t, staff, "vasterbotten", sampleNeed())
			}
			mine := map[string]bool{}
			for range 2 {
				mine[e.mustCreate(t, anna, "vasterbotten", sampleNeed()).GetName()] = true
			}
			pub := sampleNeed()
			pub.Published = true
			mine[e.mustCreate(t, staff, "vasterbotten", pub).GetName()] = true

			// The first list of a region also brings older needs onto the
			// owner index; what is measured is the list after it.
			if _, err := e.client.ListNeeds(anna.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"}); err != nil {
				t.Fatal(err)
			}
			counter.items.Store(0)
			list, err := e.client.ListNeeds(anna.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Filter: "status = NEED_STATUS_IDENTIFIED"})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.GetNeeds()) != len(mine) {
				t.Errorf("anna lists %d needs, want %d", len(list.GetNeeds()), len(mine))
			}
			for _, n := range list.GetNeeds() {
				if !mine[n.GetName()] {
					t.Errorf("anna lists %s", n.GetName())
				}
			}
			if n := counter.items.Load(); n > int64(len(mine)) {
				t.Errorf("anna's list read %d index items for %d needs (the region has %d)", n, len(mine), others+len(mine))
			}
		})
	}
}

// TestCreate_RequestIDExpires: a request_id answers retries for the
// configured time and is a new create after it, on both stores.
func TestCreate_RequestIDExpires(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// Long enough that the retry lands inside it on a loaded
			// machine; the wait below is measured from before the first
			// create, so the last call is surely past it.
			const ttl = 2 * time.Second
			e := newEnv(t, b, func(c *needs.Config) { c.IdempotencyTTL = ttl })
			start := time.Now()
			c := e.As(t, auth.Submitter, "vasterbotten")
			req := &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: sampleNeed(), RequestId: "form-7"}
			first, err := e.client.CreateNeed(c.Ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			again, err := e.client.CreateNeed(c.Ctx(t), req)
			if err != nil || again.GetName() != first.GetName() {
				t.Fatalf("retry within the TTL: %v, %v; want %s", again.GetName(), err, first.GetName())
			}
			time.Sleep(time.Until(start.Add(ttl + 500*time.Millisecond)))
			later, err := e.client.CreateNeed(c.Ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			if later.GetName() == first.GetName() {
				t.Errorf("request_id still answered after its TTL")
			}
		})
	}
}
