package coordinator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/store"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// countingStore counts the commits of the coordinator's own namespace: the
// kept figures.
type countingStore struct {
	store.Store
	commits *atomic.Int64
}

func (s countingStore) Commit(ctx context.Context, ns store.Namespace, w store.Write) (store.WriteResult, error) {
	if ns.Service == "coordinator" {
		s.commits.Add(1)
	}
	return s.Store.Commit(ctx, ns, w)
}

// TestDashboard_UnchangedFiguresNotRewritten: a dashboard read again and
// again with the regions' figures unchanged writes each region's figures
// once, not once per read.
func TestDashboard_UnchangedFiguresNotRewritten(t *testing.T) {
	var commits atomic.Int64
	forEachBackend(t, func(t *testing.T, e *env) {
		commits.Store(0)
		seed(t, e)
		dashboard := func() int {
			d, err := e.client.GetDashboard(e.coordinator(t).Ctx(t), &coordinatorv1.GetDashboardRequest{})
			if err != nil || d.GetPartial() {
				t.Fatalf("dashboard: %v (partial %v)", err, d.GetPartial())
			}
			return len(d.GetRegions())
		}
		regions := int64(dashboard())
		for deadline := time.Now().Add(10 * time.Second); commits.Load() < regions && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if got := commits.Load(); got != regions {
			t.Fatalf("first dashboard: %d commits of kept figures, want %d (one per region)", got, regions)
		}
		for range 5 {
			dashboard()
		}
		// A write would have been started by the reads above; give any a
		// moment to land before counting.
		time.Sleep(200 * time.Millisecond)
		if got := commits.Load(); got != regions {
			t.Errorf("after five more dashboards with the same figures: %d commits, want still %d", got, regions)
		}
	}, func(o *envOptions) {
		o.nationalStore = func(st store.Store) store.Store { return countingStore{Store: st, commits: &commits} }
	})
}
