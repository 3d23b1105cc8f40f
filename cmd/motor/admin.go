package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// version is set by the linker in release builds
// (-ldflags "-X main.version=v1.2.3"); otherwise telemetry.BuildVersion
// reads what the go command stamped into the binary.
var version string

// setupTelemetry builds the process's telemetry, named after its target
// (telemetry.ServiceName), and makes it OpenTelemetry's global so the Redis
// instrumentation reports through it too.
func setupTelemetry(ctx context.Context, c serveConfig) (*telemetry.Telemetry, error) {
	tel, err := telemetry.Setup(ctx, telemetry.Options{
		Service:    telemetry.ServiceName(c.target),
		Version:    telemetry.BuildVersion(version),
		Target:     c.target,
		Deployment: c.name,
		Regions:    c.regions.IDs(),

		TraceSampleRatio: c.traceSample,
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry.Setup: %w", err)
	}
	tel.SetGlobal()
	return tel, nil
}

// storeBackend names the store's backend in its metrics.
func storeBackend(c serveConfig) string {
	if c.store == "bbolt" {
		return "bbolt"
	}
	return "redis"
}

// adminHandler serves what an operator reads and the public must not:
// Prometheus metrics and the Go profiler.
func adminHandler(tel *telemetry.Telemetry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.Metrics)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// serveAdmin serves adminHandler on addr until ctx ends; the channel closes
// when it has stopped.
func serveAdmin(ctx context.Context, addr string, tel *telemetry.Telemetry, logger *slog.Logger, stdout io.Writer) (<-chan struct{}, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen admin: %w", err)
	}
	hs := &http.Server{
		Handler:           adminHandler(tel),
		ReadHeaderTimeout: 10 * time.Second,
		// A CPU profile or an execution trace takes its seconds to write.
		WriteTimeout: 5 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("admin listener failed", "error", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = hs.Close()
	}()
	fmt.Fprintf(stdout, "motor: admin http://%s (/metrics, /debug/pprof/)\n", lis.Addr())
	return done, nil
}
