package main

import (
	"fmt"
	"testing"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// jsonField reads a protojson field as text: int64 comes as a string, and
// zero values are left out.
func jsonField(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// mustCall is call that expects 200.
func mustCall(t *testing.T, method, url, token, body string) map[string]any {
	t.Helper()
	code, out := call(t, method, url, token, body)
	if code != 200 {
		t.Fatalf("%s %s: %d %v", method, url, code, out)
	}
	return out
}

// programmeBalance reads reserved, disbursed and available öre.
func programmeBalance(t *testing.T, url, token string) (reserved, disbursed, available int64) {
	t.Helper()
	p := mustCall(t, "GET", url+"/v1/"+demoProgramme, token, "")
	b, _ := p["balance"].(map[string]any)
	for _, f := range []struct {
		key string
		dst *int64
	}{{"reservedOre", &reserved}, {"disbursedOre", &disbursed}, {"availableOre", &available}} {
		if s := jsonField(b, f.key); s != "" {
			if _, err := fmt.Sscan(s, f.dst); err != nil {
				t.Fatalf("balance %s = %q", f.key, s)
			}
		}
	}
	return reserved, disbursed, available
}

// TestServe_FundingLife is a subproject's whole life over REST against the
// real binary, on both stores: the demo programme, a subproject created,
// submitted and approved, two cost reports certified (the second capped at
// what is left of the grant), the subproject closed, and the programme's
// balance right after every step and after a restart.
func TestServe_FundingLife(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) []string
	}{
		{"bbolt", func(t *testing.T) []string { return nil }},
		{"redis", func(t *testing.T) []string { return []string{"-store", testenv.StartRedis(t).URL()} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			args := append([]string{"-data", data}, tc.store(t)...)
			p := startMotor(t, bin, args...)
			admin := motorToken(t, bin, data, "-role", "region_admin", "-region", "vasterbotten")
			coord := motorToken(t, bin, data, "-role", "coordinator")

			budget := int64(60_000_000_00)
			balance := func(step string, reserved, disbursed int64) {
				t.Helper()
				r, d, a := programmeBalance(t, p.url, coord)
				if r != reserved || d != disbursed || a != budget-reserved {
					t.Errorf("%s: balance reserved %d disbursed %d available %d, want %d %d %d", step, r, d, a, reserved, disbursed, budget-reserved)
				}
			}
			balance("demo content", 0, 0)
			demo := mustCall(t, "GET", p.url+"/v1/regions/vasterbotten/subprojects", admin, "")
			demoCount := len(demo["subprojects"].([]any))
			if demoCount == 0 {
				t.Errorf("no demo subprojects in vasterbotten")
			}

			sp := mustCall(t, "POST", p.url+"/v1/regions/vasterbotten/subprojects?requestId=e2e-1", admin, `{
				"title": "Digital remiss mellan hälsocentral och specialistvård",
				"programme": "`+demoProgramme+`",
				"budgetLines": [
					{"category": "COST_CATEGORY_STAFF", "amountOre": "60000001", "eligible": true},
					{"category": "COST_CATEGORY_EXTERNAL_SERVICES", "amountOre": "20000000", "eligible": true},
					{"category": "COST_CATEGORY_TRAVEL", "amountOre": "1500000", "eligible": false}
				],
				"contributions": [
					{"party": "Region Västerbotten", "kind": "CONTRIBUTION_KIND_CASH", "amountOre": "30000000"},
					{"party": "Region Västerbotten (arbetstid)", "kind": "CONTRIBUTION_KIND_IN_KIND", "amountOre": "10000001"}
				]}`)
			name := jsonField(sp, "name")
			if jsonField(sp, "programmeShareOre") != "40000000" || jsonField(sp, "ownShareOre") != "40000001" {
				t.Fatalf("created %v", sp)
			}
			sp = mustCall(t, "POST", p.url+"/v1/"+name+":submit", admin, `{"etag":"`+jsonField(sp, "etag")+`"}`)
			balance("submitted", 0, 0)
			sp = mustCall(t, "POST", p.url+"/v1/"+name+":approve", coord, `{"etag":"`+jsonField(sp, "etag")+`"}`)
			if jsonField(sp, "status") != "SUBPROJECT_STATUS_APPROVED" || jsonField(sp, "grantedOre") != "40000000" {
				t.Fatalf("approved %v", sp)
			}
			balance("approved", 40_000_000, 0)

			var reports []map[string]any
			for i, amount := range []string{"50000001", "40000000"} {
				cr := mustCall(t, "POST", p.url+"/v1/"+name+"/costReports", admin, fmt.Sprintf(`{"periodStart":"2026-0%d-01","periodEnd":"2026-0%d-28",
					"lines":[{"category":"COST_CATEGORY_STAFF","amountOre":"%s"}]}`, i+1, i+1, amount))
				reports = append(reports, mustCall(t, "POST", p.url+"/v1/"+jsonField(cr, "name")+":submit", admin, `{"etag":"`+jsonField(cr, "etag")+`"}`))
			}
			balance("reports submitted", 40_000_000, 0)
			first := mustCall(t, "POST", p.url+"/v1/"+jsonField(reports[0], "name")+":certify", coord, `{"etag":"`+jsonField(reports[0], "etag")+`"}`)
			if jsonField(first, "paidOre") != "25000000" {
				t.Errorf("first report paid %s, want 25000000", jsonField(first, "paidOre"))
			}
			balance("first report certified", 40_000_000, 25_000_000)
			second := mustCall(t, "POST", p.url+"/v1/"+jsonField(reports[1], "name")+":certify", coord, `{"etag":"`+jsonField(reports[1], "etag")+`"}`)
			if jsonField(second, "paidOre") != "15000000" {
				t.Errorf("second report paid %s, want the 15000000 left of the grant", jsonField(second, "paidOre"))
			}
			balance("second report certified", 40_000_000, 40_000_000)

			sp = mustCall(t, "GET", p.url+"/v1/"+name, admin, "")
			sp = mustCall(t, "POST", p.url+"/v1/"+name+":close", admin, `{"etag":"`+jsonField(sp, "etag")+`"}`)
			if jsonField(sp, "status") != "SUBPROJECT_STATUS_CLOSED" || jsonField(sp, "paidOre") != "40000000" {
				t.Errorf("closed %v", sp)
			}
			balance("closed", 40_000_000, 40_000_000)
			p.stop(t)

			// The money survives a restart, and the demo content is not seeded twice.
			p = startMotor(t, bin, args...)
			balance("after restart", 40_000_000, 40_000_000)
			list := mustCall(t, "GET", p.url+"/v1/regions/vasterbotten/subprojects", admin, "")
			if n := len(list["subprojects"].([]any)); n != demoCount+1 {
				t.Errorf("after restart: %d subprojects, want %d", n, demoCount+1)
			}
			p.stop(t)
		})
	}
}
