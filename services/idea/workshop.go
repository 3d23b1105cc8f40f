package idea

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// A selection workshop is where a region's advisors score the ideas on its
// agenda with the scorecard and decide which go forward. Its scores are the
// ordinary assessments, each naming the workshop; its decisions are ordinary
// gate moves whose history entry names the workshop.

const (
	maxAgenda       = 100
	maxParticipants = 50
)

type workshopName struct{ Region, ID string }

func (n workshopName) String() string { return "regions/" + n.Region + "/workshops/" + n.ID }
func (n workshopName) ref() repo.Ref {
	return repo.Ref{Region: n.Region, Key: n.key(), Name: n.String()}
}
func (n workshopName) key() string { return "workshop/" + n.ID }

func parseWorkshopName(s string) (workshopName, error) {
	ids, err := resource.Split(s, "regions", "workshops")
	if err != nil {
		return workshopName{}, err
	}
	return workshopName{Region: ids[0], ID: ids[1]}, nil
}

// workshopIndex lists workshops by date, newest first.
func workshopIndex(e *repo.Entry[*ideav1.Workshop]) []store.IndexEntry {
	return []store.IndexEntry{{Index: "workshops", Term: workshopTerm(e.Msg.GetDate(), strings.TrimPrefix(e.Ref.Key, "workshop/"))}}
}

// workshopTerm orders workshops by date, newest first.
func workshopTerm(date, id string) string {
	d := strings.ReplaceAll(date, "-", "")
	var n int
	_, _ = fmt.Sscanf(d, "%d", &n)
	return fmt.Sprintf("%08d/%s", 99999999-n, id)
}

