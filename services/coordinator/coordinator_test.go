package coordinator_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// TestAuthorization_EveryRPC: every RPC, over gRPC and REST, is for the
// national coordinator (and other deployments): no token is 401, any role
// of a region is 403.
func TestAuthorization_EveryRPC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		rpcs := []struct {
			name string
			grpc func(ctx context.Context) error
			path string
		}{
			{"GetDashboard", func(ctx context.Context) error {
				_, err := e.client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
				return err
			}, "/v1/national/dashboard"},
			{"ListRegions", func(ctx context.Context) error {
				_, err := e.client.ListRegions(ctx, &coordinatorv1.ListRegionsRequest{})
				return err
			}, "/v1/national/regions"},
			{"ListCommonNeeds", func(ctx context.Context) error {
				_, err := e.client.ListCommonNeeds(ctx, &coordinatorv1.ListCommonNeedsRequest{})
				return err
			}, "/v1/national/commonNeeds"},
		}
		callers := []struct {
			who      string
			c        stack.Caller
			wantCode codes.Code
			wantHTTP int
		}{
			{"no token", stack.Caller{}, codes.Unauthenticated, 401},
			{"advisor of västerbotten", e.As(t, auth.Advisor, vb), codes.PermissionDenied, 403},
			{"admin of uppsala", e.As(t, auth.RegionAdmin, up), codes.PermissionDenied, 403},
			{"submitter", e.As(t, auth.Submitter, vb), codes.PermissionDenied, 403},
			{"partner", e.As(t, auth.Partner, up), codes.PermissionDenied, 403},
			{"coordinator", e.coordinator(t), codes.OK, 200},
			{"service", e.As(t, auth.Service, auth.NationalRegion), codes.OK, 200},
		}
		for _, r := range rpcs {
			t.Run(r.name, func(t *testing.T) {
				for _, c := range callers {
					if got := status.Code(r.grpc(c.c.Ctx(t))); got != c.wantCode {
						t.Errorf("gRPC as %s: %v, want %v", c.who, got, c.wantCode)
					}
					if code, body := restCall(t, e, c.c, "GET", r.path); code != c.wantHTTP {
						t.Errorf("REST as %s: %d, want %d (%v)", c.who, code, c.wantHTTP, body)
					}
				}
			})
		}
	})
}

// TestCommonNeeds: similar published needs of two regions form one cluster;
// unpublished needs and needs of one region only are left out.
func TestCommonNeeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		s := seed(t, e)
		resp, err := e.client.ListCommonNeeds(e.coordinator(t).Ctx(t), &coordinatorv1.ListCommonNeedsRequest{})
		if err != nil {
			t.Fatalf("ListCommonNeeds: %v", err)
		}
		if len(resp.GetCommonNeeds()) != 1 {
			t.Fatalf("%d clusters, want 1: %v", len(resp.GetCommonNeeds()), resp)
		}
		c := resp.GetCommonNeeds()[0]
		var names []string
		for _, n := range c.GetNeeds() {
			names = append(names, n.GetName())
			if n.GetSimilarity() < 0.3 || n.GetSimilarity() > 1 || n.GetStatement() == "" || n.GetRegion() == "" {
				t.Errorf("member %v: want a statement, a region and a similarity ≥ 0.3", n)
			}
		}
		want := []string{s.fallsUP, s.fallsVB}
		if s.fallsVB < s.fallsUP {
			want = []string{s.fallsVB, s.fallsUP}
		}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("cluster needs (-want +got):\n%s (the unpublished %s and the lone %s must not be there)", diff, s.hidden, s.hearing)
		}
		if diff := cmp.Diff([]string{up, vb}, c.GetRegions()); diff != "" {
			t.Errorf("cluster regions (-want +got):\n%s", diff)
		}
		if resp.GetPartial() || resp.GetNextPageToken() != "" {
			t.Errorf("partial %v, next page %q", resp.GetPartial(), resp.GetNextPageToken())
		}

		e.pointRegion(up, closedPort(t))
		resp, err = e.client.ListCommonNeeds(e.coordinator(t).Ctx(t), &coordinatorv1.ListCommonNeedsRequest{})
		if err != nil {
			t.Fatalf("ListCommonNeeds with uppsala down: %v", err)
		}
		if !resp.GetPartial() || len(resp.GetCommonNeeds()) != 0 || !cmp.Equal(resp.GetUnreachedRegions(), []string{up}) {
			t.Errorf("uppsala down: %v, want partial, no cluster, uppsala unreached", resp)
		}

		code, body := restCall(t, e, e.coordinator(t), "GET", "/v1/national/commonNeeds?pageToken=nonsense")
		if code != 400 {
			t.Errorf("bad page token: %d %v, want 400", code, body)
		}
	})
}

