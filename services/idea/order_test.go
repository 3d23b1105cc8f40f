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

// pick returns the names of items is, in that order.
func pick(names []string, is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, names[i])
	}
	return out
}

// namesOf lists the names of a page's items.
func namesOf[T interface{ GetName() string }](items []T) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.GetName())
	}
	return out
}

// TestIdeaChildLists_Orders: the idea service's other lists in the order
// of their index and its reverse, over pages, with tokens of one order
// refused in the other and a bad order refused over REST naming both.
func TestIdeaChildLists_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
		admin := e.As(t, auth.RegionAdmin, "vasterbotten", "bo")
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		c := e.client
		idea := e.mustCreate(t, sub, "vasterbotten", sampleIdea())

		var workshops []string
		for _, date := range []string{"2026-03-01", "2026-01-15", "2026-02-10"} {
			w, err := c.CreateWorkshop(adv.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: &ideav1.Workshop{
				Title: "Urval " + date, Date: date, Participants: []string{"anna"}, Agenda: []string{idea.GetName()}}})
			if err != nil {
				t.Fatal(err)
			}
			workshops = append(workshops, w.GetName())
		}
		var categories []string
		for _, id := range []string{"c-b", "c-a", "c-c"} {
			cat, err := c.CreateCategory(admin.Ctx(t), &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: id, Category: &ideav1.Category{DisplayName: id}})
			if err != nil {
				t.Fatal(err)
			}
			categories = append(categories, cat.GetName())
		}
		var beds []string
		for _, name := range []string{"Bäddar B", "Bäddar A", "Bäddar C"} {
			bed, err := c.CreateTestBed(adv.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{
				DisplayName: name, Unit: "NUS", Kind: ideav1.TestBedKind_TEST_BED_KIND_INNOVATION_CLINIC, Capacity: 5}})
			if err != nil {
				t.Fatal(err)
			}
			beds = append(beds, bed.GetName())
		}
		var plans []string
		for range 3 {
			p, err := c.CreateTestPlan(adv.Ctx(t), &ideav1.CreateTestPlanRequest{Parent: e.mustCreate(t, sub, "vasterbotten", sampleIdea()).GetName(), TestPlan: &ideav1.TestPlan{
				TestBed: beds[0], StartDate: "2026-05-01", EndDate: "2026-08-31", Protocol: "Tjugo patienter."}})
			if err != nil {
				t.Fatal(err)
			}
			plans = append(plans, p.GetName())
		}
		slices.Sort(plans)
		// Five decisions: submitted, screened, parked, screened again, parked again.
		moved := idea
		for _, stage := range []ideav1.Stage{ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_PARKED, ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_PARKED} {
			var err error
			moved, err = c.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{Name: moved.GetName(), Stage: stage, Etag: moved.GetEtag(), Rationale: "vänta på budget"})
			if err != nil {
				t.Fatal(err)
			}
		}
		stages := func(entries []*ideav1.HistoryEntry) []string {
			var out []string
			for _, h := range entries {
				out = append(out, h.GetFromStage().String()+">"+h.GetToStage().String())
			}
			return out
		}
		decisions := []string{"STAGE_UNSPECIFIED>STAGE_SUBMITTED", "STAGE_SUBMITTED>STAGE_SCREENING", "STAGE_SCREENING>STAGE_PARKED", "STAGE_PARKED>STAGE_SCREENING", "STAGE_SCREENING>STAGE_PARKED"}

		for _, tc := range []struct {
			name   string
			path   string // REST route
			orders []string
			want   []string // in the default order
			list   stack.Lister
		}{
			{"workshops", "/v1/regions/vasterbotten/workshops", []string{"date desc", "date"}, pick(workshops, 0, 2, 1),
				func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := c.ListWorkshops(adv.Ctx(t), &ideav1.ListWorkshopsRequest{Parent: "regions/vasterbotten", OrderBy: order, PageSize: size, PageToken: token})
					return namesOf(r.GetWorkshops()), r.GetNextPageToken(), err
				}},
			{"categories", "/v1/regions/vasterbotten/categories", []string{"name", "name desc"}, pick(categories, 1, 0, 2),
				func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := c.ListCategories(adv.Ctx(t), &ideav1.ListCategoriesRequest{Parent: "regions/vasterbotten", OrderBy: order, PageSize: size, PageToken: token})
					return namesOf(r.GetCategories()), r.GetNextPageToken(), err
				}},
			{"test beds", "/v1/regions/vasterbotten/testBeds", []string{"display_name", "display_name desc"}, pick(beds, 1, 0, 2),
				func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := c.ListTestBeds(adv.Ctx(t), &ideav1.ListTestBedsRequest{Parent: "regions/vasterbotten", OrderBy: order, PageSize: size, PageToken: token})
					return namesOf(r.GetTestBeds()), r.GetNextPageToken(), err
				}},
			{"test plans", "/v1/" + beds[0] + "/testPlans", []string{"name", "name desc"}, plans,
				func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := c.ListTestPlans(adv.Ctx(t), &ideav1.ListTestPlansRequest{Parent: beds[0], OrderBy: order, PageSize: size, PageToken: token})
					return namesOf(r.GetTestPlans()), r.GetNextPageToken(), err
				}},
			{"history", "/v1/" + idea.GetName() + "/history", []string{"time", "time desc"}, decisions,
				func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := c.ListIdeaHistory(adv.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: idea.GetName(), OrderBy: order, PageSize: size, PageToken: token})
					return stages(r.GetEntries()), r.GetNextPageToken(), err
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				stack.CheckOrders(t, tc.list,
					stack.Ordered{Order: "", Want: tc.want},
					stack.Ordered{Order: tc.orders[1], Want: reversed(tc.want)},
				)
				stack.CheckOrders(t, tc.list,
					stack.Ordered{Order: tc.orders[0], Want: tc.want},
					stack.Ordered{Order: tc.orders[1], Want: reversed(tc.want)},
				)
				e.CheckBadOrderREST(t, admin, tc.path, tc.orders[0]+" (the default)", tc.orders[1])
			})
		}
	})
}

