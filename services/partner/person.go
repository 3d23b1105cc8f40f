package partner

import (
	"context"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// personRequest checks an internal call about a person: a served region,
// a subject, and this process as the caller (access.go lets nobody else in).
func (s *Server) personRequest(ctx context.Context, parent, subject string) (string, error) {
	return resource.PersonRegion(ctx, domain, s.regions, parent, subject)
}

// mailMatches reports whether a contact is the person, by e-mail.
func mailMatches(c *partnerv1.Contact, email string) bool {
	return email != "" && strings.EqualFold(strings.TrimSpace(c.GetEmail()), strings.TrimSpace(email))
}

// ExportPersonData returns the contact entries with the person's e-mail,
// the offers they sent and their audit records.
func (s *Server) ExportPersonData(ctx context.Context, req *partnerv1.ExportPersonDataRequest) (*partnerv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	out := &partnerv1.ExportPersonDataResponse{}
	if err := s.partners.Each(ctx, region, "partners", func(e *repo.Entry[*partnerv1.Partner]) error {
		for _, c := range e.Msg.GetContacts() {
			if mailMatches(c, req.GetEmail()) {
				out.Contacts = append(out.Contacts, &partnerv1.PersonContact{Partner: e.Msg.GetName(), Contact: c})
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if out.AuditEvents, err = audit.PersonEvents(ctx, s.store, ns(region), req.GetSubject()); err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	// An offer is the company's; who sent it is in the audit log only.
	sent := map[string]bool{}
	for _, e := range out.AuditEvents {
		if e.GetAction() == "CreateOffer" {
			sent[e.GetResource()] = true
		}
	}
	if len(sent) > 0 {
		if err := s.offers.Each(ctx, region, "offers", func(e *repo.Entry[*partnerv1.Offer]) error {
			if sent[e.Msg.GetName()] {
				out.Offers = append(out.Offers, e.Msg)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ErasePersonData removes the contact entries with the person's e-mail
// from every partner of the region, their audit records and request ids;
// partners and offers stay.
func (s *Server) ErasePersonData(ctx context.Context, req *partnerv1.ErasePersonDataRequest) (*partnerv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	resp := &partnerv1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, ns(region), sub)
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	resp.AuditEventsRedacted = int32(n)
	if req.GetEmail() != "" {
		changed, err := s.partners.Scrub(ctx, region, "partners", func(e *repo.Entry[*partnerv1.Partner]) bool {
			before := len(e.Msg.GetContacts())
			e.Msg.Contacts = slices.DeleteFunc(e.Msg.Contacts, func(c *partnerv1.Contact) bool { return mailMatches(c, req.GetEmail()) })
			return len(e.Msg.Contacts) != before
		})
		if err != nil {
			return nil, err
		}
		resp.RecordsChanged = int32(changed)
	}
	if err := s.partners.Forget(ctx, region, sub); err != nil {
		return nil, err
	}
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
	return resp, nil
}
