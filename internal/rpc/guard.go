package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// guardStream is GuardError on what a stream handler returns.
func guardStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if err == nil {
			return nil
		}
		return GuardError(ss.Context(), logger, info.FullMethod, err)
	}
}

// deadlineSlack is how close to its deadline a cancelled call counts as
// one whose deadline passed.
const deadlineSlack = 100 * time.Millisecond

// leaky matches what a lower layer says and a caller must not see: network
// addresses, dialer and transport errors, nested gRPC errors.
var leaky = regexp.MustCompile(`(?i)\d{1,3}(\.\d{1,3}){3}(:\d+)?|\[[0-9a-f:]+\](:\d+)?|localhost:\d+|dial (tcp|unix)|connection refused|connection reset|broken pipe|i/o timeout|no such host|transport:|desc = |rpc error:|redis:|bolt`)

// Leaky reports whether an error message carries a lower layer's detail
// (an address, a dial or transport error) that must not reach a caller.
func Leaky(msg string) bool { return leaky.MatchString(msg) }

// TraceID is the id of the trace ctx is part of, or "" outside one.
func TraceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// GuardError is the last word on what a failed call tells its caller:
//   - a call whose caller went away or whose deadline passed is CANCELLED or
//     DEADLINE_EXCEEDED, whatever the handler made of the context error;
//   - an internal failure is logged with its detail and the trace id, and
//     answered INTERNAL with that trace id and nothing else;
//   - an UNAVAILABLE or DEADLINE_EXCEEDED keeps its own words unless they
//     carry a lower layer's detail (addresses, dial errors), which is
//     logged and replaced.
//
// The caller keeps the ErrorInfo (reason and domain), so a portal can still
// tell a ledger outage from a store outage. Every unary call and stream
// passes through it (unaryChain, guardStream); the gateway
// applies it to what reaches it from its own gRPC clients too (a dial
// error names the service's address).
func GuardError(ctx context.Context, logger *slog.Logger, method string, err error) error {
	st, isStatus := status.FromError(err)
	code := st.Code()
	if ctxErr := ctx.Err(); ctxErr != nil && shadowed(code, isStatus) {
		// Whatever went wrong inside, the caller stopped waiting: say so.
		// A client whose deadline passed resets the stream, and that
		// reaches the server a little before its own timer (the server's
		// deadline counts from when the call arrived): a cancel that close
		// to the deadline is the deadline.
		if dl, ok := ctx.Deadline(); errors.Is(ctxErr, context.Canceled) && (!ok || time.Until(dl) > deadlineSlack) {
			return status.Error(codes.Canceled, "the call was cancelled by its caller")
		}
		return status.Error(codes.DeadlineExceeded, "the call's deadline passed before it finished")
	}
	if !isStatus {
		switch {
		case errors.Is(err, context.Canceled):
			return status.Error(codes.Canceled, "the call was cancelled")
		case errors.Is(err, context.DeadlineExceeded):
			return status.Error(codes.DeadlineExceeded, "a deadline passed before the call finished")
		}
	}
	traceID := TraceID(ctx)
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss:
		logger.ErrorContext(ctx, "internal error", "method", method, "code", code.String(), "error", st.Message(), "trace_id", traceID)
		return scrubbed(st, codes.Internal, "internal error", traceID)
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		if leaky.MatchString(st.Message()) {
			logger.WarnContext(ctx, "dependency failure", "method", method, "code", code.String(), "error", st.Message(), "trace_id", traceID)
			what := "the service is unavailable; try again"
			if code == codes.DeadlineExceeded {
				what = "a dependency did not answer in time"
			}
			return scrubbed(st, code, what, traceID)
		}
	}
	return err
}

// shadowed reports whether an error code can be the handler's reading of
// a context that ended (rather than an answer it meant).
func shadowed(code codes.Code, isStatus bool) bool {
	if !isStatus {
		return true
	}
	switch code {
	case codes.Internal, codes.Unknown, codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// scrubbed is st with message msg and the trace id, keeping only the
// ErrorInfo (reason and domain, no metadata) of st's details.
func scrubbed(st *status.Status, code codes.Code, msg, traceID string) error {
	if traceID != "" {
		msg = fmt.Sprintf("%s (trace %s)", msg, traceID)
	}
	out := status.New(code, msg)
	var keep []protoadapt.MessageV1
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			keep = append(keep, &errdetails.ErrorInfo{Reason: d.GetReason(), Domain: d.GetDomain()})
		case *errdetails.RetryInfo:
			keep = append(keep, d)
		}
	}
	if traceID != "" {
		keep = append(keep, &errdetails.RequestInfo{RequestId: traceID})
	}
	if len(keep) > 0 {
		if withDetails, err := out.WithDetails(keep...); err == nil {
			out = withDetails
		}
	}
	return out.Err()
}
