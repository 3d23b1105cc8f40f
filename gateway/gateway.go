// Package gateway owns Motor's REST front: the grpc-gateway mux built from
// gateway/http.yaml, which dials the services over gRPC so every call passes
// their interceptors (and with them auth); strict protojson; the 1 MiB body
// limit; google.rpc.Status errors mapped to HTTP as docs/architecture.md ("Contracts and REST routes") says; and the
// operational endpoints /healthz, /readyz and /openapi.json. Metrics and
// profiles are on the admin listener, not here (cmd/motor).
package gateway

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/gateway/exports"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// MaxBodyBytes is the largest request body the gateway accepts.
const MaxBodyBytes = 1 << 20

//go:embed openapi/motor.openapi.json
var openAPI []byte

// Upstreams are the gRPC connections of the services behind the gateway, by
// service name ("idea", …). In the all-in-one run they are one connection to
// the process's own listener; in Kubernetes each is a Service address. A
// service without a connection has no routes.
type Upstreams map[string]*grpc.ClientConn

// routes registers each service's REST routes (generated from
// gateway/http.yaml) on a connection.
func routes() map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error {
	return map[string]func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		"idea":        ideav1.RegisterIdeaServiceHandler,
		"needs":       needsv1.RegisterNeedsServiceHandler,
		"funding":     fundingRoutes,
		"partner":     partnerv1.RegisterPartnerServiceHandler,
		"coordinator": coordinatorv1.RegisterCoordinatorServiceHandler,
		"notify":      notifyv1.RegisterNotificationServiceHandler,
		"reports":     reportsv1.RegisterReportServiceHandler,
		"person":      personv1.RegisterPersonServiceHandler,
	}
}

