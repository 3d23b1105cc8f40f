package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkOverload runs the real binary through the overloads an attacker
// or a bad day brings, once with admission control effectively off (the
// baseline) and once with the default limits, on the same data, and reports
// both and their ratios:
//
//   - burst: 300 concurrent pageSize=1000 lists of 1 000 ideas, with one
//     token and with 300 tokens: peak RSS, and every answer a 200, 429 or 503;
//   - storm: 700 clients, each with its own token, listing for 5 s, once
//     retrying 50 ms after a refusal and once as Retry-After says: share of
//     429 and 503, p50 and p99 of the admitted requests;
//   - recovery: from the moment the storm is called off, time until a new
//     client's requests are back at (twice) their idle latency.
//
// Run it alone: go test -run '^$' -bench Overload -benchtime 1x ./cmd/motor
func BenchmarkOverload(b *testing.B) {
	if testing.Short() {
		b.Skip("starts the binary three times and loads it for a minute")
	}
	bin := buildMotor(b)
	data := b.TempDir()
	off := writeLimits(b, data, "off", `{"ratePerSecond":1e9,"burst":1000000000,"maxInFlightHTTP":1000000,"maxInFlightGRPC":1000000}`)
	defaults := writeLimits(b, data, "defaults", `{}`)

	seedBigIdeas(b, bin, data, off, 1000)

	var runs []overloadRun
	for _, run := range []struct{ name, config string }{{"baseline (no limits)", off}, {"default limits", defaults}} {
		r := measureOverload(b, bin, data, run.config)
		r.name = run.name
		runs = append(runs, r)
	}
	base, lim := runs[0], runs[1]
	for _, r := range runs {
		b.Logf("%-22s burst 1 token: peak RSS %4.0f MiB, %v | burst 300 tokens: peak RSS %4.0f MiB, %v | recovery %v (idle p50 %.1f ms)",
			r.name, r.burstOneRSS, r.burstOne, r.burstManyRSS, r.burstMany, r.recovery.Round(time.Millisecond), r.idleP50)
		for _, s := range []struct {
			name string
			l    latencies
		}{{"impatient storm", r.storm}, {"polite storm", r.politeStorm}} {
			b.Logf("%-22s %s: %d requests, 429 %.1f %%, 503 %.1f %%, other %d; admitted %d, p50 %.1f ms, p99 %.1f ms",
				r.name, s.name, s.l.total, 100*s.l.share(429), 100*s.l.share(503), s.l.other(), len(s.l.ok), s.l.p(0.50), s.l.p(0.99))
		}
	}
	b.Logf("ratios limits/baseline: peak RSS %.2f (1 token) %.2f (300 tokens), p99 of admitted %.2f (impatient) %.2f (polite), recovery %.2f",
		lim.burstOneRSS/base.burstOneRSS, lim.burstManyRSS/base.burstManyRSS, lim.storm.p(0.99)/base.storm.p(0.99),
		lim.politeStorm.p(0.99)/base.politeStorm.p(0.99), float64(lim.recovery)/float64(max(base.recovery, time.Millisecond)))
	b.ReportMetric(lim.burstManyRSS, "MiB-peak-RSS")
	b.ReportMetric(base.burstManyRSS, "MiB-peak-RSS-baseline")
	b.ReportMetric(100*(lim.storm.share(429)+lim.storm.share(503)), "%-shed")
	b.ReportMetric(lim.storm.p(0.99), "ms-p99-admitted")
	b.ReportMetric(lim.politeStorm.p(0.99), "ms-p99-admitted-polite")
	b.ReportMetric(base.storm.p(0.99), "ms-p99-baseline")
	b.ReportMetric(float64(lim.recovery.Milliseconds()), "ms-recovery")
	if lim.burstOne.other()+lim.burstMany.other()+lim.storm.other()+lim.politeStorm.other() > 0 {
		b.Errorf("with limits, answers other than 200, 429 and 503: %v %v storm %d", lim.burstOne, lim.burstMany, lim.storm.other())
	}
}

