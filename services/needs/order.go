package needs

import (
	"context"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
)

// orderUpdated lists the region's needs by update time, newest first. It is
// one index for the whole region, not a set per status, owner and
// publication like the other two orders: one more entry per write instead
// of four, so it serves the callers who list the whole region (staff,
// national) and checks a filter on each record.
const orderUpdated = "updated"

// needOrder is one order ListNeeds serves: the index set it scans and in
// which direction.
type needOrder struct {
	index   string
	reverse bool
}

// needOrders are ListNeeds' orders (AIP-132) in the order of orderPlans;
// narrowedOrders those of a caller who sees only part of the region.
var (
	needOrders = resource.Orders{
		"create_time desc", "create_time",
		"priority_score desc", "priority_score",
		"update_time desc", "update_time",
	}
	narrowedOrders = needOrders[:4]
	orderPlans     = []needOrder{
		{orderCreated, false}, {orderCreated, true},
		{orderPriority, false}, {orderPriority, true},
		{orderUpdated, false}, {orderUpdated, true},
	}
)

// A need's decisions and screening rounds are listed in the order of their
// sequence, oldest first, or newest first (the same index reversed).
var (
	historyOrders   = resource.Orders{"time", "time desc"}
	screeningOrders = resource.Orders{"create_time", "create_time desc"}
)

// parseNeedOrder reads order_by for a caller who lists the whole region
// (wide) or only part of it; an order it does not serve is an order_by
// violation and the default.
func parseNeedOrder(v *errs.Violations, orderBy string, wide bool) (needOrder, string) {
	orders := needOrders
	if !wide {
		orders = narrowedOrders
	}
	i := orders.Parse(v, orderBy)
	return orderPlans[i], orders[i]
}

// reversed sets the direction of every scan of a list.
func reversed(q store.Query, reverse bool) store.Query {
	q.Reverse = reverse
	return q
}

// updatedIndexed puts the needs of region that earlier code stored
// without an update-time entry on that index, once per region and process,
// before a list by update_time relies on it.
func (s *Server) updatedIndexed(ctx context.Context, region string) error {
	return s.updatedUpgrade.Once(ctx, region, func(ctx context.Context) error {
		_, err := s.needs.Reindex(ctx, region, orderCreated, orderUpdated, func(key string) string {
			return needName{Region: region, ID: strings.TrimPrefix(key, "need/")}.String()
		})
		return err
	})
}
