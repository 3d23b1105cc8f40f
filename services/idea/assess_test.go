package idea_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

func scorecard(p, c, f, n, m, r int32) *ideav1.Assessment {
	return &ideav1.Assessment{PatientBenefit: p, CareBenefit: c, Feasibility: f, Novelty: n, MarketPotential: m, Risk: r, Comment: "ok"}
}

func TestAssessments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		idea := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten", "sub"), "vasterbotten", sampleIdea())
		anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
		bo := e.As(t, auth.RegionAdmin, "vasterbotten", "bo")
		assess := func(c stack.Caller, a *ideav1.Assessment) (*ideav1.Assessment, error) {
			return e.client.CreateAssessment(c.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: a})
		}
		summary := func() *ideav1.AssessmentSummary {
			got, err := e.client.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			return got.GetAssessmentSummary()
		}

		if _, err := assess(anna, scorecard(5, 5, 5, 5, 5, 5)); err != nil {
			t.Fatal(err)
		}
		// Anna changes her mind: her second scorecard replaces the first.
		if _, err := assess(anna, scorecard(1, 1, 1, 1, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if s := summary(); s.GetCount() != 1 || s.GetWeightedScore() != 1 {
			t.Errorf("after a replaced scorecard: %v, want count 1 score 1", s)
		}
		got, err := assess(bo, scorecard(5, 4, 3, 2, 1, 3))
		if err != nil {
			t.Fatal(err)
		}
		if got.GetWeightedScore() != 3 || got.GetReviewer() != "bo" {
			t.Errorf("bo's scorecard %v, want weighted score 3 by bo", got)
		}
		if s := summary(); s.GetCount() != 2 || s.GetWeightedScore() != 2 {
			t.Errorf("summary %v, want count 2, mean of 1 and 3", s)
		}
		list, err := e.client.ListAssessments(anna.Ctx(t), &ideav1.ListAssessmentsRequest{Parent: idea.GetName()})
		if err != nil || len(list.GetAssessments()) != 2 {
			t.Fatalf("ListAssessments: %v %v", list, err)
		}

		_, err = assess(anna, scorecard(0, 6, 3, 3, 3, -1))
		want := []string{"assessment.care_benefit", "assessment.patient_benefit", "assessment.risk"}
		if got := uniqueSorted(fieldViolations(err)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("bad scores: %v, violations %v, want %v", err, got, want)
		}
		for _, tc := range []struct {
			name   string
			caller stack.Caller
			want   codes.Code
		}{
			{"submitter", e.As(t, auth.Submitter, "vasterbotten", "sub"), codes.PermissionDenied},
			{"advisor of another region", e.As(t, auth.Advisor, "uppsala"), codes.PermissionDenied},
			{"coordinator", e.As(t, auth.Coordinator, auth.NationalRegion), codes.PermissionDenied},
		} {
			if _, err := assess(tc.caller, scorecard(3, 3, 3, 3, 3, 3)); status.Code(err) != tc.want {
				t.Errorf("%s assesses: %v, want %v", tc.name, err, tc.want)
			}
		}
	})
}

// TestAssessments_ConcurrentReviewers: a selection workshop scores at once;
// the summary counts every reviewer exactly once.
func TestAssessments_ConcurrentReviewers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		idea := e.mustCreate(t, e.As(t, auth.Advisor, "vasterbotten"), "vasterbotten", sampleIdea())
		var wg sync.WaitGroup
		for i := range 12 {
			c := e.As(t, auth.Advisor, "vasterbotten", "reviewer-"+string(rune('a'+i)))
			wg.Go(func() {
				if _, err := e.client.CreateAssessment(c.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: scorecard(4, 4, 4, 4, 4, 4)}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := e.client.GetIdea(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if s := got.GetAssessmentSummary(); s.GetCount() != 12 || s.GetWeightedScore() != 4 {
			t.Errorf("summary %v, want 12 reviewers with score 4", s)
		}
	})
}

func TestAssessments_RegionWeights(t *testing.T) {
	b := stack.Backends()[0]
	served, _ := config.ParseServed("uppsala")
	st := b.Open(t)
	// Uppsala weighs patient benefit three times.
	w := idea.Weights{PatientBenefit: 3, CareBenefit: 1, Feasibility: 1, Novelty: 1, MarketPotential: 1, Risk: 1}
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served, Weights: map[string]idea.Weights{"uppsala": w}}))
	})
	client := ideav1.NewIdeaServiceClient(env.Conn)
	adv := env.As(t, auth.Advisor, "uppsala")
	created, err := client.CreateIdea(adv.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/uppsala", Idea: sampleIdea()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := client.CreateAssessment(adv.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: created.GetName(), Assessment: scorecard(5, 1, 1, 1, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if want := 20.0 / 8; math.Abs(a.GetWeightedScore()-want) > 1e-9 {
		t.Errorf("weighted score %v, want %v", a.GetWeightedScore(), want)
	}
}
