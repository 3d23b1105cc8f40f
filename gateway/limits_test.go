package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/admission"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// deadlineStore is the real store, noting the deadline of each Scan.
type deadlineStore struct {
	store.Store
	mu   sync.Mutex
	last *time.Time // nil: no Scan yet; zero: a Scan without deadline
}

func (d *deadlineStore) Scan(ctx context.Context, ns store.Namespace, q store.Query) (store.Page, error) {
	dl, _ := ctx.Deadline()
	d.mu.Lock()
	d.last = &dl
	d.mu.Unlock()
	return d.Store.Scan(ctx, ns, q)
}

func (d *deadlineStore) lastDeadline() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		return time.Time{}, false
	}
	return *d.last, true
}

// front is the idea service behind a server with admission, and a gateway
// built with cfg in front of it.
type front struct {
	url    string
	signer *auth.Signer
	st     *deadlineStore
}

func startFront(t *testing.T, a *rpc.Admission, cfg gateway.Config) *front {
	t.Helper()
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{Service: "motor-test", Deployment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	st := &deadlineStore{Store: stack.Backends()[0].Open(t)}
	served, _ := config.ParseServed("vasterbotten")
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Telemetry: tel, Admission: a})
	ideav1.RegisterIdeaServiceServer(srv.GRPC, idea.New(idea.Config{Store: st, Regions: served}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	if cfg.Upstreams == nil {
		conn, err := rpc.Dial(lis.Addr().String(), tel)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		cfg.Upstreams = gateway.Upstreams{"idea": conn}
	}
	cfg.Telemetry = tel
	h, err := gateway.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return &front{url: hs.URL, signer: signer, st: st}
}

func (f *front) do(t *testing.T, token string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", f.url+"/v1/regions/vasterbotten/ideas", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (f *front) token(t *testing.T, sub string) string {
	t.Helper()
	tok, err := f.signer.Sign(auth.Claims{Subject: sub, Region: "vasterbotten", Roles: []auth.Role{auth.Advisor}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

// TestWWWAuthenticate_RFC6750: the challenge says only what RFC 6750 lets
// it say; what exactly was wrong is in the body.
func TestWWWAuthenticate_RFC6750(t *testing.T) {
	f := startFront(t, nil, gateway.Config{})
	for _, tc := range []struct{ name, header, want string }{
		{"no token", "", `Bearer realm="motor"`},
		{"not a JWT", "Bearer not.a.jwt", `Bearer realm="motor", error="invalid_token"`},
		{"garbage", "Bearer eyJhbGciOiJub25lIn0.e30.", `Bearer realm="motor", error="invalid_token"`},
		{"other scheme", "Basic dXNlcjpwdw==", `Bearer realm="motor", error="invalid_request"`},
	} {
		resp, body := f.do(t, tc.header, nil)
		if resp.StatusCode != 401 {
			t.Errorf("%s: %d %s, want 401", tc.name, resp.StatusCode, body)
			continue
		}
		if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestDefaultDeadline: a REST call without Grpc-Timeout reaches the
// service with the gateway's default deadline; one with it keeps its own.
func TestDefaultDeadline(t *testing.T) {
	f := startFront(t, nil, gateway.Config{DefaultTimeout: 3 * time.Second})
	tok := f.token(t, "a")

	if resp, body := f.do(t, tok, nil); resp.StatusCode != 200 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	end := time.Now()
	dl, ok := f.st.lastDeadline()
	if !ok || dl.IsZero() {
		t.Fatalf("the service's store call had no deadline")
	}
	if dl.After(end.Add(3 * time.Second)) {
		t.Errorf("default deadline %v after the answer, want at most the gateway's 3s", dl.Sub(end))
	}

	start := time.Now()
	if resp, body := f.do(t, tok, http.Header{"Grpc-Timeout": {"20S"}}); resp.StatusCode != 200 {
		t.Fatalf("list with Grpc-Timeout: %d %s", resp.StatusCode, body)
	}
	if dl, _ := f.st.lastDeadline(); dl.Sub(start) <= 3*time.Second {
		t.Errorf("the caller's Grpc-Timeout of 20s became %v", dl.Sub(start))
	}
}

// TestUpstreamDown_NoInternalDetail: a service the gateway cannot reach is
// a 503 with Retry-After and a trace id, never its address or dial error.
func TestUpstreamDown_NoInternalDetail(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nobody listens
	conn, err := rpc.Dial(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var logged testenv.LogBuffer
	f := startFront(t, nil, gateway.Config{Upstreams: gateway.Upstreams{"idea": conn}, Logger: slog.New(slog.NewJSONHandler(&logged, nil))})
	resp, body := f.do(t, f.token(t, "a"), http.Header{"X-Request-Id": {"portal-down-1"}})
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("upstream down: %d %s, want 503", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") != "portal-down-1" || !strings.Contains(logged.String(), `"request_id":"portal-down-1"`) {
		t.Errorf("request id %q; the log line does not carry it: %s", resp.Header.Get("X-Request-Id"), logged.String())
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, leak := range []string{port, "dial", "connection refused", "transport"} {
		if strings.Contains(body, leak) {
			t.Errorf("503 body names %q: %s", leak, body)
		}
	}
	if !strings.Contains(body, "trace ") {
		t.Errorf("503 body carries no trace id: %s", body)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
}

// TestRateLimited_RetryAfter: a caller over its rate gets 429 with
// Retry-After over REST, from the service's own limiter.
func TestRateLimited_RetryAfter(t *testing.T) {
	f := startFront(t, &rpc.Admission{Limiter: admission.NewLimiter(), Rates: admission.Rates{PerSecond: 0.01, Burst: 2}}, gateway.Config{})
	tok := f.token(t, "greedy")
	for range 2 {
		if resp, body := f.do(t, tok, nil); resp.StatusCode != 200 {
			t.Fatalf("within the burst: %d %s", resp.StatusCode, body)
		}
	}
	resp, body := f.do(t, tok, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Retry-After") == "0" {
		t.Errorf("past the burst: %d Retry-After %q %s, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	if resp, _ := f.do(t, f.token(t, "patient"), nil); resp.StatusCode != 200 {
		t.Errorf("another caller: %d, want 200", resp.StatusCode)
	}
}
