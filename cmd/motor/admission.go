package main

import (
	"log/slog"
	"net/http"

	"github.com/innovationsmotorer/motor/internal/admission"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
)

// grpcAdmission is the gRPC servers' admission from the deployment's limits.
func grpcAdmission(l config.Limits) *rpc.Admission {
	return &rpc.Admission{
		InFlight: admission.NewInFlight(l.MaxInFlightGRPC),
		Limiter:  admission.NewLimiter(),
		Rates:    admission.Rates{PerSecond: l.RatePerSecond, Burst: l.Burst},
		Peers:    admission.Rates{PerSecond: l.RatePerSecond * l.PeerFactor, Burst: int(float64(l.Burst) * l.PeerFactor)},
	}
}

// httpAdmission wraps the whole HTTP server (the REST gateway and whatever
// else is mounted on it) in the deployment's limits. Probes and metrics are
// never refused.
func httpAdmission(h http.Handler, l config.Limits, logger *slog.Logger) http.Handler {
	return admission.HTTP(h, admission.HTTPConfig{
		Limiter:  admission.NewLimiter(),
		Rates:    admission.Rates{PerSecond: l.RatePerSecond, Burst: l.Burst},
		InFlight: admission.NewInFlight(l.MaxInFlightHTTP),
		Exempt:   []string{"/healthz", "/readyz", "/metrics"},
		OnShed: func(r *http.Request, reason string) {
			logger.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "reason", reason)
		},
	})
}
