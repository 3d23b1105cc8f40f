// Package boltstore owns the embedded backend of store.Store: one bbolt file
// holding every namespace, where each Commit is one fsynced transaction.
//
// Layout: one top-level bucket per namespace ("svc:region") with the
// sub-buckets
//
//	r  record key → 8-byte big-endian version with the top bit set ‖
//	   uvarint(len(entries)) ‖ the record's index entries
//	   (index\x00term\x00…) ‖ value
//	x  record key → index entries of a record written before they moved
//	   into r (its version there has the top bit clear and is followed by
//	   the value alone); the record's next write moves them into r
//	i  one nested bucket per index: term\x00key → empty
//	k  idempotency key → uvarint(len(fingerprint)) ‖ fingerprint ‖ result
//	t  idempotency key → 8-byte big-endian expiry (Unix ns), for keys with a TTL
//	q  expiry ‖ idempotency key → empty: the keys in the order they expire
//	e  8-byte big-endian sequence → JSON store.Event
//
// Keeping each record's entries in its own value lets an update remove
// exactly the index entries the record no longer has without scanning the
// indexes, and costs a create no key (and no page) of its own.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/innovationsmotorer/motor/internal/store"
)

const defaultLimit = 50

// Sub-bucket names inside a namespace bucket.
const (
	bucketRecords  = "r"
	bucketEntries  = "x"
	bucketIndexes  = "i"
	bucketIdem     = "k"
	bucketExpiry   = "t"
	bucketExpiring = "q"
	bucketEvents   = "e"
)

// Store is a store.Store on one bbolt file. It is safe for concurrent use.
type Store struct {
	db *bolt.DB
	// group commits concurrent Commits in one transaction and one fsync
	// (see group.go).
	group group
}

var (
	_ store.Store     = (*Store)(nil)
	_ store.EventTail = (*Store)(nil)
)

// Open opens or creates the database file at path. Only one process may
// have the file open; a second Open fails after a second instead of hanging
// on the file lock.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("boltstore.Open: %w", err)
	}
	s := &Store{db: db}
	s.group.db = db
	return s, nil
}

// Close closes the file. Calls after Close fail with store.ErrUnavailable.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore.Close: %w", err)
	}
	return nil
}

// Ping reports whether the database is open.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore.Ping: %w", err)
	}
	if err := s.db.View(func(*bolt.Tx) error { return nil }); err != nil {
		return unavailable("boltstore.Ping", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
}

// Get returns the record stored under key.
func (s *Store) Get(ctx context.Context, ns store.Namespace, key string) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, fmt.Errorf("boltstore.Get: %w", err)
	}
	if err := store.ValidKey(ns, key); err != nil {
		return store.Record{}, fmt.Errorf("boltstore.Get: %w", err)
	}
	var (
		rec   store.Record
		found bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		records := sub(tx, ns, bucketRecords)
		if records == nil {
			return nil
		}
		raw := records.Get([]byte(key))
		if raw == nil {
			return nil
		}
		rec, found = decodeRecord(key, raw), true
		return nil
	})
	if err != nil {
		return store.Record{}, unavailable("boltstore.Get", err)
	}
	if !found {
		return store.Record{}, fmt.Errorf("boltstore.Get %q: %w", key, store.ErrNotFound)
	}
	return rec, nil
}

// sub returns a namespace's sub-bucket, or nil when nothing was written yet.
func sub(tx *bolt.Tx, ns store.Namespace, name string) *bolt.Bucket {
	b := tx.Bucket([]byte(ns.String()))
	if b == nil {
		return nil
	}
	return b.Bucket([]byte(name))
}

// withEntries marks a stored version whose value starts with the record's
// index entries. Versions are positive int64s, so the bit is free, and a
// record stored before the entries moved into it has it clear.
const withEntries = 1 << 63

