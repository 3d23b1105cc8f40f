package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRun_RequestBudgetAndErrors(t *testing.T) {
	var calls atomic.Int64
	s := Run(t.Context(), Load{Concurrency: 4, Requests: 40, Duration: time.Minute}, func(context.Context) error {
		if calls.Add(1)%10 == 0 {
			return errors.New("every tenth fails")
		}
		return nil
	})
	if calls.Load() != 40 || s.Requests != 36 || s.Errors != 4 || s.FirstErr != "every tenth fails" {
		t.Errorf("calls %d, sample %d answered, %d errors (%q); want 40, 36, 4", calls.Load(), s.Requests, s.Errors, s.FirstErr)
	}
	if s.Quantile(0.5) > s.Quantile(0.99) {
		t.Errorf("p50 %v above p99 %v", s.Quantile(0.5), s.Quantile(0.99))
	}
}

// Open loop: a request that waited for a busy worker counts its wait from
// when it was due, so the stall of the first request shows in the second.
func TestRun_OpenLoopCountsFromDueTime(t *testing.T) {
	const stall = 50 * time.Millisecond
	var calls atomic.Int64
	s := Run(t.Context(), Load{Concurrency: 1, Rate: 1000, Requests: 5, Duration: time.Minute}, func(context.Context) error {
		if calls.Add(1) == 1 {
			time.Sleep(stall)
		}
		return nil
	})
	if s.Requests != 5 {
		t.Fatalf("%d requests answered, want 5", s.Requests)
	}
	lat := slices.Sorted(slices.Values(s.lat))
	// The second request was due 1 ms after the first and could start only
	// when the first ended.
	if lat[len(lat)-2] < stall-5*time.Millisecond {
		t.Errorf("latencies %v: the request queued behind the stalled one does not count its wait", lat)
	}
}

func TestCompare_InterleavedRatiosAndReport(t *testing.T) {
	var order []string
	side := func(name string) Side {
		return Side{Name: name, Op: func(context.Context) error {
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
			return nil
		}}
	}
	r := Compare(t.Context(), Scenario{Name: "same", Metric: Throughput, Baseline: side("b"), Subject: side("s")},
		Load{Concurrency: 1, Requests: 5, Duration: time.Minute}, 3)
	if got := strings.Join(order, ""); got != "bsbsbsbs" { // warm-up, then three rounds
		t.Errorf("sides ran in order %q, want bsbsbsbs", got)
	}
	if len(r.Ratios) != 3 || r.Min > r.Median || r.Median > r.Max || r.Median <= 0 {
		t.Errorf("ratios %v, median %v [%v–%v]", r.Ratios, r.Median, r.Min, r.Max)
	}
	if r.Baseline.Requests != 15 || r.Subject.Requests != 15 {
		t.Errorf("requests %d / %d, want 15 each", r.Baseline.Requests, r.Subject.Requests)
	}
	rep := Report{Rounds: 3, Results: []Result{r}}
	var table, doc bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&doc); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(doc.Bytes(), &back); err != nil || len(back.Results) != 1 || back.Results[0].Median != r.Median {
		t.Errorf("JSON report does not read back: %v %+v", err, back)
	}
	if !strings.Contains(table.String(), "same") || !strings.Contains(table.String(), Note) {
		t.Errorf("table:\n%s", table.String())
	}
}
