package funding

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// The orders of ListSubprojects (AIP-132), in the order of
// subprojectOrderPlans. The create-time orders read the create-time
// indexes (all, per status) either way; update time and eligible cost
// (what a programme pays a share of, so the natural order to weigh
// applications by) have one region-wide index each, two entries per
// write, and check a filter on each subproject.
var (
	subprojectOrders = resource.Orders{
		"create_time desc", "create_time",
		"update_time desc", "update_time",
		"eligible_cost_ore desc", "eligible_cost_ore",
	}
	subprojectOrderPlans = []listOrder{
		{"subprojects", false}, {"subprojects", true},
		{"sp_updated", false}, {"sp_updated", true},
		{"sp_cost", false}, {"sp_cost", true},
	}
)

// The funding service's other lists come in the order of their index, the
// default, or its reverse (a reversed scan).
var (
	reportOrders     = resource.Orders{"create_time", "create_time desc"}
	programmeOrders  = resource.Orders{"name", "name desc"}
	allocationOrders = resource.Orders{"reserve_time", "reserve_time desc"}
)

// listOrder is the index an order scans and in which direction.
type listOrder struct {
	index   string
	reverse bool
}

// subprojectOrderEntries are a subproject's places in the update-time
// order, newest first, and the eligible-cost order, largest first, then
// newest.
func subprojectOrderEntries(sp *fundingv1.Subproject) []store.IndexEntry {
	return []store.IndexEntry{
		{Index: "sp_updated", Term: newestFirst(sp.GetUpdateTime().AsTime())},
		{Index: "sp_cost", Term: fmt.Sprintf("%019d/%s", math.MaxInt64-max(sp.GetEligibleCostOre(), 0), newestFirst(sp.GetCreateTime().AsTime()))},
	}
}

// compileOrdered plans a filter for an order: onto the status index in
// the create-time orders, checked on each subproject in the others.
func compileOrdered(f string, o listOrder) (filter.Plan[*fundingv1.Subproject], error) {
	if o.index == "subprojects" {
		return compileFilter(f)
	}
	return filter.Compile(f, store.Query{Index: o.index}, subprojectFilter(false))
}

// ordersIndexed puts the subprojects of region that earlier code stored
// without the update-time and cost entries on those indexes, once per
// region and process, before a list in one of those orders relies on them.
func (s *Subprojects) ordersIndexed(ctx context.Context, region string) error {
	return s.orderUpgrades.Once(ctx, region, func(ctx context.Context) error {
		name := func(key string) string {
			return subprojectName{Region: region, ID: strings.TrimPrefix(key, "subproject/")}.String()
		}
		for _, index := range []string{"sp_updated", "sp_cost"} {
			if _, err := s.subprojects.Reindex(ctx, region, "subprojects", index, name); err != nil {
				return err
			}
		}
		return nil
	})
}
