package needs_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// needLister lists needs as c with a filter.
func (e *env) needLister(c stack.Caller, filter string) stack.Lister {
	return func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
		resp, err := e.client.ListNeeds(c.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: filter, OrderBy: order, PageSize: size, PageToken: token})
		var names []string
		for _, n := range resp.GetNeeds() {
			names = append(names, n.GetName())
		}
		return names, resp.GetNextPageToken(), err
	}
}

func reverse(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestList_Orders: every order of ListNeeds, both ways round, over pages,
// with a filter and for a reporter, and what a narrowed caller may not ask.
func TestList_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "uppsala")
		anna := e.As(t, auth.Submitter, "uppsala", "patient-anna")
		n := make([]*needsv1.Need, 5)
		for i := range n {
			in := sampleNeed()
			in.Problem = fmt.Sprintf("behov %d", i)
			c := adv
			if i%2 == 1 {
				c = anna
			} else {
				in.Published = true
			}
			n[i] = e.mustCreate(t, c, "uppsala", in)
			time.Sleep(2 * time.Millisecond) // distinct create times
		}
		// Screenings change n3, n1 and n0, in that order.
		for _, s := range []struct {
			i     int
			score int32
		}{{3, 2}, {1, 5}, {0, 3}} {
			e.mustScreen(t, adv, n[s.i], s.score, s.score, s.score, s.score, s.score)
			time.Sleep(2 * time.Millisecond)
		}
		name := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, n[i].GetName())
			}
			return out
		}
		newest := name(4, 3, 2, 1, 0)
		priority := name(1, 0, 3, 4, 2) // unscreened last, newest first
		updated := name(0, 1, 3, 4, 2)
		stack.CheckOrders(t, e.needLister(adv, ""),
			stack.Ordered{Order: "", Want: newest},
			stack.Ordered{Order: "create_time", Want: reverse(newest)},
			stack.Ordered{Order: "createTime asc", Want: reverse(newest)},
			stack.Ordered{Order: "priority_score desc", Want: priority},
			stack.Ordered{Order: "priorityScore", Want: reverse(priority)},
			stack.Ordered{Order: "update_time desc", Want: updated},
			stack.Ordered{Order: " updateTime ", Want: reverse(updated)},
		)
		// A filter in each order: the published needs (n0, n2, n4).
		stack.CheckOrders(t, e.needLister(adv, "published = true"),
			stack.Ordered{Order: "create_time", Want: name(0, 2, 4)},
			stack.Ordered{Order: "priority_score", Want: name(2, 4, 0)},
			stack.Ordered{Order: "update_time desc", Want: name(0, 4, 2)},
		)
		// Anna's own needs (n1, n3) and the published ones, merged.
		stack.CheckOrders(t, e.needLister(anna, ""),
			stack.Ordered{Order: "create_time", Want: reverse(newest)},
			stack.Ordered{Order: "priority_score desc", Want: priority},
			stack.Ordered{Order: "priority_score", Want: reverse(priority)},
		)
		// Reporters and partners see part of the region: the update-time
		// orders, which walk all of it, are not theirs.
		for _, c := range []stack.Caller{anna, e.As(t, auth.Partner, "uppsala")} {
			_, err := e.client.ListNeeds(c.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: "update_time desc", Filter: "nope"})
			if status.Code(err) != codes.InvalidArgument || !slices.Equal(stack.Violations(err), []string{"filter", "order_by"}) {
				t.Errorf("update_time for a narrowed caller: %v, want order_by and filter violations", err)
			}
		}
		e.CheckBadOrderREST(t, adv, "/v1/regions/uppsala/needs?pageSize=2",
			"create_time desc (the default)", "create_time", "priority_score desc", "priority_score", "update_time desc", "update_time")
	})
}

// TestList_UpdateTimeOfEarlierNeeds: needs stored before the update-time
// index are put on it, once, before a list by update_time relies on it.
func TestList_UpdateTimeOfEarlierNeeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "uppsala")
		var names []string
		for i := range 3 {
			in := sampleNeed()
			in.Problem = fmt.Sprintf("behov %d", i)
			names = append(names, e.mustCreate(t, adv, "uppsala", in).GetName())
			time.Sleep(2 * time.Millisecond)
		}
		ns := store.Namespace{Service: "needs", Region: "uppsala"}
		e.KeepIndexes(t, ns, "created", "status_created", "priority", "status_priority")
		if n, err := e.Store.Count(t.Context(), ns, "updated", ""); err != nil || n != 0 {
			t.Fatalf("earlier needs on the update-time index: %d, %v", n, err)
		}
		stack.CheckOrders(t, e.needLister(adv, ""),
			stack.Ordered{Order: "update_time", Want: names},
			stack.Ordered{Order: "update_time desc", Want: reverse(names)},
		)
		if n, err := e.Store.Count(t.Context(), ns, "updated", ""); err != nil || n != 3 {
			t.Errorf("needs on the update-time index after the upgrade: %d, %v", n, err)
		}
	})
}

// TestNeedChildLists_Orders: a need's decisions and screening rounds,
// oldest first (the default) and newest first, over pages.
func TestNeedChildLists_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "uppsala")
		need := e.mustCreate(t, adv, "uppsala", sampleNeed())
		var rounds []string
		for _, s := range []int32{2, 4, 3} {
			rounds = append(rounds, e.mustScreen(t, adv, need, s, s, s, s, s).GetName())
		}
		need = e.mustGet(t, adv, need.GetName())
		for _, to := range []needsv1.NeedStatus{needsv1.NeedStatus_NEED_STATUS_VALIDATED, needsv1.NeedStatus_NEED_STATUS_PRIORITISED, needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH} {
			need = e.mustTransition(t, adv, need, to, "")
		}
		moves := []string{"NEED_STATUS_VALIDATED", "NEED_STATUS_PRIORITISED", "NEED_STATUS_SOLUTION_SEARCH"}
		screenings := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			r, err := e.client.ListScreenings(adv.Ctx(t), &needsv1.ListScreeningsRequest{Parent: need.GetName(), OrderBy: order, PageSize: size, PageToken: token})
			var out []string
			for _, s := range r.GetScreenings() {
				out = append(out, s.GetName())
			}
			return out, r.GetNextPageToken(), err
		}
		history := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			r, err := e.client.ListNeedHistory(adv.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName(), OrderBy: order, PageSize: size, PageToken: token})
			var out []string
			for _, h := range r.GetEntries() {
				out = append(out, h.GetToStatus().String())
			}
			return out, r.GetNextPageToken(), err
		}
		stack.CheckOrders(t, screenings,
			stack.Ordered{Order: "", Want: rounds},
			stack.Ordered{Order: "createTime desc", Want: reverse(rounds)},
		)
		stack.CheckOrders(t, history,
			stack.Ordered{Order: "time", Want: moves},
			stack.Ordered{Order: "time desc", Want: reverse(moves)},
		)
		e.CheckBadOrderREST(t, adv, "/v1/"+need.GetName()+"/screenings", "create_time (the default)", "create_time desc")
		e.CheckBadOrderREST(t, adv, "/v1/"+need.GetName()+"/history", "time (the default)", "time desc")
	})
}
