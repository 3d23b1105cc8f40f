package idea

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// person is who an export or an erasure is about: a subject, and an
// e-mail address records may name them by.
type person struct {
	region, subject, email string
}

// personRequest checks an internal call about a person: a region this
// deployment serves, a subject, and this process as the caller (the person
// service checked the person; access.go lets nobody else in).
func (s *Server) personRequest(ctx context.Context, parent, subject, email string) (person, error) {
	region, err := resource.PersonRegion(ctx, domain, s.regions, parent, subject)
	if err != nil {
		return person{}, err
	}
	return person{region: region, subject: subject, email: strings.ToLower(strings.TrimSpace(email))}, nil
}

// mailOf reports whether submitter details name p by e-mail.
func (p person) mailOf(sub *ideav1.Submitter) bool {
	return p.email != "" && strings.EqualFold(strings.TrimSpace(sub.GetEmail()), p.email)
}

// own is the idea as the person's copy holds it: other people's details
// left out (the submitter of an idea their duplicate was merged into, the
// co-submitters of theirs).
func (p person) own(r *record) *ideav1.Idea {
	i := proto.Clone(r.Msg).(*ideav1.Idea)
	if r.Owner != p.subject && !p.mailOf(i.GetSubmitter()) {
		i.Submitter = nil
	}
	i.CoSubmitters = slices.DeleteFunc(i.CoSubmitters, func(c *ideav1.Submitter) bool { return !p.mailOf(c) })
	return i
}

