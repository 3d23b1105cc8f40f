package idea_test

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
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

func (e *regionEnv) ideaLister(c stack.Caller, filter string) stack.Lister {
	return func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
		resp, err := e.client.ListIdeas(c.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Filter: filter, OrderBy: order, PageSize: size, PageToken: token})
		var names []string
		for _, i := range resp.GetIdeas() {
			names = append(names, i.GetName())
		}
		return names, resp.GetNextPageToken(), err
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestListIdeas_Orders: each order of ListIdeas both ways round over pages,
// with a filter, a submitter's own list, and the orders that are not theirs.
func TestListIdeas_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		ideas := make([]*ideav1.Idea, 5)
		for i := range ideas {
			in := sampleIdea()
			in.Title = fmt.Sprintf("idé %d", i)
			if i%2 == 0 {
				in.CareArea = "Psykiatri"
			}
			ideas[i] = e.mustCreate(t, sub, "vasterbotten", in)
			time.Sleep(2 * time.Millisecond) // distinct create times
		}
		// Assessments change i3, i1 and i0, in that order.
		for _, a := range []struct {
			i     int
			score int32
		}{{3, 2}, {1, 5}, {0, 3}} {
			s := a.score
			if _, err := e.client.CreateAssessment(adv.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: ideas[a.i].GetName(), Assessment: scorecard(s, s, s, s, s, s)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		name := func(is ...int) []string {
			var out []string
			for _, i := range is {
				out = append(out, ideas[i].GetName())
			}
			return out
		}
		newest := name(4, 3, 2, 1, 0)
		best := name(1, 0, 3, 4, 2) // unassessed last, newest first
		updated := name(0, 1, 3, 4, 2)
		stack.CheckOrders(t, e.ideaLister(adv, ""),
			stack.Ordered{Order: "create_time desc", Want: newest},
			stack.Ordered{Order: "createTime", Want: reversed(newest)},
			stack.Ordered{Order: "update_time desc", Want: updated},
			stack.Ordered{Order: "update_time", Want: reversed(updated)},
			stack.Ordered{Order: "assessment_summary.weighted_score desc", Want: best},
			stack.Ordered{Order: "assessmentSummary.weightedScore", Want: reversed(best)},
		)
		// Psykiatri: i0, i2, i4.
		stack.CheckOrders(t, e.ideaLister(adv, `care_area = "Psykiatri"`),
			stack.Ordered{Order: "create_time", Want: name(0, 2, 4)},
			stack.Ordered{Order: "update_time desc", Want: name(0, 4, 2)},
			stack.Ordered{Order: "assessment_summary.weighted_score desc", Want: name(0, 4, 2)},
		)
		// The submitter's own ideas, both ways round; the region-wide
		// orders are not theirs.
		stack.CheckOrders(t, e.ideaLister(sub, ""),
			stack.Ordered{Order: "", Want: newest},
			stack.Ordered{Order: "create_time", Want: reversed(newest)},
		)
		_, err := e.client.ListIdeas(sub.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", OrderBy: "update_time desc", PageSize: -1})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(stack.Violations(err), []string{"order_by", "page_size"}) {
			t.Errorf("update_time for a submitter: %v, want order_by and page_size violations", err)
		}
		e.CheckBadOrderREST(t, adv, "/v1/regions/vasterbotten/ideas",
			"create_time desc (the default)", "update_time desc", "assessment_summary.weighted_score desc")
	})
}

// TestListIdeas_OrdersOfEarlierIdeas: ideas stored before the update-time
// and score indexes are put on them before a list in those orders.
func TestListIdeas_OrdersOfEarlierIdeas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
		var names []string
		for i := range 3 {
			in := sampleIdea()
			in.Title = fmt.Sprintf("idé %d", i)
			names = append(names, e.mustCreate(t, adv, "vasterbotten", in).GetName())
			time.Sleep(2 * time.Millisecond)
		}
		ns := store.Namespace{Service: "idea", Region: "vasterbotten"}
		e.KeepIndexes(t, ns, "created", "stage", "origin", "owner", "care_area", "tag")
		for _, index := range []string{"updated", "score"} {
			if n, err := e.Store.Count(t.Context(), ns, index, ""); err != nil || n != 0 {
				t.Fatalf("earlier ideas on %s: %d, %v", index, n, err)
			}
		}
		stack.CheckOrders(t, e.ideaLister(adv, ""),
			stack.Ordered{Order: "update_time", Want: names},
			stack.Ordered{Order: "assessment_summary.weighted_score desc", Want: reversed(names)},
		)
	})
}
