package gateway

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/admission"
)

// errorHeaders sets the headers an error answer owes its client just before
// the status line goes out: grpc-gateway would put the status message in
// WWW-Authenticate, and says nothing of when to retry.
type errorHeaders struct {
	http.ResponseWriter
	st   *status.Status
	code int // replaces the status code when set
}

func (e *errorHeaders) WriteHeader(code int) {
	h := e.Header()
	switch e.st.Code() {
	case codes.Unauthenticated:
		h.Set("WWW-Authenticate", wwwAuthenticate(e.st))
	case codes.ResourceExhausted, codes.Unavailable:
		after := time.Second
		if d, ok := admission.RetryDelay(e.st); ok {
			after = d
		}
		h.Set("Retry-After", strconv.Itoa(admission.RetryAfterSeconds(after)))
	}
	if e.code != 0 {
		code = e.code
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorHeaders) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// wwwAuthenticate is the RFC 6750 §3 challenge: no error code when the
// request carried no token, invalid_request for a header that is not
// "Bearer <token>", invalid_token otherwise. What exactly was wrong with a
// token is the body's to say, never the challenge's.
func wwwAuthenticate(st *status.Status) string {
	problem := ""
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			problem = info.GetMetadata()["problem"]
		}
	}
	switch problem {
	case "missing_token":
		return `Bearer realm="motor"`
	case "malformed_header":
		return `Bearer realm="motor", error="invalid_request"`
	}
	return `Bearer realm="motor", error="invalid_token"`
}

// defaultDeadline gives a call without a Grpc-Timeout header the deadline d,
// so no REST call reaches the services with none.
func defaultDeadline(next http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Grpc-Timeout") != "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
