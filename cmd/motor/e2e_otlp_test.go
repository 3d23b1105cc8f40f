package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	collectortracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// otlpReceiver is an OTLP/gRPC trace receiver, as a collector runs one.
type otlpReceiver struct {
	collectortracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []receivedSpan
}

// receivedSpan is a span with the attributes of the resource that sent it.
type receivedSpan struct {
	resource map[string]string
	scope    string
	span     *tracepb.Span
	attrs    map[string]string
}

func (o *otlpReceiver) Export(_ context.Context, req *collectortracepb.ExportTraceServiceRequest) (*collectortracepb.ExportTraceServiceResponse, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				o.spans = append(o.spans, receivedSpan{resource: res, scope: ss.GetScope().GetName(), span: s, attrs: attrMap(s.GetAttributes())})
			}
		}
	}
	return &collectortracepb.ExportTraceServiceResponse{}, nil
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetArrayValue() != nil:
			var parts []string
			for _, e := range v.GetArrayValue().GetValues() {
				parts = append(parts, e.GetStringValue())
			}
			out[kv.GetKey()] = strings.Join(parts, ",")
		case v.GetIntValue() != 0:
			out[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		default:
			out[kv.GetKey()] = v.GetStringValue()
		}
	}
	return out
}

func (o *otlpReceiver) trace(id []byte) []receivedSpan {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []receivedSpan
	for _, s := range o.spans {
		if string(s.span.GetTraceId()) == string(id) {
			out = append(out, s)
		}
	}
	return out
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &otlpReceiver{}
	srv := grpc.NewServer()
	collectortracepb.RegisterTraceServiceServer(srv, o)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return o, "http://" + lis.Addr().String()
}

