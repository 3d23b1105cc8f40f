package funding

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// GetSubprojectStats counts the region's subprojects by status on the
// index and adds up the money of those that hold any: only approved and
// closed subprojects were granted or paid, so only they are read. Granted is
// what the region still holds (reserved minus released), so that a closed
// subproject counts what it was paid, not what it was once promised.
func (s *Subprojects) GetSubprojectStats(ctx context.Context, req *fundingv1.GetSubprojectStatsRequest) (*fundingv1.SubprojectStats, error) {
	region, err := resource.StatsRegion(ctx, domain, s.regions, req.GetName(), "subprojectStats")
	if err != nil {
		return nil, err
	}
	what := "figures of " + region
	counts, err := resource.CountByEnum(ctx, s.store, regionNS(region), "status", fundingv1.SubprojectStatus(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT_STATS", what)
	}
	out := &fundingv1.SubprojectStats{Name: req.GetName(), SubprojectsByStatus: counts}
	for _, st := range []fundingv1.SubprojectStatus{fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED} {
		q := store.Query{Index: "status", Prefix: st.String() + "/", Limit: resource.MaxPageSize}
		for {
			page, err := s.store.Scan(ctx, regionNS(region), q)
			if err != nil {
				return nil, domain.Store(err, "SUBPROJECT_STATS", what)
			}
			for _, it := range page.Items {
				var sp fundingv1.Subproject
				if err := decode(it.Record, &sp); err != nil {
					return nil, domain.Store(err, "SUBPROJECT_STATS", what)
				}
				// What :close released went back to the programme: the
				// region no longer holds it, as the ledger's balance says.
				out.GrantedOre += sp.GetGrantedOre() - sp.GetReleasedOre()
				out.ReleasedOre += sp.GetReleasedOre()
				out.PaidOre += sp.GetPaidOre()
			}
			if !page.More || len(page.Items) == 0 {
				break
			}
			q.After = page.Items[len(page.Items)-1].Cursor
		}
	}
	return out, nil
}