// TestListAssessments_Orders: an idea's scorecards by name (the index,
// either way) and by time and weighted score (sorted in memory), over
// pages on both stores, with tokens of one order refused in another and a
// bad order refused over REST naming them all.
func TestListAssessments_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		idea := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		// Three reviewers, in this order, scoring 3, 5 and 2; a fourth
		// scores 5 as well, so equal scores come by name.
		var byTime []string
		score := map[string]int32{}
		for _, r := range []struct {
			who   string
			score int32
		}{{"anna", 3}, {"bo", 5}, {"cilla", 2}, {"dan", 5}} {
			s := r.score
			a, err := e.client.CreateAssessment(e.As(t, auth.Advisor, "vasterbotten", r.who).Ctx(t), &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: scorecard(s, s, s, s, s, s)})
			if err != nil {
				t.Fatal(err)
			}
			byTime = append(byTime, a.GetName())
			score[a.GetName()] = s
			time.Sleep(2 * time.Millisecond) // distinct create times
		}
		byName := slices.Sorted(slices.Values(byTime))
		best := slices.Clone(byName)
		slices.SortStableFunc(best, func(a, b string) int { return int(score[b] - score[a]) })
		worst := slices.Clone(byName)
		slices.SortStableFunc(worst, func(a, b string) int { return int(score[a] - score[b]) })

		adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
		list := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			r, err := e.client.ListAssessments(adv.Ctx(t), &ideav1.ListAssessmentsRequest{Parent: idea.GetName(), OrderBy: order, PageSize: size, PageToken: token})
			return namesOf(r.GetAssessments()), r.GetNextPageToken(), err
		}
		stack.CheckOrders(t, list,
			stack.Ordered{Order: "", Want: byName},
			stack.Ordered{Order: "name desc", Want: reversed(byName)},
			stack.Ordered{Order: "create_time desc", Want: reversed(byTime)},
			stack.Ordered{Order: "createTime", Want: byTime},
			stack.Ordered{Order: "weighted_score desc", Want: best},
			stack.Ordered{Order: "weightedScore", Want: worst},
		)
		e.CheckBadOrderREST(t, adv, "/v1/"+idea.GetName()+"/assessments",
			"name (the default)", "name desc", "create_time desc", "create_time", "weighted_score desc", "weighted_score")
		// Pages of three: the second holds the last scorecard and ends.
		_, token, err := list(t, "weighted_score desc", 3, "")
		if err != nil || token == "" {
			t.Fatalf("first page of three: %q, %v", token, err)
		}
		if got, next, err := list(t, "weighted_score desc", 3, token); err != nil || len(got) != 1 || next != "" {
			t.Errorf("second page: %v %q %v, want the last scorecard and the end", got, next, err)
		}
	})
}
