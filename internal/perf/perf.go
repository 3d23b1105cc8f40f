// Package perf is the load generator and the statistics of `motor bench`:
// one in-process generator drives a baseline and the system under test in
// interleaved rounds, so both see the same machine at the same moment, and
// every figure is reported as a ratio to its baseline, never as an absolute
// time to meet.
package perf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Load says how a round drives an operation.
type Load struct {
	// Concurrency is the number of closed-loop workers (each sends its next
	// request when the last one is answered).
	Concurrency int
	// Rate, when above zero, makes the round open-loop: requests start at
	// this many per second whatever the answers take, and a request's
	// latency counts from when it was due, so a stall is not hidden
	// (no coordinated omission). Concurrency then bounds requests in flight.
	Rate float64
	// Duration bounds the round; Requests, when above zero, ends it earlier.
	Duration time.Duration
	Requests int
}

// Op is one request. It returns an error when the answer is wrong.
type Op func(ctx context.Context) error

// Sample is what one round measured.
type Sample struct {
	Requests int
	Errors   int
	FirstErr string
	Elapsed  time.Duration
	lat      []time.Duration
	// CPU is the process's user+system time during the round, Allocs its
	// heap allocations (runtime.MemStats.Mallocs).
	CPU    time.Duration
	Allocs uint64
	// external is the throughput an outside tool reported (Side.External).
	external float64
}

// RPS is the answered requests per second.
func (s Sample) RPS() float64 {
	if s.external > 0 {
		return s.external
	}
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests) / s.Elapsed.Seconds()
}

// Quantile returns the q-quantile of the latencies (nearest rank).
func (s Sample) Quantile(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	l := slices.Clone(s.lat)
	slices.Sort(l)
	i := int(math.Ceil(q*float64(len(l)))) - 1
	return l[min(max(i, 0), len(l)-1)]
}

// CPUPerRequest is the process CPU per answered request, in µs.
func (s Sample) CPUPerRequest() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.CPU.Microseconds()) / float64(s.Requests)
}

// AllocsPerRequest is the heap allocations per answered request.
func (s Sample) AllocsPerRequest() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Allocs) / float64(s.Requests)
}

// processCPU is the user+system time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// Run drives op under load once.
func Run(ctx context.Context, load Load, op Op) Sample {
	workers := max(load.Concurrency, 1)
	// The round's end stops workers from starting requests; the requests
	// themselves run on ctx, so a deadline never cuts one short (gRPC
	// would answer DeadlineExceeded a moment before the round ends).
	round, cancel := context.WithTimeout(ctx, load.Duration)
	defer cancel()
	var (
		mu       sync.Mutex
		s        Sample
		started  atomic.Int64
		lat      = make([][]time.Duration, workers)
		errs     = make([]int, workers)
		firstErr string
	)
	budget := func() bool {
		return load.Requests <= 0 || started.Add(1) <= int64(load.Requests)
	}
	record := func(w int, d time.Duration, err error) {
		if err != nil {
			errs[w]++
			mu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			mu.Unlock()
			return
		}
		lat[w] = append(lat[w], d)
	}
	cpu0, alloc0, t0 := processCPU(), mallocs(), time.Now()
	var wg sync.WaitGroup
	if load.Rate > 0 {
		// Open loop: a ticker hands out due times; a worker that finds its
		// request late still counts from the due time.
		due := make(chan time.Time, workers)
		wg.Go(func() {
			defer close(due)
			interval := time.Duration(float64(time.Second) / load.Rate)
			next := time.Now()
			for budget() {
				if d := time.Until(next); d > 0 {
					select {
					case <-round.Done():
						return
					case <-time.After(d):
					}
				}
				select {
				case <-round.Done():
					return
				case due <- next:
				}
				next = next.Add(interval)
			}
		})
		for w := range workers {
			wg.Go(func() {
				for at := range due {
					err := op(ctx)
					record(w, time.Since(at), err)
				}
			})
		}
	} else {
		for w := range workers {
			wg.Go(func() {
				for round.Err() == nil && budget() {
					start := time.Now()
					err := op(ctx)
					record(w, time.Since(start), err)
				}
			})
		}
	}
	wg.Wait()
	s.Elapsed = time.Since(t0)
	s.CPU = processCPU() - cpu0
	s.Allocs = mallocs() - alloc0
	for w := range workers {
		s.lat = append(s.lat, lat[w]...)
		s.Errors += errs[w]
	}
	s.Requests = len(s.lat)
	s.FirstErr = firstErr
	return s
}