// splitRecord reads a stored record without copying: its version, its
// index entries (encoded; nil when they are kept in x, the earlier layout)
// and its value, all pointing into raw.
func splitRecord(raw []byte) (version int64, entries, value []byte, err error) {
	if len(raw) < 8 {
		return 0, nil, nil, errors.New("corrupt record")
	}
	v := binary.BigEndian.Uint64(raw[:8])
	if v&withEntries == 0 {
		return int64(v), nil, raw[8:], nil
	}
	n, w := binary.Uvarint(raw[8:])
	if w <= 0 || uint64(len(raw)-8-w) < n {
		return 0, nil, nil, errors.New("corrupt record")
	}
	rest := raw[8+w:]
	return int64(v &^ withEntries), rest[:n], rest[n:], nil
}

// decodeRecord copies out of raw: bbolt's slices point into the memory map
// and are only valid until the transaction ends. A record that cannot be
// split comes out with version 0 and its bytes as they are.
func decodeRecord(key string, raw []byte) store.Record {
	version, _, value, err := splitRecord(raw)
	if err != nil {
		return store.Record{Key: key, Value: bytes.Clone(raw)}
	}
	return store.Record{Key: key, Version: version, Value: bytes.Clone(value)}
}

// encodeRecord lays out a record with its index entries, the version left
// for the transaction to fill in (setVersion): everything else is encoded
// before the transaction.
func encodeRecord(entries, value []byte) []byte {
	out := make([]byte, 8, 8+binary.MaxVarintLen64+len(entries)+len(value))
	out = binary.AppendUvarint(out, uint64(len(entries)))
	out = append(out, entries...)
	return append(out, value...)
}

func setVersion(rec []byte, version int64) {
	binary.BigEndian.PutUint64(rec, uint64(version)|withEntries)
}

// entries returns p's index entries sorted and without duplicates, so that
// comparing old and new sets is a merge and storing them is deterministic.
func entries(p store.Put) []store.IndexEntry {
	if p.Delete || len(p.Index) == 0 {
		return nil
	}
	out := slices.Clone(p.Index)
	slices.SortFunc(out, compareEntries)
	return slices.Compact(out)
}

