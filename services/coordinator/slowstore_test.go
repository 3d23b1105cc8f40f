package coordinator_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// slowStore is the real store with a national store that takes delay to
// answer each read and write of the coordinator's figures.
type slowStore struct {
	store.Store
	delay time.Duration
}

func (s slowStore) wait(ctx context.Context, ns store.Namespace) error {
	if ns.Service != "coordinator" {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.delay):
		return nil
	}
}

func (s slowStore) Get(ctx context.Context, ns store.Namespace, key string) (store.Record, error) {
	if err := s.wait(ctx, ns); err != nil {
		return store.Record{}, err
	}
	return s.Store.Get(ctx, ns, key)
}

func (s slowStore) Commit(ctx context.Context, ns store.Namespace, w store.Write) (store.WriteResult, error) {
	if err := s.wait(ctx, ns); err != nil {
		return store.WriteResult{}, err
	}
	return s.Store.Commit(ctx, ns, w)
}

// TestDashboard_SlowNationalStore: keeping and reading the last good
// figures must not cost a dashboard its deadline; with a national store
// slower than the deadline, the answer still comes, partial where a region
// is down.
func TestDashboard_SlowNationalStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		for _, deadline := range []time.Duration{time.Second, 200 * time.Millisecond} {
			ctx, cancel := context.WithTimeout(e.coordinator(t).Ctx(t), deadline)
			d, err := e.client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
			cancel()
			if err != nil {
				t.Fatalf("dashboard within %v, every region up, slow national store: %v", deadline, err)
			}
			if d.GetPartial() {
				t.Errorf("dashboard within %v: partial with every region up", deadline)
			}
		}

		e.pointRegion(up, closedPort(t))
		ctx, cancel := context.WithTimeout(e.coordinator(t).Ctx(t), time.Second)
		defer cancel()
		d, err := e.client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
		if err != nil {
			t.Fatalf("dashboard with uppsala down and a slow national store: %v", err)
		}
		got := byRegion(d)
		if !d.GetPartial() || !got[up].GetStale() || got[up].GetGrantedOre() != wantFigures()[up].GetGrantedOre() {
			t.Errorf("uppsala down: partial %v, uppsala %v; want its last good figures, stale", d.GetPartial(), got[up])
		}
		if msg := got[up].GetError(); strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "dial") {
			t.Errorf("uppsala's error %q names a lower layer's detail", msg)
		}
	}, func(o *envOptions) {
		o.nationalStore = func(st store.Store) store.Store { return slowStore{Store: st, delay: 5 * time.Second} }
	})
}

// TestDashboard_CallerGoneIsNotRegionDown: a dashboard whose caller goes
// away while a region is slow is logged as cancelled, not as the region
// being unavailable.
func TestDashboard_CallerGoneIsNotRegionDown(t *testing.T) {
	var logs testenv.LogBuffer
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		e.pointRegion(up, fakeRegion(t, nil))
		ctx, cancel := context.WithCancel(e.coordinator(t).Ctx(t))
		time.AfterFunc(200*time.Millisecond, cancel)
		_, err := e.client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
		if status.Code(err) != codes.Canceled {
			t.Fatalf("dashboard cancelled by its caller: %v", err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), "cancelled by its caller") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := logs.String(); !strings.Contains(got, "cancelled by its caller") || strings.Contains(got, "REGION_STATUS_UNAVAILABLE") || strings.Contains(got, "did not answer") {
			t.Errorf("a caller gone away logged as:\n%s", got)
		}
	}, func(o *envOptions) {
		o.logger = slog.New(slog.NewJSONHandler(&logs, nil))
		o.regionTimeout = time.Minute
	})
}
