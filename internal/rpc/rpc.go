// Package rpc owns how Motor's gRPC servers and clients are built: every
// server gets the same chain (panic recovery, admission control, structured
// logging, the error guard, bearer-token authentication, filter checks),
// OpenTelemetry stats handlers, message-size limits, keepalive, the
// grpc.health.v1 service and reflection, and a graceful shutdown that drains
// calls in flight; every client gets keepalive and a bounded reconnect
// backoff. In-process targets use the same servers over real
// listeners, so no call skips the chain. Between deployments, servers and
// clients speak mTLS with certificates of one CA (tls.go).
package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// streamWorkers is how many goroutines the server keeps to run calls on.
// A call on a fresh goroutine grows its stack through grpc-go, the
// interceptor and the stats handlers every time (copying stacks was a tenth
// of a small read's CPU); a worker's stack stays grown. 64 covers the calls
// in flight of a busy process; a call beyond them gets a goroutine of its
// own, as every call did before. grpc-go renews a worker after 65 536 calls,
// so a stack grown once does not stay large.
const streamWorkers = 64

// MaxMessageBytes bounds a request or response message. The gateway already
// refuses HTTP bodies over 1 MiB; gRPC peers get a little more room for
// list responses.
const MaxMessageBytes = 4 << 20

// ServerConfig is what a server needs to check callers and report on itself.
type ServerConfig struct {
	Logger    *slog.Logger
	Verifier  *auth.Verifier
	Telemetry *telemetry.Telemetry
	// TLS, when set, makes the listener mTLS-only (see ServerTLS), and calls
	// carrying a verified client certificate follow auth.PeerPolicy. Nil
	// means plain text and bearer tokens only.
	TLS *tls.Config
	// Self is this deployment's name, as its certificate says.
	Self string
	// Peers are the deployments this one knows, by name: which regions each
	// may act for. Peers not listed serve the region they are named after.
	Peers map[string]auth.Peer
	// Credential is this process's service credential: its services call
	// each other with it as themselves (see auth.Table). Nil accepts none.
	Credential *auth.ServiceCredential
	// Rules replaces the access table (auth.Table) for tests that serve
	// other services; nil in production.
	Rules map[string]auth.Rule
	// Admission, when set, caps the calls in flight and rate-limits each
	// caller (admission.go). Nil admits everything.
	Admission *Admission
}

// Server is a gRPC server with its health service.
type Server struct {
	GRPC   *grpc.Server
	Health *health.Server
	logger *slog.Logger
	inproc inProcess
}

// NewServer builds a server with the full interceptor chain. Register
// services on s.GRPC before calling Serve.
func NewServer(cfg ServerConfig) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var peers *auth.PeerPolicy
	if cfg.TLS != nil {
		peers = &auth.PeerPolicy{Self: cfg.Self, Peers: cfg.Peers}
	}
	// One gate admits every call: who calls, and whether the access table
	// lets that kind of caller make that call.
	gate := auth.NewGate(auth.GateConfig{
		Verifier: cfg.Verifier, Peers: peers, Credential: cfg.Credential, Rules: cfg.Rules,
		Logger: logger, Meter: meterOf(cfg.Telemetry),
	})
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		// One interceptor runs the unary chain's steps in order (unary.go).
		grpc.UnaryInterceptor(unaryChain{logger: logger, admission: cfg.Admission, gate: gate}.intercept),
		grpc.ChainStreamInterceptor(
			recoverStream(logger),
			shedStream(cfg.Admission),
			guardStream(logger),
			gate.Stream(),
		),
	}
	opts = append(opts, grpc.NumStreamWorkers(streamWorkers))
	opts = append(opts, serverKeepalive()...)
	if cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
	}
	if t := cfg.Telemetry; t != nil {
		opts = append(opts, grpc.StatsHandler(t.ServerHandler()))
	}
	s := &Server{GRPC: grpc.NewServer(opts...), Health: health.NewServer(), logger: logger, inproc: inProcess{lis: bufconn.Listen(inProcessBuffer)}}
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	reflection.Register(s.GRPC)
	return s
}

func meterOf(t *telemetry.Telemetry) metric.MeterProvider {
	if t == nil {
		return nil
	}
	return t.MeterProvider
}

// Serve serves on lis until ctx is done, then stops taking new calls, lets
// the calls in flight finish for up to drain, and returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener, drain time.Duration) error {
	return s.ServeDrain(ctx, lis, func() time.Duration { return drain })
}

// ServeDrain is Serve with the drain time asked for when ctx is done: what
// is left of a process's drain after its HTTP server finished.
func (s *Server) ServeDrain(ctx context.Context, lis net.Listener, drainLeft func() time.Duration) error {
	errc := make(chan error, 2)
	const serving = 2
	go func() { errc <- s.GRPC.Serve(lis) }()
	go func() { errc <- s.GRPC.Serve(s.inProcessListener()) }()
	select {
	case err := <-errc:
		s.GRPC.Stop()
		for range serving - 1 {
			<-errc
		}
		return fmt.Errorf("grpc.Serve: %w", err)
	case <-ctx.Done():
	}
	s.Health.Shutdown() // peers and probes see NOT_SERVING while we drain
	drain := drainLeft()
	done := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(drain):
		s.logger.Warn("grpc drain timed out, stopping", "drain", drain)
		s.GRPC.Stop()
	}
	var first error
	for range serving {
		if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) && first == nil {
			first = fmt.Errorf("grpc.Serve: %w", err)
		}
	}
	return first
}

// Dial opens a client connection with the telemetry stats handler, so trace
// context crosses to the callee. It speaks plain text unless opts carry
// WithTLS.
func Dial(target string, t *telemetry.Telemetry, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	all := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes)),
	}
	all = append(all, clientResilience()...)
	if t != nil {
		all = append(all, grpc.WithStatsHandler(t.ClientHandler()))
	}
	conn, err := grpc.NewClient(target, append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("grpc.NewClient %s: %w", target, err)
	}
	return conn, nil
}

func recoverStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				logger.ErrorContext(ss.Context(), "panic in stream handler", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(srv, ss)
	}
}

// ServeHealth serves only grpc.health.v1, in plain text, on lis, reporting
// what s.Health reports. It is for probes that cannot present a client
// certificate (the kubelet's gRPC probe) while the service port requires
// mTLS; it carries nothing but health, so it needs no identity.
func (s *Server) ServeHealth(ctx context.Context, lis net.Listener) error {
	hs := grpc.NewServer(grpc.MaxRecvMsgSize(4 << 10))
	healthpb.RegisterHealthServer(hs, s.Health)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("health grpc.Serve: %w", err)
	case <-ctx.Done():
	}
	hs.Stop()
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("health grpc.Serve: %w", err)
	}
	return nil
}
