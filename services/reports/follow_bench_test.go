package reports_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// BenchmarkFollowIdeas: how fast the follower folds an idea log it has not
// seen (a first start), against the time the same ideas took to create
// through the idea service in the same run; then, per op, what catching up
// costs when nothing is new.
func BenchmarkFollowIdeas(b *testing.B) {
	const n = 2000
	e := deployment.StartBatch(b, stack.Backends()[0], 0) // the default batch
	advisor := e.As(b, auth.Advisor, "vasterbotten")
	start := time.Now()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if _, err := e.Ideas.CreateIdea(advisor.Ctx(b), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
					Title: fmt.Sprintf("Idé %d", i), Problem: "Patienter väntar länge på besked.", Proposal: "Digitala provsvar.",
					Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: "Primärvård",
				}}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	created := time.Since(start)

	s := time.Now()
	if err := e.Server.SyncAll(b.Context()); err != nil {
		b.Fatal(err)
	}
	folded := time.Since(s)
	b.ReportMetric(float64(n)/folded.Seconds(), "ideas-folded/s")
	b.ReportMetric(float64(created)/float64(folded), "create/fold")
	b.Logf("%d ideas: created through the idea service in %v, folded into the figures in %v (%.1fx the time of creating them)",
		n, created, folded, float64(folded)/float64(created))
	// What a report pays to catch up when nothing is new.
	for b.Loop() {
		if err := e.Server.SyncAll(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
