package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
)

func storeName(c serveConfig) string {
	if c.store == "bbolt" {
		return "bbolt " + filepath.Join(c.data, "motor.db")
	}
	return "redis"
}

func openStore(ctx context.Context, c serveConfig) (store.Store, error) {
	if c.store == "bbolt" {
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		st, err := boltstore.Open(filepath.Join(c.data, "motor.db"))
		if err != nil {
			return nil, fmt.Errorf("boltstore.Open: %w", err)
		}
		return st, nil
	}
	st, err := redisstore.Open(ctx, c.store)
	if err != nil {
		return nil, fmt.Errorf("redisstore.Open: %w", err)
	}
	return st, nil
}

// storeWatch is how often watchStore pings the store: rarely while it
// answers, often while it does not, so the services report SERVING again
// soon after the store is back.
type storeWatch struct {
	healthy, unhealthy, timeout time.Duration
}

func (w storeWatch) withDefaults() storeWatch {
	if w.healthy <= 0 {
		w.healthy = 5 * time.Second
	}
	if w.unhealthy <= 0 {
		w.unhealthy = 250 * time.Millisecond
	}
	if w.timeout <= 0 {
		w.timeout = 2 * time.Second
	}
	return w
}

// watchStore reports the services NOT_SERVING over grpc.health.v1 while the
// store does not answer, so a gateway or probe in another process sees it.
func watchStore(ctx context.Context, st store.Store, h *health.Server, logger *slog.Logger, every storeWatch, services ...string) {
	every = every.withDefaults()
	healthy := true
	for {
		wait := every.healthy
		if !healthy {
			wait = every.unhealthy
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		pctx, cancel := context.WithTimeout(ctx, every.timeout)
		err := st.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if (err == nil) == healthy {
			continue
		}
		healthy = err == nil
		state := healthpb.HealthCheckResponse_SERVING
		if !healthy {
			state = healthpb.HealthCheckResponse_NOT_SERVING
			logger.Warn("store unreachable: reporting NOT_SERVING", "error", err)
		} else {
			logger.Info("store reachable again: reporting SERVING")
		}
		for _, s := range services {
			h.SetServingStatus(s, state)
		}
	}
}

// readiness: ready when the store answers (if this process has one) and
// every service behind the gateway reports SERVING. /readyz is public, so
// the error names what is down and never where it is; the detail goes to
// the log.
func readiness(st store.Store, upstreams gateway.Upstreams, logger *slog.Logger) func(context.Context) error {
	healthName := map[string]string{}
	for _, svc := range allServices() {
		healthName[svc.name] = svc.healthName
	}
	return func(ctx context.Context) error {
		if st != nil {
			if err := st.Ping(ctx); err != nil {
				logger.DebugContext(ctx, "not ready: store", "error", err)
				return errors.New("store unreachable")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(upstreams)) {
			resp, err := healthpb.NewHealthClient(upstreams[name]).Check(ctx, &healthpb.HealthCheckRequest{Service: healthName[name]})
			if err != nil {
				logger.DebugContext(ctx, "not ready: service", "service", name, "error", err)
				return fmt.Errorf("%s service unreachable", name)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s service %s", name, resp.GetStatus())
			}
		}
		return nil
	}
}
