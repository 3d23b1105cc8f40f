package idea

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// spreadDeadline bounds one call to the adopting region; spreadAttempts how
// often an UNAVAILABLE answer is tried again. Adoption is idempotent, so a
// retry never creates a second idea.
const (
	spreadDeadline = 5 * time.Second
	spreadAttempts = 3
)

// spreadable stages: an idea spreads once it works somewhere.
func spreadable(st ideav1.Stage) bool {
	return st == ideav1.Stage_STAGE_IMPLEMENTED || st == ideav1.Stage_STAGE_COMMERCIALISED || st == ideav1.Stage_STAGE_SPREAD
}

// SpreadIdea asks the target region to adopt the idea and, once it has,
// moves the idea to STAGE_SPREAD and records the adopted idea. The adoption
// is keyed by this idea's name, so a retry after any failure — here or
// there — finds the same adopted idea instead of making another.
func (s *Server) SpreadIdea(ctx context.Context, req *ideav1.SpreadIdeaRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolve(ctx, req.GetName(), "name", auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	target := req.GetTargetRegion()
	var v errs.Violations
	switch {
	case target == "":
		v.Add("target_region", "is required: the region that adopts the idea, e.g. uppsala")
	case !config.KnownRegion(target):
		v.Add("target_region", "%q is not one of Sweden's 21 region ids", target)
	case target == name.Region:
		v.Add("target_region", "is the idea's own region; spread it to another one")
	}
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the idea as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.load(ctx, who, name)
	if err != nil {
		return nil, err
	}
	if done := adoptedIn(r.Msg, target); done != "" {
		return redact(who, name.Region, r.Owner, r.Msg), nil // a repeated spread whose answer was lost
	}
	if req.GetEtag() != r.Etag() {
		return nil, s.ideas.Stale(r, req.GetEtag())
	}
	if !spreadable(r.Msg.GetStage()) {
		return nil, domain.FailedPrecondition("IDEA_NOT_SPREADABLE",
			"idea %s is %s: only an IMPLEMENTED or COMMERCIALISED idea spreads to other regions", name, r.Msg.GetStage())
	}
	if s.regionIdeas == nil {
		return nil, domain.FailedPrecondition("REGION_UNREACHABLE", "this deployment reaches no other region's idea service")
	}
	adopted, err := s.adopt(auth.OnBehalfOf(ctx, who.Subject), r.Msg, target)
	if err != nil {
		return nil, err
	}

	out, err := s.commit(ctx, who, name, mutation{
		action: "SpreadIdea",
		etag:   req.GetEtag(),
		apply: func(r *record) ([]store.Put, error) {
			if slices.Contains(r.Msg.GetSpreadTo(), adopted.GetName()) {
				return nil, nil
			}
			r.Msg.SpreadTo = append(r.Msg.SpreadTo, adopted.GetName())
			if from := r.Msg.GetStage(); from != ideav1.Stage_STAGE_SPREAD {
				r.Msg.Stage = ideav1.Stage_STAGE_SPREAD
				side(r).History = append(side(r).History, &ideav1.HistoryEntry{
					FromStage: from, ToStage: ideav1.Stage_STAGE_SPREAD,
					Rationale: "Adopted by region " + target + " as " + adopted.GetName(),
					Actor:     who.Subject, ActorName: who.Name, Time: timestamppb.New(s.now()),
				})
			}
			return nil, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return redact(who, name.Region, out.Owner, out.Msg), nil
}

// adoptedIn returns the idea that region adopted from idea, if recorded.
func adoptedIn(idea *ideav1.Idea, region string) string {
	for _, n := range idea.GetSpreadTo() {
		if strings.HasPrefix(n, "regions/"+region+"/") {
			return n
		}
	}
	return ""
}

// adopt calls the target region's idea service as this deployment (the
// RegionIdeas client carries no user token: the target trusts the
// deployment that serves the source region, not the person), under a
// deadline, retrying only when the region was unavailable.
func (s *Server) adopt(ctx context.Context, idea *ideav1.Idea, target string) (*ideav1.Idea, error) {
	client, err := s.regionIdeas(target)
	if err != nil {
		// No route is a gap in the configuration, which a retry does not
		// close: FAILED_PRECONDITION, not UNAVAILABLE.
		return nil, domain.FailedPrecondition("REGION_NOT_ROUTED",
			"region %s is served neither by this deployment nor by one it knows (%v); nothing was spread", target, err)
	}
	req := &ideav1.AdoptIdeaRequest{
		Parent: "regions/" + target,
		Idea: &ideav1.Idea{
			Title: idea.GetTitle(), Problem: idea.GetProblem(), Proposal: idea.GetProposal(),
			Origin: idea.GetOrigin(), CareArea: idea.GetCareArea(), Tags: idea.GetTags(),
		},
		SpreadFrom: idea.GetName(),
	}
	var last error
	for attempt := range spreadAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, domain.New(codes.Unavailable, "REGION_UNREACHABLE", "region %s did not answer: %v", target, last)
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, spreadDeadline)
		adopted, err := client.AdoptIdea(cctx, req)
		cancel()
		if err == nil {
			return adopted, nil
		}
		last = err
		if status.Code(err) != codes.Unavailable {
			break
		}
	}
	if st, ok := status.FromError(last); ok && st.Code() != codes.Unavailable && st.Code() != codes.DeadlineExceeded {
		return nil, st.Err() // the target's own answer (refused, invalid) says best what is wrong
	}
	return nil, domain.New(codes.Unavailable, "REGION_UNREACHABLE", "region %s did not answer; nothing was spread, try again: %v", target, last)
}

// AdoptIdea creates this region's copy of an idea spread from another
// region, at STAGE_SCREENING, linked to its source. Only the idea service of
// the deployment serving the source region calls it, as itself (auth.Table):
// a peer deployment, whose certificate the access gate matched against the
// source's region, or this process, which then finds the source idea in its
// own store and checks it may spread.
func (s *Server) AdoptIdea(ctx context.Context, req *ideav1.AdoptIdeaRequest) (*ideav1.Idea, error) {
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if err := s.servedRegion(region); err != nil {
		if s.relay {
			return s.relayAdoption(ctx, req, region)
		}
		return nil, err
	}
	source, err := parseIdeaName(req.GetSpreadFrom())
	if err != nil {
		return nil, domain.InvalidArgument("spread_from", err)
	}
	who, err := auth.Require(ctx, source.Region, auth.Service)
	if err != nil {
		return nil, err
	}
	if source.Region == region {
		return nil, domain.InvalidArgument("spread_from", errors.New("an idea is not spread to its own region"))
	}
	if who.Kind == auth.CallerInternal {
		if err := s.checkSource(ctx, source); err != nil {
			return nil, err
		}
	}
	in := req.GetIdea()
	if err := validateCreate(&ideav1.CreateIdeaRequest{Idea: in}, true).Err(domain); err != nil {
		return nil, err
	}

	id := ideaName{Region: region, ID: resource.NewID()}
	adopted := newIdea(in, true)
	adopted.Submitter, adopted.Consent = nil, &ideav1.Consent{}
	adopted.Name = id.String()
	adopted.Stage = ideav1.Stage_STAGE_SCREENING
	adopted.SpreadFrom = source.String()
	adopted.CreateTime = timestamppb.New(s.now())
	r := &record{Ref: id.ref(), Msg: adopted, Side: &ideav1.IdeaRecord{History: []*ideav1.HistoryEntry{{
		ToStage: ideav1.Stage_STAGE_SCREENING, Rationale: "Spread from " + source.String(),
		Actor: who.Actor(), ActorName: who.Name, Time: adopted.CreateTime,
	}}}}
	// One adoption per source idea and region, whoever asks and however
	// often: the request is the source's name, the same for every caller.
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	r, _, err = s.ideas.Create(ctx, r, repo.Create{
		Actor: who.Actor(), Action: "AdoptIdea", Detail: "spread from " + source.String(),
		Request: &repo.Request{ID: source.String(), Subject: "adopt", Kind: "adopt", Body: &ideav1.AdoptIdeaRequest{SpreadFrom: source.String()}},
	})
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// checkSource is what this deployment vouches for when it adopts an idea of
// a region it serves itself: the source idea exists here and has reached a
// stage that spreads.
func (s *Server) checkSource(ctx context.Context, source ideaName) error {
	if err := s.servedRegion(source.Region); err != nil {
		return auth.Denied("source_not_served", "this deployment does not serve region %s, so it cannot vouch for idea %s", source.Region, source)
	}
	src, err := s.ideas.Get(ctx, source.ref())
	if errors.Is(err, store.ErrNotFound) {
		return domain.FailedPrecondition("SOURCE_IDEA_NOT_FOUND", "idea %s, the source of the adoption, does not exist", source)
	}
	if err != nil {
		return err
	}
	if !spreadable(src.Msg.GetStage()) {
		return domain.FailedPrecondition("IDEA_NOT_SPREADABLE", "idea %s is %s: only an IMPLEMENTED or COMMERCIALISED idea spreads", source, src.Msg.GetStage())
	}
	return nil
}
