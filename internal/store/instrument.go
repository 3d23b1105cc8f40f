package store

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// OperationDuration is the name of the histogram Instrument records.
const OperationDuration = "motor.store.operation.duration"

// Instrument wraps s so that every operation's latency is recorded in a
// histogram by backend ("bbolt", "redis"), operation ("get", "commit", …)
// and outcome (error.type: empty when it succeeded, "not_found",
// "conflict", … for the sentinel errors, "other" for the rest). A backend
// that is a Scrubber stays one.
func Instrument(s Store, backend string, mp metric.MeterProvider) (Store, error) {
	h, err := mp.Meter("github.com/innovationsmotorer/motor/internal/store").Float64Histogram(OperationDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of store operations, by backend and operation."),
		metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
	)
	if err != nil {
		return nil, err
	}
	in := &instrumented{next: s, hist: h, backend: attribute.String("store.backend", backend), ok: map[string]metric.MeasurementOption{}}
	// The attributes of a success are built once per operation: recording
	// then costs no allocation on the path every call takes.
	for _, op := range operations {
		in.ok[op] = metric.WithAttributeSet(in.attrs(op, nil))
	}
	if sc, ok := s.(Scrubber); ok {
		return &instrumentedScrubber{instrumented: in, scrub: sc}, nil
	}
	return in, nil
}

type instrumented struct {
	next    Store
	hist    metric.Float64Histogram
	backend attribute.KeyValue
	ok      map[string]metric.MeasurementOption // read-only after Instrument
}

var operations = []string{"get", "commit", "scan", "count", "events", "last_seq", "redact_actor", "forget_idempotency", "ping", "scrub"}

func (s *instrumented) attrs(op string, err error) attribute.Set {
	return attribute.NewSet(s.backend, attribute.String("store.operation", op), attribute.String("error.type", outcome(err)))
}

type instrumentedScrubber struct {
	*instrumented
	scrub Scrubber
}

func (s *instrumentedScrubber) Scrub(ctx context.Context) (err error) {
	defer s.record(ctx, "scrub", time.Now(), &err)
	return s.scrub.Scrub(ctx)
}

// record is deferred with the operation's start; err points at the
// operation's named result so the outcome is read after it returns.
func (s *instrumented) record(ctx context.Context, op string, start time.Time, err *error) {
	opt, ok := s.ok[op]
	if *err != nil || !ok {
		opt = metric.WithAttributeSet(s.attrs(op, *err))
	}
	s.hist.Record(ctx, time.Since(start).Seconds(), opt)
}

func outcome(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrExists):
		return "exists"
	case errors.Is(err, ErrIdempotencyMismatch):
		return "idempotency_mismatch"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "other"
}

func (s *instrumented) Get(ctx context.Context, ns Namespace, key string) (r Record, err error) {
	defer s.record(ctx, "get", time.Now(), &err)
	return s.next.Get(ctx, ns, key)
}

func (s *instrumented) Commit(ctx context.Context, ns Namespace, w Write) (r WriteResult, err error) {
	defer s.record(ctx, "commit", time.Now(), &err)
	return s.next.Commit(ctx, ns, w)
}

func (s *instrumented) Scan(ctx context.Context, ns Namespace, q Query) (p Page, err error) {
	defer s.record(ctx, "scan", time.Now(), &err)
	return s.next.Scan(ctx, ns, q)
}

func (s *instrumented) Count(ctx context.Context, ns Namespace, index, prefix string) (n int64, err error) {
	defer s.record(ctx, "count", time.Now(), &err)
	return s.next.Count(ctx, ns, index, prefix)
}

func (s *instrumented) Events(ctx context.Context, ns Namespace, after int64, limit int) (es []Event, err error) {
	defer s.record(ctx, "events", time.Now(), &err)
	return s.next.Events(ctx, ns, after, limit)
}

func (s *instrumented) EventsBefore(ctx context.Context, ns Namespace, before int64, limit int) (es []Event, err error) {
	defer s.record(ctx, "events_before", time.Now(), &err)
	return s.next.EventsBefore(ctx, ns, before, limit)
}

func (s *instrumented) RedactActor(ctx context.Context, ns Namespace, actor, replacement string) (n int, err error) {
	defer s.record(ctx, "redact_actor", time.Now(), &err)
	return s.next.RedactActor(ctx, ns, actor, replacement)
}

func (s *instrumented) ForgetIdempotency(ctx context.Context, ns Namespace, prefix string) (n int, err error) {
	defer s.record(ctx, "forget_idempotency", time.Now(), &err)
	return s.next.ForgetIdempotency(ctx, ns, prefix)
}

func (s *instrumented) Ping(ctx context.Context) (err error) {
	defer s.record(ctx, "ping", time.Now(), &err)
	return s.next.Ping(ctx)
}

// LastSeq is the backend's own where it has one (store.EventTail).
func (s *instrumented) LastSeq(ctx context.Context, ns Namespace) (n int64, err error) {
	defer s.record(ctx, "last_seq", time.Now(), &err)
	return LastSeq(ctx, s.next, ns)
}

func (s *instrumented) Close() error { return s.next.Close() }
