package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// receiver is a real HTTP receiver that checks every signature the way
// the README tells a region to, and answers as its mode says.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	mode   string // "down" (drops the connection), "500", "200"
	got    []map[string]any
	srv    *httptest.Server
}

func newReceiver(t *testing.T, secret, mode string) *receiver {
	r := &receiver{t: t, secret: secret, mode: mode}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(mode string) { r.mu.Lock(); r.mode = mode; r.mu.Unlock() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if !verify(r.secret, req.Header.Get(notify.SignatureHeader), body) {
		r.t.Errorf("bad signature %q on %s", req.Header.Get(notify.SignatureHeader), body)
	}
	r.mu.Lock()
	mode := r.mode
	r.mu.Unlock()
	switch mode {
	case "down":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case "500":
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("body is not JSON: %s", body)
	}
	r.mu.Lock()
	r.got = append(r.got, ev)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) events() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// verify is the README's verification: split t= and v1=, recompute the
// HMAC over "<t>.<body>", compare in constant time.
func verify(secret, header string, body []byte) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(sig), []byte(want))
}

func (e *env) subscribe(t *testing.T, url, secret string) *notifyv1.WebhookSubscription {
	t.Helper()
	h, err := e.client.CreateWebhookSubscription(e.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &notifyv1.CreateWebhookSubscriptionRequest{
		Parent: "regions/vasterbotten", Subscription: &notifyv1.WebhookSubscription{Url: url, Secret: secret, EventTypes: []string{notify.TypeIdeaCreated}},
	})
	if err != nil {
		t.Fatalf("CreateWebhookSubscription: %v", err)
	}
	return h
}

func (e *env) deliveries(t *testing.T, h *notifyv1.WebhookSubscription, state notifyv1.DeliveryState) []*notifyv1.WebhookDelivery {
	t.Helper()
	r, err := e.client.ListWebhookDeliveries(e.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &notifyv1.ListWebhookDeliveriesRequest{Parent: h.GetName(), State: state})
	if err != nil {
		t.Fatal(err)
	}
	return r.GetDeliveries()
}

