package rpc

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/innovationsmotorer/motor/internal/admission"
	"github.com/innovationsmotorer/motor/internal/auth"
)

// Admission is what a server admits: a cap on calls in flight (checked
// before anything else, so a full process spends nothing on a call it
// refuses) and a token bucket per verified caller. Health and reflection
// are never refused: probes must answer however busy the process is.
type Admission struct {
	InFlight *admission.InFlight
	Limiter  *admission.Limiter
	// Rates apply to people's tokens; Peers to the coordinator and to other
	// deployments, whose one request fans out to many calls.
	Rates, Peers admission.Rates
	// OnShed, when set, is told of every refusal.
	OnShed func(method, reason string)
}

func (a *Admission) shed(method, reason string) {
	if a.OnShed != nil {
		a.OnShed(method, reason)
	}
}

// shedStream refuses streams over the in-flight cap, as unaryChain.intercept
// refuses unary calls.
func shedStream(a *Admission) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if a == nil || auth.PublicMethod(info.FullMethod) {
			return handler(srv, ss)
		}
		if err := a.acquire(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		defer a.InFlight.Release()
		return handler(srv, ss)
	}
}

// acquire takes a place among the calls in flight, or returns the
// UNAVAILABLE to answer (clients may retry it elsewhere or later). The
// caller releases a place it got.
func (a *Admission) acquire(ctx context.Context, method string) error {
	if a.InFlight.Acquire() {
		return nil
	}
	a.shed(method, admission.ReasonOverloaded)
	return refusal(ctx, codes.Unavailable, admission.ReasonOverloaded, time.Second, "the server is at capacity; retry after a second")
}

// allow rate-limits a verified caller; it runs after authentication, so
// the bucket is the verified caller's: a made-up token never reaches it.
func (a *Admission) allow(ctx context.Context, method string) error {
	if a.Limiter == nil {
		return nil
	}
	id, ok := auth.FromContext(ctx)
	if !ok {
		return nil
	}
	key, rates := "sub:"+id.Region+"/"+id.Subject, a.Rates
	if id.Has(auth.Coordinator) || id.Has(auth.Service) {
		key, rates = "peer:"+id.Deployment+"/"+id.Subject, a.Peers
	}
	if ok, after := a.Limiter.Allow(key, rates); !ok {
		a.shed(method, admission.ReasonRateLimited)
		return refusal(ctx, codes.ResourceExhausted, admission.ReasonRateLimited, after, "too many calls from this caller; slow down and retry later")
	}
	return nil
}

// refusal is a status with ErrorInfo and RetryInfo, and a retry-after
// header for clients that read only metadata.
func refusal(ctx context.Context, code codes.Code, reason string, after time.Duration, msg string) error {
	_ = grpc.SetHeader(ctx, metadata.Pairs("retry-after", strconv.Itoa(admission.RetryAfterSeconds(after))))
	st, err := status.New(code, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: admission.Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(after)},
	)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}
