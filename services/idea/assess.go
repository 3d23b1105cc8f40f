package idea

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Weights weigh the six assessment criteria of a region's scorecard.
type Weights struct {
	PatientBenefit, CareBenefit, Feasibility, Novelty, MarketPotential, Risk float64
}

// EqualWeights is the default scorecard: every criterion counts the same.
func EqualWeights() Weights { return Weights{1, 1, 1, 1, 1, 1} }

func (s *Server) weightsOf(region string) Weights {
	if w, ok := s.weights[region]; ok {
		return w
	}
	return EqualWeights()
}

// score is the weighted mean of an assessment's six scores.
func (w Weights) score(a *ideav1.Assessment) float64 {
	sum := w.PatientBenefit + w.CareBenefit + w.Feasibility + w.Novelty + w.MarketPotential + w.Risk
	if sum <= 0 {
		w, sum = EqualWeights(), 6
	}
	return (w.PatientBenefit*float64(a.GetPatientBenefit()) + w.CareBenefit*float64(a.GetCareBenefit()) +
		w.Feasibility*float64(a.GetFeasibility()) + w.Novelty*float64(a.GetNovelty()) +
		w.MarketPotential*float64(a.GetMarketPotential()) + w.Risk*float64(a.GetRisk())) / sum
}

func assessmentRef(idea ideaName, id string) repo.Ref {
	return repo.Ref{Region: idea.Region, Key: "assessment/" + idea.ID + "/" + id, Name: idea.String() + "/assessments/" + id}
}

// CreateAssessment records the caller's scorecard. One per reviewer per
// idea: a second one replaces the first. The idea's summary is recomputed
// in the same atomic write, so it always matches the stored scorecards.
func (s *Server) CreateAssessment(ctx context.Context, req *ideav1.CreateAssessmentRequest) (*ideav1.Assessment, error) {
	name, who, err := s.resolve(ctx, req.GetParent(), "parent", auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetAssessment()
	var v errs.Violations
	for _, c := range []struct {
		field string
		score int32
	}{
		{"patient_benefit", in.GetPatientBenefit()}, {"care_benefit", in.GetCareBenefit()},
		{"feasibility", in.GetFeasibility()}, {"novelty", in.GetNovelty()},
		{"market_potential", in.GetMarketPotential()}, {"risk", in.GetRisk()},
	} {
		if c.score < 1 || c.score > 5 {
			v.Add("assessment."+c.field, "is %d; scores run from 1 to 5 (for risk, 5 is the lowest risk)", c.score)
		}
	}
	if utf8.RuneCountInString(in.GetComment()) > maxText {
		v.Add("assessment.comment", "is longer than %d characters", maxText)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	var workshop string
	if in.GetWorkshop() != "" {
		if workshop, err = s.checkWorkshopScore(ctx, who, name, in.GetWorkshop()); err != nil {
			return nil, err
		}
	}

	id := subjectKey(who.Subject)
	a := &ideav1.Assessment{
		Name:     name.String() + "/assessments/" + id,
		Reviewer: who.Subject, ReviewerName: who.Name,
		PatientBenefit: in.GetPatientBenefit(), CareBenefit: in.GetCareBenefit(), Feasibility: in.GetFeasibility(),
		Novelty: in.GetNovelty(), MarketPotential: in.GetMarketPotential(), Risk: in.GetRisk(),
		Comment:    strings.TrimSpace(in.GetComment()),
		CreateTime: timestamppb.New(s.now()),
		Workshop:   workshop,
	}
	a.WeightedScore = s.weightsOf(name.Region).score(a)
	_, err = s.commit(ctx, who, name, mutation{
		action: "CreateAssessment",
		apply: func(r *record) ([]store.Put, error) {
			if final(r.Msg.GetStage()) {
				return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s: assessments are made before a final stage", name, r.Msg.GetStage())
			}
			// A reviewer's second scorecard replaces their first.
			e := &repo.Entry[*ideav1.Assessment]{Ref: assessmentRef(name, id), Msg: a}
			prev, err := s.assessments.Get(ctx, e.Ref)
			switch {
			case err == nil:
				e.Version, e.Owner = prev.Version, prev.Owner
			case !errors.Is(err, store.ErrNotFound):
				return nil, err
			}
			if side(r).Scores == nil {
				side(r).Scores = map[string]float64{}
			}
			side(r).Scores[id] = a.WeightedScore
			var sum float64
			for _, sc := range side(r).Scores {
				sum += sc
			}
			r.Msg.AssessmentSummary = &ideav1.AssessmentSummary{Count: int32(len(side(r).Scores)), WeightedScore: sum / float64(len(side(r).Scores))}
			put, err := s.assessments.Put(e)
			if err != nil {
				return nil, domain.Store(err, "ASSESSMENT", a.Name)
			}
			return []store.Put{put}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// ListAssessments lists an idea's scorecards; they are the workshop's
// working material, so only the region's staff and national callers read
// them.
func (s *Server) ListAssessments(ctx context.Context, req *ideav1.ListAssessmentsRequest) (*ideav1.ListAssessmentsResponse, error) {
	name, who, err := s.resolve(ctx, req.GetParent(), "parent", auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	o := assessmentOrders.Parse(&v, req.GetOrderBy())
	query := resource.Digest("assessments", req.GetParent(), assessmentOrders[o])
	if o >= 2 {
		// By time or score: the idea's scorecards (one per reviewer, a
		// short list) sorted in memory, the token a position in them.
		start, size, err := offsetPage(&v, req.GetPageSize(), req.GetPageToken(), query)
		if err != nil {
			return nil, err
		}
		if _, err := s.load(ctx, who, name); err != nil {
			return nil, err
		}
		var sorted []*ideav1.Assessment
		if err := all(ctx, s.assessments, name.Region, store.Query{Index: "assessments", Prefix: name.ID + "/"}, func(e *repo.Entry[*ideav1.Assessment]) error {
			sorted = append(sorted, e.Msg)
			return nil
		}); err != nil {
			return nil, err
		}
		sortAssessments(sorted, o)
		resp := &ideav1.ListAssessmentsResponse{}
		if start < len(sorted) {
			end := min(start+size, len(sorted))
			resp.Assessments = sorted[start:end]
			if end < len(sorted) {
				resp.NextPageToken = resource.EncodeToken(strconv.Itoa(end), query)
			}
		}
		return resp, nil
	}
	size := resource.PageSize(&v, req.GetPageSize())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, who, name); err != nil {
		return nil, err
	}
	resp := &ideav1.ListAssessmentsResponse{}
	resp.NextPageToken, err = s.assessments.List(ctx, name.Region, repo.Page[*ideav1.Assessment]{
		Plan: filter.Plan[*ideav1.Assessment]{Query: store.Query{Index: "assessments", Prefix: name.ID + "/", Reverse: o == 1}}, After: after, Size: size, Digest: query,
	}, func(e *repo.Entry[*ideav1.Assessment]) (bool, error) {
		resp.Assessments = append(resp.Assessments, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
