package rpc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// TestTraceContextCrossesCalls: a call made inside a span arrives with that
// span's trace, so one trace shows a request and every call it fans out to,
// also from one deployment to another.
func TestTraceContextCrossesCalls(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel := &telemetry.Telemetry{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		MeterProvider:  noop.NewMeterProvider(),
		Propagator:     propagation.TraceContext{},
	}
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), Telemetry: tel})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := rpc.Dial(lis.Addr().String(), tel)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	parentCtx, parent := tel.TracerProvider.Tracer("test").Start(t.Context(), "dashboard request")
	if _, err := healthpb.NewHealthClient(conn).Check(parentCtx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	parent.End()

	want := parent.SpanContext().TraceID()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var server trace.SpanContext
		for _, s := range spans.Ended() {
			if s.SpanKind() == trace.SpanKindServer {
				server = s.SpanContext()
			}
		}
		if server.IsValid() {
			if server.TraceID() != want {
				t.Fatalf("server span in trace %s, want the caller's %s", server.TraceID(), want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no server span recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
