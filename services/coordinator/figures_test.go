package coordinator_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// TestRegionFigures: a region's figures in one call are what its four
// Get…Stats say, for exactly those who may read each of them.
func TestRegionFigures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		c := coordinatorv1.NewRegionFiguresServiceClient(e.Conn)
		get := func(ctx context.Context, name string) (*coordinatorv1.RegionFigures, error) {
			return c.GetRegionFigures(ctx, &coordinatorv1.GetRegionFiguresRequest{Name: name})
		}
		name := "regions/" + up + "/figures"
		want := wantFigures()[up]
		// What the region says; how the dashboard sees it is the dashboard's.
		want.Deployment, want.Status = "", coordinatorv1.RegionStatus_REGION_STATUS_UNSPECIFIED
		for _, who := range []stack.Caller{e.As(t, auth.Advisor, up), e.As(t, auth.RegionAdmin, up), e.coordinator(t), e.As(t, auth.Service, auth.NationalRegion)} {
			got, err := get(who.Ctx(t), name)
			if err != nil {
				t.Fatalf("as %s: %v", who.Sub, err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("as %s (-want +got):\n%s", who.Sub, diff)
			}
			// Each part as the service itself answers it.
			for _, r := range statsRPCs(e) {
				part, err := r.get(who.Ctx(t), "regions/"+up+"/"+r.singleton)
				if err != nil {
					t.Fatal(err)
				}
				var of map[string]int64
				switch r.service {
				case "idea":
					of = got.GetIdeasByStage()
				case "needs":
					of = got.GetNeedsByStatus()
				case "funding":
					of = map[string]int64{"granted_ore": got.GetGrantedOre(), "paid_ore": got.GetPaidOre()}
					for k, v := range got.GetSubprojectsByStatus() {
						of[k] = v
					}
				case "partner":
					of = got.GetPartnersByKind()
				}
				if diff := cmp.Diff(part, of); diff != "" {
					t.Errorf("as %s, %s's part differs from its Get…Stats (-stats +figures):\n%s", who.Sub, r.service, diff)
				}
			}
		}
		for _, r := range []struct {
			who  string
			c    stack.Caller
			code codes.Code
		}{
			{"no token", stack.Caller{}, codes.Unauthenticated},
			{"advisor of vasterbotten", e.As(t, auth.Advisor, vb), codes.PermissionDenied},
			{"region admin of vasterbotten", e.As(t, auth.RegionAdmin, vb), codes.PermissionDenied},
			{"submitter of uppsala", e.As(t, auth.Submitter, up), codes.PermissionDenied},
			{"partner of uppsala", e.As(t, auth.Partner, up), codes.PermissionDenied},
		} {
			if got, err := get(r.c.Ctx(t), name); status.Code(err) != r.code {
				t.Errorf("as %s: %v %v, want %v", r.who, got, err, r.code)
			}
		}
		for bad, code := range map[string]codes.Code{
			"regions/" + up + "/stats":    codes.InvalidArgument,
			"regions/" + up:               codes.InvalidArgument,
			"regions/gotland/figures":     codes.NotFound,
			"regions/UPPSALA/x/figures":   codes.InvalidArgument,
			"regions/" + up + "/figures/": codes.InvalidArgument,
		} {
			if _, err := get(e.coordinator(t).Ctx(t), bad); status.Code(err) != code {
				t.Errorf("name %q: %v, want %v", bad, err, code)
			}
		}
	})
}

// countingConn is a connection to the stack that counts the calls made on
// it.
func countingConn(t testing.TB, e *env, calls *atomic.Int64) *grpc.ClientConn {
	t.Helper()
	conn, err := rpc.Dial(e.Conn.Target(), e.tel, grpc.WithChainUnaryInterceptor(
		func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			calls.Add(1)
			return invoker(ctx, method, req, reply, cc, opts...)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// TestDashboard_OneCallPerRegion: a dashboard asks each region once, and
// the coordinator's token is checked once by the dashboard and once by each
// region it reaches over a connection (in production another deployment),
// never again by the region's own services; for regions the process serves
// itself it is checked once in all.
func TestDashboard_OneCallPerRegion(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		local                bool
		wantCalls, wantToken int64
	}{
		{"regions of other deployments", false, 2, 1 + 2},
		{"regions this process serves", true, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, stack.Backends()[0], func(o *envOptions) { o.localFigures = tc.local })
			seed(t, e)
			var calls atomic.Int64
			conn := countingConn(t, e, &calls)
			e.pointRegion(vb, conn)
			e.pointRegion(up, conn)
			ctx := e.coordinator(t).Ctx(t)
			e.dashboard(t, ctx) // connections made, figures kept once
			calls.Store(0)
			before := e.Verifier.Verifications()
			d := e.dashboard(t, ctx)
			if d.GetPartial() {
				t.Fatalf("partial: %v", d.GetRegions())
			}
			if diff := cmp.Diff([]*coordinatorv1.RegionFigures{wantFigures()[vb], wantFigures()[up]}, d.GetRegions(), protocmp.Transform(), ignoreTimes()); diff != "" {
				t.Errorf("regions (-want +got):\n%s", diff)
			}
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("the dashboard made %d calls to the regions, want %d (one per region)", got, tc.wantCalls)
			}
			if got := int64(e.Verifier.Verifications() - before); got != tc.wantToken {
				t.Errorf("the coordinator's token was checked %d times for one dashboard, want %d", got, tc.wantToken)
			}
		})
	}
}