func compareEntries(a, b store.IndexEntry) int {
	if c := cmpString(a.Index, b.Index); c != 0 {
		return c
	}
	return cmpString(a.Term, b.Term)
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func encodeEntries(es []store.IndexEntry) []byte {
	var buf []byte
	for _, e := range es {
		buf = append(buf, e.Index...)
		buf = append(buf, 0)
		buf = append(buf, e.Term...)
		buf = append(buf, 0)
	}
	return buf
}

func decodeEntries(raw []byte) ([]store.IndexEntry, error) {
	var out []store.IndexEntry
	for len(raw) > 0 {
		index, rest, ok1 := bytes.Cut(raw, []byte{0})
		term, rest, ok2 := bytes.Cut(rest, []byte{0})
		if !ok1 || !ok2 {
			return nil, errors.New("corrupt index entry list")
		}
		out = append(out, store.IndexEntry{Index: string(index), Term: string(term)})
		raw = rest
	}
	return out, nil
}

func indexKey(term, key string) []byte {
	out := make([]byte, 0, len(term)+1+len(key))
	out = append(out, term...)
	out = append(out, 0)
	return append(out, key...)
}

func encodeIdem(fingerprint string, result []byte) []byte {
	out := binary.AppendUvarint(nil, uint64(len(fingerprint)))
	out = append(out, fingerprint...)
	return append(out, result...)
}

func decodeIdem(raw []byte) (fingerprint string, result []byte, err error) {
	n, w := binary.Uvarint(raw)
	if w <= 0 || uint64(len(raw)-w) < n {
		return "", nil, errors.New("corrupt idempotency record")
	}
	return string(raw[w : w+int(n)]), bytes.Clone(raw[w+int(n):]), nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Commit applies w in one transaction. Concurrent Commits share one
// transaction (group.update); every transaction is fsynced before Commit
// returns.
func (s *Store) Commit(ctx context.Context, ns store.Namespace, w store.Write) (store.WriteResult, error) {
	if err := ctx.Err(); err != nil {
		return store.WriteResult{}, fmt.Errorf("boltstore.Commit: %w", err)
	}
	if err := store.ValidWrite(ns, w); err != nil {
		return store.WriteResult{}, fmt.Errorf("boltstore.Commit: %w", err)
	}
	puts := make([]preparedPut, len(w.Puts))
	for i, p := range w.Puts {
		es := entries(p)
		puts[i] = preparedPut{Put: p, entries: es}
		if !p.Delete {
			puts[i].record = encodeRecord(encodeEntries(es), p.Value)
		}
	}
	// Computed once outside fn so a retried fn stamps the same time.
	now := time.Now().UTC()
	// Events are encoded here, outside the transaction that every writer
	// waits for. Seq is the event's key, assigned in the transaction and
	// set from the key when reading; the JSON carries 0.
	events := make([][]byte, len(w.Events))
	for i, ev := range w.Events {
		ev.Seq = 0
		if ev.Time.IsZero() {
			ev.Time = now
		}
		data, err := json.Marshal(ev)
		if err != nil {
			return store.WriteResult{}, fmt.Errorf("boltstore.Commit: encode event: %w", err)
		}
		events[i] = data
	}

	// The group may run fn several times (when another function in the same
	// transaction fails, the transaction is rolled back and rerun), and the
	// commit itself may fail after fn returned. fn therefore only assigns
	// out, afresh on every run, and they are read only once
	// the transaction is known to be committed.
	var out txOutcome
	fn := func(tx *bolt.Tx) error {
		var err error
		out, err = commitTx(tx, ns, puts, w, events, now)
		return err
	}
	if err := s.group.update(fn); err != nil {
		return store.WriteResult{}, unavailable("boltstore.Commit", err)
	}
	if out.rejected != nil {
		return store.WriteResult{}, fmt.Errorf("boltstore.Commit: %w", out.rejected)
	}
	return out.res, nil
}

type preparedPut struct {
	store.Put
	entries []store.IndexEntry
	record  []byte // the stored record but its version (encodeRecord)
}

// txOutcome is what one run of a Commit transaction decided: the write's
// result, or why it was rejected (conflict, replay mismatch) with nothing
// written.
type txOutcome struct {
	res      store.WriteResult
	rejected error
}

func reject(err error) (txOutcome, error) { return txOutcome{rejected: err}, nil }

// commitTx returns a bbolt error only for failures that must abort the
// transaction. Rejections are not transaction errors, so that a losing
// compare-and-set does not roll back the other writes of its batch.
func commitTx(tx *bolt.Tx, ns store.Namespace, puts []preparedPut, w store.Write, encodedEvents [][]byte, now time.Time) (txOutcome, error) {
	// Checks first, read-only: a failing write must leave no trace, not
	// even an empty namespace bucket.
	if w.Idempotency != nil {
		if idem := sub(tx, ns, bucketIdem); idem != nil {
			if raw := idem.Get([]byte(w.Idempotency.Key)); raw != nil && !expired(tx, ns, w.Idempotency.Key, now) {
				fp, result, err := decodeIdem(raw)
				if err != nil {
					return txOutcome{}, err
				}
				if fp != w.Idempotency.Fingerprint {
					return reject(fmt.Errorf("idempotency key %q: %w", w.Idempotency.Key, store.ErrIdempotencyMismatch))
				}
				return txOutcome{res: store.WriteResult{Replayed: true, Result: result}}, nil
			}
		}
	}
	records := sub(tx, ns, bucketRecords)
	current := make([]int64, len(puts))
	for i, p := range puts {
		var raw []byte
		if records != nil {
			raw = records.Get([]byte(p.Key))
		}
		switch {
		case raw == nil && p.Version > 0:
			return reject(fmt.Errorf("key %q: missing, expected version %d: %w", p.Key, p.Version, store.ErrConflict))
		case raw != nil && p.Version == 0:
			return reject(fmt.Errorf("key %q: %w", p.Key, store.ErrExists))
		case raw != nil:
			v, _, _, err := splitRecord(raw)
			if err != nil {
				return txOutcome{}, fmt.Errorf("key %q: %w", p.Key, err)
			}
			current[i] = v
			if current[i] != p.Version {
				return reject(fmt.Errorf("key %q: version %d, expected %d: %w", p.Key, current[i], p.Version, store.ErrConflict))
			}
		}
	}

	nsb, err := tx.CreateBucketIfNotExists([]byte(ns.String()))
	if err != nil {
		return txOutcome{}, err
	}
	buckets := make(map[string]*bolt.Bucket, 6)
	for _, name := range []string{bucketRecords, bucketIndexes, bucketIdem, bucketExpiry, bucketExpiring, bucketEvents} {
		b, err := nsb.CreateBucketIfNotExists([]byte(name))
		if err != nil {
			return txOutcome{}, err
		}
		buckets[name] = b
	}
	records, indexes := buckets[bucketRecords], buckets[bucketIndexes]
	// Only a namespace written before the entries moved into the records
	// has x; it is emptied record by record and never created anew.
	legacyEntries := nsb.Bucket([]byte(bucketEntries))

	res := store.WriteResult{Versions: make([]int64, len(puts))}
	for i, p := range puts {
		key := []byte(p.Key)
		var old []store.IndexEntry
		var oldRaw []byte
		inX := false
		if raw := records.Get(key); raw != nil {
			_, es, _, err := splitRecord(raw)
			if err != nil {
				return txOutcome{}, fmt.Errorf("key %q: %w", p.Key, err)
			}
			oldRaw = es
		}
		if oldRaw == nil && legacyEntries != nil {
			if oldRaw = legacyEntries.Get(key); oldRaw != nil {
				inX = true
			}
		}
		if len(oldRaw) > 0 {
			if old, err = decodeEntries(oldRaw); err != nil {
				return txOutcome{}, fmt.Errorf("key %q: %w", p.Key, err)
			}
		}
		for _, e := range old {
			if _, keep := slices.BinarySearchFunc(p.entries, e, compareEntries); keep {
				continue
			}
			if b := indexes.Bucket([]byte(e.Index)); b != nil {
				if err := b.Delete(indexKey(e.Term, p.Key)); err != nil {
					return txOutcome{}, err
				}
			}
		}
		for _, e := range p.entries {
			if _, had := slices.BinarySearchFunc(old, e, compareEntries); had {
				continue
			}
			b, err := indexes.CreateBucketIfNotExists([]byte(e.Index))
			if err != nil {
				return txOutcome{}, err
			}
			if err := b.Put(indexKey(e.Term, p.Key), []byte{}); err != nil {
				return txOutcome{}, err
			}
		}
		if inX {
			if err := legacyEntries.Delete(key); err != nil {
				return txOutcome{}, err
			}
		}
		if p.Delete {
			if err := records.Delete(key); err != nil {
				return txOutcome{}, err
			}
			continue
		}
		res.Versions[i] = current[i] + 1
		setVersion(p.record, res.Versions[i])
		if err := records.Put(key, p.record); err != nil {
			return txOutcome{}, err
		}
	}

	if err := sweepExpired(buckets, now, sweepBatch); err != nil {
		return txOutcome{}, err
	}
	if w.Idempotency != nil {
		key := []byte(w.Idempotency.Key)
		// An expired key being written again drops its old deadline first.
		if err := forgetKey(buckets, key); err != nil {
			return txOutcome{}, err
		}
		if err := buckets[bucketIdem].Put(key, encodeIdem(w.Idempotency.Fingerprint, w.Idempotency.Result)); err != nil {
			return txOutcome{}, err
		}
		if ttl := w.Idempotency.TTL; ttl > 0 {
			deadline := seqKey(uint64(now.Add(ttl).UnixNano()))
			if err := buckets[bucketExpiry].Put(key, deadline); err != nil {
				return txOutcome{}, err
			}
			if err := buckets[bucketExpiring].Put(append(deadline, key...), []byte{}); err != nil {
				return txOutcome{}, err
			}
		}
		res.Result = w.Idempotency.Result
	}
	events := buckets[bucketEvents]
	for _, data := range encodedEvents {
		seq, err := events.NextSequence()
		if err != nil {
			return txOutcome{}, err
		}
		if err := events.Put(seqKey(seq), data); err != nil {
			return txOutcome{}, err
		}
	}
	return txOutcome{res: res}, nil
}

// sweepBatch bounds how many expired idempotency keys one Commit deletes,
// so the cleanup rides along with writes without making one of them slow.
const sweepBatch = 16

// expired reports whether the idempotency key has a deadline before now.
// A key can outlive its deadline until a sweep reaches it; this check is
// what makes it gone from the moment it expires.
func expired(tx *bolt.Tx, ns store.Namespace, key string, now time.Time) bool {
	b := sub(tx, ns, bucketExpiry)
	if b == nil {
		return false
	}
	d := b.Get([]byte(key))
	return len(d) == 8 && int64(binary.BigEndian.Uint64(d)) <= now.UnixNano()
}

// sweepExpired deletes up to limit idempotency keys whose deadline passed,
// oldest deadline first.
func sweepExpired(buckets map[string]*bolt.Bucket, now time.Time, limit int) error {
	var keys [][]byte
	c := buckets[bucketExpiring].Cursor()
	for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
			break
		}
		keys = append(keys, bytes.Clone(k[8:]))
	}
	for _, k := range keys {
		if err := forgetKey(buckets, k); err != nil {
			return err
		}
		if err := buckets[bucketIdem].Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// forgetKey removes an idempotency key's deadline from both expiry buckets.
func forgetKey(buckets map[string]*bolt.Bucket, key []byte) error {
	d := buckets[bucketExpiry].Get(key)
	if d == nil {
		return nil
	}
	if err := buckets[bucketExpiring].Delete(append(bytes.Clone(d), key...)); err != nil {
		return err
	}
	return buckets[bucketExpiry].Delete(key)
}

// ForgetIdempotency deletes the keys with prefix in one transaction.
func (s *Store) ForgetIdempotency(ctx context.Context, ns store.Namespace, prefix string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("boltstore.ForgetIdempotency: %w", err)
	}
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("boltstore.ForgetIdempotency: %w", err)
	}
	if prefix == "" {
		return 0, errors.New("boltstore.ForgetIdempotency: empty prefix")
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		nsb := tx.Bucket([]byte(ns.String()))
		if nsb == nil || nsb.Bucket([]byte(bucketIdem)) == nil {
			return nil
		}
		buckets := map[string]*bolt.Bucket{}
		for _, name := range []string{bucketIdem, bucketExpiry, bucketExpiring} {
			b, err := nsb.CreateBucketIfNotExists([]byte(name))
			if err != nil {
				return err
			}
			buckets[name] = b
		}
		var keys [][]byte
		c := buckets[bucketIdem].Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		for _, k := range keys {
			if err := forgetKey(buckets, k); err != nil {
				return err
			}
			if err := buckets[bucketIdem].Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, unavailable("boltstore.ForgetIdempotency", err)
	}
	return n, nil
}

// Scan reads one page of an index in term, then key order.
// Count walks the index entries with the prefix in one read transaction;
// entries and records change together, so every entry has its record.
func (s *Store) Count(ctx context.Context, ns store.Namespace, index, prefix string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("boltstore.Count: %w", err)
	}
	if err := store.ValidQuery(ns, store.Query{Index: index, Prefix: prefix}); err != nil {
		return 0, fmt.Errorf("boltstore.Count: %w", err)
	}
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		indexes := sub(tx, ns, bucketIndexes)
		if indexes == nil {
			return nil
		}
		idx := indexes.Bucket([]byte(index))
		if idx == nil {
			return nil
		}
		p := []byte(prefix)
		c := idx.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore.Count: %w", err)
	}
	return n, nil
}

