package reports

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// The reports namespace keeps figures by month, care area and origin, which
// name no one; a person appears only as the actor of the exports they made.

func (s *Server) personRequest(ctx context.Context, parent, subject string) (string, error) {
	return resource.PersonRegion(ctx, domain, s.regions, parent, subject)
}

// ExportPersonData returns the audit records of the exports the person made.
func (s *Server) ExportPersonData(ctx context.Context, req *reportsv1.ExportPersonDataRequest) (*reportsv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	evs, err := audit.PersonEvents(ctx, s.store, ns(region), req.GetSubject())
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	return &reportsv1.ExportPersonDataResponse{AuditEvents: evs}, nil
}

// ErasePersonData takes the person's subject out of the export records.
func (s *Server) ErasePersonData(ctx context.Context, req *reportsv1.ErasePersonDataRequest) (*reportsv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	n, err := audit.ErasePerson(ctx, s.store, ns(region), req.GetSubject())
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
	return &reportsv1.ErasePersonDataResponse{AuditEventsRedacted: int32(n)}, nil
}
