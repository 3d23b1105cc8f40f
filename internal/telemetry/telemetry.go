// Package telemetry owns Motor's OpenTelemetry set-up: trace and meter
// providers whose resource names the target, its version and the regions it
// serves (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it), W3C
// trace context propagation, gRPC stats handlers that put the region a call
// is about on its span, a Prometheus /metrics handler that always works,
// OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set, and JSON logs that
// carry the trace and span ids of the call they were written in.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry is what the servers and clients of one process are instrumented with.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
	// Resource describes the process in every span and metric.
	Resource *resource.Resource
	// Metrics serves the Prometheus text format of every meter.
	Metrics  http.Handler
	shutdown []func(context.Context) error
}

// Options name what the telemetry describes.
type Options struct {
	Service string // service.name, e.g. "motor-idea" (see ServiceName)
	Version string // service.version (see BuildVersion)
	// Target is what the process runs, as -target said ("all", "idea",
	// "idea,needs"): motor.target.
	Target string
	// Deployment is the deployment's name ("vasterbotten", "national"):
	// motor.deployment.
	Deployment string
	// Regions are the regions the deployment serves: motor.regions. A span
	// about one of them carries it as motor.region.
	Regions []string
	// TraceSampleRatio is the share of traces started here that are
	// recorded (0 to 1); a call whose caller's trace was sampled is always
	// recorded, one whose caller's was not never is (parent-based). Nil
	// keeps the SDK's default: OTEL_TRACES_SAMPLER, else every trace.
	TraceSampleRatio *float64
}

// Resource attributes and span attributes of Motor's own.
const (
	AttrTarget     = attribute.Key("motor.target")
	AttrDeployment = attribute.Key("motor.deployment")
	AttrRegions    = attribute.Key("motor.regions")
	AttrRegion     = attribute.Key("motor.region")
)

// Setup builds the providers. OTLP exporters are added only when
// OTEL_EXPORTER_OTLP_ENDPOINT (or the traces/metrics variants) is set, so a
// laptop run needs no collector.
func Setup(ctx context.Context, o Options) (*Telemetry, error) {
	res, err := newResource(ctx, o)
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("prometheus.New: %w", err)
	}
	t := &Telemetry{
		Resource:   res,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Metrics:    promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}
	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if r := o.TraceSampleRatio; r != nil {
		traceOpts = append(traceOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(min(max(*r, 0), 1)))))
	}

	if otlpEnabled("TRACES") {
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlptracegrpc.New: %w", err)
		}
		traceOpts = append(traceOpts, sdktrace.WithBatcher(exp))
	}
	if otlpEnabled("METRICS") {
		exp, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("otlpmetricgrpc.New: %w", err)
		}
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(15*time.Second))))
	}
	tp := sdktrace.NewTracerProvider(traceOpts...)
	mp := sdkmetric.NewMeterProvider(meterOpts...)
	t.TracerProvider, t.MeterProvider = tp, mp
	t.shutdown = append(t.shutdown, tp.Shutdown, mp.Shutdown)
	return t, nil
}

// newResource describes the process. The environment comes last so that
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override what Motor says of
// itself, as the specification asks; the SDK's defaults come first.
// cloud.region is left to the environment: it is the cloud's region (a
// data centre), not the county regions a deployment serves, which are
// motor.regions.
func newResource(ctx context.Context, o Options) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{semconv.ServiceName(o.Service), AttrTarget.String(o.Target)}
	if o.Version != "" {
		attrs = append(attrs, semconv.ServiceVersion(o.Version))
	}
	if o.Deployment != "" {
		attrs = append(attrs, AttrDeployment.String(o.Deployment))
	}
	if len(o.Regions) > 0 {
		attrs = append(attrs, AttrRegions.StringSlice(o.Regions))
	}
	own, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("resource.New: %w", err)
	}
	res, err := resource.Merge(resource.Default(), own)
	if err != nil {
		return nil, fmt.Errorf("resource.Merge: %w", err)
	}
	return res, nil
}

// ServiceName is service.name for a -target: "motor-idea" for one target,
// "motor-national" for the national parts, and "motor" for a process that
// runs several (the all-in-one run), whose motor.target says which.
// OTEL_SERVICE_NAME overrides it (see Setup).
func ServiceName(target string) string {
	if target == "" || strings.Contains(target, ",") || target == "all" {
		return "motor"
	}
	return "motor-" + strings.TrimSpace(target)
}

// BuildVersion is service.version: the version the linker was given (set
// means -ldflags "-X main.version=…" was used), else the module version the
// go command stamped into the binary (a tag, or a pseudo-version of the
// commit), else the VCS revision, else "".
func BuildVersion(linked string) string {
	if linked != "" {
		return linked
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev != "" && modified == "true" {
		rev += "-dirty"
	}
	return rev
}

// SetGlobal installs the providers and the propagator as OpenTelemetry's
// globals, for libraries that take no provider (the Redis instrumentation
// reads them when a client is instrumented, so this comes before any store
// is opened).
func (t *Telemetry) SetGlobal() {
	otel.SetTracerProvider(t.TracerProvider)
	otel.SetMeterProvider(t.MeterProvider)
	otel.SetTextMapPropagator(t.Propagator)
}

func otlpEnabled(signal string) bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// Shutdown flushes the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// NewLogger returns a JSON slog logger that adds trace_id and span_id to every
// record written with a context that carries a span.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(traceHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}