type overloadRun struct {
	name                      string
	burstOne, burstMany       codeCount
	burstOneRSS, burstManyRSS float64 // MiB
	storm, politeStorm        latencies
	idleP50                   float64 // ms
	recovery                  time.Duration
}

func measureOverload(b *testing.B, bin, data, config string) overloadRun {
	p := startMotor(b, bin, "-data", data, "-demo=false", "-config", config)
	defer p.stop(b)
	client := loadClient()
	var r overloadRun
	one := devToken(b, data, "bench-one")
	list := p.url + "/v1/regions/vasterbotten/ideas?pageSize=1000"

	r.burstOne, r.burstOneRSS = burst(b, p, client, list, func(int) string { return one })
	many := make([]string, 700)
	for i := range many {
		many[i] = devToken(b, data, fmt.Sprintf("bench-%03d", i))
	}
	r.burstMany, r.burstManyRSS = burst(b, p, client, list, func(i int) string { return many[i] })

	small := p.url + "/v1/regions/vasterbotten/ideas?pageSize=20"
	idle := devToken(b, data, "bench-idle")
	var idleLat latencies
	for range 50 {
		start := time.Now()
		code := get(client, small, idle)
		idleLat.add(code, time.Since(start))
	}
	r.idleP50 = idleLat.p(0.5)

	// The probe of recovery starts the moment the storm is called off,
	// while its last requests are still being answered.
	after := devToken(b, data, "bench-after")
	recovered := make(chan time.Duration, 1)
	time.AfterFunc(5*time.Second, func() { recovered <- recoverAfter(client, small, after, r.idleP50) })
	r.storm = storm(client, small, many, 5*time.Second, false)
	r.recovery = <-recovered
	r.politeStorm = storm(client, small, many, 5*time.Second, true)
	return r
}

