package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// audience is who a rule tells.
type audience int

const (
	toSubmitter    audience = iota + 1 // the idea's submitter, in person
	toAdvisors                         // the region's innovation advisors
	toAdmins                           // the region's admins
	toCoordinators                     // national coordinators
	toPartner                          // the users of the offer's partner
)

// Event types, as CloudEvents types and in the inbox.
const (
	typePrefix          = "se.innovationsmotorer."
	TypeIdeaStage       = typePrefix + "idea.stage_changed"
	TypeIdeaSpread      = typePrefix + "idea.spread"
	TypeIdeaCreated     = typePrefix + "idea.created"
	TypeNeedCreated     = typePrefix + "need.created"
	TypeOfferCreated    = typePrefix + "offer.created"
	TypeOfferDueSoon    = typePrefix + "offer.due_soon"
	TypeOfferOverdue    = typePrefix + "offer.overdue"
	TypeOfferRouted     = typePrefix + "offer.routed"
	TypeOfferDialogue   = typePrefix + "offer.in_dialogue"
	TypeOfferClosed     = typePrefix + "offer.closed"
	TypeReportReturned  = typePrefix + "cost_report.returned"
	TypeReportCertified = typePrefix + "cost_report.certified"
	TypeReportWaiting   = typePrefix + "cost_report.waiting"
	TypeSubApproved     = typePrefix + "subproject.approved"
	TypeSubRejected     = typePrefix + "subproject.rejected"
	TypeSubSubmitted    = typePrefix + "subproject.submitted"
)

// rule is one row of who is told what. An audit event of Service with
// Action (and, when given, a Detail of the audit record) tells To; time
// rules have no Service and are fired by CheckDeadlines.
type rule struct {
	Type    string
	Service string
	Action  string
	Detail  string // "" matches any
	To      audience
}

// rules is the one table of who is told what.
func rules() []rule {
	return []rule{
		// The submitter follows their idea (e-mail only with contact consent).
		{TypeIdeaStage, "idea", "TransitionIdea", "", toSubmitter},
		{TypeIdeaSpread, "idea", "SpreadIdea", "", toSubmitter},
		// Advisors hear of what comes in, and of offers' deadlines.
		{TypeIdeaCreated, "idea", "CreateIdea", "", toAdvisors},
		{TypeNeedCreated, "needs", "CreateNeed", "", toAdvisors},
		{TypeOfferCreated, "partner", "CreateOffer", "", toAdvisors},
		{TypeOfferDueSoon, "", "", "", toAdvisors},
		{TypeOfferOverdue, "", "", "", toAdvisors},
		// Region admins hear of decisions on their money.
		{TypeReportReturned, "funding", "ReturnCostReport", "", toAdmins},
		{TypeReportCertified, "funding", "CertifyCostReport", "", toAdmins},
		{TypeSubApproved, "funding", "ApproveSubproject", "", toAdmins},
		{TypeSubRejected, "funding", "RejectSubproject", "", toAdmins},
		// National coordinators hear of what waits for them.
		{TypeSubSubmitted, "funding", "SubmitSubproject", "", toCoordinators},
		{TypeReportWaiting, "", "", "", toCoordinators},
		// A company hears what became of its offer.
		{TypeOfferRouted, "partner", "RouteOffer", "", toPartner},
		{TypeOfferDialogue, "partner", "TransitionOffer", partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE.String(), toPartner},
		{TypeOfferClosed, "partner", "TransitionOffer", partnerv1.OfferStatus_OFFER_STATUS_CLOSED.String(), toPartner},
	}
}

// ruleFor returns the rule an audit event matches.
func ruleFor(service string, ev store.Event) (rule, bool) {
	for _, r := range rules() {
		if r.Service == service && r.Action == ev.Action && (r.Detail == "" || r.Detail == ev.Detail) {
			// Certifying writes one event for the report and one for its
			// subproject; the report's is the one that tells.
			if r.Type == TypeReportCertified && !strings.Contains(ev.Key, "/costReports/") {
				continue
			}
			return r, true
		}
	}
	return rule{}, false
}

func ruleOf(typ string) rule {
	for _, r := range rules() {
		if r.Type == typ {
			return r
		}
	}
	panic("notify: no rule " + typ)
}

// facts are what a rule tells about the object an event names, read from
// the owning service's record. Nothing here is another person's personal
// data: the submitter's address and consent are read only to mail them.
type facts struct {
	title   string
	details map[string]string
	// owner is the subject of the idea's submitter ("" when unknown).
	owner string
	// partner is the offer's partner's resource name.
	partner string
}

