package needs

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/resource"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// GetNeedStats counts the region's needs by status on the index, without reading a
// single record, so a dashboard costs the same however large the region.
func (s *Server) GetNeedStats(ctx context.Context, req *needsv1.GetNeedStatsRequest) (*needsv1.NeedStats, error) {
	region, err := resource.StatsRegion(ctx, domain, s.regions, req.GetName(), "needStats")
	if err != nil {
		return nil, err
	}
	counts, err := resource.CountByEnum(ctx, s.store, ns(region), "status_created", needsv1.NeedStatus(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "NEED_STATS", "figures of "+region)
	}
	return &needsv1.NeedStats{Name: req.GetName(), NeedsByStatus: counts}, nil
}
