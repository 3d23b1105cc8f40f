package main

import (
	"strconv"
	"testing"
)

// TestServe_NationalDashboard: the all-in-one run serves the coordinator,
// whose dashboard shows both demo regions answering with their demo ideas,
// and whose directory lists both regions serving.
func TestServe_NationalDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildMotor(t)
	data := t.TempDir()
	p := startMotor(t, bin, "-data", data)
	coordinator := motorToken(t, bin, data, "-role", "coordinator")

	code, body := call(t, "GET", p.url+"/v1/national/dashboard", coordinator, "")
	regions, _ := body["regions"].([]any)
	if code != 200 || len(regions) != 2 || body["partial"] == true {
		t.Fatalf("dashboard: %d %v, want both regions and not partial", code, body)
	}
	seen := map[string]bool{}
	for _, r := range regions {
		f := r.(map[string]any)
		region, _ := f["region"].(string)
		seen[region] = true
		ideas := int64(0)
		byStage, _ := f["ideasByStage"].(map[string]any)
		for _, n := range byStage {
			v, _ := strconv.ParseInt(n.(string), 10, 64)
			ideas += v
		}
		if f["status"] != "REGION_STATUS_OK" || f["stale"] == true || ideas == 0 {
			t.Errorf("%s on the dashboard: %v, want OK, current, with its demo ideas", region, f)
		}
	}
	if !seen["vasterbotten"] || !seen["uppsala"] {
		t.Errorf("dashboard regions %v, want vasterbotten and uppsala", seen)
	}
	totals, _ := body["totals"].(map[string]any)
	if included, _ := totals["includedRegions"].([]any); len(included) != 2 {
		t.Errorf("totals include %v, want both regions", totals["includedRegions"])
	}

	code, body = call(t, "GET", p.url+"/v1/national/regions", coordinator, "")
	listed, _ := body["regions"].([]any)
	if code != 200 || len(listed) != 2 {
		t.Fatalf("regions: %d %v, want both", code, body)
	}
	for _, r := range listed {
		if f := r.(map[string]any); f["health"] != "REGION_HEALTH_SERVING" {
			t.Errorf("region %v, want REGION_HEALTH_SERVING", f)
		}
	}

	advisor := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")
	if code, body := call(t, "GET", p.url+"/v1/national/dashboard", advisor, ""); code != 403 {
		t.Errorf("dashboard as an advisor: %d %v, want 403", code, body)
	}
	p.stop(t)
}
