// Package errs builds the gRPC errors Motor's services return: a status with a
// google.rpc.ErrorInfo (reason and domain) and, for bad input, a
// google.rpc.BadRequest naming every wrong field at once (docs/architecture.md, "Contracts and REST routes").
package errs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
)

// Domain is the ErrorInfo domain of one service, e.g. "idea.motor".
type Domain string

// New returns a status error with an ErrorInfo of reason in d.
func (d Domain) New(code codes.Code, reason, format string, args ...any) error {
	st := status.New(code, fmt.Sprintf(format, args...))
	st, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: string(d)})
	if err != nil {
		// Only a nil or unmarshalable detail fails here; keep the plain status.
		return status.Errorf(code, format, args...)
	}
	return st.Err()
}

// NotFound is NOT_FOUND with reason like "IDEA_NOT_FOUND".
func (d Domain) NotFound(reason, format string, args ...any) error {
	return d.New(codes.NotFound, reason, format, args...)
}

// FailedPrecondition is FAILED_PRECONDITION (REST 400) for a rule of the domain
// that the object's current state does not meet.
func (d Domain) FailedPrecondition(reason, format string, args ...any) error {
	return d.New(codes.FailedPrecondition, reason, format, args...)
}

// Store maps a store error to a status: what names the object ("idea
// regions/x/ideas/y") and reason prefixes the ErrorInfo reason ("IDEA").
func (d Domain) Store(err error, reason, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return d.New(codes.NotFound, reason+"_NOT_FOUND", "%s not found", what)
	case errors.Is(err, store.ErrConflict):
		return d.New(codes.Aborted, "ETAG_MISMATCH", "%s was changed by someone else: read it again and retry with its current etag", what)
	case errors.Is(err, store.ErrExists):
		return d.New(codes.AlreadyExists, reason+"_EXISTS", "%s already exists", what)
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return d.New(codes.AlreadyExists, "REQUEST_ID_REUSED", "request_id was already used for a different request")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the call was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return d.New(codes.DeadlineExceeded, "STORE_TIMEOUT", "storage did not answer in time for %s", what)
	case errors.Is(err, store.ErrUnavailable):
		// The store's own words name addresses; they go to the log, not
		// to the caller.
		return d.New(codes.Unavailable, "STORE_UNAVAILABLE", "storage is unavailable, try again")
	default:
		return d.New(codes.Internal, "INTERNAL", "%s: %v", what, err)
	}
}

// Violations collects every wrong field of a request before answering, so a
// portal can mark all of them at once.
type Violations struct {
	list []*errdetails.BadRequest_FieldViolation
}

// Add records that field is wrong; desc says why, in words a person can act on.
func (v *Violations) Add(field, format string, args ...any) {
	v.list = append(v.list, &errdetails.BadRequest_FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Len is the number of violations so far.
func (v *Violations) Len() int { return len(v.list) }

// Fields returns the names of the wrong fields, sorted.
func (v *Violations) Fields() []string {
	out := make([]string, 0, len(v.list))
	for _, f := range v.list {
		out = append(out, f.GetField())
	}
	sort.Strings(out)
	return out
}

// Description returns what was said about field (the first violation).
func (v *Violations) Description(field string) string {
	for _, f := range v.list {
		if f.GetField() == field {
			return f.GetDescription()
		}
	}
	return ""
}

// Err is nil when nothing was added, otherwise INVALID_ARGUMENT with a
// BadRequest detail and a message that names every field.
func (v *Violations) Err(d Domain) error {
	if len(v.list) == 0 {
		return nil
	}
	parts := make([]string, 0, len(v.list))
	for _, f := range v.list {
		parts = append(parts, f.GetField()+": "+f.GetDescription())
	}
	st := status.New(codes.InvalidArgument, "invalid request: "+strings.Join(parts, "; "))
	st, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: string(d)},
		&errdetails.BadRequest{FieldViolations: v.list},
	)
	if err != nil {
		return status.Error(codes.InvalidArgument, "invalid request: "+strings.Join(parts, "; "))
	}
	return st.Err()
}

// InvalidArgument is a single-field INVALID_ARGUMENT.
func (d Domain) InvalidArgument(field string, err error) error {
	var v Violations
	v.Add(field, "%v", err)
	return v.Err(d)
}
