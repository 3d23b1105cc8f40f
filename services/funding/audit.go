package funding

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/audit"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// ListAuditEvents lets a region admin read the audit records this service
// wrote for their region (DESIGN §5).
func (s *Subprojects) ListAuditEvents(ctx context.Context, req *fundingv1.ListAuditEventsRequest) (*fundingv1.ListAuditEventsResponse, error) {
	log := audit.Log{Store: s.store, Service: regionNS("").Service, Domain: domain, Regions: s.regions}
	events, next, err := log.List(ctx, req)
	if err != nil {
		return nil, err
	}
	return &fundingv1.ListAuditEventsResponse{Events: events, NextPageToken: next}, nil
}
