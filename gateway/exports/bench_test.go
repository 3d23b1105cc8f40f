package exports_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// peakHeap runs f while sampling the heap in use, and returns the most it
// grew over what was in use before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
				peak.Store(m.HeapInuse - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkExportIdeas100k (loading the ideas through the idea service takes
// minutes; run it by name): the heap an export of 100 000 ideas takes
// beyond what was in use before (the gateway and the services run in this
// process, so their pages count too), against an export of 10 000 of the
// same ideas — flat memory is a ratio near 1 — and the time of an export
// against paging through ListIdeas alone.
func BenchmarkExportIdeas100k(b *testing.B) {
	const n, small = 100_000, 10_000
	e := deployment.Start(b, stack.Backends()[0])
	advisor := e.As(b, auth.Advisor, "vasterbotten")
	load := func(region string, count int) {
		var wg sync.WaitGroup
		work := make(chan int)
		for range 32 {
			wg.Go(func() {
				for i := range work {
					if _, err := e.Ideas.CreateIdea(e.As(b, auth.Advisor, region).Ctx(b), &ideav1.CreateIdeaRequest{Parent: "regions/" + region, Idea: &ideav1.Idea{
						Title: fmt.Sprintf("Idé nummer %d om vårdens flöden", i), Problem: "Patienter väntar länge på besked efter provtagning.",
						Proposal: "Skicka provsvar digitalt med en förklaring.", Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: "Primärvård",
					}}); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for i := range count {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	load("vasterbotten", n)
	load("uppsala", small)

	export := func(region, format string) (bytes int64) {
		req, _ := http.NewRequest(http.MethodGet, e.HTTP.URL+"/v1/regions/"+region+"/exports/ideas."+format, nil)
		req.Header.Set("Authorization", "Bearer "+e.As(b, auth.Advisor, region).Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("export: %d", resp.StatusCode)
		}
		bytes, err = io.Copy(io.Discard, resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		return bytes
	}
	paging := func() {
		for token := ""; ; {
			resp, err := e.Ideas.ListIdeas(advisor.Ctx(b), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", PageSize: resource.MaxPageSize, PageToken: token})
			if err != nil {
				b.Fatal(err)
			}
			if token = resp.GetNextPageToken(); token == "" {
				return
			}
		}
	}
	for _, format := range []string{"csv", "xlsx"} {
		var size int64
		var took time.Duration
		big := peakHeap(func() {
			start := time.Now()
			size = export("vasterbotten", format)
			took = time.Since(start)
		})
		little := peakHeap(func() { export("uppsala", format) })
		b.ReportMetric(float64(big)/(1<<20), format+"-peak-MiB")
		b.ReportMetric(float64(big)/float64(max(little, 1)), format+"-peak-100k/10k")
		b.Logf("%s of %d ideas: %d bytes in %v, heap grew at most %.1f MiB (%d ideas: %.1f MiB, ratio %.2f)",
			format, n, size, took, float64(big)/(1<<20), small, float64(little)/(1<<20), float64(big)/float64(max(little, 1)))
	}
	start := time.Now()
	paging()
	pageTime := time.Since(start)
	start = time.Now()
	export("vasterbotten", "csv")
	b.Logf("csv export %v against paging ListIdeas alone %v (%.2fx)", time.Since(start), pageTime, float64(time.Since(start))/float64(pageTime))
	for b.Loop() {
		export("uppsala", "csv")
	}
}
