package idea

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// The orders of ListIdeas (AIP-132), in the order of ideaOrderPlans. The
// create-time orders are served by every index an idea is on, read either
// way; the update-time and assessment orders by one region-wide index each
// (two entries per write, not a set per filter and owner), so they are for
// the callers who list the whole region and check a filter on each idea.
var (
	ideaOrders = resource.Orders{
		"create_time desc", "create_time",
		"update_time desc", "update_time",
		"assessment_summary.weighted_score desc", "assessment_summary.weighted_score",
	}
	ownOrders      = ideaOrders[:2]
	ideaOrderPlans = []ideaOrder{
		{"created", false}, {"created", true},
		{"updated", false}, {"updated", true},
		{"score", false}, {"score", true},
	}
)

// ideaOrder is the index an order scans and in which direction.
type ideaOrder struct {
	index   string
	reverse bool
}

// parseIdeaOrder reads order_by for a caller who lists the whole region
// (wide) or their own ideas; an order it does not serve is an order_by
// violation and the default.
func parseIdeaOrder(v *errs.Violations, orderBy string, wide bool) (ideaOrder, string) {
	orders := ideaOrders
	if !wide {
		orders = ownOrders
	}
	i := orders.Parse(v, orderBy)
	return ideaOrderPlans[i], orders[i]
}

// orderEntries are an idea's places in the region-wide orders besides
// create time: by update time, newest first, and by the weighted score of
// its assessments, best first (unassessed last), newest first among equals.
func orderEntries(idea *ideav1.Idea) []store.IndexEntry {
	micro := int64(math.Round(idea.GetAssessmentSummary().GetWeightedScore() * 1e6))
	micro = max(0, min(micro, 9_999_999))
	return []store.IndexEntry{
		{Index: "updated", Term: fmt.Sprintf("%019d", math.MaxInt64-idea.GetUpdateTime().AsTime().UnixNano())},
		{Index: "score", Term: fmt.Sprintf("%07d/%s", 9_999_999-micro, newestFirst(idea))},
	}
}

// orderedFields are the filter fields for an order: on the create-time
// indexes the indexed fields use theirs; the other orders have one index
// each, so their filters are checked on each idea.
func orderedFields(o ideaOrder) []filter.Field[*ideav1.Idea] {
	fields := filterFields()
	if o.index != "created" {
		for i := range fields {
			fields[i].Index = nil
		}
	}
	return fields
}

// ordersIndexed puts the ideas of region that earlier code stored without
// the update-time and score entries on those indexes, once per region and
// process, before a list in one of those orders relies on them.
func (s *Server) ordersIndexed(ctx context.Context, region string) error {
	return s.orderUpgrades.Once(ctx, region, func(ctx context.Context) error {
		name := func(key string) string {
			return ideaName{Region: region, ID: strings.TrimPrefix(key, "idea/")}.String()
		}
		for _, index := range []string{"updated", "score"} {
			if _, err := s.ideas.Reindex(ctx, region, "created", index, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// The orders of the idea service's other lists: each the order of its
// index, the default, and its reverse (a reversed scan). An idea's history
// is kept inside the idea, a bounded list, read either way round.
var (
	workshopOrders = resource.Orders{"date desc", "date"}
	categoryOrders = resource.Orders{"name", "name desc"}
	testBedOrders  = resource.Orders{"display_name", "display_name desc"}
	testPlanOrders = resource.Orders{"name", "name desc"}
	historyOrders  = resource.Orders{"time", "time desc"}
)

// The orders of an idea's assessments: by name, the index's order (the
// default), or its reverse; and by time or weighted score, either way
// round, which sort the idea's scorecards in memory (one per reviewer).
var assessmentOrders = resource.Orders{
	"name", "name desc",
	"create_time desc", "create_time",
	"weighted_score desc", "weighted_score",
}

// sortAssessments puts assessments in order o of assessmentOrders (2 and
// up); equal times or scores come by name, so pages are stable.
func sortAssessments(as []*ideav1.Assessment, o int) {
	slices.SortFunc(as, func(a, b *ideav1.Assessment) int {
		var c int
		switch o {
		case 2:
			c = b.GetCreateTime().AsTime().Compare(a.GetCreateTime().AsTime())
		case 3:
			c = a.GetCreateTime().AsTime().Compare(b.GetCreateTime().AsTime())
		case 4:
			c = cmp.Compare(b.GetWeightedScore(), a.GetWeightedScore())
		case 5:
			c = cmp.Compare(a.GetWeightedScore(), b.GetWeightedScore())
		}
		return cmp.Or(c, strings.Compare(a.GetName(), b.GetName()))
	})
}