// TestWebhook_RetriesThenDelivers: a receiver that is down, then answers
// 500, then 200 gets the event with growing gaps between the attempts and
// the same signed body each time; one that never answers ends
// dead-lettered, listed, and is delivered when redelivered.
func TestWebhook_RetriesThenDelivers(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := start(t, b, func(c *notify.Config) { c.Webhooks.FirstRetry, c.Webhooks.MaxGap = time.Minute, 4*time.Hour })
			flaky := newReceiver(t, "flaky-secret-0123456789", "down")
			dead := newReceiver(t, "dead-secret-0123456789", "down")
			fh := e.subscribe(t, flaky.srv.URL+"/hook", "flaky-secret-0123456789")
			dh := e.subscribe(t, dead.srv.URL+"/hook", "dead-secret-0123456789")
			i, err := e.ideas.CreateIdea(e.As(t, auth.Submitter, "vasterbotten", "greta").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
			if err != nil {
				t.Fatal(err)
			}

			var gaps []time.Duration
			for _, mode := range []string{"down", "down", "500", "500", "200"} {
				flaky.set(mode)
				e.pump(t, e.notify)
				ds := e.deliveries(t, fh, 0)
				if len(ds) != 1 {
					t.Fatalf("%d deliveries, want 1", len(ds))
				}
				d := ds[0]
				if mode == "200" {
					if d.GetState() != notifyv1.DeliveryState_DELIVERY_STATE_DELIVERED || len(d.GetAttempts()) != 5 {
						t.Fatalf("after the 200: %v", d)
					}
					break
				}
				if d.GetState() != notifyv1.DeliveryState_DELIVERY_STATE_PENDING {
					t.Fatalf("after a %s: %v", mode, d)
				}
				gap := d.GetNextAttemptTime().AsTime().Sub(e.clock.Now())
				gaps = append(gaps, gap)
				// Nothing is sent before the gap is over.
				e.clock.Add(gap / 2)
				e.pump(t, e.notify)
				if n := len(e.deliveries(t, fh, 0)[0].GetAttempts()); n != len(gaps) {
					t.Fatalf("%d attempts before the gap ended, want %d", n, len(gaps))
				}
				e.clock.Add(gap - gap/2)
			}
			for k := 1; k < len(gaps); k++ {
				if gaps[k] <= gaps[k-1] {
					t.Errorf("gap %d (%v) not longer than gap %d (%v): %v", k, gaps[k], k-1, gaps[k-1], gaps)
				}
			}
			got := flaky.events()
			if len(got) != 1 || got[0]["specversion"] != "1.0" || got[0]["type"] != notify.TypeIdeaCreated || got[0]["subject"] != i.GetName() ||
				!strings.HasPrefix(got[0]["id"].(string), "idea:vasterbotten:") {
				t.Fatalf("received %v", got)
			}
			if strings.Contains(flaky.srv.URL, "Greta") {
				t.Fatal("unreachable")
			}

			// The receiver that never answers: retried for 24 hours, then dead.
			for k := 0; k < 200 && len(e.deliveries(t, dh, notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)) == 0; k++ {
				e.clock.Add(30 * time.Minute)
				e.pump(t, e.notify)
			}
			deadOnes := e.deliveries(t, dh, notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)
			if len(deadOnes) != 1 {
				t.Fatalf("dead letters: %v", e.deliveries(t, dh, 0))
			}
			d := deadOnes[0]
			first, last := d.GetAttempts()[0].GetTime().AsTime(), d.GetAttempts()[len(d.GetAttempts())-1].GetTime().AsTime()
			// The clock moves in 30-minute steps, so an attempt may come up
			// to one step after it was due.
			if span := last.Sub(first); span > 24*time.Hour+30*time.Minute || span < 12*time.Hour {
				t.Errorf("retried over %v, want up to 24 h", span)
			}
			dead.set("200")
			if _, err := e.client.RedeliverWebhookDelivery(e.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &notifyv1.RedeliverWebhookDeliveryRequest{Name: d.GetName()}); err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)
			if got := dead.events(); len(got) != 1 || got[0]["id"] != d.GetEventId() {
				t.Errorf("redelivered: %v, want the event %s", got, d.GetEventId())
			}
			if n := len(e.deliveries(t, dh, notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED)); n != 0 {
				t.Errorf("%d dead letters after redelivery", n)
			}

			// Only region admins manage subscriptions.
			_, err = e.client.ListWebhookDeliveries(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &notifyv1.ListWebhookDeliveriesRequest{Parent: dh.GetName()})
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("advisor reading deliveries: %v", err)
			}
		})
	}
}

// TestWebhook_NoPrivateAddresses: without the deployment's allowance a URL
// of a loopback or private address is refused, and a host name that
// resolves to one is refused when the connection is made.
func TestWebhook_NoPrivateAddresses(t *testing.T) {
	e := start(t, stack.Backends()[0], func(c *notify.Config) {
		c.Webhooks = notify.WebhookPolicy{FirstRetry: time.Minute}
	})
	admin := e.As(t, auth.RegionAdmin, "vasterbotten")
	for _, url := range []string{"https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "http://hooks.example.se/x", "https://[::1]/hook"} {
		_, err := e.client.CreateWebhookSubscription(admin.Ctx(t), &notifyv1.CreateWebhookSubscriptionRequest{
			Parent: "regions/vasterbotten", Subscription: &notifyv1.WebhookSubscription{Url: url, Secret: "0123456789abcdef"}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", url, err)
		}
	}
	// "localhost" passes the URL check, but resolves to loopback.
	rcv := newReceiver(t, "0123456789abcdef", "200")
	port := rcv.srv.URL[strings.LastIndex(rcv.srv.URL, ":")+1:]
	h, err := e.client.CreateWebhookSubscription(admin.Ctx(t), &notifyv1.CreateWebhookSubscriptionRequest{
		Parent: "regions/vasterbotten", Subscription: &notifyv1.WebhookSubscription{Url: "https://localhost:" + port + "/hook", Secret: "0123456789abcdef"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ideas.CreateIdea(admin.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
		t.Fatal(err)
	}
	e.pump(t, e.notify)
	ds := e.deliveries(t, h, 0)
	if len(ds) != 1 || len(ds[0].GetAttempts()) != 1 || !strings.Contains(ds[0].GetAttempts()[0].GetError(), "not public") {
		t.Errorf("delivery to localhost: %v, want refused at dial time", ds)
	}
	if len(rcv.events()) != 0 {
		t.Errorf("the loopback receiver got %v", rcv.events())
	}
}
