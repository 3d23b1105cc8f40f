// Package repo owns how a service keeps its records in the store: one typed
// repository per kind of record, with one codec (an envelope that keeps the
// fields a newer schema added), the etag derived from the record's version,
// idempotent creates keyed by the caller's hashed subject and expiring, one
// compare-and-set policy for changes, the audit event of every change, and
// filtered, paginated lists planned onto the secondary indexes. A service
// keeps only its rules, access checks, names and index terms.
package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
)

// DefaultIdempotencyTTL is how long a request_id is answered with the
// first result: a day, as AIP-155 and common practice suggest.
const DefaultIdempotencyTTL = 24 * time.Hour

// Retry policy of a change sent without an etag: re-read and re-apply the
// rules after a concurrent write, with exponential backoff and jitter.
const (
	defaultAttempts = 10
	backoffBase     = time.Millisecond
	backoffMax      = 50 * time.Millisecond
)

// Config describes one kind of record.
type Config[T proto.Message] struct {
	Store   store.Store
	Service string // the namespace's service, e.g. "needs"
	Domain  errs.Domain
	// Kind names the record in messages and error reasons: "need" gives
	// NEED_NOT_FOUND and "need regions/…/needs/… not found".
	Kind string
	New  func() T
	// Index returns every index entry of a record (nil: none).
	Index func(e *Entry[T]) []store.IndexEntry
	// Derive sets fields that are computed on read, never stored (nil: none).
	Derive func(T)
	// DeriveEntry is Derive for fields computed from what the service keeps
	// beside the record (Side); nil: none.
	DeriveEntry func(e *Entry[T])
	// Side returns an empty message of what the service keeps beside the
	// resource in the same record and never shows (an idea's history):
	// Entry.Side (nil: nothing beside).
	Side func() proto.Message
	// Legacy says how records from before the envelope are read.
	Legacy Legacy
	// IdempotencyTTL: 24 h when zero.
	IdempotencyTTL time.Duration
	// Attempts bounds the tries of a change without an etag; 10 when zero.
	Attempts int
	Now      func() time.Time
}

// Repo keeps records of type T. It is safe for concurrent use.
type Repo[T proto.Message] struct {
	cfg    Config[T]
	reason string // "NEED"
	etag   protoreflect.FieldDescriptor
	update protoreflect.FieldDescriptor
	create protoreflect.FieldDescriptor
}

