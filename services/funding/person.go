package funding

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// personRequest checks an internal call about a person: a served region,
// a subject, and this process as the caller (access.go lets nobody else in).
func (s *Subprojects) personRequest(ctx context.Context, parent, subject string) (string, error) {
	return resource.PersonRegion(ctx, domain, s.regions, parent, subject)
}

// ExportPersonData returns the person's audit records and the subprojects
// whose history names them. Money is the region's, not the person's.
func (s *Subprojects) ExportPersonData(ctx context.Context, req *fundingv1.ExportPersonDataRequest) (*fundingv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	out := &fundingv1.ExportPersonDataResponse{}
	if out.AuditEvents, err = audit.PersonEvents(ctx, s.store, s.subprojects.NS(region), req.GetSubject()); err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	if err := s.subprojects.Each(ctx, region, "subprojects", func(e *subRecord) error {
		for _, h := range e.Msg.GetHistory() {
			if h.GetActor() == req.GetSubject() {
				out.Subprojects = append(out.Subprojects, e.Msg.GetName())
				break
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// ErasePersonData takes the person's subject out of the subprojects' and
// cost reports' histories, the audit log and the request ids.
func (s *Subprojects) ErasePersonData(ctx context.Context, req *fundingv1.ErasePersonDataRequest) (*fundingv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	resp := &fundingv1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, s.subprojects.NS(region), sub)
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	resp.AuditEventsRedacted = int32(n)
	sp, err := s.subprojects.Scrub(ctx, region, "subprojects", func(e *subRecord) bool {
		changed := false
		for _, h := range e.Msg.GetHistory() {
			if h.GetActor() == sub {
				h.Actor, changed = audit.Erased, true
			}
		}
		return changed
	})
	if err != nil {
		return nil, err
	}
	cr, err := s.reports.Scrub(ctx, region, "reports", func(e *reportRecord) bool {
		changed := false
		for _, h := range e.Msg.GetHistory() {
			if h.GetActor() == sub {
				h.Actor, changed = audit.Erased, true
			}
		}
		return changed
	})
	if err != nil {
		return nil, err
	}
	resp.RecordsChanged = int32(sp + cr)
	// Request ids: the repository's, and the raw-subject keys of earlier
	// code (upgraded drops them).
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	if err := s.subprojects.Forget(ctx, region, sub); err != nil {
		return nil, err
	}
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
	return resp, nil
}