// Metric says which figure a scenario's ratio compares.
type Metric string

const (
	// Throughput: subject requests/s over the baseline's (higher is better).
	Throughput Metric = "throughput"
	// P99: subject p99 over the baseline's (lower is better).
	P99 Metric = "p99"
	// P50: subject p50 over the baseline's (lower is better).
	P50 Metric = "p50"
)

func (m Metric) of(s Sample) float64 {
	switch m {
	case P99:
		return float64(s.Quantile(0.99))
	case P50:
		return float64(s.Quantile(0.50))
	}
	return s.RPS()
}

// Side is one of a scenario's two sides: its name and its operation.
type Side struct {
	Name string
	Op   Op
	// Load, when its Duration is set, replaces the scenario's load for
	// this side (a cold call is one request, say).
	Load Load
	// External, when set, replaces Op: a tool outside this process
	// (redis-benchmark) measures the side and reports its throughput; such
	// a side has no latencies, CPU or allocs of its own.
	External func(ctx context.Context, load Load) (rps float64, err error)
}

func (sd Side) run(ctx context.Context, load Load) Sample {
	if sd.External == nil {
		return Run(ctx, load, sd.Op)
	}
	start := time.Now()
	rps, err := sd.External(ctx, load)
	s := Sample{Elapsed: time.Since(start)}
	if err != nil {
		s.Errors, s.FirstErr = 1, err.Error()
		return s
	}
	s.Requests = int(rps * s.Elapsed.Seconds())
	s.external = rps
	return s
}

// Scenario compares a subject with its baseline.
type Scenario struct {
	Name     string
	Metric   Metric
	Baseline Side
	Subject  Side
	// Before runs ahead of every subject round (a restart for a cold
	// call); its time is not measured.
	Before func(ctx context.Context) error
}

// Figures summarise one side over all rounds.
type Figures struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	FirstErr  string  `json:"firstError,omitempty"`
	RPS       float64 `json:"rps"`
	P50ms     float64 `json:"p50Ms"`
	P99ms     float64 `json:"p99Ms"`
	CPUus     float64 `json:"cpuUsPerRequest"`
	AllocsReq float64 `json:"allocsPerRequest"`
}

// Result is one scenario's outcome.
type Result struct {
	Scenario string    `json:"scenario"`
	Metric   Metric    `json:"metric"`
	Median   float64   `json:"ratioMedian"`
	Min      float64   `json:"ratioMin"`
	Max      float64   `json:"ratioMax"`
	Ratios   []float64 `json:"ratios"`
	Baseline Figures   `json:"baseline"`
	Subject  Figures   `json:"subject"`
	Err      string    `json:"error,omitempty"`
}

// Compare runs rounds of baseline then subject, alternating (B, S, B, S…),
// and returns the ratio subject/baseline of each round's metric with the
// sides' figures over all rounds.
func Compare(ctx context.Context, sc Scenario, load Load, rounds int) Result {
	r := Result{Scenario: sc.Name, Metric: sc.Metric}
	var base, subj []Sample
	loadOf := func(s Side) Load {
		if s.Load.Duration > 0 {
			return s.Load
		}
		return load
	}
	// A short unmeasured round of each side first: connections, caches
	// and the JIT-less but lazy parts of both (pools, indexes) are then in
	// the state the measured rounds find them in. Not for a cold subject.
	warm := func(sd Side) {
		l := loadOf(sd)
		l.Duration = max(l.Duration/5, 20*time.Millisecond)
		sd.run(ctx, l)
	}
	warm(sc.Baseline)
	if sc.Before == nil {
		warm(sc.Subject)
	}
	for range max(rounds, 1) {
		if ctx.Err() != nil {
			break
		}
		// Each round starts from a collected heap, so neither side pays
		// for the other's garbage.
		runtime.GC()
		b := sc.Baseline.run(ctx, loadOf(sc.Baseline))
		if sc.Before != nil {
			if err := sc.Before(ctx); err != nil {
				r.Err = err.Error()
				return r
			}
		}
		runtime.GC()
		s := sc.Subject.run(ctx, loadOf(sc.Subject))
		base, subj = append(base, b), append(subj, s)
		if bm, sm := sc.Metric.of(b), sc.Metric.of(s); bm > 0 && sm > 0 {
			r.Ratios = append(r.Ratios, sm/bm)
		}
	}
	if len(r.Ratios) > 0 {
		sorted := slices.Sorted(slices.Values(r.Ratios))
		r.Min, r.Max = sorted[0], sorted[len(sorted)-1]
		n := len(sorted)
		r.Median = sorted[n/2]
		if n%2 == 0 {
			r.Median = (sorted[n/2-1] + sorted[n/2]) / 2
		}
	}
	r.Baseline = summarise(sc.Baseline.Name, base)
	r.Subject = summarise(sc.Subject.Name, subj)
	return r
}

