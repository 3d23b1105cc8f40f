package idea

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
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

func assessmentKey(idea ideaName, id string) string { return "assessment/" + idea.ID + "/" + id }

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
	value, err := protojson.Marshal(a)
	if err != nil {
		return nil, domain.Store(err, "ASSESSMENT", a.Name)
	}
	_, err = s.commit(ctx, who, name, mutation{
		action: "CreateAssessment",
		apply: func(r *record) ([]store.Put, error) {
			if final(r.idea.GetStage()) {
				return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s: assessments are made before a final stage", name, r.idea.GetStage())
			}
			prev, err := s.store.Get(ctx, ns(name.Region), assessmentKey(name, id))
			switch {
			case errors.Is(err, store.ErrNotFound):
				prev.Version = 0
			case err != nil:
				return nil, domain.Store(err, "ASSESSMENT", a.Name)
			}
			if r.scores == nil {
				r.scores = map[string]float64{}
			}
			r.scores[id] = a.WeightedScore
			var sum float64
			for _, sc := range r.scores {
				sum += sc
			}
			r.idea.AssessmentSummary = &ideav1.AssessmentSummary{Count: int32(len(r.scores)), WeightedScore: sum / float64(len(r.scores))}
			return []store.Put{{
				Key: assessmentKey(name, id), Value: value, Version: prev.Version,
				Index: []store.IndexEntry{{Index: "assessments", Term: name.ID + "/" + id}},
			}}, nil
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
	query := resource.Digest("assessments", req.GetParent())
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, who, name); err != nil {
		return nil, err
	}
	page, err := s.store.Scan(ctx, ns(name.Region), store.Query{Index: "assessments", Prefix: name.ID + "/", After: after, Limit: size})
	if err != nil {
		return nil, domain.Store(err, "ASSESSMENT", "assessments of "+name.String())
	}
	resp := &ideav1.ListAssessmentsResponse{}
	for _, it := range page.Items {
		a := &ideav1.Assessment{}
		if err := protojson.Unmarshal(it.Record.Value, a); err != nil {
			return nil, domain.Store(err, "ASSESSMENT", it.Record.Key)
		}
		resp.Assessments = append(resp.Assessments, a)
	}
	if page.More && len(page.Items) > 0 {
		resp.NextPageToken = resource.EncodeToken(page.Items[len(page.Items)-1].Cursor, query)
	}
	return resp, nil
}
