package admission_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/admission"
)

func TestLimiter_BurstThenRefusedPerKey(t *testing.T) {
	l := admission.NewLimiter()
	r := admission.Rates{PerSecond: 1, Burst: 3}
	for i := range 3 {
		if ok, _ := l.Allow("a", r); !ok {
			t.Fatalf("call %d within the burst refused", i+1)
		}
	}
	ok, after := l.Allow("a", r)
	if ok || after <= 0 || after > time.Second {
		t.Errorf("past the burst: ok %v, retry after %v; want refused, retry within a second", ok, after)
	}
	if ok, _ := l.Allow("b", r); !ok {
		t.Errorf("another key refused for the first one's calls")
	}
	if ok, _ := l.Allow("c", admission.Rates{}); !ok {
		t.Errorf("no rate configured, yet refused")
	}
}

func TestInFlight_NeverWaits(t *testing.T) {
	f := admission.NewInFlight(2)
	if !f.Acquire() || !f.Acquire() {
		t.Fatal("slots within the cap refused")
	}
	if f.Acquire() {
		t.Fatal("a third slot of two granted")
	}
	f.Release()
	if !f.Acquire() {
		t.Fatal("a released slot not granted again")
	}
	if unlimited := admission.NewInFlight(0); !unlimited.Acquire() {
		t.Fatal("no cap, yet refused")
	}
}

func TestHTTP_ShedsAndLimits(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	h := admission.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}), admission.HTTPConfig{
		Limiter:  admission.NewLimiter(),
		Rates:    admission.Rates{PerSecond: 0.01, Burst: 3},
		InFlight: admission.NewInFlight(1),
		Exempt:   []string{"/healthz"},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}

	done := make(chan *http.Response)
	go func() { done <- get("/slow", "x") }()
	<-entered
	if resp := get("/fast", "y"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the in-flight cap: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := get("/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("exempt probe refused while full: %d", resp.StatusCode)
	}
	close(release)
	<-done

	// "x" spent one token on /slow; two more are left of its burst of 3,
	// and each answer says how many remain.
	for _, left := range []string{"1", "0"} {
		resp := get("/fast", "x")
		if resp.StatusCode != 200 {
			t.Fatalf("within the burst: %d", resp.StatusCode)
		}
		if got := resp.Header.Get("RateLimit-Remaining"); got != left || resp.Header.Get("RateLimit-Limit") != "3" || resp.Header.Get("RateLimit-Policy") != "3;w=300" {
			t.Errorf("RateLimit headers %q/%q/%q, want 3 of which %s left, policy 3;w=300", resp.Header.Get("RateLimit-Limit"),
				got, resp.Header.Get("RateLimit-Policy"), left)
		}
		if n, err := strconv.Atoi(resp.Header.Get("RateLimit-Reset")); err != nil || n < 1 || n > 300 {
			t.Errorf("RateLimit-Reset %q, want the seconds until the bucket is full", resp.Header.Get("RateLimit-Reset"))
		}
	}
	resp := get("/fast", "x")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("past the burst: %d (remaining %q), want 429 with none remaining", resp.StatusCode, resp.Header.Get("RateLimit-Remaining"))
	}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
	if resp := get("/fast", "z"); resp.StatusCode != 200 {
		t.Errorf("another token limited by the first one's calls: %d", resp.StatusCode)
	}
}
