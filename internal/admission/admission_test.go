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

	// "x" spent one token on /slow; two more are left of its burst of 3.
	for range 2 {
		if resp := get("/fast", "x"); resp.StatusCode != 200 {
			t.Fatalf("within the burst: %d", resp.StatusCode)
		}
	}
	resp := get("/fast", "x")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("past the burst: %d, want 429", resp.StatusCode)
	}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
	}
	if resp := get("/fast", "z"); resp.StatusCode != 200 {
		t.Errorf("another token limited by the first one's calls: %d", resp.StatusCode)
	}
}
