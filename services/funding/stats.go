package funding

import (
	"context"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
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
	counts, err := resource.CountByEnum(ctx, s.store, s.subprojects.NS(region), "status", fundingv1.SubprojectStatus(0).Descriptor())
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT_STATS", what)
	}
	out := &fundingv1.SubprojectStats{Name: req.GetName(), SubprojectsByStatus: counts}
	for _, st := range []fundingv1.SubprojectStatus{fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED} {
		// Size 0: every subproject of the status, however many.
		page := repo.Page[*fundingv1.Subproject]{Plan: filter.Plan[*fundingv1.Subproject]{Query: store.Query{Index: "status", Prefix: st.String() + "/"}}}
		if _, err := s.subprojects.List(ctx, region, page, func(r *subRecord) (bool, error) {
			sp := r.Msg
			// What :close released went back to the programme: the
			// region no longer holds it, as the ledger's balance says.
			out.GrantedOre += sp.GetGrantedOre() - sp.GetReleasedOre()
			out.ReleasedOre += sp.GetReleasedOre()
			out.PaidOre += sp.GetPaidOre()
			return true, nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