// TestTelemetry_OneRESTCallDownToRedis runs the gateway and the idea service
// as two processes on Redis, the way Kubernetes runs them, exporting to an
// OTLP receiver, and follows one REST call through the trace it left:
// the gateway's HTTP span named by its route, its gRPC client span, the
// idea service's server span and the Redis commands below it, each from the
// process that made it and each saying which region it was about.
func TestTelemetry_OneRESTCallDownToRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	recv, endpoint := startOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")
	redis := testenv.StartRedis(t)
	bin := buildMotor(t)
	data := t.TempDir()
	ideas := startMotor(t, bin, "-target", "idea", "-regions", "vasterbotten", "-store", redis.URL(), "-data", data, "-demo=false")
	gw := startMotor(t, bin, "-target", "gateway", "-regions", "vasterbotten", "-data", data, "-upstream", ideas.grpc)
	tok := motorToken(t, bin, data, "-role", "submitter", "-region", "vasterbotten")

	traceID, _ := hex.DecodeString("4bf92f3577b34da6a3ce929d0e0e4736")
	req, err := http.NewRequest("POST", gw.url+"/v1/regions/vasterbotten/ideas",
		strings.NewReader(`{"title":"Larm som når rätt sköterska","problem":"Larmen går till hela avdelningen","origin":"ORIGIN_STAFF"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Traceparent", "00-"+hex.EncodeToString(traceID)+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d", resp.StatusCode)
	}

	const route = "POST /v1/{parent=regions/*}/ideas"
	const method = "innovation.idea.v1.IdeaService/CreateIdea"
	var httpSpan, clientSpan, serverSpan *receivedSpan
	var redisSpans []receivedSpan
	var spans []receivedSpan
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans = recv.trace(traceID)
		httpSpan, clientSpan, serverSpan, redisSpans = nil, nil, nil, nil
		for i := range spans {
			s := &spans[i]
			switch {
			case s.span.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.span.GetName() == route:
				httpSpan = s
			case s.span.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && s.span.GetName() == method:
				clientSpan = s
			case s.span.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.span.GetName() == method:
				serverSpan = s
			case strings.Contains(s.scope, "redis"):
				redisSpans = append(redisSpans, *s)
			}
		}
		if httpSpan != nil && clientSpan != nil && serverSpan != nil && len(redisSpans) > 0 {
			break
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range spans {
				names = append(names, fmt.Sprintf("%s %q (%s)", s.resource["service.name"], s.span.GetName(), s.span.GetKind()))
			}
			t.Fatalf("trace has %d spans %v; want the HTTP span %q, the client and server spans of %s and Redis spans", len(spans), names, route, method)
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, c := range []struct {
		what    string
		s       *receivedSpan
		service string
	}{
		{"HTTP server span", httpSpan, "motor-gateway"},
		{"gRPC client span", clientSpan, "motor-gateway"},
		{"gRPC server span", serverSpan, "motor-idea"},
		{"Redis span", &redisSpans[0], "motor-idea"},
	} {
		if got := c.s.resource["service.name"]; got != c.service {
			t.Errorf("%s: service.name %q, want %q", c.what, got, c.service)
		}
		if got := c.s.resource["deployment.environment.name"]; got != "test" {
			t.Errorf("%s: OTEL_RESOURCE_ATTRIBUTES not honoured: deployment.environment.name %q", c.what, got)
		}
		if got := c.s.resource["motor.regions"]; got != "vasterbotten" {
			t.Errorf("%s: motor.regions %q, want vasterbotten", c.what, got)
		}
		if _, ok := c.s.resource["cloud.region"]; ok {
			t.Errorf("%s: cloud.region %q set; the served regions are motor.regions", c.what, c.s.resource["cloud.region"])
		}
	}
	for _, c := range []struct {
		what string
		s    *receivedSpan
	}{{"HTTP server span", httpSpan}, {"gRPC client span", clientSpan}, {"gRPC server span", serverSpan}} {
		if got := c.s.attrs["motor.region"]; got != "vasterbotten" {
			t.Errorf("%s: motor.region %q, want vasterbotten", c.what, got)
		}
	}
	if got := httpSpan.attrs["http.route"]; got != "/v1/{parent=regions/*}/ideas" {
		t.Errorf("HTTP span: http.route %q, want the route template", got)
	}
	// The chain: the caller's span → HTTP → gRPC client → gRPC server →
	// Redis, each the parent of the next.
	caller, _ := hex.DecodeString("00f067aa0ba902b7")
	for _, link := range []struct {
		what           string
		child          *receivedSpan
		parentID, name []byte
	}{
		{"HTTP span under the caller's", httpSpan, caller, nil},
		{"client span under the HTTP span", clientSpan, httpSpan.span.GetSpanId(), nil},
		{"server span under the client span", serverSpan, clientSpan.span.GetSpanId(), nil},
	} {
		if got := link.child.span.GetParentSpanId(); string(got) != string(link.parentID) {
			t.Errorf("%s: parent %x, want %x", link.what, got, link.parentID)
		}
	}
	byID := map[string]*tracepb.Span{}
	for _, s := range spans {
		byID[string(s.span.GetSpanId())] = s.span
	}
	for _, r := range redisSpans {
		under := false
		for p := byID[string(r.span.GetParentSpanId())]; p != nil; p = byID[string(p.GetParentSpanId())] {
			if string(p.GetSpanId()) == string(serverSpan.span.GetSpanId()) {
				under = true
				break
			}
		}
		if !under {
			t.Errorf("Redis span %q is not below the idea service's server span", r.span.GetName())
		}
	}

	// Metrics are on the admin listeners, not on the public port: the
	// Redis pool's, the store's latency by backend and operation, and HTTP
	// requests by route.
	if code, _ := call(t, "GET", gw.url+"/metrics", "", ""); code != 404 {
		t.Errorf("/metrics on the gateway's public port: %d, want 404", code)
	}
	for _, c := range []struct {
		proc *motorProcess
		want []string
	}{
		{ideas, []string{`(?m)^db_client_connections`, `motor_store_operation_duration_seconds_count\{[^}]*store_backend="redis"[^}]*store_operation="commit"`}},
		{gw, []string{`http_server_request_duration_seconds_count\{[^}]*http_route="/v1/\{parent=regions/\*\}/ideas"`}},
	} {
		body := scrape(t, c.proc.admin+"/metrics")
		for _, w := range c.want {
			if !regexp.MustCompile(w).MatchString(body) {
				t.Errorf("%s/metrics lacks %s", c.proc.admin, w)
			}
		}
	}
	if code, _ := call(t, "GET", ideas.admin+"/debug/pprof/cmdline", "", ""); code != 200 {
		t.Errorf("pprof on the admin listener: %d", code)
	}
	gw.stop(t)
	ideas.stop(t)
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
