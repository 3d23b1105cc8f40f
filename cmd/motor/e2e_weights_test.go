package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_RegionWeights: a region's scorecard weights from the config
// file weigh its idea assessments and need screenings; criteria it does not
// list weigh 1.
func TestServe_RegionWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vasterbotten.json")
	if err := os.WriteFile(cfg, []byte(`{"name": "vasterbotten", "regions": ["vasterbotten"],
		"weights": {"vasterbotten": {"assessment": {"patientBenefit": 3}, "screening": {"clinicalImpact": 4}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildMotor(t)
	data := filepath.Join(dir, "data")
	p := startMotor(t, bin, "-config", cfg, "-data", data, "-demo=false")
	adv := motorToken(t, bin, data, "-role", "advisor", "-region", "vasterbotten")

	i := mustCall(t, "POST", p.url+"/v1/regions/vasterbotten/ideas", adv, `{"title":"Digital remiss","problem":"Remisser kommer bort.","origin":"ORIGIN_STAFF"}`)
	mustCall(t, "POST", p.url+"/v1/"+jsonField(i, "name")+":transition", adv, `{"stage":"STAGE_SCREENING","etag":"1"}`)
	mustCall(t, "POST", p.url+"/v1/"+jsonField(i, "name")+"/assessments", adv,
		`{"patientBenefit":5,"careBenefit":1,"feasibility":1,"novelty":1,"marketPotential":1,"risk":1}`)
	i = mustCall(t, "GET", p.url+"/v1/"+jsonField(i, "name"), adv, "")
	summary, _ := i["assessmentSummary"].(map[string]any)
	// (3×5 + 5×1) / (3 + 5) = 2.5; equal weights would give 10/6.
	if got := jsonField(summary, "weightedScore"); got != "2.5" {
		t.Errorf("weighted score %s, want 2.5 with patient benefit weighing 3: %v", got, i)
	}

	n := mustCall(t, "POST", p.url+"/v1/regions/vasterbotten/needs", adv,
		`{"problem":"upptäcka fall nattetid","population":"boende på särskilda boenden","outcome":"korta tiden på golvet","careUnit":"Äldreomsorg Umeå","reportedBy":"ORIGIN_STAFF"}`)
	mustCall(t, "POST", p.url+"/v1/"+jsonField(n, "name")+"/screenings", adv,
		`{"clinicalImpact":5,"patientsAffected":1,"problemCost":1,"strategicFit":1,"feasibility":1}`)
	n = mustCall(t, "GET", p.url+"/v1/"+jsonField(n, "name"), adv, "")
	// (4×5 + 4×1) / (4 + 4) = 3; equal weights would give 9/5.
	if got := jsonField(n, "priorityScore"); got != "3" {
		t.Errorf("priority score %s, want 3 with clinical impact weighing 4: %v", got, n)
	}
	p.stop(t)

	// Weights of a region the deployment does not serve are a mistake.
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"name": "vasterbotten", "regions": ["vasterbotten"], "weights": {"uppsala": {"assessment": {"risk": 2}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseServe([]string{"-config", other}, io.Discard); err == nil || !strings.Contains(err.Error(), "weights.uppsala: this deployment does not serve uppsala") {
		t.Errorf("weights of an unserved region: %v, want refused", err)
	}
}