// ExportPersonData returns the ideas the person submitted (or that carry
// their e-mail), the decisions they took, their scorecards, workshops,
// categories and approved test plans, and the audit records naming them.
func (s *Server) ExportPersonData(ctx context.Context, req *ideav1.ExportPersonDataRequest) (*ideav1.ExportPersonDataResponse, error) {
	p, err := s.personRequest(ctx, req.GetParent(), req.GetSubject(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	out := &ideav1.ExportPersonDataResponse{}
	if err := s.ideas.Each(ctx, p.region, "created", func(r *record) error {
		if r.Owner == p.subject || slices.Contains(side(r).CoOwners, p.subject) || p.mailOf(r.Msg.GetSubmitter()) {
			out.Ideas = append(out.Ideas, p.own(r))
		}
		for _, h := range side(r).History {
			if h.GetActor() == p.subject {
				out.History = append(out.History, &ideav1.PersonHistoryEntry{Idea: r.Msg.GetName(), Entry: h})
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.assessments.Each(ctx, p.region, "assessments", func(e *repo.Entry[*ideav1.Assessment]) error {
		if e.Msg.GetReviewer() == p.subject {
			out.Assessments = append(out.Assessments, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.workshops.Each(ctx, p.region, "workshops", func(e *repo.Entry[*ideav1.Workshop]) error {
		if e.Msg.GetFacilitator() == p.subject || slices.Contains(e.Msg.GetParticipants(), p.subject) {
			out.Workshops = append(out.Workshops, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.categories.Each(ctx, p.region, "categories", func(e *repo.Entry[*ideav1.Category]) error {
		if slices.Contains(e.Msg.GetOwners(), p.subject) {
			out.Categories = append(out.Categories, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.testPlans.Each(ctx, p.region, "testplans", func(e *repo.Entry[*ideav1.TestPlan]) error {
		if e.Msg.GetApprovedBy() == p.subject {
			out.TestPlans = append(out.TestPlans, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if out.AuditEvents, err = audit.PersonEvents(ctx, s.store, ns(p.region), p.subject); err != nil {
		return nil, domain.Store(err, "IDEA", "person data of "+p.region)
	}
	return out, nil
}

// ErasePersonData removes the person from every idea of the region: the
// submitter details and consent of the ideas they submitted (or that carry
// their e-mail), their place among a merged idea's co-submitters, their
// subject and name on the decisions they took, on their scorecards, in
// workshops, categories and test plans, their audit records and their
// request ids. The ideas stay. The audit log goes first, as EraseSubmitter
// does it.
func (s *Server) ErasePersonData(ctx context.Context, req *ideav1.ErasePersonDataRequest) (*ideav1.ErasePersonDataResponse, error) {
	p, err := s.personRequest(ctx, req.GetParent(), req.GetSubject(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	resp := &ideav1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, ns(p.region), p.subject)
	if err != nil {
		return nil, domain.Store(err, "IDEA", "person data of "+p.region)
	}
	resp.AuditEventsRedacted = int32(n)
	// Their submitter details are gathered before the ideas change: a
	// co-submitter entry is removed by its value, which erasing the
	// duplicate would lose.
	var dupSubs []*ideav1.Submitter
	if err := s.ideas.Each(ctx, p.region, "created", func(r *record) error {
		if (r.Owner == p.subject || p.mailOf(r.Msg.GetSubmitter())) && r.Msg.GetSubmitter() != nil {
			dupSubs = append(dupSubs, r.Msg.GetSubmitter())
		}
		return nil
	}); err != nil {
		return nil, err
	}
	changed, err := s.ideas.Scrub(ctx, p.region, "created", func(r *record) bool {
		before, _ := s.ideas.Encode(r)
		switch {
		case r.Owner == p.subject:
			erase(r, r.Owner)
		case p.mailOf(r.Msg.GetSubmitter()):
			// Their details on an idea another account sent (a relative):
			// the details go, that account keeps its idea.
			r.Msg.Submitter, r.Msg.Consent = nil, &ideav1.Consent{}
		}
		for _, h := range side(r).History {
			if h.GetActor() == p.subject {
				h.Actor, h.ActorName = erasedActor, ""
			}
		}
		side(r).CoOwners = slices.DeleteFunc(side(r).CoOwners, func(o string) bool { return o == p.subject })
		r.Msg.CoSubmitters = slices.DeleteFunc(r.Msg.CoSubmitters, func(c *ideav1.Submitter) bool {
			return p.mailOf(c) || slices.ContainsFunc(dupSubs, func(d *ideav1.Submitter) bool { return proto.Equal(c, d) })
		})
		after, _ := s.ideas.Encode(r)
		return string(before) != string(after)
	})
	if err != nil {
		return nil, err
	}
	a, err := s.assessments.Scrub(ctx, p.region, "assessments", func(e *repo.Entry[*ideav1.Assessment]) bool {
		if e.Msg.GetReviewer() != p.subject {
			return false
		}
		e.Msg.Reviewer, e.Msg.ReviewerName = erasedActor, ""
		return true
	})
	if err != nil {
		return nil, err
	}
	w, err := s.workshops.Scrub(ctx, p.region, "workshops", func(e *repo.Entry[*ideav1.Workshop]) bool {
		found := false
		if e.Msg.Facilitator == p.subject {
			e.Msg.Facilitator, found = erasedActor, true
		}
		for i, x := range e.Msg.Participants {
			if x == p.subject {
				e.Msg.Participants[i], found = erasedActor, true
			}
		}
		return found
	})
	if err != nil {
		return nil, err
	}
	c, err := s.categories.Scrub(ctx, p.region, "categories", func(e *repo.Entry[*ideav1.Category]) bool {
		before := len(e.Msg.Owners)
		e.Msg.Owners = slices.DeleteFunc(e.Msg.Owners, func(o string) bool { return o == p.subject })
		return len(e.Msg.Owners) != before
	})
	if err != nil {
		return nil, err
	}
	tp, err := s.testPlans.Scrub(ctx, p.region, "testplans", func(e *repo.Entry[*ideav1.TestPlan]) bool {
		if e.Msg.GetApprovedBy() != p.subject {
			return false
		}
		e.Msg.ApprovedBy = erasedActor
		return true
	})
	if err != nil {
		return nil, err
	}
	resp.RecordsChanged = int32(changed + a + w + c + tp)
	// Request ids: the repository's, and those earlier code kept under its
	// own prefixes (upgraded drops them all).
	if err := s.upgraded(ctx, p.region); err != nil {
		return nil, err
	}
	if err := s.ideas.Forget(ctx, p.region, p.subject); err != nil {
		return nil, err
	}
	s.scrub(ctx)
	return resp, nil
}
