package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/innovationsmotorer/motor/internal/admission"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/portal"
)

// shedCounter counts what admission turned away, by layer and reason
// (motor_admission_refused_total on /metrics).
type shedCounter struct {
	counter metric.Int64Counter
	logger  *slog.Logger
}

func newShedCounter(tel *telemetry.Telemetry, logger *slog.Logger) *shedCounter {
	r := &shedCounter{logger: logger}
	if tel != nil && tel.MeterProvider != nil {
		c, err := tel.MeterProvider.Meter("motor/admission").Int64Counter("motor.admission.refused",
			metric.WithDescription("Requests and calls refused by admission control (over the in-flight cap or the caller's rate)."))
		if err == nil {
			r.counter = c
		}
	}
	return r
}

// count records one refusal; the log line is at debug, since under a flood
// a line per refusal would be a flood of its own.
func (r *shedCounter) count(ctx context.Context, layer, what, reason string) {
	if r.counter != nil {
		r.counter.Add(ctx, 1, metric.WithAttributes(attribute.String("layer", layer), attribute.String("reason", reason)))
	}
	r.logger.DebugContext(ctx, "refused", "layer", layer, "what", what, "reason", reason)
}

// grpcAdmission is the gRPC servers' admission from the deployment's limits.
func grpcAdmission(l config.Limits, r *shedCounter) *rpc.Admission {
	return &rpc.Admission{
		InFlight: admission.NewInFlight(l.MaxInFlightGRPC),
		Limiter:  admission.NewLimiter(),
		Rates:    admission.Rates{PerSecond: l.RatePerSecond, Burst: l.Burst},
		Peers:    admission.Rates{PerSecond: l.RatePerSecond * l.PeerFactor, Burst: int(float64(l.Burst) * l.PeerFactor)},
		OnShed: func(method, reason string) {
			r.count(context.Background(), "grpc", method, reason)
		},
	}
}

// httpAdmission wraps the whole HTTP server (the REST gateway and whatever
// else is mounted on it) in the deployment's limits. Probes and metrics are
// never refused.
func httpAdmission(h http.Handler, l config.Limits, r *shedCounter) http.Handler {
	return admission.HTTP(h, admission.HTTPConfig{
		Limiter:  admission.NewLimiter(),
		Rates:    admission.Rates{PerSecond: l.RatePerSecond, Burst: l.Burst},
		InFlight: admission.NewInFlight(l.MaxInFlightHTTP),
		Exempt:   []string{"/healthz", "/readyz", "/metrics"},
		Caller:   portalSession,
		OnShed: func(req *http.Request, reason string) {
			r.count(req.Context(), "http", req.Method+" "+req.URL.Path, reason)
		},
	})
}

// portalSession names a portal user by their session cookie, so that people
// signed in to the portal each get their own bucket instead of sharing the
// one of the address they come from (behind an ingress, everyone's). The
// cookie is sealed by the portal; one that does not open buys a bucket of
// its own and then a sign-in page, and the in-flight cap still holds.
func portalSession(r *http.Request) string {
	c, err := r.Cookie(portal.SessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(c.Value))
	return "session:" + hex.EncodeToString(sum[:12])
}
