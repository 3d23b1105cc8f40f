package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestBench_Smoke runs one tiny round of every scenario of `motor bench`
// against the real services and checks that the report is whole: every
// scenario there, both sides answered without errors, the ratios and
// figures present in the JSON and in the table. It says nothing of speed.
func TestBench_Smoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the services twice and a redis-server")
	}
	_, redisErr := exec.LookPath("redis-server")
	args := []string{"-c", "2", "-rounds", "1", "-round", "50ms", "-sizes", "5,10", "-json", "-"}
	if redisErr != nil {
		args = append(args, "-redis=false")
	}
	var out bytes.Buffer
	if err := bench(t.Context(), args, &out, io.Discard); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	table, doc, ok := strings.Cut(out.String(), "\n{")
	if !ok {
		t.Fatalf("no JSON after the table:\n%s", out.String())
	}
	type side struct {
		Name     string  `json:"name"`
		Requests int     `json:"requests"`
		Errors   int     `json:"errors"`
		FirstErr string  `json:"firstError"`
		RPS      float64 `json:"rps"`
	}
	var rep struct {
		Rounds  int `json:"rounds"`
		Results []struct {
			Scenario string    `json:"scenario"`
			Median   float64   `json:"ratioMedian"`
			Ratios   []float64 `json:"ratios"`
			Error    string    `json:"error"`
			Baseline side      `json:"baseline"`
			Subject  side      `json:"subject"`
		} `json:"results"`
		Footprint []struct {
			Store            string  `json:"store"`
			Ideas            int     `json:"ideas"`
			DiskBytesPerIdea float64 `json:"diskBytesPerIdea"`
			HeapBytesPerIdea float64 `json:"heapBytesPerIdea"`
		} `json:"footprint"`
	}
	if err := json.Unmarshal([]byte("{"+doc), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, doc)
	}
	want := []string{"S1 gRPC GetIdea", "S2 REST GET idea", "S3 bbolt create", "dashboard 21 regions", "two-term List 10 vs 5", "selective two-term List 10 vs 5", "cold findSimilar 10"}
	if redisErr == nil {
		want = append(want, "S3 Redis create")
		if _, err := exec.LookPath("redis-benchmark"); err == nil {
			want = append(want, "S3 Redis create vs redis-benchmark")
		}
	}
	got := map[string]bool{}
	for _, r := range rep.Results {
		got[r.Scenario] = true
		if r.Error != "" || len(r.Ratios) != 1 || r.Median <= 0 {
			t.Errorf("%s: error %q, ratios %v, median %v; want one positive ratio", r.Scenario, r.Error, r.Ratios, r.Median)
		}
		for _, side := range []side{r.Baseline, r.Subject} {
			if side.Requests == 0 || side.Errors > 0 || side.RPS <= 0 {
				t.Errorf("%s / %s: %d requests, %d errors (first: %s), %.0f rps", r.Scenario, side.Name, side.Requests, side.Errors, side.FirstErr, side.RPS)
			}
		}
		if !strings.Contains(table, r.Scenario) || !strings.Contains(table, r.Subject.Name) {
			t.Errorf("table lacks %s / %s:\n%s", r.Scenario, r.Subject.Name, table)
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("scenario %q missing from the report", w)
		}
	}
	// At 5 + 10 ideas bbolt may reuse freed pages and the heap moves with
	// the collector, so only the entry is checked, not its figures.
	if len(rep.Footprint) != 1 || rep.Footprint[0].Store != "bbolt" || rep.Footprint[0].Ideas != 15 {
		t.Errorf("footprint %+v, want one bbolt entry of 15 ideas", rep.Footprint)
	}
	if !strings.Contains(table, "footprint bbolt: 15 ideas") {
		t.Errorf("table lacks the footprint:\n%s", table)
	}
	if len(rep.Results) != len(want) {
		t.Errorf("%d scenarios, want %d", len(rep.Results), len(want))
	}
}