// TestListRegions: the directory with each region's health, paginated.
func TestListRegions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		serving := map[string]healthpb.HealthCheckResponse_ServingStatus{}
		for _, name := range []string{"innovation.idea.v1.IdeaService", "innovation.needs.v1.NeedsService", "innovation.funding.v1.SubprojectService", "innovation.partner.v1.PartnerService"} {
			serving[name] = healthpb.HealthCheckResponse_SERVING
		}
		e.pointRegion(vb, fakeRegion(t, serving))
		e.pointRegion(up, closedPort(t))
		coord := e.coordinator(t).Ctx(t)

		resp, err := e.client.ListRegions(coord, &coordinatorv1.ListRegionsRequest{})
		if err != nil {
			t.Fatalf("ListRegions: %v", err)
		}
		allServing := map[string]coordinatorv1.RegionHealth{}
		allUnreachable := map[string]coordinatorv1.RegionHealth{}
		for name := range serving {
			allServing[name] = coordinatorv1.RegionHealth_REGION_HEALTH_SERVING
			allUnreachable[name] = coordinatorv1.RegionHealth_REGION_HEALTH_UNREACHABLE
		}
		// By region id: Uppsala before Västerbotten.
		want := []*coordinatorv1.Region{
			{Region: up, Deployment: "test-" + up, Health: coordinatorv1.RegionHealth_REGION_HEALTH_UNREACHABLE, ServiceHealth: allUnreachable},
			{Region: vb, Deployment: "test-" + vb, Health: coordinatorv1.RegionHealth_REGION_HEALTH_SERVING, ServiceHealth: allServing},
		}
		if diff := cmp.Diff(want, resp.GetRegions(), protocmp.Transform(), protocmp.IgnoreFields(&coordinatorv1.Region{}, "check_time", "error")); diff != "" {
			t.Errorf("regions (-want +got):\n%s", diff)
		}
		if resp.GetRegions()[0].GetError() == "" || resp.GetRegions()[1].GetCheckTime() == nil {
			t.Errorf("regions %v: want an error for the unreachable one and check times", resp.GetRegions())
		}

		delete(serving, "innovation.partner.v1.PartnerService")
		serving["innovation.needs.v1.NeedsService"] = healthpb.HealthCheckResponse_NOT_SERVING
		e.pointRegion(vb, fakeRegion(t, serving))
		first, err := e.client.ListRegions(coord, &coordinatorv1.ListRegionsRequest{PageSize: 1, OrderBy: "region desc"})
		if err != nil {
			t.Fatalf("ListRegions page 1: %v", err)
		}
		if len(first.GetRegions()) != 1 || first.GetRegions()[0].GetHealth() != coordinatorv1.RegionHealth_REGION_HEALTH_NOT_SERVING || first.GetNextPageToken() == "" {
			t.Fatalf("page 1: %v, want västerbotten NOT_SERVING and a next page", first)
		}
		second, err := e.client.ListRegions(coord, &coordinatorv1.ListRegionsRequest{PageSize: 1, OrderBy: "region desc", PageToken: first.GetNextPageToken()})
		if err != nil {
			t.Fatalf("ListRegions page 2: %v", err)
		}
		if len(second.GetRegions()) != 1 || second.GetRegions()[0].GetRegion() != up || second.GetNextPageToken() != "" {
			t.Errorf("page 2: %v, want uppsala and the end", second)
		}
	})
}
