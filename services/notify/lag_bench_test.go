package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// BenchmarkDispatchLag measures the time from a change's commit (the
// CreateIdea reply) to its webhook delivery at a local receiver, at 200
// changes per second for two seconds, with the dispatcher polling every
// 20 ms and at its default of 250 ms. The baseline is a bare POST to the same receiver; the ratios say
// how much the outbox adds.
func BenchmarkDispatchLag(b *testing.B) {
	for _, be := range stack.Backends() {
		for _, poll := range []time.Duration{20 * time.Millisecond, 0} {
			name := "default"
			if poll > 0 {
				name = poll.String()
			}
			b.Run(fmt.Sprintf("%s/poll=%s", be.Name, name), func(b *testing.B) { lag(b, be, poll) })
		}
	}
}

func lag(b *testing.B, be stack.Backend, poll time.Duration) {
	{
		{
			var mu sync.Mutex
			got := map[string]time.Time{}
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				var ev map[string]any
				_ = json.Unmarshal(body, &ev)
				if s, ok := ev["subject"].(string); ok {
					mu.Lock()
					if _, seen := got[s]; !seen {
						got[s] = time.Now()
					}
					mu.Unlock()
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			b.Cleanup(rcv.Close)
			e := startB(b, be, func(c *notify.Config) {
				c.Now, c.Poll = time.Now, poll
			})
			admin := e.As(b, auth.RegionAdmin, "vasterbotten")
			ctx := admin.Ctx(b)
			if _, err := e.client.CreateWebhookSubscription(ctx, &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten",
				Subscription: &notifyv1.WebhookSubscription{Url: rcv.URL, Secret: "0123456789abcdef", EventTypes: []string{notify.TypeIdeaCreated}}}); err != nil {
				b.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = e.notify.Run(runCtx) }()
			b.Cleanup(func() { cancel(); <-done })

			// Baseline: bare POSTs of the same size to the same receiver.
			var base []time.Duration
			for k := 0; k < 200; k++ {
				start := time.Now()
				resp, err := http.Post(rcv.URL, "application/json", bytes.NewReader([]byte(`{"subject":"baseline"}`)))
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				base = append(base, time.Since(start))
			}

			var lags []time.Duration
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				const changes = 400
				written := map[string]time.Time{}
				tick := time.NewTicker(time.Second / 200)
				for k := 0; k < changes; k++ {
					<-tick.C
					i, err := e.ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)})
					if err != nil {
						b.Fatal(err)
					}
					written[i.GetName()] = time.Now()
				}
				tick.Stop()
				deadline := time.Now().Add(30 * time.Second)
				for {
					mu.Lock()
					all := true
					for name := range written {
						if _, ok := got[name]; !ok {
							all = false
							break
						}
					}
					mu.Unlock()
					if all || time.Now().After(deadline) {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				for name, w := range written {
					at, ok := got[name]
					if !ok {
						mu.Unlock()
						b.Fatalf("%s never delivered", name)
					}
					lags = append(lags, at.Sub(w))
				}
				mu.Unlock()
			}
			b.StopTimer()
			p := func(d []time.Duration, q float64) time.Duration {
				slices.Sort(d)
				return d[int(q*float64(len(d)-1))]
			}
			p50, p99 := p(lags, 0.50), p(lags, 0.99)
			b50, b99 := p(base, 0.50), p(base, 0.99)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
			b.ReportMetric(float64(p50)/float64(b50), "p50_x_bare_post")
			b.ReportMetric(float64(p99)/float64(b99), "p99_x_bare_post")
		}
	}
}