// Services lists the names routes knows.
func Services() []string {
	var out []string
	for name := range routes() {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// AllOn routes every service to one connection: the all-in-one run and tests.
func AllOn(conn *grpc.ClientConn) Upstreams {
	u := Upstreams{}
	for _, name := range Services() {
		u[name] = conn
	}
	return u
}

// Config is what the gateway is built from.
type Config struct {
	Upstreams Upstreams
	Telemetry *telemetry.Telemetry
	Logger    *slog.Logger
	// Ready reports whether the deployment can serve (stores reachable,
	// services healthy); /readyz answers 503 with its error otherwise, so
	// the error names what is down and nothing more (no addresses).
	Ready func(context.Context) error
	// DefaultTimeout is the deadline of a call that carries no
	// Grpc-Timeout header; zero leaves such calls without one.
	DefaultTimeout time.Duration
	// CORS lists the origins whose pages may call the gateway.
	CORS CORS
	// Version is the build's version (telemetry.BuildVersion): /openapi.json
	// carries it as info.version, so a generated client can say which build
	// it was made from. Empty keeps the document's own (the API's major
	// version).
	Version string
}

// New builds the gateway's HTTP handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.CORS.validate(); err != nil {
		return nil, err
	}
	table, err := queryRoutes(openAPI)
	if err != nil {
		return nil, err
	}
	api, err := restMux(ctx, cfg.Upstreams, logger, table)
	if err != nil {
		return nil, err
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	root.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := cfg.Ready(ctx); err != nil {
				// /readyz is public: it names what is down, never where.
				msg := err.Error()
				if rpc.Leaky(msg) {
					logger.WarnContext(ctx, "not ready", "error", msg)
					msg = "a dependency is down (the log says which)"
					if errors.Is(err, store.ErrUnavailable) {
						msg = "store unreachable"
					}
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "not ready: %s\n", msg)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	docsPage, docsVendor, err := docsHandler()
	if err != nil {
		return nil, fmt.Errorf("docsHandler: %w", err)
	}
	root.Handle("GET /docs", docsPage)
	root.Handle("GET /docs/vendor/", docsVendor)
	doc, err := versioned(openAPI, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("versioned: %w", err)
	}
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	// Exports stream files rather than JSON, so they are plain routes
	// beside the generated ones, calling the same services.
	root.Handle(exports.Pattern, exports.Handler(cfg.Upstreams, logger))
	root.Handle(exports.ProgrammePattern, exports.ProgrammeHandler(cfg.Upstreams))
	root.Handle("/", rejectUnknownQuery(defaultDeadline(limitBody(api), cfg.DefaultTimeout)))

	// The HTTP conventions, outermost first: request id, CORS, HEAD and
	// Allow, gzip, conditional requests and the etag, then the routes.
	var h http.Handler = withRequestID(withCORS(cfg.CORS)(headAndAllow(table)(compressGzip(
		conditional(stripMotorMetadata(idempotencyKey(table)(muxRoute(root))))))))
	if t := cfg.Telemetry; t != nil {
		h = otelhttp.NewHandler(withRoute(h), "gateway",
			otelhttp.WithTracerProvider(t.TracerProvider),
			otelhttp.WithMeterProvider(t.MeterProvider),
			otelhttp.WithPropagators(t.Propagator),
			otelhttp.WithSpanNameFormatter(spanName),
		)
	}
	return h, nil
}

// restMux is the REST routes of the upstreams (see byService).
func restMux(ctx context.Context, upstreams Upstreams, logger *slog.Logger, table []queryRoute) (byService, error) {
	muxOptions := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithErrorHandler(errorHandler(logger)),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithMiddlewares(routeMiddleware),
		runtime.WithOutgoingHeaderMatcher(noOutgoingMetadata),
		runtime.WithIncomingHeaderMatcher(incomingMetadata),
	}
	// Every route is on one mux; each service's are also on a mux of their
	// own, which a request goes to when the route table says whose it is
	// (byService).
	api := byService{all: runtime.NewServeMux(muxOptions...), services: map[string]*runtime.ServeMux{}, routes: routeIndex(table)}
	for name, register := range routes() {
		if conn := upstreams[name]; conn != nil {
			own := runtime.NewServeMux(muxOptions...)
			for _, mux := range []*runtime.ServeMux{api.all, own} {
				if err := register(ctx, mux, conn); err != nil {
					return byService{}, fmt.Errorf("register %s routes: %w", name, err)
				}
			}
			api.services[name] = own
		}
	}
	return api, nil
}

// limitBody answers 413 for bodies over MaxBodyBytes. It reads the body up
// front (bounded) because a limit hit halfway through decoding would surface
// as a 400 from the JSON decoder.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE",
				fmt.Sprintf("request body is %d bytes; at most %d are accepted", r.ContentLength, MaxBodyBytes))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
			_ = r.Body.Close()
			if err != nil {
				writeStatus(w, http.StatusBadRequest, codes.InvalidArgument, "BODY_UNREADABLE", "request body could not be read: "+err.Error())
				return
			}
			if len(b) > MaxBodyBytes {
				writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE",
					fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		next.ServeHTTP(w, r)
	})
}

// errorHandler is grpc-gateway's default (google.rpc.Status JSON, codes
// mapped to HTTP as the REST contract says) with what reaches the caller
// guarded as the services guard it (rpc.GuardError: no internal detail, the
// trace id, a caller that went away is CANCELLED), RFC 6750's
// WWW-Authenticate on 401 and Retry-After on 429 and 503.
func errorHandler(logger *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			writeStatus(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, "BODY_TOO_LARGE", err.Error())
			return
		}
		err = rpc.GuardError(ctx, logger.With("request_id", RequestID(ctx)), r.Method+" "+r.URL.Path, err)
		st := withErrorInfo(status.Convert(err))
		ew := &errorHeaders{ResponseWriter: w, st: st}
		if st.Code() == codes.Aborted && ifMatchUsed(ctx) {
			// The etag came from If-Match: a stale one is a failed precondition.
			ew.code = http.StatusPreconditionFailed
		}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, ew, r, st.Err())
	}
}

// routingErrorHandler answers unknown routes and methods with the same
// google.rpc.Status JSON as every other error.
func routingErrorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		writeStatus(w, httpStatus, codes.NotFound, "ROUTE_NOT_FOUND", fmt.Sprintf("no route %s %s (see /openapi.json)", r.Method, r.URL.Path))
	case http.StatusMethodNotAllowed:
		writeStatus(w, httpStatus, codes.Unimplemented, "METHOD_NOT_ALLOWED", fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
	default:
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
	}
}