func summarise(name string, samples []Sample) Figures {
	all := Sample{}
	var ext float64
	for _, s := range samples {
		ext += s.external
		all.Requests += s.Requests
		all.Errors += s.Errors
		all.Elapsed += s.Elapsed
		all.CPU += s.CPU
		all.Allocs += s.Allocs
		all.lat = append(all.lat, s.lat...)
		if all.FirstErr == "" {
			all.FirstErr = s.FirstErr
		}
	}
	if ext > 0 && len(samples) > 0 {
		all.external = ext / float64(len(samples))
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Figures{
		Name: name, Requests: all.Requests, Errors: all.Errors, FirstErr: all.FirstErr,
		RPS: all.RPS(), P50ms: ms(all.Quantile(0.5)), P99ms: ms(all.Quantile(0.99)),
		CPUus: all.CPUPerRequest(), AllocsReq: all.AllocsPerRequest(),
	}
}

// Report is a whole run: how it was driven and every scenario's result.
type Report struct {
	Concurrency int      `json:"concurrency"`
	Rate        float64  `json:"rate,omitempty"`
	Rounds      int      `json:"rounds"`
	RoundMs     int64    `json:"roundMs"`
	CPUs        int      `json:"cpus"`
	Results     []Result `json:"results"`
	// Footprint is what seeded ideas cost in memory and on disk, where the
	// run seeded any.
	Footprint []Footprint `json:"footprint,omitempty"`
	Note      string      `json:"note"`
	Started   time.Time   `json:"started"`
}

// Footprint is what a number of stored ideas add to a process and its
// data: bytes on disk and of live heap (after a collection) per idea, and
// the resident set once they are stored.
type Footprint struct {
	Store            string  `json:"store"`
	Ideas            int     `json:"ideas"`
	DiskBytesPerIdea float64 `json:"diskBytesPerIdea"`
	HeapBytesPerIdea float64 `json:"heapBytesPerIdea"`
	RSSMiB           float64 `json:"rssMiB"`
}

// Note is printed under every table: what the CPU and alloc columns hold.
const Note = "CPU and allocs are the whole process's per answered request: server and generator, " +
	"the same generator on both sides. Ratios are subject/baseline of the metric, per round; " +
	"throughput higher is better, p50/p99 lower is better."

// WriteTable prints the report as an aligned text table.
func (rep Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "c=%d rate=%g/s rounds=%d round=%dms cpus=%d\n", rep.Concurrency, rep.Rate, rep.Rounds, rep.RoundMs, rep.CPUs)
	fmt.Fprintf(&b, "%-34s %-10s %-22s | %-26s %9s %8s %8s %9s %9s %6s\n",
		"scenario", "metric", "ratio median [min–max]", "side", "rps", "p50 ms", "p99 ms", "CPU µs/r", "allocs/r", "errors")
	for _, r := range rep.Results {
		ratio := fmt.Sprintf("%.3f [%.3f–%.3f]", r.Median, r.Min, r.Max)
		if r.Err != "" {
			ratio = "failed: " + r.Err
		}
		for i, f := range []Figures{r.Baseline, r.Subject} {
			name, metric, rt := "", "", ""
			if i == 0 {
				name, metric, rt = r.Scenario, string(r.Metric), ratio
			}
			fmt.Fprintf(&b, "%-34s %-10s %-22s | %-26s %9.0f %8.2f %8.2f %9.0f %9.0f %6d\n",
				name, metric, rt, f.Name, f.RPS, f.P50ms, f.P99ms, f.CPUus, f.AllocsReq, f.Errors)
			if f.FirstErr != "" {
				fmt.Fprintf(&b, "%-34s   first error: %s\n", "", f.FirstErr)
			}
		}
	}
	for _, f := range rep.Footprint {
		fmt.Fprintf(&b, "footprint %s: %d ideas: disk %.1f KB/idea, live heap %.1f KB/idea, RSS %.0f MiB after\n",
			f.Store, f.Ideas, f.DiskBytesPerIdea/1000, f.HeapBytesPerIdea/1000, f.RSSMiB)
	}
	b.WriteString(Note + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one JSON document.
func (rep Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