func (s *Store) Scan(ctx context.Context, ns store.Namespace, q store.Query) (store.Page, error) {
	if err := ctx.Err(); err != nil {
		return store.Page{}, fmt.Errorf("boltstore.Scan: %w", err)
	}
	if err := store.ValidQuery(ns, q); err != nil {
		return store.Page{}, fmt.Errorf("boltstore.Scan: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	var page store.Page
	err := s.db.View(func(tx *bolt.Tx) error {
		// The namespace's bucket is looked up once, and the records' only
		// once the index has an entry in the range: a read asking for the
		// links to an idea nothing links to (most) stops at the index.
		nsb := tx.Bucket([]byte(ns.String()))
		if nsb == nil {
			return nil
		}
		indexes := nsb.Bucket([]byte(bucketIndexes))
		if indexes == nil {
			return nil
		}
		idx := indexes.Bucket([]byte(q.Index))
		if idx == nil {
			return nil
		}
		var records *bolt.Bucket
		prefix := []byte(q.Prefix)
		c := idx.Cursor()
		k := first(c, q)
		step := c.Next
		if q.Reverse {
			step = c.Prev
		}
		also := make([]alsoCursor, len(q.Also))
		for i, a := range q.Also {
			b := indexes.Bucket([]byte(a.Index))
			if b == nil {
				return nil // an index nothing is on: the intersection is empty
			}
			also[i] = alsoCursor{c: b.Cursor(), prefix: []byte(a.Prefix)}
		}
		for k != nil && bytes.HasPrefix(k, prefix) {
			if records == nil {
				if records = nsb.Bucket([]byte(bucketRecords)); records == nil {
					return nil
				}
			}
			if len(also) > 0 {
				next, found, ok := leapfrog(k[len(prefix):], also)
				switch {
				case found:
				case q.Reverse:
					// The jumps look upwards: reversed, step to the next
					// entry below and look again.
					k, _ = step()
					continue
				case !ok:
					k = nil
					continue
				default:
					// Jump to the first entry that may be on every index.
					k, _ = c.Seek(append(append([]byte{}, prefix...), next...))
					continue
				}
			}
			term, key, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("corrupt index entry %q", k)
			}
			raw := records.Get(key)
			if raw == nil {
				k, _ = step()
				continue
			}
			if len(page.Items) == limit {
				page.More = true
				break
			}
			page.Items = append(page.Items, store.Item{
				Term:   string(term),
				Record: decodeRecord(string(key), raw),
				Cursor: string(k),
			})
			k, _ = step()
		}
		return nil
	})
	if err != nil {
		return store.Page{}, unavailable("boltstore.Scan", err)
	}
	return page, nil
}

// first positions c on the first entry of q's scan: after the cursor, or
// at the start of the prefix range (its end when reversed).
func first(c *bolt.Cursor, q store.Query) []byte {
	prefix := []byte(q.Prefix)
	if !q.Reverse {
		// A cursor below the prefix range (a stale or foreign one) must not
		// let terms outside the prefix through, so start at the later of
		// the two positions.
		if q.After != "" && q.After >= q.Prefix {
			after := []byte(q.After)
			k, _ := c.Seek(after)
			if bytes.Equal(k, after) {
				k, _ = c.Next()
			}
			return k
		}
		k, _ := c.Seek(prefix)
		return k
	}
	// Reversed: the entry just before the cursor, or before the end of the
	// prefix range, whichever comes first. A cursor above the range starts
	// at its end; one below it yields an entry outside the prefix, which
	// ends the scan.
	from := store.PrefixEnd(q.Prefix)
	if q.After != "" && (from == "" || q.After < from) {
		from = q.After
	}
	if from == "" {
		k, _ := c.Last()
		return k
	}
	k, _ := c.Seek([]byte(from))
	if k == nil {
		k, _ = c.Last()
		return k
	}
	k, _ = c.Prev()
	return k
}

// alsoCursor is one index of an intersection (Query.Also).
type alsoCursor struct {
	c      *bolt.Cursor
	prefix []byte
}

// leapfrog looks for the entry whose term continues with rest (rest of the
// term, NUL, key) on every index of also. found: all hold it. Otherwise
// next is the smallest rest that one of them holds above it, where the scan
// may jump, and ok false means one of them has nothing left: no entry of
// the scan from here on is on all of them.
func leapfrog(rest []byte, also []alsoCursor) (next []byte, found, ok bool) {
	for _, a := range also {
		target := append(append(make([]byte, 0, len(a.prefix)+len(rest)), a.prefix...), rest...)
		k, _ := a.c.Seek(target)
		if k == nil || !bytes.HasPrefix(k, a.prefix) {
			return nil, false, false
		}
		if !bytes.Equal(k, target) {
			return k[len(a.prefix):], false, true
		}
	}
	return nil, true, true
}

// Events returns events with Seq > after, oldest first. limit ≤ 0 means 50.
func (s *Store) Events(ctx context.Context, ns store.Namespace, after int64, limit int) ([]store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore.Events: %w", err)
	}
	if err := store.ValidNamespace(ns); err != nil {
		return nil, fmt.Errorf("boltstore.Events: %w", err)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	after = max(after, 0)
	var out []store.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		events := sub(tx, ns, bucketEvents)
		if events == nil {
			return nil
		}
		c := events.Cursor()
		for k, v := c.Seek(seqKey(uint64(after) + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			ev, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("boltstore.Events", err)
	}
	return out, nil
}

// EventsBefore returns events with Seq < before, newest first: the events
// bucket read backwards from before (from its end when before ≤ 0).
// limit ≤ 0 means 50.
func (s *Store) EventsBefore(ctx context.Context, ns store.Namespace, before int64, limit int) ([]store.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("boltstore.EventsBefore: %w", err)
	}
	if err := store.ValidNamespace(ns); err != nil {
		return nil, fmt.Errorf("boltstore.EventsBefore: %w", err)
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	if before == 1 {
		return nil, nil
	}
	var out []store.Event
	err := s.db.View(func(tx *bolt.Tx) error {
		events := sub(tx, ns, bucketEvents)
		if events == nil {
			return nil
		}
		c := events.Cursor()
		var k, v []byte
		if before <= 0 {
			k, v = c.Last()
		} else if k, v = c.Seek(seqKey(uint64(before))); k == nil {
			// Every event is before it.
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			ev, err := decodeEvent(k, v)
			if err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("boltstore.EventsBefore", err)
	}
	return out, nil
}

// decodeEvent is one entry of an events bucket: its key is the Seq.
func decodeEvent(k, v []byte) (store.Event, error) {
	var ev store.Event
	if err := json.Unmarshal(v, &ev); err != nil {
		return ev, fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
	}
	ev.Seq = int64(binary.BigEndian.Uint64(k))
	return ev, nil
}

// LastSeq is the key of the last event: events are keyed by their Seq.
func (s *Store) LastSeq(ctx context.Context, ns store.Namespace) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("boltstore.LastSeq: %w", err)
	}
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("boltstore.LastSeq: %w", err)
	}
	var seq int64
	err := s.db.View(func(tx *bolt.Tx) error {
		if events := sub(tx, ns, bucketEvents); events != nil {
			if k, _ := events.Cursor().Last(); k != nil {
				seq = int64(binary.BigEndian.Uint64(k))
			}
		}
		return nil
	})
	if err != nil {
		return 0, unavailable("boltstore.LastSeq", err)
	}
	return seq, nil
}

// RedactActor rewrites matching events in one transaction.
func (s *Store) RedactActor(ctx context.Context, ns store.Namespace, actor, replacement string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("boltstore.RedactActor: %w", err)
	}
	if err := store.ValidNamespace(ns); err != nil {
		return 0, fmt.Errorf("boltstore.RedactActor: %w", err)
	}
	if actor == "" {
		return 0, fmt.Errorf("boltstore.RedactActor: empty actor")
	}
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		n = 0
		events := sub(tx, ns, bucketEvents)
		if events == nil {
			return nil
		}
		type change struct{ k, v []byte }
		var changes []change
		err := events.ForEach(func(k, v []byte) error {
			var ev store.Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("event %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if ev.Actor != actor {
				return nil
			}
			ev.Actor = replacement
			nv, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			changes = append(changes, change{append([]byte(nil), k...), nv})
			return nil
		})
		if err != nil {
			return err
		}
		// Writing while ForEach iterates is not allowed in bbolt.
		for _, c := range changes {
			if err := events.Put(c.k, c.v); err != nil {
				return err
			}
		}
		n = len(changes)
		return nil
	})
	if err != nil {
		return 0, unavailable("boltstore.RedactActor", err)
	}
	return n, nil
}
