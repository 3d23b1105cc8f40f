package audit_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	auditv1 "github.com/innovationsmotorer/motor/proto/innovation/audit/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
)

// auditLog is one service's ListAuditEvents, over gRPC.
type auditLog struct {
	service string
	list    func(ctx context.Context, parent string, size int32, token string) ([]*auditv1.AuditEvent, string, error)
}

func start(t *testing.T, b stack.Backend) (*stack.Env, []auditLog) {
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	ledger := &lateConn{}
	e := stack.Start(t, st, func(s *grpc.Server) {
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		n, err := needs.New(needs.Config{Store: st, Regions: served})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, n)
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(ledger)}))
		ps, err := partner.New(partner.Config{Store: st, Regions: served})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
	})
	ledger.conn, ledger.cred = e.Conn, e.Credential
	ic, nc := ideav1.NewIdeaServiceClient(e.Conn), needsv1.NewNeedsServiceClient(e.Conn)
	fc, pc := fundingv1.NewSubprojectServiceClient(e.Conn), partnerv1.NewPartnerServiceClient(e.Conn)
	logs := []auditLog{
		{"idea", func(ctx context.Context, parent string, size int32, token string) ([]*auditv1.AuditEvent, string, error) {
			r, err := ic.ListAuditEvents(ctx, &ideav1.ListAuditEventsRequest{Parent: parent, PageSize: size, PageToken: token})
			return r.GetEvents(), r.GetNextPageToken(), err
		}},
		{"needs", func(ctx context.Context, parent string, size int32, token string) ([]*auditv1.AuditEvent, string, error) {
			r, err := nc.ListAuditEvents(ctx, &needsv1.ListAuditEventsRequest{Parent: parent, PageSize: size, PageToken: token})
			return r.GetEvents(), r.GetNextPageToken(), err
		}},
		{"funding", func(ctx context.Context, parent string, size int32, token string) ([]*auditv1.AuditEvent, string, error) {
			r, err := fc.ListAuditEvents(ctx, &fundingv1.ListAuditEventsRequest{Parent: parent, PageSize: size, PageToken: token})
			return r.GetEvents(), r.GetNextPageToken(), err
		}},
		{"partner", func(ctx context.Context, parent string, size int32, token string) ([]*auditv1.AuditEvent, string, error) {
			r, err := pc.ListAuditEvents(ctx, &partnerv1.ListAuditEventsRequest{Parent: parent, PageSize: size, PageToken: token})
			return r.GetEvents(), r.GetNextPageToken(), err
		}},
	}
	return e, logs
}

// lateConn lets the subproject service reach the ledger served beside it,
// on a connection that exists only once the server runs.
// Its calls are made as the service itself, with the server's credential.
type lateConn struct {
	conn *grpc.ClientConn
	cred *auth.ServiceCredential
}

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return auth.AsService(l.conn, l.cred).Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return auth.AsService(l.conn, l.cred).NewStream(ctx, desc, method, opts...)
}

