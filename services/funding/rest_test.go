package funding_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

// restCall sends one JSON request through the gateway and decodes the answer.
func restCall(t testing.TB, e *env, c stack.Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	return e.REST(t, c, method, path, body)
}

// mustREST is restCall that expects 200.
func mustREST(t testing.TB, e *env, c stack.Caller, method, path, body string) map[string]any {
	t.Helper()
	code, out := restCall(t, e, c, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

// str reads a JSON field as protojson writes it (int64 as a string).
func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// restBalance checks a programme's balance as GET /v1/programmes/{p} shows
// it; step names the moment checked.
func restBalance(t testing.TB, e *env, c stack.Caller, programme, step string, reserved, disbursed, available int64) {
	t.Helper()
	p := mustREST(t, e, c, "GET", "/v1/"+programme, "")
	b, _ := p["balance"].(map[string]any)
	got := fmt.Sprintf("reserved %s disbursed %s available %s", orZero(str(b, "reservedOre")), orZero(str(b, "disbursedOre")), orZero(str(b, "availableOre")))
	if want := fmt.Sprintf("reserved %d disbursed %d available %d", reserved, disbursed, available); got != want {
		t.Errorf("%s: balance %s, want %s", step, got, want)
	}
}

// orZero: protojson leaves out fields that are zero.
func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// TestREST_SubprojectLife is a subproject's whole life over REST: the
// programme is opened, the region creates, edits and submits a subproject,
// the coordinator approves it, two cost reports are certified (the second
// capped at what is left of the grant), and the region closes it. The
// programme's balance is checked after every step.
func TestREST_SubprojectLife(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		coord, admin := e.coordinator(t), e.admin(t, vb)
		const budget = 2_000_000_00 // 2 000 000 kr

		prog := mustREST(t, e, coord, "POST", "/v1/programmes?programmeId=innovationsmotorer-2026&requestId=p1",
			`{"title":"Innovationsmotorer 2026–2028","budgetOre":"200000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
		pname := str(prog, "name")
		if pname != "programmes/innovationsmotorer-2026" || str(prog, "coFinancingRateBp") != "5000" {
			t.Fatalf("programme %v", prog)
		}
		restBalance(t, e, coord, pname, "opened", 0, 0, budget)

		sp := mustREST(t, e, admin, "POST", "/v1/regions/vasterbotten/subprojects?requestId=s1", `{
			"title": "Videobesök för KOL-kontroller",
			"programme": "programmes/innovationsmotorer-2026",
			"ideas": ["regions/vasterbotten/ideas/abc"],
			"partners": [{"partner": "regions/vasterbotten/partners/umu", "role": "utvärderare"}],
			"budgetLines": [
				{"category": "COST_CATEGORY_STAFF", "description": "Projektledare", "amountOre": "80000001", "eligible": true},
				{"category": "COST_CATEGORY_TRAVEL", "amountOre": "500000", "eligible": false}
			],
			"contributions": [{"party": "Region Västerbotten", "kind": "CONTRIBUTION_KIND_CASH", "amountOre": "30000000"}]
		}`)
		name := str(sp, "name")
		if sp["status"] != "SUBPROJECT_STATUS_DRAFT" || str(sp, "eligibleCostOre") != "80000001" || str(sp, "programmeShareOre") != "40000000" || str(sp, "ownShareOre") != "40000001" {
			t.Fatalf("created %v", sp)
		}

		// Submitting falls short of the own share; the PATCH adds the rest
		// (the gateway derives the update mask from the body).
		code, body := restCall(t, e, admin, "POST", "/v1/"+name+":submit", `{"etag":"`+str(sp, "etag")+`"}`)
		if code != http.StatusBadRequest || !strings.Contains(str(body, "message"), "10000001 öre are missing") {
			t.Errorf("submit short of own share: %d %v", code, body)
		}
		sp = mustREST(t, e, admin, "PATCH", "/v1/"+name, `{"etag":"`+str(sp, "etag")+`","contributions":[
			{"party": "Region Västerbotten", "kind": "CONTRIBUTION_KIND_CASH", "amountOre": "30000000"},
			{"party": "Umeå universitet", "kind": "CONTRIBUTION_KIND_IN_KIND", "amountOre": "10000001"}]}`)
		if str(sp, "contributedOre") != "40000001" || str(sp, "title") != "Videobesök för KOL-kontroller" {
			t.Fatalf("patched %v", sp)
		}
		sp = mustREST(t, e, admin, "POST", "/v1/"+name+":submit", `{"etag":"`+str(sp, "etag")+`"}`)
		restBalance(t, e, coord, pname, "submitted", 0, 0, budget)

		if code, _ := restCall(t, e, admin, "POST", "/v1/"+name+":approve", `{"etag":"`+str(sp, "etag")+`"}`); code != http.StatusForbidden {
			t.Errorf("region admin approves: %d, want 403", code)
		}
		sp = mustREST(t, e, coord, "POST", "/v1/"+name+":approve", `{"etag":"`+str(sp, "etag")+`"}`)
		if sp["status"] != "SUBPROJECT_STATUS_APPROVED" || str(sp, "grantedOre") != "40000000" {
			t.Fatalf("approved %v", sp)
		}
		restBalance(t, e, coord, pname, "approved", 40_000_000, 0, budget-40_000_000)
		allocs := mustREST(t, e, coord, "GET", "/v1/"+pname+"/allocations", "")
		if list, _ := allocs["allocations"].([]any); len(list) != 1 || str(list[0].(map[string]any), "subproject") != name || str(list[0].(map[string]any), "reservedOre") != "40000000" {
			t.Errorf("allocations %v", allocs)
		}

		report := func(amount string) map[string]any {
			cr := mustREST(t, e, admin, "POST", "/v1/"+name+"/costReports", `{"periodStart":"2026-01-01","periodEnd":"2026-06-30",
				"lines":[{"category":"COST_CATEGORY_STAFF","amountOre":"`+amount+`","description":"Löner"}]}`)
			if cr["status"] != "COST_REPORT_STATUS_DRAFT" {
				t.Fatalf("cost report %v", cr)
			}
			return mustREST(t, e, admin, "POST", "/v1/"+str(cr, "name")+":submit", `{"etag":"`+str(cr, "etag")+`"}`)
		}
		first := report("50000001")
		second := report("40000000")
		list := mustREST(t, e, e.As(t, auth.Advisor, vb), "GET", "/v1/"+name+"/costReports?pageSize=10", "")
		if reports, _ := list["costReports"].([]any); len(reports) != 2 || str(reports[0].(map[string]any), "name") != str(first, "name") {
			t.Errorf("cost reports, oldest first: %v", list)
		}
		restBalance(t, e, coord, pname, "reports submitted", 40_000_000, 0, budget-40_000_000)

		first = mustREST(t, e, coord, "POST", "/v1/"+str(first, "name")+":certify", `{"etag":"`+str(first, "etag")+`"}`)
		if first["status"] != "COST_REPORT_STATUS_CERTIFIED" || str(first, "certifiedOre") != "50000001" || str(first, "paidOre") != "25000000" {
			t.Fatalf("first certified %v", first)
		}
		restBalance(t, e, coord, pname, "first report certified", 40_000_000, 25_000_000, budget-40_000_000)

		// 40 000 000 certified would pay 20 000 000; 15 000 000 are left.
		second = mustREST(t, e, coord, "POST", "/v1/"+str(second, "name")+":certify", `{"etag":"`+str(second, "etag")+`"}`)
		if str(second, "paidOre") != "15000000" {
			t.Fatalf("second certified %v, want 15000000 paid", second)
		}
		restBalance(t, e, coord, pname, "second report certified", 40_000_000, 40_000_000, budget-40_000_000)

		sp = mustREST(t, e, admin, "GET", "/v1/"+name, "")
		if str(sp, "paidOre") != "40000000" {
			t.Errorf("subproject paid %s, want 40000000", str(sp, "paidOre"))
		}
		sp = mustREST(t, e, admin, "POST", "/v1/"+name+":close", `{"etag":"`+str(sp, "etag")+`"}`)
		if sp["status"] != "SUBPROJECT_STATUS_CLOSED" || str(sp, "releasedOre") != "" {
			t.Fatalf("closed %v", sp)
		}
		restBalance(t, e, coord, pname, "closed", 40_000_000, 40_000_000, budget-40_000_000)
		if h, _ := sp["history"].([]any); len(h) != 4 {
			t.Errorf("history of %d entries, want DRAFT, SUBMITTED, APPROVED, CLOSED: %v", len(h), h)
		}
	})
}

// TestREST_UnspentGrantGoesBack: closing after one small report gives the
// rest of the reservation back to the programme.
func TestREST_UnspentGrantGoesBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		coord, admin := e.coordinator(t), e.admin(t, up)
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, up, p.GetName(), 200_000))
		cr := e.mustReport(t, sp, staffReport(60_001))
		mustREST(t, e, coord, "POST", "/v1/"+cr.GetName()+":certify", `{"etag":"`+cr.GetEtag()+`","certifiedOre":"50000"}`)
		restBalance(t, e, coord, p.GetName(), "certified", 100_000, 25_000, 900_000)
		closed := mustREST(t, e, admin, "POST", "/v1/"+sp.GetName()+":close", `{"etag":"`+e.get(t, sp.GetName()).GetEtag()+`"}`)
		if str(closed, "releasedOre") != "75000" {
			t.Errorf("released %s, want 75000", str(closed, "releasedOre"))
		}
		restBalance(t, e, coord, p.GetName(), "closed", 25_000, 25_000, 975_000)
	})
}

func TestREST_BadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000, -1)
		admin, coord := e.admin(t, vb), e.coordinator(t)
		draft := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1_000))
		big := e.submitted(t, vb, p.GetName(), 10_000) // share 5 000 > budget 1 000
		line := func(extra string) string {
			return `{"title":"t","programme":"programmes/p","budgetLines":[{"category":"COST_CATEGORY_STAFF","amountOre":"100","eligible":true` + extra + `}]}`
		}
		for _, tc := range []struct {
			name       string
			caller     stack.Caller
			method     string
			path, body string
			want       int
			mention    string
		}{
			{"zero amount", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), `"100"`, `"0"`, 1), 400, "budget_lines[0].amount_ore"},
			{"negative amount", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), `"100"`, `"-100"`, 1), 400, "amount_ore"},
			{"amount beyond int64", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), `"100"`, `"9223372036854775808"`, 1), 400, ""},
			{"amount at the int64 limit", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), `"100"`, `"9223372036854775807"`, 1), 400, "amount_ore"},
			{"another currency", admin, "POST", "/v1/regions/vasterbotten/subprojects", line(`,"currencyCode":"EUR"`), 400, "currencyCode"},
			{"money as a fraction", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), `"100"`, `"100.5"`, 1), 400, ""},
			{"unknown programme", admin, "POST", "/v1/regions/vasterbotten/subprojects", strings.Replace(line(""), "programmes/p", "programmes/q", 1), 400, "programmes/q"},
			{"stale etag", admin, "POST", "/v1/" + draft.GetName() + ":submit", `{"etag":"99"}`, 409, "etag"},
			{"missing etag", admin, "POST", "/v1/" + draft.GetName() + ":submit", `{}`, 400, "etag"},
			{"not enough money", coord, "POST", "/v1/" + big.GetName() + ":approve", `{"etag":"` + big.GetEtag() + `"}`, 400, "1000 öre available"},
			{"edit of a SUBMITTED subproject", admin, "PATCH", "/v1/" + big.GetName(), `{"etag":"` + big.GetEtag() + `","title":"x"}`, 400, "DRAFT"},
			{"ledger money call has no route", coord, "POST", "/v1/programmes/p:reserve", `{}`, 405, "not allowed"},
			{"region not served", admin, "GET", "/v1/regions/stockholm/subprojects", "", 404, "stockholm"},
			{"no such subproject", admin, "GET", "/v1/regions/vasterbotten/subprojects/nothere", "", 404, "nothere"},
			{"token of another region", e.admin(t, up), "GET", "/v1/regions/vasterbotten/subprojects", "", 403, "uppsala"},
			{"coordinator creates", coord, "POST", "/v1/regions/vasterbotten/subprojects", line(""), 403, "region_admin"},
			{"rate over 100 %", coord, "POST", "/v1/programmes?programmeId=x", `{"title":"t","budgetOre":"1","coFinancingRateBp":10001,"startDate":"2026-01-01","endDate":"2026-12-31"}`, 400, "co_financing_rate_bp"},
			{"bad page token", coord, "GET", "/v1/programmes?pageToken=xyz", "", 400, "page_token"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := restCall(t, e, tc.caller, tc.method, tc.path, tc.body)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				if msg := str(body, "message"); tc.mention != "" && !strings.Contains(msg, tc.mention) {
					t.Errorf("message %q does not mention %q", msg, tc.mention)
				}
			})
		}
		// A ledger that cannot be reached is 503, and nothing changes.
		dead, err := rpc.Dial("127.0.0.1:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dead.Close() })
		small := e.mustSubmit(t, e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1_000)))
		real := e.ledgerVia.p.Swap(dead)
		code, body := restCall(t, e, coord, "POST", "/v1/"+small.GetName()+":approve", `{"etag":"`+small.GetEtag()+`"}`)
		e.ledgerVia.p.Store(real)
		if code != http.StatusServiceUnavailable {
			t.Errorf("approve with the ledger down: %d %v, want 503", code, body)
		}
		if now := e.get(t, small.GetName()); now.GetEtag() != small.GetEtag() {
			t.Errorf("subproject changed while the ledger was down")
		}
		restBalance(t, e, coord, p.GetName(), "after refusals", 0, 0, 1_000)
	})
}

// TestREST_NoRouteToInternalCalls: the calls only a deployment's own
// service makes (the ledger's money calls, adopting a spread idea) have no
// REST route, so no token reaches them through the gateway either; guessed
// routes find nothing and move no money.
func TestREST_NoRouteToInternalCalls(t *testing.T) {
	e := newEnv(t, stack.Backends()[0])
	p := e.mustProgramme(t, "p", 1_000_000, -1)
	sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 200_000))
	code, spec := restCall(t, e, stack.Caller{}, "GET", "/openapi.json", "")
	if code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
	raw := fmt.Sprint(spec)
	if !strings.Contains(raw, "ProgrammeService_GetProgramme") {
		t.Fatalf("openapi.json names no operations: %.200s", raw)
	}
	for method, rule := range auth.Table() {
		if len(rule.Roles) > 0 {
			continue
		}
		parts := strings.Split(method, "/")
		svc := parts[1][strings.LastIndex(parts[1], ".")+1:]
		if op := svc + "_" + parts[2]; strings.Contains(raw, op) {
			t.Errorf("%s takes no user token, yet the gateway has a route for it (%s)", method, op)
		}
	}
	for _, who := range []stack.Caller{e.admin(t, vb), e.coordinator(t), e.As(t, auth.Service, vb)} {
		for _, path := range []string{
			"/v1/" + p.GetName() + ":releaseFunds", "/v1/" + p.GetName() + "/allocations:reserve",
			"/v1/" + sp.GetName() + ":release", "/v1/" + p.GetName() + ":recordPayment",
		} {
			if code, body := restCall(t, e, who, "POST", path, `{"subproject":"`+sp.GetName()+`"}`); code != 404 && code != 405 {
				t.Errorf("POST %s as %s: %d %v, want no route (404 or 405)", path, who.Sub, code, body)
			}
		}
	}
	e.balanceIs(t, p.GetName(), "after guessed routes", 100_000, 0)
}