// New returns the repository of cfg.
func New[T proto.Message](cfg Config[T]) *Repo[T] {
	if cfg.IdempotencyTTL <= 0 {
		cfg.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = defaultAttempts
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Repo[T]{cfg: cfg, reason: strings.ToUpper(strings.ReplaceAll(cfg.Kind, " ", "_"))}
	fields := cfg.New().ProtoReflect().Descriptor().Fields()
	if f := fields.ByName("etag"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
		r.etag = f
	}
	isTime := func(f protoreflect.FieldDescriptor) bool {
		return f != nil && f.Message() != nil && f.Message().FullName() == "google.protobuf.Timestamp" && !f.IsList()
	}
	if f := fields.ByName("update_time"); isTime(f) {
		r.update = f
	}
	if f := fields.ByName("create_time"); isTime(f) {
		r.create = f
	}
	return r
}

// NS is the repository's namespace in region.
func (r *Repo[T]) NS(region string) store.Namespace {
	return store.Namespace{Service: r.cfg.Service, Region: region}
}

// Ref names one record: the region, its store key and its resource name
// (what audit events and messages name).
type Ref struct {
	Region string
	Key    string
	Name   string
}

// Entry is one record as a service sees it.
type Entry[T proto.Message] struct {
	Ref     Ref
	Msg     T
	Owner   string           // the subject the record belongs to; never shown
	Side    proto.Message    // what the service keeps beside Msg (Config.Side); never shown
	Counts  map[string]int64 // counters the service keeps (child sequences)
	Version int64
	env     envelope
}

// Etag is the record's etag: its version.
func (e *Entry[T]) Etag() string { return Etag(e.Version) }

// Count returns counter name.
func (e *Entry[T]) Count(name string) int64 { return e.Counts[name] }

// Incr adds one to counter name and returns the new value.
func (e *Entry[T]) Incr(name string) int64 {
	if e.Counts == nil {
		e.Counts = map[string]int64{}
	}
	e.Counts[name]++
	return e.Counts[name]
}

// Etag is the etag of a record version, the one place it is derived.
func Etag(version int64) string { return strconv.FormatInt(version, 10) }

// SubjectHash keeps a person's identifier out of store keys: idempotency
// keys start with it, so they can be found and erased with the person.
func SubjectHash(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return hex.EncodeToString(sum[:12])
}

// Request is an idempotent call: the caller's request_id, who sent it and
// what they sent (a retry must send the same).
type Request struct {
	ID      string
	Subject string
	Body    proto.Message
	Kind    string // which create of the service: "create", "screening"…
}

func (r *Repo[T]) idempotency(req *Request, result string) *store.Idempotency {
	if req == nil || req.ID == "" {
		return nil
	}
	return &store.Idempotency{
		Key:         SubjectHash(req.Subject) + "/" + req.Kind + "/" + req.ID,
		Fingerprint: resource.Fingerprint(req.Body),
		Result:      []byte(result),
		TTL:         r.cfg.IdempotencyTTL,
	}
}

// Forget erases the idempotency keys of subject in region.
func (r *Repo[T]) Forget(ctx context.Context, region, subject string) error {
	if _, err := r.cfg.Store.ForgetIdempotency(ctx, r.NS(region), SubjectHash(subject)+"/"); err != nil {
		return r.fail(err, "request ids of "+region)
	}
	return nil
}

// ForgetKeys erases the idempotency keys of region that start with prefix:
// for keys earlier code built another way (with the raw subject, without
// expiry), which Forget cannot find by person.
func (r *Repo[T]) ForgetKeys(ctx context.Context, region, prefix string) error {
	if _, err := r.cfg.Store.ForgetIdempotency(ctx, r.NS(region), prefix); err != nil {
		return r.fail(err, "request ids of "+region)
	}
	return nil
}

// Decode reads a stored record.
func (r *Repo[T]) Decode(ref Ref, rec store.Record) (*Entry[T], error) {
	msg := r.cfg.New()
	var side proto.Message
	if r.cfg.Side != nil {
		side = r.cfg.Side()
	}
	env, err := decode(rec.Value, msg, side, r.cfg.Legacy)
	if err != nil {
		return nil, fmt.Errorf("%s record %s: %w", r.cfg.Kind, rec.Key, err)
	}
	e := &Entry[T]{Ref: ref, Msg: msg, Side: side, Owner: env.owner, Counts: env.counts, Version: rec.Version, env: env}
	e.Ref.Key = rec.Key
	r.stamp(e)
	return e, nil
}

// stamp sets what is derived, never stored: the etag and computed fields.
func (r *Repo[T]) stamp(e *Entry[T]) {
	if r.etag != nil {
		e.Msg.ProtoReflect().Set(r.etag, protoreflect.ValueOfString(e.Etag()))
	}
	if r.cfg.Derive != nil {
		r.cfg.Derive(e.Msg)
	}
	if r.cfg.DeriveEntry != nil {
		r.cfg.DeriveEntry(e)
	}
}

// Encode is the stored form of e: the etag is the version, never stored.
// The etag is taken off e.Msg for the marshal and put back, instead of
// marshalling a copy: e belongs to the call that encodes it.
func (r *Repo[T]) Encode(e *Entry[T]) ([]byte, error) {
	env := e.env
	env.owner, env.counts = e.Owner, e.Counts
	if r.etag != nil {
		m := e.Msg.ProtoReflect()
		if m.Has(r.etag) {
			etag := m.Get(r.etag)
			m.Clear(r.etag)
			defer m.Set(r.etag, etag)
		}
	}
	return encode(e.Msg, e.Side, env)
}

// Put is the store write of e at the version it was read (0: create).
func (r *Repo[T]) Put(e *Entry[T]) (store.Put, error) {
	value, err := r.Encode(e)
	if err != nil {
		return store.Put{}, err
	}
	var index []store.IndexEntry
	if r.cfg.Index != nil {
		index = r.cfg.Index(e)
	}
	return store.Put{Key: e.Ref.Key, Value: value, Version: e.Version, Index: index}, nil
}

// Get reads one record; NOT_FOUND names it.
func (r *Repo[T]) Get(ctx context.Context, ref Ref) (*Entry[T], error) {
	rec, err := r.cfg.Store.Get(ctx, r.NS(ref.Region), ref.Key)
	if err != nil {
		return nil, r.fail(err, ref.Name)
	}
	e, err := r.Decode(ref, rec)
	if err != nil {
		return nil, r.fail(err, ref.Name)
	}
	return e, nil
}

// Create is what a create writes besides the record.
type Create struct {
	Actor   string
	Action  string // audit action, e.g. "CreateNeed"
	Detail  string // audit detail; never personal data
	Request *Request
	Puts    []store.Put // other records of the same commit
	// Events are the audit events of those other records.
	Events []store.Event
}

// Create writes a new record. A retry of the same Request returns the
// record its first try created, with replayed set; the same request_id with
// another body is ALREADY_EXISTS.
func (r *Repo[T]) Create(ctx context.Context, e *Entry[T], c Create) (out *Entry[T], replayed bool, err error) {
	now := r.cfg.Now()
	m := e.Msg.ProtoReflect()
	if r.create != nil && !m.Has(r.create) {
		m.Set(r.create, protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
	}
	if r.update != nil {
		m.Set(r.update, protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
		if r.create != nil {
			m.Set(r.update, m.Get(r.create))
		}
	}
	e.Version = 0
	p, err := r.Put(e)
	if err != nil {
		return nil, false, r.fail(err, e.Ref.Name)
	}
	res, err := r.cfg.Store.Commit(ctx, r.NS(e.Ref.Region), store.Write{
		Puts:        append([]store.Put{p}, c.Puts...),
		Idempotency: r.idempotency(c.Request, e.Ref.Key+"\n"+e.Ref.Name),
		Events:      append([]store.Event{{Time: now, Actor: c.Actor, Action: c.Action, Key: e.Ref.Name, EtagAfter: Etag(1), Detail: c.Detail}}, c.Events...),
	})
	if err != nil {
		return nil, false, r.fail(err, e.Ref.Name)
	}
	if res.Replayed {
		key, name, _ := strings.Cut(string(res.Result), "\n")
		first, err := r.Get(ctx, Ref{Region: e.Ref.Region, Key: key, Name: name})
		return first, true, err
	}
	e.Version = res.Versions[0]
	r.stamp(e)
	return e, false, nil
}

// Change is what a change writes besides the record.
type Change struct {
	Action string // audit action
	Detail string // audit detail; never personal data
	Puts   []store.Put
	// Events are the audit events of the other records Puts changes, after
	// the record's own.
	Events []store.Event
	// Request makes the change idempotent; Result is what a retry gets.
	Request *Request
	Result  string
	// Noop: the change is in place already; write nothing.
	Noop bool
	// Delete: the change removes the record (with its index entries).
	Delete bool
	// Quiet writes without an audit event: only for a record that is a
	// copy of figures kept elsewhere, refreshed with nothing in it changed
	// but when it was taken (an event per refresh would record nothing).
	Quiet bool
}

// Outcome reports a change that was a retry of an earlier one.
type Outcome struct {
	Replayed bool
	Result   string // the first try's Change.Result
}

// Update is the one read-modify-write of the service's records: it reads
// the record, lets apply change it (and refuse), and commits the record,
// the Change's other records and one audit event on the version it read.
// With an etag the record must still be at that version, else ABORTED
// naming the current etag. Without one, a concurrent write makes it read
// again and re-apply the rules (bounded tries, exponential backoff with
// jitter), so a rule is never checked against a stale record.
func (r *Repo[T]) Update(ctx context.Context, ref Ref, etag, actor string, apply func(e *Entry[T], now time.Time) (Change, error)) (*Entry[T], Outcome, error) {
	for attempt := 1; ; attempt++ {
		e, err := r.Get(ctx, ref)
		if err != nil {
			return nil, Outcome{}, err
		}
		stale := etag != "" && etag != e.Etag()
		before := e.Etag()
		now := r.cfg.Now()
		c, err := apply(e, now)
		switch {
		case err != nil && stale && status.Code(err) != codes.NotFound:
			// The caller decided on an old version; they should look again
			// before being told what their change would break. A record the
			// caller may not see stays not found, whatever etag they sent.
			return nil, Outcome{}, r.conflict(ref, etag, before)
		case err != nil:
			return nil, Outcome{}, err
		case c.Noop:
			// Already in place (a retried change): the answer is the record.
			return e, Outcome{}, nil
		case stale:
			return nil, Outcome{}, r.conflict(ref, etag, before)
		}
		if r.update != nil {
			e.Msg.ProtoReflect().Set(r.update, protoreflect.ValueOfMessage(timestamppb.New(now).ProtoReflect()))
		}
		p, err := r.Put(e)
		if err != nil {
			return nil, Outcome{}, r.fail(err, ref.Name)
		}
		if c.Delete {
			p = store.Put{Key: p.Key, Version: p.Version, Delete: true}
		}
		w := store.Write{
			Puts:        append([]store.Put{p}, c.Puts...),
			Idempotency: r.idempotency(c.Request, c.Result),
			Events: append([]store.Event{{
				Time: now, Actor: actor, Action: c.Action, Key: ref.Name,
				EtagBefore: before, EtagAfter: Etag(e.Version + 1), Detail: c.Detail,
			}}, c.Events...),
		}
		if c.Quiet {
			w.Events = nil
		}
		res, err := r.cfg.Store.Commit(ctx, r.NS(ref.Region), w)
		if errors.Is(err, store.ErrConflict) {
			if etag == "" && attempt < r.cfg.Attempts {
				if err := sleep(ctx, attempt); err != nil {
					return nil, Outcome{}, r.fail(err, ref.Name)
				}
				continue
			}
			current := "unknown"
			if now, err := r.Get(ctx, ref); err == nil {
				current = now.Etag()
			}
			return nil, Outcome{}, r.conflict(ref, etag, current)
		}
		if err != nil {
			return nil, Outcome{}, r.fail(err, ref.Name)
		}
		if res.Replayed {
			// Nothing was written: the answer is the record as it is.
			current, err := r.Get(ctx, ref)
			if err != nil {
				return nil, Outcome{}, err
			}
			return current, Outcome{Replayed: true, Result: string(res.Result)}, nil
		}
		e.Version = res.Versions[0]
		r.stamp(e)
		return e, Outcome{}, nil
	}
}

// sleep waits before try attempt+1 of a compare-and-set: exponential from
// 1 ms, at most 50 ms.
func sleep(ctx context.Context, attempt int) error {
	return Backoff(ctx, attempt, backoffBase, backoffMax)
}

// Wait is the pause of the repository's compare-and-set policy before try
// attempt+1, for a service whose commit spans several records and so
// retries around Create or Update itself.
func Wait(ctx context.Context, attempt int) error { return sleep(ctx, attempt) }

// Backoff waits before try attempt+1 (attempt from 1): exponential from
// base, at most ceiling, with full jitter so that callers that collided do
// not collide again in lockstep. It returns ctx's error if ctx ends first.
func Backoff(ctx context.Context, attempt int, base, ceiling time.Duration) error {
	d := min(base<<min(attempt-1, 16), ceiling)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Stale is the ABORTED answer to a caller whose etag is not e's: for a
// check made before a remote call, ahead of the Update that checks again.
func (r *Repo[T]) Stale(e *Entry[T], sent string) error { return r.conflict(e.Ref, sent, e.Etag()) }

// conflict is the one ABORTED answer of a stale etag.
func (r *Repo[T]) conflict(ref Ref, sent, current string) error {
	if sent == "" {
		return r.cfg.Domain.New(codes.Aborted, "ETAG_MISMATCH",
			"%s %s was changed by someone else at the same time: its etag is now %s; read it again and retry", r.cfg.Kind, ref.Name, current)
	}
	return r.cfg.Domain.New(codes.Aborted, "ETAG_MISMATCH",
		"%s %s was changed by someone else: its etag is now %s, not %q; read it again and retry with the current etag", r.cfg.Kind, ref.Name, current, sent)
}

// Error is a store failure mapped to its status; errors.Is still sees the
// store's sentinel (a service may answer store.ErrExists its own way).
type Error struct {
	st    *status.Status
	cause error
}

func (e *Error) Error() string              { return e.st.Message() }
func (e *Error) GRPCStatus() *status.Status { return e.st }
func (e *Error) Unwrap() error              { return e.cause }

func (r *Repo[T]) fail(err error, what string) error {
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		return err
	}
	d := r.cfg.Domain
	var mapped error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		mapped = status.FromContextError(err).Err()
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrIdempotencyMismatch):
		mapped = d.Store(err, r.reason, r.cfg.Kind+" "+what)
	case errors.Is(err, store.ErrConflict):
		mapped = d.New(codes.Aborted, "ETAG_MISMATCH", "%s %s was changed by someone else: read it again and retry with its current etag", r.cfg.Kind, what)
	case errors.Is(err, store.ErrUnavailable):
		mapped = d.New(codes.Unavailable, "STORE_UNAVAILABLE", "storage is unavailable, try again")
	default:
		// A record that cannot be decoded or encoded: the details are for
		// the log, not for the caller.
		mapped = d.New(codes.Internal, "INTERNAL", "%s %s could not be read or written", r.cfg.Kind, what)
	}
	return &Error{st: status.Convert(mapped), cause: err}
}
