package audit_test

import (
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	auditv1 "github.com/innovationsmotorer/motor/proto/innovation/audit/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
	"github.com/innovationsmotorer/motor/services/reports"
)

// recordEvents writes n audit events straight into the log of service in
// region, acted "a0", "a1"…, in that order, and returns their actions.
func recordEvents(t *testing.T, e *stack.Env, service, region string, n int) []string {
	t.Helper()
	var actions []string
	for i := range n {
		a := fmt.Sprintf("a%d", i)
		if _, err := e.Store.Commit(t.Context(), store.Namespace{Service: service, Region: region},
			store.Write{Events: []store.Event{{Actor: "erik", Action: a, Key: "k/" + a}}}); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	return actions
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestAuditLog_Orders: every service's audit log oldest first (the
// default) and newest first, over pages on both stores, with a token of
// one order refused in the other, a bad order refused over REST naming
// both, and the programme ledger the same way.
func TestAuditLog_Orders(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			served, err := config.ParseServed("vasterbotten")
			if err != nil {
				t.Fatal(err)
			}
			st := b.Open(t)
			e := stack.Start(t, st, func(s *grpc.Server) {
				ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
				n, err := needs.New(needs.Config{Store: st, Regions: served})
				if err != nil {
					t.Fatal(err)
				}
				needsv1.RegisterNeedsServiceServer(s, n)
				fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{Store: st, Regions: served}))
				fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
				ps, err := partner.New(partner.Config{Store: st, Regions: served})
				if err != nil {
					t.Fatal(err)
				}
				partnerv1.RegisterPartnerServiceServer(s, ps)
				reportsv1.RegisterReportServiceServer(s, reports.New(reports.Config{Store: st, Regions: served}))
			})
			admin := e.As(t, auth.RegionAdmin, "vasterbotten", "erik")
			ic, nc := ideav1.NewIdeaServiceClient(e.Conn), needsv1.NewNeedsServiceClient(e.Conn)
			fc, pc := fundingv1.NewSubprojectServiceClient(e.Conn), partnerv1.NewPartnerServiceClient(e.Conn)
			rc := reportsv1.NewReportServiceClient(e.Conn)
			actions := func(evs []*auditv1.AuditEvent) []string {
				var out []string
				for _, ev := range evs {
					out = append(out, ev.GetAction())
				}
				return out
			}
			const parent = "regions/vasterbotten"
			for _, tc := range []struct {
				service string
				list    stack.Lister
			}{
				{"idea", func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := ic.ListAuditEvents(admin.Ctx(t), &ideav1.ListAuditEventsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}},
				{"needs", func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := nc.ListAuditEvents(admin.Ctx(t), &needsv1.ListAuditEventsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}},
				{"funding", func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := fc.ListAuditEvents(admin.Ctx(t), &fundingv1.ListAuditEventsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}},
				{"partner", func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := pc.ListAuditEvents(admin.Ctx(t), &partnerv1.ListAuditEventsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}},
				{"reports", func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := rc.ListAuditEvents(admin.Ctx(t), &reportsv1.ListAuditEventsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}},
			} {
				t.Run(tc.service, func(t *testing.T) {
					oldest := recordEvents(t, e, tc.service, "vasterbotten", 5)
					stack.CheckOrders(t, tc.list,
						stack.Ordered{Order: "", Want: oldest},
						stack.Ordered{Order: "time desc", Want: reversed(oldest)},
					)
					stack.CheckOrders(t, tc.list,
						stack.Ordered{Order: "time", Want: oldest},
						stack.Ordered{Order: "time  DESC", Want: reversed(oldest)},
					)
					e.CheckBadOrderREST(t, admin, "/v1/regions/vasterbotten/audit/"+tc.service, "time (the default)", "time desc")
					// Newest first over REST, as the route's orderBy.
					body := mustREST(t, e, admin, "GET", "/v1/regions/vasterbotten/audit/"+tc.service+"?orderBy=time%20desc&pageSize=2", "")
					evs, _ := body["events"].([]any)
					if len(evs) != 2 || evs[0].(map[string]any)["action"] != "a4" || evs[1].(map[string]any)["action"] != "a3" || body["nextPageToken"] == "" {
						t.Errorf("REST newest first: %v, want a4, a3 and a next page", body)
					}
				})
			}

			t.Run("ledger", func(t *testing.T) {
				coord := e.As(t, auth.Coordinator, auth.NationalRegion, "nils")
				ledger := fundingv1.NewProgrammeServiceClient(e.Conn)
				oldest := recordEvents(t, e, "funding", auth.NationalRegion, 5)
				list := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
					r, err := ledger.ListLedgerEvents(coord.Ctx(t), &fundingv1.ListLedgerEventsRequest{OrderBy: order, PageSize: size, PageToken: token})
					return actions(r.GetEvents()), r.GetNextPageToken(), err
				}
				stack.CheckOrders(t, list,
					stack.Ordered{Order: "", Want: oldest},
					stack.Ordered{Order: "time desc", Want: reversed(oldest)},
				)
				stack.CheckOrders(t, list,
					stack.Ordered{Order: "time", Want: oldest},
					stack.Ordered{Order: "time desc", Want: reversed(oldest)},
				)
				e.CheckBadOrderREST(t, coord, "/v1/national/audit/funding", "time (the default)", "time desc")
				// A newest-first reader who keeps the token continues into
				// the older events, not the ones recorded since.
				_, token, err := list(t, "time desc", 2, "")
				if err != nil {
					t.Fatal(err)
				}
				recordEvents(t, e, "funding", auth.NationalRegion, 1)
				got, _, err := list(t, "time desc", 10, token)
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"a2", "a1", "a0"}; !slices.Equal(got, want) {
					t.Errorf("after a newest-first token: %v, want %v", got, want)
				}
			})
		})
	}
}
