package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/innovationsmotorer/motor/gateway"
)

// startHTTP serves the gateway and the portal, whichever this process runs,
// on -http and returns its URL ("" when it runs neither).
func (e *serveEnv) startHTTP(ctx context.Context) (string, error) {
	c := e.c
	if !c.runs("gateway") && !c.runs("portal") {
		return "", nil
	}
	upstreams := gateway.Upstreams{}
	for _, name := range gateway.Services() {
		if !c.runs(name) && c.upstreams[name] == "" && c.upstream == "" {
			// Neither here nor anywhere we were told of: no routes,
			// rather than routes that answer Unimplemented.
			continue
		}
		conn, err := e.conns.get(name)
		if err != nil {
			return "", err
		}
		upstreams[name] = conn
	}
	h, err := gateway.New(ctx, gateway.Config{
		Upstreams:      upstreams,
		Telemetry:      e.tel,
		Logger:         e.logger,
		Ready:          readiness(e.st, upstreams, e.logger),
		DefaultTimeout: time.Duration(c.limits.DefaultTimeout),
		CORS:           gateway.CORS(c.cors),
	})
	if err != nil {
		return "", fmt.Errorf("gateway.New: %w", err)
	}
	lis, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		return "", fmt.Errorf("listen HTTP: %w", err)
	}
	httpURL := "http://" + lis.Addr().String()
	if h, err = withPortal(ctx, c, h, e.conns, e.devSigner, e.logger, httpURL, e.stdout); err != nil {
		return "", fmt.Errorf("portal: %w", err)
	}
	hs := &http.Server{
		Handler:           httpAdmission(h, c.limits, e.refused),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(e.logger.Handler(), slog.LevelWarn),
	}
	e.life.serveHTTP(hs, lis, e.logger)
	fmt.Fprintf(e.stdout, "motor: gateway %s (try %s/healthz)\n", httpURL, httpURL)
	return httpURL, nil
}
