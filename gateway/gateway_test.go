package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/testenv"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func startIdeas(t *testing.T, b stack.Backend) *stack.Env {
	served, _ := config.ParseServed("vasterbotten")
	st := b.Open(t)
	return stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
	})
}

func TestOperationalEndpoints(t *testing.T) {
	e := startIdeas(t, stack.Backends()[0])
	if code, body, _ := get(t, e.HTTP.URL+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body, _ := get(t, e.HTTP.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d %q", code, body)
	}
	code, body, hdr := get(t, e.HTTP.URL+"/openapi.json")
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("/openapi.json: %d %s", code, hdr.Get("Content-Type"))
	}
	found := false
	for p := range doc.Paths {
		found = found || strings.Contains(p, "ideas")
	}
	if !found {
		t.Errorf("/openapi.json has no idea routes: %v", doc.Paths)
	}
}

func TestReadyz_StoreDown(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, r.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := startIdeas(t, stack.Backend{Name: "redis", Open: func(testing.TB) store.Store { return st }})

	if code, body, _ := get(t, e.HTTP.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: %d %q", code, body)
	}
	r.Kill()
	if code, body, _ := get(t, e.HTTP.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store") ||
		strings.Contains(body, r.Addr) || strings.Contains(body, "dial") {
		t.Errorf("/readyz with Redis down: %d %q, want 503 naming the store and not its address", code, body)
	}
	if code, _, _ := get(t, e.HTTP.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz must stay 200 while a dependency is down, got %d", code)
	}
	r.Restart(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, _ := get(t, e.HTTP.URL+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after Redis restart: %d %q", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
