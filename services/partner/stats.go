package partner

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// GetPartnerStats counts the region's partners by kind on the index, without reading a
// single record, so a dashboard costs the same however large the region.
func (s *Server) GetPartnerStats(ctx context.Context, req *partnerv1.GetPartnerStatsRequest) (*partnerv1.PartnerStats, error) {
	region, err := resource.ParseStatsName(req.GetName(), "partnerStats")
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if err := s.servedRegion(region); err != nil {
		return nil, err
	}
	if _, err := auth.Require(ctx, region, auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service); err != nil {
		return nil, err
	}
	counts, err := resource.CountByEnum(ctx, s.store, ns(region), "partner_kind", partnerv1.PartnerKind(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "PARTNER_STATS", "figures of "+region)
	}
	return &partnerv1.PartnerStats{Name: req.GetName(), PartnersByKind: counts}, nil
}
