package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/innovationsmotorer/motor/internal/store"
)

// logFollower folds one service's audit log of one region into aggregates,
// with its cursor stored next to them. Each batch of events is folded in
// one commit that also moves the cursor, on the versions read: a batch
// counts once, and two replicas following the same log never both count it
// (the loser reads again and continues after the winner). It knows nothing
// of what it aggregates; apply does.
type logFollower struct {
	// mu lets one fold of this log run at a time in this process; replicas
	// are kept apart by the store.
	mu     sync.Mutex
	store  store.Store
	source store.Namespace // the audit log followed
	ns     store.Namespace // where the cursor and the aggregates live
	cursor string          // key of the cursor record in ns
	batch  int
	// apply folds evs into the aggregates read and written through tx.
	apply func(ctx context.Context, tx *txn, evs []store.Event) error
}

// cursorValue is the stored position in the followed log.
type cursorValue struct {
	Seq int64 `json:"seq"`
}

// sync folds at most maxBatches batches of new events (≤ 0: until the log
// is read to its end) and returns the sequence of the last event folded in.
func (f *logFollower) sync(ctx context.Context, maxBatches int) (int64, error) {
	for n := 0; maxBatches <= 0 || n < maxBatches; n++ {
		seq, more, err := f.step(ctx)
		if err != nil || !more {
			return seq, err
		}
	}
	return f.position(ctx)
}

// position is the sequence the aggregates include.
func (f *logFollower) position(ctx context.Context) (int64, error) {
	tx := newTxn(f.store, f.ns)
	var cur cursorValue
	if _, err := tx.getJSON(ctx, f.cursor, &cur); err != nil {
		return 0, err
	}
	return cur.Seq, nil
}

// step folds one batch; more reports whether the batch was full.
func (f *logFollower) step(ctx context.Context) (seq int64, more bool, err error) {
	for attempt := 0; ; attempt++ {
		tx := newTxn(f.store, f.ns)
		var cur cursorValue
		if _, err := tx.getJSON(ctx, f.cursor, &cur); err != nil {
			return 0, false, err
		}
		evs, err := f.store.Events(ctx, f.source, cur.Seq, f.batch)
		if err != nil {
			return cur.Seq, false, fmt.Errorf("store.Events %s: %w", f.source, err)
		}
		if len(evs) == 0 {
			return cur.Seq, false, nil
		}
		if err := f.apply(ctx, tx, evs); err != nil {
			return cur.Seq, false, err
		}
		next := evs[len(evs)-1].Seq
		if err := tx.putJSON(f.cursor, cursorValue{Seq: next}); err != nil {
			return cur.Seq, false, err
		}
		err = tx.commit(ctx)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
			if attempt < 10 {
				continue // another replica folded this batch first
			}
		}
		if err != nil {
			return cur.Seq, false, err
		}
		return next, len(evs) == f.batch, nil
	}
}

// txn reads records of one namespace, remembering the version of each, and
// commits what was put on those versions in one write.
type txn struct {
	store    store.Store
	ns       store.Namespace
	versions map[string]int64
	puts     map[string][]byte
	index    map[string][]store.IndexEntry
	order    []string
}

func newTxn(st store.Store, ns store.Namespace) *txn {
	return &txn{store: st, ns: ns, versions: map[string]int64{}, puts: map[string][]byte{}, index: map[string][]store.IndexEntry{}}
}

// getJSON decodes the record at key into v; found is false when it does not
// exist (v is left as it is).
func (t *txn) getJSON(ctx context.Context, key string, v any) (found bool, err error) {
	if b, ok := t.puts[key]; ok {
		return true, json.Unmarshal(b, v)
	}
	rec, err := t.store.Get(ctx, t.ns, key)
	if errors.Is(err, store.ErrNotFound) {
		t.versions[key] = 0
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store.Get %s: %w", key, err)
	}
	t.versions[key] = rec.Version
	if err := json.Unmarshal(rec.Value, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

// putJSON stages v at key with its index entries; the key must have been
// read through t.
func (t *txn) putJSON(key string, v any, index ...store.IndexEntry) error {
	if _, read := t.versions[key]; !read {
		return fmt.Errorf("txn.putJSON %s: not read first", key)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, staged := t.puts[key]; !staged {
		t.order = append(t.order, key)
	}
	t.puts[key] = b
	t.index[key] = index
	return nil
}

func (t *txn) commit(ctx context.Context) error {
	var w store.Write
	for _, key := range t.order {
		w.Puts = append(w.Puts, store.Put{Key: key, Value: t.puts[key], Version: t.versions[key], Index: t.index[key]})
	}
	if _, err := t.store.Commit(ctx, t.ns, w); err != nil {
		return fmt.Errorf("store.Commit %s (%s puts): %w", t.ns, strconv.Itoa(len(w.Puts)), err)
	}
	return nil
}

func jsonDecode(b []byte, v any) error { return json.Unmarshal(b, v) }