// burst sends 300 lists at once and returns their codes and the process's
// peak RSS while they ran.
func burst(b *testing.B, p *motorProcess, client *http.Client, url string, token func(i int) string) (codeCount, float64) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = codeCount{}
		peak  atomic.Int64
		done  = make(chan struct{})
	)
	go func() {
		for {
			if kb := rssKiB(p.cmd.Process.Pid); kb > peak.Load() {
				peak.Store(kb)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := make(chan struct{})
	for i := range 300 {
		wg.Go(func() {
			<-start
			code := get(client, url, token(i))
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	close(done)
	time.Sleep(200 * time.Millisecond) // let the heap settle before the next phase
	return codes, float64(peak.Load()) / 1024
}

// storm runs one client per token, each listing in a loop, for d. After a
// 429 or 503 an impatient client waits 50 ms; a polite one waits as long as
// Retry-After says.
func storm(client *http.Client, url string, tokens []string, d time.Duration, polite bool) latencies {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all latencies
	)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, tok := range tokens {
		wg.Go(func() {
			var mine latencies
			for ctx.Err() == nil {
				start := time.Now()
				code, retryAfter := getRetry(client, url, tok)
				mine.add(code, time.Since(start))
				if code == 429 || code == 503 {
					wait := 50 * time.Millisecond
					if polite {
						wait = retryAfter
					}
					select {
					case <-ctx.Done():
					case <-time.After(wait):
					}
				}
			}
			mu.Lock()
			all.merge(mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// recoverAfter probes with a fresh client after a storm until ten requests in a
// row answer 200 within twice the idle median, and returns how long that
// took from the storm's end.
func recoverAfter(client *http.Client, url, token string, idleP50 float64) time.Duration {
	end := time.Now()
	streak := 0
	var first time.Time
	for time.Since(end) < 30*time.Second {
		start := time.Now()
		code := get(client, url, token)
		took := time.Since(start)
		if code == 200 && float64(took.Microseconds())/1000 <= 2*idleP50+1 {
			if streak == 0 {
				first = start
			}
			if streak++; streak == 10 {
				return first.Sub(end)
			}
		} else {
			streak = 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 30 * time.Second
}

func get(client *http.Client, url, token string) int {
	code, _ := getRetry(client, url, token)
	return code
}

// getRetry returns the status and the Retry-After delay (1 s if absent).
func getRetry(client *http.Client, url, token string) (int, time.Duration) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return -1, time.Second
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return -1, time.Second
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	after := time.Second
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
		after = time.Duration(n) * time.Second
	}
	return resp.StatusCode, after
}

func loadClient() *http.Client {
	return &http.Client{
		Timeout:   60 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 2000, MaxIdleConnsPerHost: 2000, IdleConnTimeout: 30 * time.Second},
	}
}

// codeCount counts answers by HTTP status (-1: no answer).
type codeCount map[int]int

func (c codeCount) other() int {
	n := 0
	for code, k := range c {
		if code != 200 && code != 429 && code != 503 {
			n += k
		}
	}
	return n
}

func (c codeCount) String() string {
	var parts []string
	for _, code := range slices.Sorted(func(yield func(int) bool) {
		for k := range c {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%d×%d", c[code], code))
	}
	return strings.Join(parts, " ")
}

// latencies keeps the codes of a load and the latencies of its 200s.
type latencies struct {
	codes codeCount
	ok    []time.Duration
	total int
}

func (l *latencies) add(code int, d time.Duration) {
	if l.codes == nil {
		l.codes = codeCount{}
	}
	l.codes[code]++
	l.total++
	if code == 200 {
		l.ok = append(l.ok, d)
	}
}

func (l *latencies) merge(o latencies) {
	if l.codes == nil {
		l.codes = codeCount{}
	}
	for c, n := range o.codes {
		l.codes[c] += n
	}
	l.ok = append(l.ok, o.ok...)
	l.total += o.total
}

func (l latencies) share(code int) float64 {
	if l.total == 0 {
		return 0
	}
	return float64(l.codes[code]) / float64(l.total)
}

func (l latencies) other() int { return l.codes.other() }

// p is the q-quantile of the admitted requests' latency, in ms.
func (l latencies) p(q float64) float64 {
	if len(l.ok) == 0 {
		return 0
	}
	s := slices.Clone(l.ok)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
}

// rssKiB reads a process's resident set from /proc (0 where there is none).
func rssKiB(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func writeLimits(b *testing.B, dir, name, limits string) string {
	path := filepath.Join(dir, name+".json")
	cfg := fmt.Sprintf(`{"name":"bench","regions":["vasterbotten","uppsala"],"limits":%s}`, limits)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

func devToken(b *testing.B, data, sub string) string {
	var out bytes.Buffer
	if err := token([]string{"-data", data, "-role", "advisor", "-region", "vasterbotten", "-sub", sub}, &out, io.Discard); err != nil {
		b.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// seedBigIdeas creates n ideas of about 1.5 kB each in vasterbotten.
func seedBigIdeas(b *testing.B, bin, data, config string, n int) {
	p := startMotor(b, bin, "-data", data, "-demo=false", "-config", config)
	defer p.stop(b)
	tok := devToken(b, data, "bench-seed")
	client := loadClient()
	text := strings.Repeat("Patienter väntar länge på provsvar. ", 18)
	var wg sync.WaitGroup
	var failed atomic.Int64
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				body, _ := json.Marshal(map[string]any{
					"title": fmt.Sprintf("Idé %d", i), "problem": text, "proposal": text, "origin": "ORIGIN_STAFF",
					"careArea": "Primärvård", "tags": []string{"lab", "väntetid"},
				})
				req, _ := http.NewRequest("POST", p.url+"/v1/regions/vasterbotten/ideas", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d of %d ideas not created", failed.Load(), n)
	}
}