// mustREST makes a call that must answer 200.
func mustREST(t *testing.T, e *stack.Env, c stack.Caller, method, path, body string) map[string]any {
	t.Helper()
	code, out := e.REST(t, c, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

// TestAuditLog_RecordsEveryServicesChanges: what a region's staff change in
// each service shows up in that service's log, in order, with who did it
// and the etags around it; region admins page through it over gRPC and REST.
func TestAuditLog_RecordsEveryServicesChanges(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e, logs := start(t, b)
			adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
			admin := e.As(t, auth.RegionAdmin, "vasterbotten", "erik")

			i := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/ideas", `{"title":"Videobesök för KOL","problem":"Långa resor.","origin":"ORIGIN_STAFF"}`)
			i = mustREST(t, e, adv, "POST", fmt.Sprintf("/v1/%s:transition", i["name"]), fmt.Sprintf(`{"stage":"STAGE_SCREENING","etag":%q}`, i["etag"]))
			n := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs", `{"problem":"upptäcka fall nattetid","population":"boende på särskilda boenden","outcome":"korta tiden på golvet","careUnit":"Äldreomsorg Umeå","reportedBy":"ORIGIN_STAFF"}`)
			mustREST(t, e, e.As(t, auth.Coordinator, auth.NationalRegion), "POST", "/v1/programmes?programmeId=p",
				`{"title":"Program","budgetOre":"1000000","startDate":"2026-01-01","endDate":"2027-12-31"}`)
			sp := mustREST(t, e, admin, "POST", "/v1/regions/vasterbotten/subprojects", `{"title":"Fallsensorer","programme":"programmes/p"}`)
			p := mustREST(t, e, admin, "POST", "/v1/regions/vasterbotten/partners", `{"displayName":"Exempel AB","orgNumber":"5560000019","kind":"PARTNER_KIND_COMPANY","size":"COMPANY_SIZE_SMALL"}`)
			// Uppsala's changes stay in Uppsala's log.
			mustREST(t, e, e.As(t, auth.Advisor, "uppsala"), "POST", "/v1/regions/uppsala/ideas", `{"title":"Annan idé","problem":"Annat.","origin":"ORIGIN_STAFF"}`)

			want := map[string][]struct{ action, resource, actor, before, after string }{
				"idea": {
					{"CreateIdea", i["name"].(string), "anna", "", "1"},
					{"TransitionIdea", i["name"].(string), "anna", "1", "2"},
				},
				"needs":   {{"CreateNeed", n["name"].(string), "anna", "", "1"}},
				"funding": {{"CreateSubproject", sp["name"].(string), "erik", "", "1"}},
				"partner": {{"CreatePartner", p["name"].(string), "erik", "", "1"}},
			}
			for _, l := range logs {
				t.Run(l.service, func(t *testing.T) {
					// gRPC, one event per page, so the tokens are walked too.
					var got []*auditv1.AuditEvent
					token := ""
					for page := 0; ; page++ {
						evs, next, err := l.list(admin.Ctx(t), "regions/vasterbotten", 1, token)
						if err != nil {
							t.Fatalf("page %d: %v", page, err)
						}
						got = append(got, evs...)
						if next == "" || page > 10 {
							break
						}
						token = next
					}
					w := want[l.service]
					if len(got) != len(w) {
						t.Fatalf("%d events, want %d: %v", len(got), len(w), got)
					}
					for k, ev := range got {
						if ev.GetAction() != w[k].action || ev.GetResource() != w[k].resource || ev.GetActor() != w[k].actor ||
							ev.GetEtagBefore() != w[k].before || ev.GetEtagAfter() != w[k].after || ev.GetTime() == nil {
							t.Errorf("event %d: %v, want %+v", k, ev, w[k])
						}
						if k > 0 && ev.GetSequence() <= got[k-1].GetSequence() {
							t.Errorf("event %d: sequence %d after %d, want growing", k, ev.GetSequence(), got[k-1].GetSequence())
						}
					}

					// REST: the same log, wire names of docs/architecture.md ("Contracts and REST routes").
					body := mustREST(t, e, admin, "GET", "/v1/regions/vasterbotten/audit/"+l.service, "")
					evs, _ := body["events"].([]any)
					if len(evs) != len(w) {
						t.Fatalf("REST: %v, want %d events", body, len(w))
					}
					first := evs[0].(map[string]any)
					if first["action"] != w[0].action || first["resource"] != w[0].resource || first["etagAfter"] != "1" {
						t.Errorf("REST first event: %v", first)
					}

					// A token belongs to its list.
					_, next, err := l.list(admin.Ctx(t), "regions/vasterbotten", 1, "")
					if err != nil {
						t.Fatal(err)
					}
					if next != "" {
						_, _, err := l.list(e.As(t, auth.RegionAdmin, "uppsala").Ctx(t), "regions/uppsala", 1, next)
						if status.Code(err) != codes.InvalidArgument {
							t.Errorf("Västerbotten's page token on Uppsala's log: %v, want InvalidArgument", err)
						}
					}
				})
			}
		})
	}
}

