package coordinator_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// statsRPC is one service's Get…Stats: the figures it answers with for a
// stats name, flattened so the four can be compared alike.
type statsRPC struct {
	service, singleton string
	get                func(ctx context.Context, name string) (map[string]int64, error)
}

func statsRPCs(e *env) []statsRPC {
	ic, nc := ideav1.NewIdeaServiceClient(e.Conn), needsv1.NewNeedsServiceClient(e.Conn)
	fc, pc := fundingv1.NewSubprojectServiceClient(e.Conn), partnerv1.NewPartnerServiceClient(e.Conn)
	return []statsRPC{
		{"idea", "ideaStats", func(ctx context.Context, name string) (map[string]int64, error) {
			r, err := ic.GetIdeaStats(ctx, &ideav1.GetIdeaStatsRequest{Name: name})
			return r.GetIdeasByStage(), err
		}},
		{"needs", "needStats", func(ctx context.Context, name string) (map[string]int64, error) {
			r, err := nc.GetNeedStats(ctx, &needsv1.GetNeedStatsRequest{Name: name})
			return r.GetNeedsByStatus(), err
		}},
		{"funding", "subprojectStats", func(ctx context.Context, name string) (map[string]int64, error) {
			r, err := fc.GetSubprojectStats(ctx, &fundingv1.GetSubprojectStatsRequest{Name: name})
			if err != nil {
				return nil, err
			}
			out := map[string]int64{"granted_ore": r.GetGrantedOre(), "paid_ore": r.GetPaidOre()}
			for k, v := range r.GetSubprojectsByStatus() {
				out[k] = v
			}
			return out, nil
		}},
		{"partner", "partnerStats", func(ctx context.Context, name string) (map[string]int64, error) {
			r, err := pc.GetPartnerStats(ctx, &partnerv1.GetPartnerStatsRequest{Name: name})
			return r.GetPartnersByKind(), err
		}},
	}
}

// TestRegionStats: each service counts a region's records itself, exactly
// as the dashboard shows them, for the region's staff and national
// callers only, over gRPC and REST.
func TestRegionStats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		f := wantFigures()[up]
		want := map[string]map[string]int64{
			"idea":    f.GetIdeasByStage(),
			"needs":   f.GetNeedsByStatus(),
			"funding": {"SUBPROJECT_STATUS_APPROVED": 1, "granted_ore": f.GetGrantedOre(), "paid_ore": 0},
			"partner": f.GetPartnersByKind(),
		}
		allowed := []stack.Caller{e.As(t, auth.Advisor, up), e.As(t, auth.RegionAdmin, up), e.coordinator(t), e.As(t, auth.Service, up)}
		refused := []struct {
			who      string
			c        stack.Caller
			code     codes.Code
			httpCode int
		}{
			{"no token", stack.Caller{}, codes.Unauthenticated, 401},
			{"advisor of vasterbotten", e.As(t, auth.Advisor, vb), codes.PermissionDenied, 403},
			{"submitter of uppsala", e.As(t, auth.Submitter, up), codes.PermissionDenied, 403},
			{"partner of uppsala", e.As(t, auth.Partner, up), codes.PermissionDenied, 403},
		}
		for _, r := range statsRPCs(e) {
			t.Run(r.service, func(t *testing.T) {
				name := "regions/" + up + "/" + r.singleton
				for _, c := range allowed {
					got, err := r.get(c.Ctx(t), name)
					if err != nil {
						t.Fatalf("as %s: %v", c.Sub, err)
					}
					if diff := cmp.Diff(want[r.service], got); diff != "" {
						t.Errorf("as %s (-want +got):\n%s", c.Sub, diff)
					}
				}
				if code, body := restCall(t, e, allowed[0], "GET", "/v1/"+name); code != 200 || body["name"] != name {
					t.Errorf("REST: %d %v", code, body)
				}
				for _, c := range refused {
					if _, err := r.get(c.c.Ctx(t), name); status.Code(err) != c.code {
						t.Errorf("gRPC as %s: %v, want %v", c.who, err, c.code)
					}
					if code, body := restCall(t, e, c.c, "GET", "/v1/"+name); code != c.httpCode {
						t.Errorf("REST as %s: %d %v, want %d", c.who, code, body, c.httpCode)
					}
				}
				for bad, code := range map[string]codes.Code{
					"regions/" + up + "/stats":         codes.InvalidArgument,
					"regions/" + up:                    codes.InvalidArgument,
					"regions/gotland/" + r.singleton:   codes.NotFound,
					"regions/UPPSALA/x/" + r.singleton: codes.InvalidArgument,
				} {
					if _, err := r.get(e.coordinator(t).Ctx(t), bad); status.Code(err) != code {
						t.Errorf("name %q: %v, want %v", bad, err, code)
					}
				}
			})
		}
	})
}