// readFacts reads the object of an audit event. A record that is gone (or
// unreadable) gives only its name: the rule still tells, with less.
func (s *Server) readFacts(ctx context.Context, service, region string, ev store.Event, r rule) (facts, error) {
	f := facts{details: map[string]string{}}
	key, ok := recordKey(ev.Key)
	if !ok {
		return f, nil
	}
	rec, err := s.store.Get(ctx, store.Namespace{Service: service, Region: region}, key)
	if errors.Is(err, store.ErrNotFound) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("store.Get %s: %w", ev.Key, err)
	}
	switch {
	case strings.Contains(ev.Key, "/ideas/"):
		i := &ideav1.Idea{}
		owner, err := readRecord(rec.Value, i, "idea")
		if err != nil {
			return f, nil
		}
		// The decisions are kept beside the idea in its record.
		kept := &ideav1.IdeaRecord{}
		_ = readSide(rec.Value, kept, "idea")
		f.owner, f.title = owner, i.GetTitle()
		f.details["stage"] = i.GetStage().String()
		if r.Type == TypeIdeaStage {
			// The decision this event recorded: the history entry of its
			// time, the latest when none matches.
			var pick, last *ideav1.HistoryEntry
			for _, h := range kept.GetHistory() {
				last = h
				if h.GetTime().AsTime().Equal(ev.Time) {
					pick = h
				}
			}
			if pick == nil {
				pick = last
			}
			if pick != nil {
				f.details["stage"] = pick.GetToStage().String()
				f.details["previousStage"] = pick.GetFromStage().String()
				if pick.GetRationale() != "" {
					f.details["rationale"] = pick.GetRationale()
				}
			}
		}
		if r.Type == TypeIdeaSpread {
			if to := i.GetSpreadTo(); len(to) > 0 {
				// The adopting region's id, from its idea's name.
				if p := strings.Split(to[len(to)-1], "/"); len(p) > 1 && p[0] == "regions" {
					f.details["spreadTo"] = p[1]
				}
			}
		}
	case strings.Contains(ev.Key, "/needs/"):
		n := &needsv1.Need{}
		if _, err := readRecord(rec.Value, n, "need"); err == nil {
			f.title = n.GetStatement()
			if f.title == "" {
				f.title = n.GetProblem()
			}
		}
	case strings.Contains(ev.Key, "/offers/"):
		o := &partnerv1.Offer{}
		if _, err := readRecord(rec.Value, o, ""); err == nil {
			f.title, f.partner = o.GetTitle(), o.GetPartner()
			f.details["status"] = o.GetStatus().String()
			f.details["respondBy"] = o.GetRespondBy()
		}
	case strings.Contains(ev.Key, "/costReports/"):
		c := &fundingv1.CostReport{}
		if _, err := readRecord(rec.Value, c, ""); err == nil {
			f.title = c.GetPeriodStart() + "–" + c.GetPeriodEnd()
			f.details["status"] = c.GetStatus().String()
		}
	case strings.Contains(ev.Key, "/subprojects/"):
		sp := &fundingv1.Subproject{}
		if _, err := readRecord(rec.Value, sp, ""); err == nil {
			f.title = sp.GetTitle()
			f.details["status"] = sp.GetStatus().String()
		}
	}
	return f, nil
}

// recordKey is the store key the owning service keeps a resource under.
func recordKey(name string) (string, bool) {
	p := strings.Split(name, "/")
	switch {
	case len(p) == 4 && p[2] == "ideas":
		return "idea/" + p[3], true
	case len(p) == 4 && p[2] == "needs":
		return "need/" + p[3], true
	case len(p) == 4 && p[2] == "offers":
		return "offer/" + p[3], true
	case len(p) == 4 && p[2] == "subprojects":
		return "subproject/" + p[3], true
	case len(p) == 6 && p[2] == "subprojects" && p[4] == "costReports":
		return "costreport/" + p[3] + "/" + p[5], true
	}
	return "", false
}

// audienceKey is the inbox a rule's notification goes to; "" when the
// recipient is unknown (an idea whose submitter was erased).
func audienceKey(to audience, f facts) string {
	switch to {
	case toSubmitter:
		if f.owner == "" {
			return ""
		}
		return "person/" + f.owner
	case toAdvisors:
		return "role/" + string(auth.Advisor)
	case toAdmins:
		return "role/" + string(auth.RegionAdmin)
	case toCoordinators:
		return "role/" + string(auth.Coordinator)
	case toPartner:
		if f.partner == "" {
			return ""
		}
		return "partner/" + f.partner
	}
	return ""
}