// TestAuditLog_OnlyTheRegionsAdmins: the log names who did what, so only
// the region's admins read it; everyone else is refused over gRPC and REST.
func TestAuditLog_OnlyTheRegionsAdmins(t *testing.T) {
	e, logs := start(t, stack.Backends()[0])
	refused := []struct {
		who      string
		c        stack.Caller
		wantCode codes.Code
		wantHTTP int
	}{
		{"no token", stack.Caller{}, codes.Unauthenticated, 401},
		{"admin of uppsala", e.As(t, auth.RegionAdmin, "uppsala"), codes.PermissionDenied, 403},
		{"advisor of vasterbotten", e.As(t, auth.Advisor, "vasterbotten"), codes.PermissionDenied, 403},
		{"submitter of vasterbotten", e.As(t, auth.Submitter, "vasterbotten"), codes.PermissionDenied, 403},
		{"partner of vasterbotten", e.As(t, auth.Partner, "vasterbotten"), codes.PermissionDenied, 403},
		{"national coordinator", e.As(t, auth.Coordinator, auth.NationalRegion), codes.PermissionDenied, 403},
		{"another deployment", e.As(t, auth.Service, "uppsala"), codes.PermissionDenied, 403},
	}
	admin := e.As(t, auth.RegionAdmin, "vasterbotten")
	for _, l := range logs {
		t.Run(l.service, func(t *testing.T) {
			for _, c := range refused {
				if _, _, err := l.list(c.c.Ctx(t), "regions/vasterbotten", 0, ""); status.Code(err) != c.wantCode {
					t.Errorf("gRPC as %s: %v, want %v", c.who, err, c.wantCode)
				}
				if code, body := e.REST(t, c.c, "GET", "/v1/regions/vasterbotten/audit/"+l.service, ""); code != c.wantHTTP {
					t.Errorf("REST as %s: %d %v, want %d", c.who, code, body, c.wantHTTP)
				}
			}
			if _, _, err := l.list(admin.Ctx(t), "regions/vasterbotten", 0, ""); err != nil {
				t.Errorf("admin of vasterbotten: %v", err)
			}
			bad := []struct {
				parent string
				size   int32
				token  string
				want   codes.Code
			}{
				{"regions/gotland", 0, "", codes.NotFound},
				{"regions/atlantis", 0, "", codes.NotFound},
				{"vasterbotten", -1, "not-a-token", codes.InvalidArgument},
			}
			for _, tc := range bad {
				if _, _, err := l.list(admin.Ctx(t), tc.parent, tc.size, tc.token); status.Code(err) != tc.want {
					t.Errorf("parent %q size %d token %q: %v, want %v", tc.parent, tc.size, tc.token, err, tc.want)
				}
			}
			_, _, err := l.list(admin.Ctx(t), "vasterbotten", -1, "not-a-token")
			var fields []string
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						fields = append(fields, v.GetField())
					}
				}
			}
			if want := []string{"parent", "page_size", "page_token"}; !slices.Equal(fields, want) {
				t.Errorf("every wrong field at once: violations of %v, want %v", fields, want)
			}
		})
	}
}

// TestAuditLog_Ledger: the programme ledger's records (where the national
// money went) are for national coordinators, over gRPC and REST.
func TestAuditLog_Ledger(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e, _ := start(t, b)
			ledger := fundingv1.NewProgrammeServiceClient(e.Conn)
			coord := e.As(t, auth.Coordinator, auth.NationalRegion, "nils")
			mustREST(t, e, coord, "POST", "/v1/programmes?programmeId=p",
				`{"title":"Program","budgetOre":"1000000","startDate":"2026-01-01","endDate":"2027-12-31"}`)

			resp, err := ledger.ListLedgerEvents(coord.Ctx(t), &fundingv1.ListLedgerEventsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			evs := resp.GetEvents()
			if len(evs) != 1 || evs[0].GetAction() != "CreateProgramme" || evs[0].GetResource() != "programmes/p" || evs[0].GetActor() != "nils" {
				t.Errorf("ledger events %v, want the programme's creation by nils", evs)
			}
			body := mustREST(t, e, coord, "GET", "/v1/national/audit/funding?pageSize=10", "")
			if got, _ := body["events"].([]any); len(got) != 1 {
				t.Errorf("REST: %v", body)
			}
			for _, c := range []struct {
				who      string
				c        stack.Caller
				code     codes.Code
				httpCode int
			}{
				{"no token", stack.Caller{}, codes.Unauthenticated, 401},
				{"admin of vasterbotten", e.As(t, auth.RegionAdmin, "vasterbotten"), codes.PermissionDenied, 403},
				{"advisor of uppsala", e.As(t, auth.Advisor, "uppsala"), codes.PermissionDenied, 403},
				{"a region's deployment", e.As(t, auth.Service, "uppsala"), codes.PermissionDenied, 403},
			} {
				if _, err := ledger.ListLedgerEvents(c.c.Ctx(t), &fundingv1.ListLedgerEventsRequest{}); status.Code(err) != c.code {
					t.Errorf("gRPC as %s: %v, want %v", c.who, err, c.code)
				}
				if code, body := e.REST(t, c.c, "GET", "/v1/national/audit/funding", ""); code != c.httpCode {
					t.Errorf("REST as %s: %d %v, want %d", c.who, code, body, c.httpCode)
				}
			}
			if _, err := ledger.ListLedgerEvents(coord.Ctx(t), &fundingv1.ListLedgerEventsRequest{PageSize: -1, PageToken: "x"}); status.Code(err) != codes.InvalidArgument {
				t.Errorf("bad page size and token: %v, want InvalidArgument", err)
			}
		})
	}
}
