package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// unaryChain is every unary call's way through the server, as one
// interceptor: recover a panic, shed over the in-flight cap, log what the
// caller was finally told, guard errors before they are logged, admit the
// caller at the gate, rate-limit the verified caller, then check what it
// sent. Order matters, and is the order of the steps below. One function
// rather than seven chained interceptors: each link cost a closure and
// stack per call, and each step read the same method and context again.
type unaryChain struct {
	logger    *slog.Logger
	admission *Admission
	gate      *auth.Gate
}

func (c unaryChain) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	method := info.FullMethod
	// A panic anywhere below is answered INTERNAL; it skips the log line
	// and the guard, as it did when recovery was the outermost interceptor.
	defer func() {
		if r := recover(); r != nil {
			c.logger.ErrorContext(ctx, "panic in handler", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, status.Error(codes.Internal, "internal error")
		}
	}()
	// Health and reflection are never refused: probes must answer however
	// busy the process is.
	admitted := c.admission != nil && !auth.PublicMethod(method)
	if admitted {
		if err := c.admission.acquire(ctx, method); err != nil {
			return nil, err
		}
		defer c.admission.InFlight.Release()
	}
	start := time.Now()
	resp, err = c.admitted(ctx, req, method, handler, admitted)
	if err != nil {
		// The guard is the last word on what a failed call tells its
		// caller (GuardError).
		resp, err = nil, GuardError(ctx, c.logger, method, err)
	}
	logCall(ctx, c.logger, method, start, err)
	return resp, err
}

// admitted is the call past the admission cap: the gate, the caller's rate,
// the request's filter, then the handler.
func (c unaryChain) admitted(ctx context.Context, req any, method string, handler grpc.UnaryHandler, limited bool) (any, error) {
	ctx, err := c.gate.Admit(ctx, method, req)
	if err != nil {
		return nil, err
	}
	if limited {
		if err := c.admission.allow(ctx, method); err != nil {
			return nil, err
		}
	}
	if err := checkRequest(req, method); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// logCall writes one line per call. It runs outside the gate so refused
// calls are logged too. A call that succeeded is a debug line: at info every
// call cost a JSON line (a few % of a small call's CPU) and said nothing the
// metrics do not; refusals and failures stay at info and above.
func logCall(ctx context.Context, logger *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch code {
	case codes.OK:
		level = slog.LevelDebug
	case codes.Canceled:
		// The caller went away: worth a line, not an alert.
	case codes.Internal, codes.Unknown, codes.DataLoss:
		level = slog.LevelError
	case codes.Unavailable, codes.DeadlineExceeded:
		level = slog.LevelWarn
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := []any{"method", method, "code", code.String(), "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil && level >= slog.LevelWarn {
		attrs = append(attrs, "error", err.Error())
	}
	logger.Log(ctx, level, "grpc call", attrs...)
}
