package funding

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/audit"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// ListAuditEvents lets a region admin read the audit records this service
// wrote for their region (docs/architecture.md, "Identity and access").
func (s *Subprojects) ListAuditEvents(ctx context.Context, req *fundingv1.ListAuditEventsRequest) (*fundingv1.ListAuditEventsResponse, error) {
	log := audit.Log{Store: s.store, Service: service, Domain: domain, Regions: s.regions}
	events, next, err := log.List(ctx, req)
	if err != nil {
		return nil, err
	}
	return &fundingv1.ListAuditEventsResponse{Events: events, NextPageToken: next}, nil
}

// ListLedgerEvents lets national coordinators read the programme ledger's
// audit records: where the programme's money went, and on whose request.
func (l *Ledger) ListLedgerEvents(ctx context.Context, req *fundingv1.ListLedgerEventsRequest) (*fundingv1.ListLedgerEventsResponse, error) {
	log := audit.Log{Store: l.store, Service: service, Domain: domain}
	events, next, err := log.ListNational(ctx, req)
	if err != nil {
		return nil, err
	}
	return &fundingv1.ListLedgerEventsResponse{Events: events, NextPageToken: next}, nil
}
