// Package store owns Motor's persistence: versioned records, ordered secondary
// indexes, idempotency keys and an append-only audit log per service and
// region, behind one interface with two backends (embedded bbolt and Redis).
//
// Services never see which backend they run on. Everything one call to Commit
// carries — records, their index entries, the idempotency key and the audit
// events — is written atomically or not at all.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Only the transport edge maps them to status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("version conflict") // expected version did not match → ABORTED
	ErrExists   = errors.New("already exists")   // create of a key that exists → ALREADY_EXISTS
	// ErrIdempotencyMismatch: the idempotency key was used before with a
	// different fingerprint (same request_id, another body) → ALREADY_EXISTS.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with a different request")
	// ErrUnavailable wraps backend failures (connection refused, timeouts).
	ErrUnavailable = errors.New("store unavailable")
)

// Namespace is one service's data for one region. In Redis every key of a
// namespace carries the hash tag {service:region}, so a Lua script touching
// them stays valid on Redis Cluster.
type Namespace struct {
	Service string
	Region  string
}

func (n Namespace) String() string { return n.Service + ":" + n.Region }

// Record is a stored value with its version. Versions start at 1 and grow by
// one with every write of the key.
type Record struct {
	Key     string
	Value   []byte
	Version int64
}

// IndexEntry places a record in an ordered secondary index. Entries of one
// index are ordered by Term, then by record key, byte-wise.
type IndexEntry struct {
	Index string
	Term  string
}

// Put writes one record. Version is the version the caller read: 0 means
// "must not exist yet" (create-if-absent), anything else is compare-and-set.
// Index is the complete set of the record's index entries after the write;
// the store removes entries the record no longer has.
type Put struct {
	Key     string
	Value   []byte
	Version int64
	Index   []IndexEntry
	Delete  bool // remove the record and its index entries (Version must match)
}

// Idempotency guards a write with a caller-chosen key (a request_id). The
// first Commit with the key stores Fingerprint and Result with the write; a
// later Commit with the same key and fingerprint writes nothing and returns
// the stored Result with Replayed set; with another fingerprint it fails with
// ErrIdempotencyMismatch.
//
// A key lives for TTL after its write (0: for ever), so retries within a
// day are answered and the keys do not pile up (AIP-155). A key past its
// TTL is gone: a Commit with it is a first write again.
type Idempotency struct {
	Key         string
	Fingerprint string
	Result      []byte
	TTL         time.Duration
}

// Event is one audit record: who did what to which object, and the etags
// before and after. Seq and Time are assigned by the store when zero.
type Event struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Key        string    `json:"key"`
	EtagBefore string    `json:"etagBefore,omitempty"`
	EtagAfter  string    `json:"etagAfter,omitempty"`
	Detail     string    `json:"detail,omitempty"`
}

// Write is everything that must commit together.
type Write struct {
	Puts        []Put
	Idempotency *Idempotency
	Events      []Event
}

// WriteResult reports the new version of each Put (in order), or, for a
// replay, the Result stored by the first write.
type WriteResult struct {
	Versions []int64
	Replayed bool
	Result   []byte
}

// Query scans one index in order. Prefix limits the scan to terms with that
// prefix. After is the Cursor of the last item of the previous page ("" for
// the first page). Limit ≤ 0 means 50. Reverse scans from the last entry
// to the first (term, then key, descending), so one index serves both
// directions of its order; After then continues before the cursor.
type Query struct {
	Index   string
	Prefix  string
	After   string
	Limit   int
	Reverse bool
	// Also narrows the scan to the records that are on every one of these
	// indexes too: an entry is kept when, for each query of Also, its index
	// holds an entry for the same record whose term continues after that
	// query's Prefix exactly as this entry's term continues after Prefix.
	// It is how an AND of two indexed filter terms is read without decoding
	// the records only one of them holds. The indexes must order what
	// follows their prefixes alike (the same term suffix, then the key);
	// only Index and Prefix of each are used.
	Also []Query
}

// Item is one index hit with its record.
type Item struct {
	Term   string
	Record Record
	// Cursor identifies this position in the index; pass it as Query.After to
	// continue after this item. Opaque to callers.
	Cursor string
}

// Page is one page of a scan. More reports whether items follow the last one.
type Page struct {
	Items []Item
	More  bool
}

// Store is the storage interface every service uses.
type Store interface {
	// Get returns the record or ErrNotFound.
	Get(ctx context.Context, ns Namespace, key string) (Record, error)
	// Commit applies w atomically. Failures: ErrExists (Put with Version 0 on
	// an existing key), ErrConflict (version mismatch, or missing key with
	// Version > 0), ErrIdempotencyMismatch, ErrUnavailable.
	Commit(ctx context.Context, ns Namespace, w Write) (WriteResult, error)
	// Scan reads one page of an index, records included. Index entries whose
	// record vanished between the index read and the record read are skipped.
	Scan(ctx context.Context, ns Namespace, q Query) (Page, error)
	// Count returns how many entries of index have a term with prefix,
	// without reading their records: what a figure by status needs.
	Count(ctx context.Context, ns Namespace, index, prefix string) (int64, error)
	// Events returns audit events with Seq > after, oldest first, at most limit.
	Events(ctx context.Context, ns Namespace, after int64, limit int) ([]Event, error)
	// EventsBefore returns audit events with Seq < before, newest first, at
	// most limit; before ≤ 0 starts at the newest event. It is the log read
	// backwards, for a list that shows the latest events first.
	EventsBefore(ctx context.Context, ns Namespace, before int64, limit int) ([]Event, error)
	// RedactActor replaces actor with replacement in every event of ns whose
	// Actor is actor, and returns how many it changed. It is how a person's
	// identifier leaves the audit log when they ask to be erased; the log
	// stays append-only otherwise. It is idempotent, not atomic with Commit.
	RedactActor(ctx context.Context, ns Namespace, actor, replacement string) (int, error)
	// ForgetIdempotency deletes every idempotency key of ns that starts with
	// prefix and returns how many it deleted. Keys built from a person's
	// hashed subject are erased with the person this way.
	ForgetIdempotency(ctx context.Context, ns Namespace, prefix string) (int, error)
	// Ping reports whether the backend is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}

// Scrubber is a backend whose files keep the bytes of overwritten and
// deleted values until it rewrites them (Redis: the append-only file and
// the RDB snapshot). Scrub has the backend rewrite its files from the data
// as it stands now, so an erasure (docs/architecture.md, "Identity and access") reaches the disk and not only
// what the store answers. It may return before the rewrite ends. The
// embedded store cannot rewrite its file while it is open; `motor compact`
// does that offline.
type Scrubber interface {
	Scrub(ctx context.Context) error
}
