package gateway_test

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// TestRoutes_NamedByTemplate: HTTP spans and metrics carry the route a call
// matched, never the ids of its path, and the region it is about; metrics
// are not on the public port.
func TestRoutes_NamedByTemplate(t *testing.T) {
	c := startConventions(t)
	tel, spans, e := c.tel, c.spans, c.e
	advisor := e.As(t, auth.Advisor, "vasterbotten")
	code, created := e.REST(t, advisor, "POST", "/v1/regions/vasterbotten/ideas",
		`{"title":"Digital väntrumskö","problem":"Patienter vet inte hur länge de får vänta","origin":"ORIGIN_STAFF"}`)
	if code != 200 {
		t.Fatalf("create: %d %v", code, created)
	}
	name, _ := created["name"].(string)
	if code, got := e.REST(t, advisor, "GET", "/v1/"+name, ""); code != 200 {
		t.Fatalf("get %s: %d %v", name, code, got)
	}
	if code, got := e.REST(t, advisor, "PATCH", "/v1/"+name+"?updateMask=title", `{"title":"Digital väntrumskö med sms","etag":"`+created["etag"].(string)+`"}`); code != 200 {
		t.Fatalf("patch %s: %d %v", name, code, got)
	}
	if code, _, _ := get(t, e.HTTP.URL+"/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, _, _ := get(t, e.HTTP.URL+"/v1/regions/vasterbotten/nowhere/x1"); code != 404 {
		t.Fatalf("unknown route: %d, want 404", code)
	}
	if code, _, _ := get(t, e.HTTP.URL+"/metrics"); code != 404 {
		t.Errorf("/metrics on the public port: %d, want 404 (it belongs on the admin listener)", code)
	}

	want := map[string]string{ // span name → motor.region
		"POST /v1/{parent=regions/*}/ideas":       "vasterbotten",
		"GET /v1/{name=regions/*/ideas/*}":        "vasterbotten",
		"PATCH /v1/{idea.name=regions/*/ideas/*}": "vasterbotten",
		"GET /healthz": "",
		"GET":          "", // no route matched: no path in the name
	}
	var serverSpans []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		serverSpans = nil
		got := map[string]string{}
		for _, s := range spans.Ended() {
			if s.SpanKind() != trace.SpanKindServer || s.InstrumentationScope().Name != "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp" {
				continue
			}
			serverSpans = append(serverSpans, s.Name())
			got[s.Name()] = ""
			for _, a := range s.Attributes() {
				if a.Key == telemetry.AttrRegion {
					got[s.Name()] = a.Value.AsString()
				}
			}
		}
		missing := false
		for n, region := range want {
			if r, ok := got[n]; !ok || r != region {
				missing = true
			}
		}
		if !missing {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTP server spans %v (with regions %v), want %v", serverSpans, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, n := range serverSpans {
		if strings.Contains(n, "vasterbotten") || strings.Contains(n, name) {
			t.Errorf("span %q names a path, not a route", n)
		}
	}

	rec := httptest.NewRecorder()
	tel.Metrics.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var routes []string
	for _, m := range regexp.MustCompile(`http_server_request_duration_seconds_count\{[^}]*http_route="([^"]*)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		routes = append(routes, m[1])
	}
	for _, r := range []string{"/v1/{parent=regions/*}/ideas", "/v1/{name=regions/*/ideas/*}", "/healthz"} {
		if !slices.Contains(routes, r) {
			t.Errorf("http_route %q not among the request metrics' routes %v", r, routes)
		}
	}
	for _, r := range routes {
		if strings.Contains(r, "vasterbotten") || r == "/" {
			t.Errorf("http_route %q is a path or the catch-all, not a route", r)
		}
	}
	if !strings.Contains(rec.Body.String(), "rpc_server_call_duration") {
		t.Error("no gRPC server metrics")
	}
}