// CreateWorkshop schedules a selection workshop.
func (s *Server) CreateWorkshop(ctx context.Context, req *ideav1.CreateWorkshopRequest) (*ideav1.Workshop, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	in := req.GetWorkshop()
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	resource.CheckText(&v, "workshop.title", in.GetTitle(), maxTitle, true)
	checkDate(&v, "workshop.date", in.GetDate(), true)
	resource.CheckText(&v, "workshop.facilitator", in.GetFacilitator(), maxShort, false)
	participants := uniqueTrimmed(&v, "workshop.participants", in.GetParticipants(), maxParticipants)
	if len(participants) == 0 {
		v.Add("workshop.participants", "name at least one participant who scores the agenda (their subject)")
	}
	agenda := uniqueTrimmed(&v, "workshop.agenda", in.GetAgenda(), maxAgenda)
	if len(agenda) == 0 {
		v.Add("workshop.agenda", "put at least one idea on the agenda")
	}
	for i, a := range agenda {
		n, err := parseIdeaName(a)
		switch {
		case err != nil:
			v.Add(fmt.Sprintf("workshop.agenda[%d]", i), "%v", err)
		case n.Region != region:
			v.Add(fmt.Sprintf("workshop.agenda[%d]", i), "%s is an idea of another region: a workshop takes its own region's ideas", a)
		}
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	for i, a := range agenda {
		n, _ := parseIdeaName(a)
		r, err := s.load(ctx, who, n)
		if err != nil {
			return nil, err
		}
		if final(r.Msg.GetStage()) {
			return nil, domain.FailedPrecondition("IDEA_FINAL", "workshop.agenda[%d]: idea %s is %s, a final stage: there is nothing to decide", i, a, r.Msg.GetStage())
		}
	}

	facilitator := strings.TrimSpace(in.GetFacilitator())
	if facilitator == "" {
		facilitator = who.Subject
	}
	id := workshopName{Region: region, ID: resource.NewID()}
	w := &ideav1.Workshop{
		Name: id.String(), Title: strings.TrimSpace(in.GetTitle()), Date: in.GetDate(),
		Facilitator: facilitator, Participants: participants, Agenda: agenda,
		CreateTime: timestamppb.New(s.now()),
	}
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	e, _, err := s.workshops.Create(ctx, &repo.Entry[*ideav1.Workshop]{Ref: id.ref(), Msg: w}, repo.Create{
		Actor: who.Subject, Action: "CreateWorkshop",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "CreateWorkshop",
			Body: &ideav1.CreateWorkshopRequest{Parent: req.GetParent(), Workshop: in}},
	})
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// uniqueTrimmed trims a list of names and refuses empty, repeated or too
// many entries.
func uniqueTrimmed(v *errs.Violations, field string, in []string, max int) []string {
	if len(in) > max {
		v.Add(field, "has %d entries; at most %d are allowed", len(in), max)
	}
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			v.Add(field, "an entry is empty")
		case len(s) > maxShort:
			v.Add(field, "%q is longer than %d characters", s, maxShort)
		case slices.Contains(out, s):
			v.Add(field, "%q is given twice", s)
		default:
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) loadWorkshop(ctx context.Context, name workshopName) (*ideav1.Workshop, error) {
	e, err := s.workshops.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// resolveWorkshop parses a workshop name and checks the caller's region and role.
func (s *Server) resolveWorkshop(ctx context.Context, raw, field string, roles ...auth.Role) (workshopName, *auth.Identity, error) {
	name, err := parseWorkshopName(raw)
	if err != nil {
		return workshopName{}, nil, domain.InvalidArgument(field, err)
	}
	who, err := resource.Caller(ctx, domain, s.regions, name.Region, roles...)
	if err != nil {
		return workshopName{}, nil, err
	}
	return name, who, nil
}

// workshopReaders: the region's staff and national callers.
func workshopReaders() []auth.Role {
	return []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service}
}

// GetWorkshop returns one workshop.
func (s *Server) GetWorkshop(ctx context.Context, req *ideav1.GetWorkshopRequest) (*ideav1.Workshop, error) {
	name, _, err := s.resolveWorkshop(ctx, req.GetName(), "name", workshopReaders()...)
	if err != nil {
		return nil, err
	}
	return s.loadWorkshop(ctx, name)
}

// ListWorkshops pages through a region's workshops, newest date first.
func (s *Server) ListWorkshops(ctx context.Context, req *ideav1.ListWorkshopsRequest) (*ideav1.ListWorkshopsResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), workshopReaders()...)
	if err != nil {
		return nil, err
	}
	resp := &ideav1.ListWorkshopsResponse{}
	resp.Workshops, resp.NextPageToken, err = pageKept(ctx, s.workshops, region, store.Query{Index: "workshops"}, resource.Digest("workshops", region),
		workshopOrders, req.GetOrderBy(), req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// workshopScores are the weighted scores an idea got in a workshop, one per
// reviewer.
func (s *Server) workshopScores(ctx context.Context, idea ideaName, workshop string) ([]float64, error) {
	var scores []float64
	err := all(ctx, s.assessments, idea.Region, store.Query{Index: "assessments", Prefix: idea.ID + "/"}, func(e *repo.Entry[*ideav1.Assessment]) error {
		a := e.Msg
		if a.GetWorkshop() == workshop {
			scores = append(scores, a.GetWeightedScore())
		}
		return nil
	})
	return scores, err
}

// rank fills in an agenda idea's figures from its scores.
func rank(ri *ideav1.RankedIdea, scores []float64) {
	ri.Reviewers = int32(len(scores))
	if len(scores) == 0 {
		return
	}
	var sum float64
	ri.MinScore, ri.MaxScore = scores[0], scores[0]
	for _, sc := range scores {
		sum += sc
		ri.MinScore, ri.MaxScore = min(ri.MinScore, sc), max(ri.MaxScore, sc)
	}
	mean := sum / float64(len(scores))
	var sq float64
	for _, sc := range scores {
		sq += (sc - mean) * (sc - mean)
	}
	ri.WeightedScore, ri.Stddev = mean, math.Sqrt(sq/float64(len(scores)))
}

// GetWorkshopResult ranks the agenda by the workshop's scores: the highest
// mean first; on equal means the one the reviewers agree on more (smaller
// spread); ideas nobody scored last, unranked.
func (s *Server) GetWorkshopResult(ctx context.Context, req *ideav1.GetWorkshopResultRequest) (*ideav1.WorkshopResult, error) {
	name, who, err := s.resolveWorkshop(ctx, req.GetName(), "name", workshopReaders()...)
	if err != nil {
		return nil, err
	}
	w, err := s.loadWorkshop(ctx, name)
	if err != nil {
		return nil, err
	}
	res := &ideav1.WorkshopResult{Workshop: w.GetName()}
	for _, a := range w.GetAgenda() {
		n, err := parseIdeaName(a)
		if err != nil {
			return nil, domain.Store(err, "WORKSHOP", "agenda of "+w.GetName())
		}
		ri := &ideav1.RankedIdea{Idea: a}
		r, err := s.load(ctx, who, n)
		if err != nil {
			return nil, err
		}
		ri.Title, ri.Stage = r.Msg.GetTitle(), r.Msg.GetStage()
		scores, err := s.workshopScores(ctx, n, w.GetName())
		if err != nil {
			return nil, err
		}
		rank(ri, scores)
		res.Ideas = append(res.Ideas, ri)
	}
	slices.SortStableFunc(res.Ideas, func(a, b *ideav1.RankedIdea) int {
		switch {
		case (a.GetReviewers() == 0) != (b.GetReviewers() == 0):
			if a.GetReviewers() == 0 {
				return 1
			}
			return -1
		case a.GetWeightedScore() != b.GetWeightedScore():
			if a.GetWeightedScore() > b.GetWeightedScore() {
				return -1
			}
			return 1
		case a.GetStddev() != b.GetStddev():
			if a.GetStddev() < b.GetStddev() {
				return -1
			}
			return 1
		}
		return 0
	})
	for i, ri := range res.Ideas {
		if ri.GetReviewers() > 0 {
			ri.Rank = int32(i + 1)
		}
	}
	return res, nil
}

// DecideWorkshopIdea takes the workshop's decision on one agenda idea.
func (s *Server) DecideWorkshopIdea(ctx context.Context, req *ideav1.DecideWorkshopIdeaRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolveWorkshop(ctx, req.GetName(), "name", auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	idea, ierr := parseIdeaName(req.GetIdea())
	if ierr != nil {
		v.Add("idea", "%v", ierr)
	}
	switch req.GetStage() {
	case ideav1.Stage_STAGE_SELECTED, ideav1.Stage_STAGE_PARKED, ideav1.Stage_STAGE_REJECTED:
	default:
		v.Add("stage", "%s is not a workshop decision: STAGE_SELECTED, STAGE_PARKED or STAGE_REJECTED", req.GetStage())
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	w, err := s.loadWorkshop(ctx, name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(w.GetAgenda(), idea.String()) {
		return nil, domain.FailedPrecondition("NOT_ON_AGENDA", "idea %s is not on the agenda of workshop %s", idea, name)
	}
	return s.transition(ctx, who, idea, decision{
		stage: req.GetStage(), rationale: req.GetRationale(), etag: req.GetEtag(), workshop: w.GetName(),
		check: func(*record) error {
			if req.GetStage() != ideav1.Stage_STAGE_SELECTED {
				return nil
			}
			scores, err := s.workshopScores(ctx, idea, w.GetName())
			if err != nil {
				return err
			}
			if len(scores) == 0 {
				return domain.FailedPrecondition("PREREQUISITE_MISSING", "cannot select idea %s in workshop %s: none of its participants scored it", idea, name)
			}
			return nil
		},
	})
}

// checkWorkshopScore is the workshop's part of an assessment that names it:
// the reviewer takes part in it and the idea is on its agenda.
func (s *Server) checkWorkshopScore(ctx context.Context, who *auth.Identity, idea ideaName, raw string) (string, error) {
	name, err := parseWorkshopName(raw)
	if err != nil {
		return "", domain.InvalidArgument("assessment.workshop", err)
	}
	if name.Region != idea.Region {
		return "", domain.InvalidArgument("assessment.workshop", errors.New("is a workshop of another region"))
	}
	w, err := s.loadWorkshop(ctx, name)
	if err != nil {
		return "", err
	}
	if !slices.Contains(w.GetParticipants(), who.Subject) {
		return "", domain.New(permissionDenied, "NOT_A_PARTICIPANT", "only the participants of workshop %s score in it", name)
	}
	if !slices.Contains(w.GetAgenda(), idea.String()) {
		return "", domain.FailedPrecondition("NOT_ON_AGENDA", "idea %s is not on the agenda of workshop %s", idea, name)
	}
	return w.GetName(), nil
}
