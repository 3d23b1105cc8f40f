package partner

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/resource"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// GetPartnerStats counts the region's partners by kind on the index, without reading a
// single record, so a dashboard costs the same however large the region.
func (s *Server) GetPartnerStats(ctx context.Context, req *partnerv1.GetPartnerStatsRequest) (*partnerv1.PartnerStats, error) {
	region, err := resource.StatsRegion(ctx, domain, s.regions, req.GetName(), "partnerStats")
	if err != nil {
		return nil, err
	}
	counts, err := resource.CountByEnum(ctx, s.store, ns(region), "partner_kind", partnerv1.PartnerKind(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "PARTNER_STATS", "figures of "+region)
	}
	return &partnerv1.PartnerStats{Name: req.GetName(), PartnersByKind: counts}, nil
}
