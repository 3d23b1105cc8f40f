package idea

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// gate is one row of the stage-gate table of docs/architecture.md ("Domain rules").
type gate struct {
	from []ideav1.Stage // nil: any non-final stage
	// missing names the prerequisite the idea lacks, or "" when it is met.
	missing func(r *record) string
	// rationale is required for the move.
	rationale bool
	// submitterOnly: only the person who submitted the idea may make the move.
	submitterOnly bool
	// byServer: never by hand (SPREAD is set by :spread).
	byServer string
}

func gates() map[ideav1.Stage]gate {
	const (
		submitted   = ideav1.Stage_STAGE_SUBMITTED
		screening   = ideav1.Stage_STAGE_SCREENING
		selected    = ideav1.Stage_STAGE_SELECTED
		development = ideav1.Stage_STAGE_DEVELOPMENT
		testing     = ideav1.Stage_STAGE_TESTING
		implemented = ideav1.Stage_STAGE_IMPLEMENTED
		commercial  = ideav1.Stage_STAGE_COMMERCIALISED
		parked      = ideav1.Stage_STAGE_PARKED
	)
	none := func(*record) string { return "" }
	return map[ideav1.Stage]gate{
		screening: {from: []ideav1.Stage{submitted, parked}, missing: none},
		selected: {from: []ideav1.Stage{screening}, missing: func(r *record) string {
			if r.Msg.GetAssessmentSummary().GetCount() == 0 {
				return "at least one assessment (the selection workshop has not scored it)"
			}
			return ""
		}},
		development: {from: []ideav1.Stage{selected, testing}, missing: func(r *record) string {
			var m []string
			if o := r.Msg.GetIpOwner(); o == ideav1.IpOwner_IP_OWNER_UNKNOWN || o == ideav1.IpOwner_IP_OWNER_UNSPECIFIED {
				m = append(m, "ip_owner settled (it is IP_OWNER_UNKNOWN)")
			}
			return strings.Join(m, " and ")
		}},
		testing: {from: []ideav1.Stage{development}, missing: func(r *record) string {
			if len(r.Msg.GetTestPlans()) == 0 {
				return "an approved test plan (a test bed, a period and a protocol: create one under the idea's testPlans and :approve it)"
			}
			return ""
		}},
		implemented: {from: []ideav1.Stage{testing}, missing: none},
		commercial: {from: []ideav1.Stage{testing}, missing: func(r *record) string {
			if strings.TrimSpace(r.Msg.GetPartner()) == "" {
				return "partner (who commercialises it)"
			}
			return ""
		}},
		ideav1.Stage_STAGE_SPREAD:      {byServer: "an idea is SPREAD when another region adopts it, through :spread"},
		ideav1.Stage_STAGE_MERGED:      {byServer: "a duplicate is MERGED into another idea through :merge"},
		parked:                         {missing: none, rationale: true},
		ideav1.Stage_STAGE_REJECTED:    {missing: none, rationale: true},
		ideav1.Stage_STAGE_WITHDRAWN:   {missing: none, submitterOnly: true},
		ideav1.Stage_STAGE_SUBMITTED:   {byServer: "every idea starts there; it cannot be re-entered"},
		ideav1.Stage_STAGE_UNSPECIFIED: {byServer: "stage is required"},
	}
}

// final stages end the pipeline (IMPLEMENTED and COMMERCIALISED may still spread).
func final(st ideav1.Stage) bool {
	switch st {
	case ideav1.Stage_STAGE_IMPLEMENTED, ideav1.Stage_STAGE_COMMERCIALISED, ideav1.Stage_STAGE_SPREAD,
		ideav1.Stage_STAGE_REJECTED, ideav1.Stage_STAGE_WITHDRAWN, ideav1.Stage_STAGE_MERGED:
		return true
	}
	return false
}

// allowedFrom lists the stages a person may move an idea to from st.
func allowedFrom(st ideav1.Stage) []string {
	var out []string
	for to, g := range gates() {
		if g.byServer == "" && to != st && g.allows(st) {
			out = append(out, to.String())
		}
	}
	slices.Sort(out)
	return out
}

func (g gate) allows(from ideav1.Stage) bool {
	if g.from == nil {
		return !final(from)
	}
	return slices.Contains(g.from, from)
}

// TransitionIdea moves an idea through a stage gate.
func (s *Server) TransitionIdea(ctx context.Context, req *ideav1.TransitionIdeaRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolve(ctx, req.GetName(), "name", auth.Submitter, auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	return s.transition(ctx, who, name, decision{stage: req.GetStage(), rationale: req.GetRationale(), etag: req.GetEtag()})
}

// decision is one move through a gate, by hand or by a selection workshop.
type decision struct {
	stage     ideav1.Stage
	rationale string
	etag      string
	// workshop names the selection workshop that took it, if one did.
	workshop string
	// check runs on the idea as read, before the gate (a workshop's own
	// conditions).
	check func(r *record) error
}

// transition applies a decision to an idea under the gate table.
func (s *Server) transition(ctx context.Context, who *auth.Identity, name ideaName, d decision) (*ideav1.Idea, error) {
	to := d.stage
	g, known := gates()[to]
	var v errs.Violations
	switch {
	case !known:
		v.Add("stage", "%d is not a stage", to)
	case g.byServer != "":
		v.Add("stage", "%s cannot be chosen: %s", to, g.byServer)
	}
	rationale := strings.TrimSpace(d.rationale)
	if known && g.rationale && rationale == "" {
		v.Add("rationale", "is required to move an idea to %s (it is shown to the submitter)", to)
	}
	if utf8.RuneCountInString(rationale) > maxText {
		v.Add("rationale", "is longer than %d characters", maxText)
	}
	if d.etag == "" {
		v.Add("etag", "is required: send the etag of the idea as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	// The agreements are the partner service's: asked before the change,
	// not inside its compare-and-set.
	lg, err := s.legalPrerequisite(ctx, name, to)
	if err != nil {
		return nil, err
	}
	r, err := s.commit(ctx, who, name, mutation{
		action: "TransitionIdea",
		etag:   d.etag,
		apply: func(r *record) ([]store.Put, error) {
			from := r.Msg.GetStage()
			own := r.Owner != "" && r.Owner == who.Subject
			switch {
			case g.submitterOnly && !own:
				return nil, domain.New(permissionDenied, "SUBMITTER_ONLY", "only the person who submitted idea %s may move it to %s", name, to)
			case !g.submitterOnly && !isStaff(who, name.Region):
				return nil, domain.New(permissionDenied, "ADVISOR_ONLY", "only the region's advisors and admins move ideas to %s", to)
			case final(from):
				return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: it does not move any more", name, from)
			case !g.allows(from):
				return nil, domain.FailedPrecondition("STAGE_NOT_ALLOWED", "cannot move idea %s from %s to %s; from %s it may move to %s",
					name, from, to, from, strings.Join(allowedFrom(from), ", "))
			}
			if d.check != nil {
				if err := d.check(r); err != nil {
					return nil, err
				}
			}
			if m := lg.joinMissing(g.missing(r)); m != "" {
				return nil, domain.FailedPrecondition("PREREQUISITE_MISSING", "cannot move idea %s to %s: it needs %s", name, to, m)
			}
			r.Msg.Stage = to
			lg.derive(r, to)
			side(r).History = append(side(r).History, &ideav1.HistoryEntry{
				FromStage: from, ToStage: to, Rationale: rationale, Workshop: d.workshop,
				Actor: who.Subject, ActorName: who.Name, Time: timestamppb.New(s.now()),
			})
			return nil, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return redact(who, name.Region, r.Owner, r.Msg), nil
}
