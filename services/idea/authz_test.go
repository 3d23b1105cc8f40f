package idea_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestAuthorization_EveryRPC: for every RPC of the service, over gRPC and
// over REST, no token is 401, and a token of another region, or of a role
// that may not make the call, is 403.
func TestAuthorization_EveryRPC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		idea := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten", "owner"), "vasterbotten", sampleIdea())
		n := idea.GetName()
		type rpc struct {
			name         string
			grpc         func(ctx context.Context) error
			method, path string
			body         string
			deniedRoles  []auth.Role // roles of the region that may not call it
		}
		rpcs := []rpc{
			{"CreateIdea", func(ctx context.Context) error {
				_, err := e.client.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
				return err
			}, "POST", "/v1/regions/vasterbotten/ideas", ideaJSON, nil},
			{"GetIdea", func(ctx context.Context) error {
				_, err := e.client.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: n})
				return err
			}, "GET", "/v1/" + n, "", nil}, // a partner reads only what they submitted
			{"ListIdeas", func(ctx context.Context) error {
				_, err := e.client.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
				return err
			}, "GET", "/v1/regions/vasterbotten/ideas", "", nil}, // a partner reads only what they submitted
			{"UpdateIdea", func(ctx context.Context) error {
				_, err := e.client.UpdateIdea(ctx, &ideav1.UpdateIdeaRequest{Idea: &ideav1.Idea{Name: n, Etag: idea.GetEtag(), Partner: "X"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"partner"}}})
				return err
			}, "PATCH", "/v1/" + n, `{"partner":"X","etag":"1"}`, []auth.Role{auth.Partner}},
			{"TransitionIdea", func(ctx context.Context) error {
				_, err := e.client.TransitionIdea(ctx, &ideav1.TransitionIdeaRequest{Name: n, Stage: ideav1.Stage_STAGE_SCREENING, Etag: idea.GetEtag()})
				return err
			}, "POST", "/v1/" + n + ":transition", `{"stage":"STAGE_SCREENING","etag":"1"}`, []auth.Role{auth.Partner}},
			{"ListIdeaHistory", func(ctx context.Context) error {
				_, err := e.client.ListIdeaHistory(ctx, &ideav1.ListIdeaHistoryRequest{Parent: n})
				return err
			}, "GET", "/v1/" + n + "/history", "", nil}, // a partner reads only what they submitted
			{"CreateAssessment", func(ctx context.Context) error {
				_, err := e.client.CreateAssessment(ctx, &ideav1.CreateAssessmentRequest{Parent: n, Assessment: scorecard(3, 3, 3, 3, 3, 3)})
				return err
			}, "POST", "/v1/" + n + "/assessments", `{"patientBenefit":3,"careBenefit":3,"feasibility":3,"novelty":3,"marketPotential":3,"risk":3}`, []auth.Role{auth.Partner, auth.Submitter}},
			{"ListAssessments", func(ctx context.Context) error {
				_, err := e.client.ListAssessments(ctx, &ideav1.ListAssessmentsRequest{Parent: n})
				return err
			}, "GET", "/v1/" + n + "/assessments", "", []auth.Role{auth.Partner, auth.Submitter}},
			{"FindSimilarIdeas", func(ctx context.Context) error {
				_, err := e.client.FindSimilarIdeas(ctx, &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten", Title: "KOL"})
				return err
			}, "POST", "/v1/regions/vasterbotten/ideas:findSimilar", `{"title":"KOL"}`, []auth.Role{auth.Partner}},
			{"EraseSubmitter", func(ctx context.Context) error {
				_, err := e.client.EraseSubmitter(ctx, &ideav1.EraseSubmitterRequest{Name: n})
				return err
			}, "POST", "/v1/" + n + ":eraseSubmitter", `{}`, []auth.Role{auth.Partner, auth.Advisor}},
			{"SpreadIdea", func(ctx context.Context) error {
				_, err := e.client.SpreadIdea(ctx, &ideav1.SpreadIdeaRequest{Name: n, TargetRegion: "uppsala", Etag: idea.GetEtag()})
				return err
			}, "POST", "/v1/" + n + ":spread", `{"targetRegion":"uppsala","etag":"1"}`, []auth.Role{auth.Partner, auth.Submitter}},
		}
		for _, r := range rpcs {
			t.Run(r.name, func(t *testing.T) {
				callers := []struct {
					who      string
					c        stack.Caller
					wantCode codes.Code
					wantHTTP int
				}{
					{"no token", stack.Caller{}, codes.Unauthenticated, 401},
					{"advisor of uppsala", e.As(t, auth.Advisor, "uppsala"), codes.PermissionDenied, 403},
					{"admin of uppsala", e.As(t, auth.RegionAdmin, "uppsala"), codes.PermissionDenied, 403},
				}
				for _, role := range r.deniedRoles {
					callers = append(callers, struct {
						who      string
						c        stack.Caller
						wantCode codes.Code
						wantHTTP int
					}{string(role) + " of vasterbotten", e.As(t, role, "vasterbotten"), codes.PermissionDenied, 403})
				}
				for _, c := range callers {
					if got := status.Code(r.grpc(c.c.Ctx(t))); got != c.wantCode {
						t.Errorf("gRPC as %s: %v, want %v", c.who, got, c.wantCode)
					}
					if code, body := restCall(t, e, c.c, r.method, r.path, r.body); code != c.wantHTTP {
						t.Errorf("REST as %s: %d, want %d (%v)", c.who, code, c.wantHTTP, body)
					}
				}
			})
		}
	})
}
