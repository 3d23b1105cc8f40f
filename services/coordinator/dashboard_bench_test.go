package coordinator_test

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// BenchmarkDashboard is one dashboard view over 3, 7, 14 and 21 regions,
// each region counted by this process (as `-target all` does) or asked
// over a connection of its own (as the national deployment asks its
// peers). Besides the time it reports, per view, the process's CPU, the
// calls made to the regions' connections and the token checks.
func BenchmarkDashboard(b *testing.B) {
	for _, n := range []int{3, 7, 14, 21} {
		for _, local := range []bool{true, false} {
			path := "peers"
			if local {
				path = "local"
			}
			b.Run(fmt.Sprintf("regions=%d/%s", n, path), func(b *testing.B) {
				regions := config.RegionIDs()[:n]
				e := newEnv(b, stack.Backends()[0], func(o *envOptions) { o.regions, o.localFigures = regions, local })
				var calls atomic.Int64
				if !local {
					conn := countingConn(b, e, &calls)
					for _, r := range regions {
						e.pointRegion(r, conn)
					}
				}
				client := coordinatorv1.NewCoordinatorServiceClient(e.Conn)
				ctx := e.coordinator(b).Ctx(b)
				if _, err := client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{}); err != nil {
					b.Fatal(err)
				}
				calls.Store(0)
				verified := e.Verifier.Verifications()
				cpu := processCPU()
				b.ResetTimer()
				for b.Loop() {
					d, err := client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
					if err != nil || d.GetPartial() {
						b.Fatalf("GetDashboard: %v (partial %v)", err, d.GetPartial())
					}
				}
				b.StopTimer()
				views := float64(b.N)
				b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/views, "cpu-ms/view")
				b.ReportMetric(float64(calls.Load())/views, "region-calls/view")
				b.ReportMetric(float64(e.Verifier.Verifications()-verified)/views, "token-checks/view")
			})
		}
	}
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
