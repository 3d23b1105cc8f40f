package coordinator_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestListRegions_Orders: the directory by region id either way round,
// whatever order the directory lists them in, over pages on both stores,
// with a token of one order refused in the other and a bad order refused
// over REST naming both.
func TestListRegions_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		coord := e.coordinator(t)
		list := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			r, err := e.client.ListRegions(coord.Ctx(t), &coordinatorv1.ListRegionsRequest{OrderBy: order, PageSize: size, PageToken: token})
			var ids []string
			for _, reg := range r.GetRegions() {
				ids = append(ids, reg.GetRegion())
			}
			return ids, r.GetNextPageToken(), err
		}
		byID := []string{"halland", "skane", up, vb}
		stack.CheckOrders(t, list,
			stack.Ordered{Order: "", Want: byID},
			stack.Ordered{Order: "region desc", Want: reversed(byID)},
		)
		stack.CheckOrders(t, list,
			stack.Ordered{Order: "region", Want: byID},
			stack.Ordered{Order: "region desc", Want: reversed(byID)},
		)
		e.CheckBadOrderREST(t, coord, "/v1/national/regions", "region (the default)", "region desc")
	}, func(o *envOptions) { o.regions = []string{vb, up, "skane", "halland"} })
}

// TestListCommonNeeds_Orders: the clusters by the number of regions (the
// ranking, the default) and by the number of needs, each either way round,
// over pages on both stores and over REST.
func TestListCommonNeeds_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		needsC := needsv1.NewNeedsServiceClient(e.Conn)
		publish := func(region, problem, population, outcome string) {
			if _, err := needsC.CreateNeed(e.As(t, auth.Advisor, region).Ctx(t), &needsv1.CreateNeedRequest{
				Parent: "regions/" + region,
				Need: &needsv1.Need{Problem: problem, Population: population, Outcome: outcome, CareUnit: "Vårdcentral",
					ReportedBy: ideav1.Origin_ORIGIN_STAFF, Published: true},
			}); err != nil {
				t.Fatalf("CreateNeed: %v", err)
			}
		}
		// Falls: three regions, one need each.
		for _, r := range []string{vb, up, "skane"} {
			publish(r, "upptäcka fall nattetid", "boende på särskilda boenden", "korta tiden en person ligger på golvet")
		}
		// Hearing aids: two regions, two needs each.
		for _, r := range []string{vb, up} {
			publish(r, "korta väntetiden för hörapparater", "personer med nedsatt hörsel", "de hör bättre snabbare")
			publish(r, "korta väntetiden för nya hörapparater", "personer med nedsatt hörsel", "de hör bättre snabbare igen")
		}
		// Wounds: two regions, one need each.
		for _, r := range []string{up, "skane"} {
			publish(r, "läka svårläkta bensår hemma", "äldre med bensår i hemsjukvården", "såren läker utan besök på mottagningen")
		}
		coord := e.coordinator(t)
		// A cluster is named here by its regions and its number of needs.
		label := func(c *coordinatorv1.CommonNeed) string {
			return strings.Join(c.GetRegions(), "+") + "/" + strings.Repeat("n", len(c.GetNeeds()))
		}
		list := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			r, err := e.client.ListCommonNeeds(coord.Ctx(t), &coordinatorv1.ListCommonNeedsRequest{OrderBy: order, PageSize: size, PageToken: token})
			var out []string
			for _, c := range r.GetCommonNeeds() {
				out = append(out, label(c))
			}
			return out, r.GetNextPageToken(), err
		}
		falls, hearing, wounds := "skane+uppsala+vasterbotten/nnn", "uppsala+vasterbotten/nnnn", "skane+uppsala/nn"
		byRegions := []string{falls, hearing, wounds}
		byNeeds := []string{hearing, falls, wounds}
		stack.CheckOrders(t, list,
			stack.Ordered{Order: "", Want: byRegions},
			stack.Ordered{Order: "regions", Want: reversed(byRegions)},
			stack.Ordered{Order: "needs desc", Want: byNeeds},
			stack.Ordered{Order: "needs", Want: reversed(byNeeds)},
		)
		e.CheckBadOrderREST(t, coord, "/v1/national/commonNeeds", "regions desc (the default)", "regions", "needs desc", "needs")
		code, body := restCall(t, e, coord, "GET", "/v1/national/commonNeeds?orderBy=needs%20desc&pageSize=1")
		if got, _ := body["commonNeeds"].([]any); code != 200 || len(got) != 1 || len(got[0].(map[string]any)["needs"].([]any)) != 4 {
			t.Errorf("REST most needs first: %d %v, want the hearing cluster of four", code, body)
		}
	}, func(o *envOptions) { o.regions = []string{vb, up, "skane"} })
}
