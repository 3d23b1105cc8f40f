package idea

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/resource"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// GetIdeaStats counts the region's ideas by stage on the index, without reading a
// single record, so a dashboard costs the same however large the region.
func (s *Server) GetIdeaStats(ctx context.Context, req *ideav1.GetIdeaStatsRequest) (*ideav1.IdeaStats, error) {
	region, err := resource.StatsRegion(ctx, domain, s.regions, req.GetName(), "ideaStats")
	if err != nil {
		return nil, err
	}
	counts, err := resource.CountByEnum(ctx, s.store, ns(region), "stage", ideav1.Stage(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "IDEA_STATS", "figures of "+region)
	}
	return &ideav1.IdeaStats{Name: req.GetName(), IdeasByStage: counts}, nil
}
