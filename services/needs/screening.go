package needs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// Weights are how much each screening criterion counts in a need's priority
// score. Only their ratios matter: the score is a weighted mean.
type Weights struct {
	ClinicalImpact   float64
	PatientsAffected float64
	ProblemCost      float64
	StrategicFit     float64
	Feasibility      float64
}

// maxWeight keeps weighted sums far from overflow; only ratios matter, so
// it limits nothing a region would want.
const maxWeight = 1000

// EqualWeights weigh every criterion the same; the default of every region.
func EqualWeights() Weights { return Weights{1, 1, 1, 1, 1} }

func (w Weights) list() []float64 {
	return []float64{w.ClinicalImpact, w.PatientsAffected, w.ProblemCost, w.StrategicFit, w.Feasibility}
}

func (w Weights) check() error {
	sum := 0.0
	for _, x := range w.list() {
		if math.IsNaN(x) || x < 0 || x > maxWeight {
			return fmt.Errorf("every weight must be from 0 to %d, got %v", maxWeight, w.list())
		}
		sum += x
	}
	if sum == 0 {
		return errors.New("at least one weight must be above 0")
	}
	return nil
}

// score is the weighted mean of a round's five scores, 1 to 5.
func (w Weights) score(sc *needsv1.Screening) float64 {
	scores := []int32{sc.GetClinicalImpact(), sc.GetPatientsAffected(), sc.GetProblemCost(), sc.GetStrategicFit(), sc.GetFeasibility()}
	var sum, total float64
	for i, x := range w.list() {
		sum += x * float64(scores[i])
		total += x
	}
	return sum / total
}

func (s *Server) weightsOf(region string) Weights {
	if w, ok := s.weights[region]; ok {
		return w
	}
	return EqualWeights()
}

// CreateScreening records a screening round. The need's priority score
// becomes the round's weighted mean in the same atomic write, so the score
// never disagrees with the latest round.
func (s *Server) CreateScreening(ctx context.Context, req *needsv1.CreateScreeningRequest) (*needsv1.Screening, error) {
	name, err := parseNeedName(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	checkScreening(&v, req.GetScreening())
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	var out *needsv1.Screening
	_, res, err := s.needs.Update(ctx, name.ref(), "", who.Subject, func(r *record, now time.Time) (repo.Change, error) {
		if r.Msg.GetStatus() == needsv1.NeedStatus_NEED_STATUS_CLOSED {
			return repo.Change{}, closedError(name, "it is not screened any more")
		}
		in := req.GetScreening()
		sn := screeningName{Need: name, Round: int(r.Incr(countScreenings))}
		out = &needsv1.Screening{
			Name:             sn.String(),
			ClinicalImpact:   in.GetClinicalImpact(),
			PatientsAffected: in.GetPatientsAffected(),
			ProblemCost:      in.GetProblemCost(),
			StrategicFit:     in.GetStrategicFit(),
			Feasibility:      in.GetFeasibility(),
			Comment:          strings.TrimSpace(in.GetComment()),
			Reviewer:         who.Subject,
			ReviewerName:     who.Name,
			CreateTime:       timestamppb.New(now),
		}
		out.WeightedScore = s.weightsOf(name.Region).score(out)
		r.Msg.PriorityScore = out.WeightedScore
		put, err := s.screenings.Put(&repo.Entry[*needsv1.Screening]{Ref: sn.ref(), Msg: out})
		if err != nil {
			return repo.Change{}, err
		}
		return repo.Change{
			Action: "CreateScreening", Detail: "round " + strconv.Itoa(sn.Round), Puts: []store.Put{put},
			Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "screening",
				Body: &needsv1.CreateScreeningRequest{Parent: req.GetParent(), Screening: req.GetScreening()}},
			Result: sn.String(),
		}, nil
	})
	if err != nil {
		return nil, err
	}
	if res.Replayed {
		first, err := parseScreeningName(res.Result)
		if err != nil {
			return nil, domain.Store(err, "SCREENING", "replayed screening")
		}
		sc, err := s.screenings.Get(ctx, first.ref())
		if err != nil {
			return nil, err
		}
		return redactScreening(who, first.Need.Region, sc.Msg), nil
	}
	return out, nil
}

func redactScreening(who *auth.Identity, region string, sc *needsv1.Screening) *needsv1.Screening {
	if redactPeople(who, region) {
		sc.Reviewer, sc.ReviewerName = "", ""
	}
	return sc
}

// ListScreenings pages through a need's screening rounds, oldest first or
// newest first.
func (s *Server) ListScreenings(ctx context.Context, req *needsv1.ListScreeningsRequest) (*needsv1.ListScreeningsResponse, error) {
	name, err := parseNeedName(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	// Screenings are the region's own deliberations: its staff and national
	// callers read them, reporters and partners see the resulting score.
	who, err := auth.Require(ctx, name.Region, auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := screeningOrders.Parse(&v, req.GetOrderBy())
	q := store.Query{Index: "screenings", Prefix: name.ID + "/", Reverse: o == 1}
	query := resource.Digest(name.String(), q.Index, q.Prefix, screeningOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.needs.Get(ctx, name.ref()); err != nil {
		return nil, err
	}

	resp := &needsv1.ListScreeningsResponse{}
	page := repo.Page[*needsv1.Screening]{Plan: filter.Plan[*needsv1.Screening]{Query: q}, After: after, Size: size, Digest: query}
	resp.NextPageToken, err = s.screenings.List(ctx, name.Region, page, func(e *repo.Entry[*needsv1.Screening]) (bool, error) {
		resp.Screenings = append(resp.Screenings, redactScreening(who, name.Region, e.Msg))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
