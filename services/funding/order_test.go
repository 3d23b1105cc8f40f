package funding_test

import (
	"slices"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

func (e *env) subprojectLister(t *testing.T, filter string) stack.Lister {
	admin := e.admin(t, vb)
	return func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
		resp, err := e.subs.ListSubprojects(admin.Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/vasterbotten", Filter: filter, OrderBy: order, PageSize: size, PageToken: token})
		var names []string
		for _, sp := range resp.GetSubprojects() {
			names = append(names, sp.GetName())
		}
		return names, resp.GetNextPageToken(), err
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestListSubprojects_Orders: each order both ways round over pages, with a
// status filter, a bad order over REST and tokens of another order.
func TestListSubprojects_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "im-2026", 1_000_000_00, -1)
		costs := []int64{300_00, 100_00, 500_00, 200_00, 400_00}
		sp := make([]*fundingv1.Subproject, len(costs))
		for i, c := range costs {
			sp[i] = e.mustCreate(t, vb, sampleSubproject(p.GetName(), c))
			time.Sleep(2 * time.Millisecond) // distinct create times
		}
		// Submitting changes s3, s1 and s0, in that order.
		for _, i := range []int{3, 1, 0} {
			sp[i] = e.mustSubmit(t, sp[i])
			time.Sleep(2 * time.Millisecond)
		}
		name := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, sp[i].GetName())
			}
			return out
		}
		newest := name(4, 3, 2, 1, 0)
		updated := name(0, 1, 3, 4, 2)
		largest := name(2, 4, 0, 3, 1)
		stack.CheckOrders(t, e.subprojectLister(t, ""),
			stack.Ordered{Order: "", Want: newest},
			stack.Ordered{Order: "create_time", Want: reversed(newest)},
			stack.Ordered{Order: "updateTime desc", Want: updated},
			stack.Ordered{Order: "update_time", Want: reversed(updated)},
			stack.Ordered{Order: "eligible_cost_ore desc", Want: largest},
			stack.Ordered{Order: "eligibleCostOre", Want: reversed(largest)},
		)
		stack.CheckOrders(t, e.subprojectLister(t, "status = SUBPROJECT_STATUS_SUBMITTED"),
			stack.Ordered{Order: "create_time", Want: name(0, 1, 3)},
			stack.Ordered{Order: "update_time desc", Want: name(0, 1, 3)},
			stack.Ordered{Order: "eligible_cost_ore desc", Want: name(0, 3, 1)},
		)
		e.CheckBadOrderREST(t, e.admin(t, vb), "/v1/regions/vasterbotten/subprojects",
			"create_time desc (the default)", "update_time", "eligible_cost_ore desc", "eligible_cost_ore")
	})
}

// TestListSubprojects_OrdersOfEarlierSubprojects: subprojects stored
// before the update-time and cost indexes are put on them first.
func TestListSubprojects_OrdersOfEarlierSubprojects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "im-2026", 1_000_000_00, -1)
		var names []string
		for _, c := range []int64{100_00, 200_00, 300_00} {
			names = append(names, e.mustCreate(t, vb, sampleSubproject(p.GetName(), c)).GetName())
			time.Sleep(2 * time.Millisecond)
		}
		ns := store.Namespace{Service: "funding", Region: vb}
		e.KeepIndexes(t, ns, "subprojects", "status")
		if n, err := e.Store.Count(t.Context(), ns, "sp_cost", ""); err != nil || n != 0 {
			t.Fatalf("earlier subprojects on the cost index: %d, %v", n, err)
		}
		stack.CheckOrders(t, e.subprojectLister(t, ""),
			stack.Ordered{Order: "update_time", Want: names},
			stack.Ordered{Order: "eligible_cost_ore desc", Want: reversed(names)},
		)
	})
}
