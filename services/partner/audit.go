package partner

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/audit"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// ListAuditEvents lets a region admin read the audit records this service
// wrote for their region (docs/architecture.md, "Identity and access").
func (s *Server) ListAuditEvents(ctx context.Context, req *partnerv1.ListAuditEventsRequest) (*partnerv1.ListAuditEventsResponse, error) {
	log := audit.Log{Store: s.store, Service: ns("").Service, Domain: domain, Regions: s.regions}
	events, next, err := log.List(ctx, req)
	if err != nil {
		return nil, err
	}
	return &partnerv1.ListAuditEventsResponse{Events: events, NextPageToken: next}, nil
}
