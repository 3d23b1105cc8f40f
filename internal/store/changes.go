package store

import (
	"context"
	"errors"
	"fmt"
)

// Follower keeps a cache built from the records of one index of a
// namespace (a search index) current with later writes. The first Sync
// hands put every record of the index; later ones the records named by
// audit events since the last Sync: every write of a record carries an
// event naming it, so the cache also sees writes of other processes
// sharing the store. A Follower is not safe for concurrent use.
type Follower struct {
	NS    Namespace
	Index string // lists every record of interest
	// Key derives a record's key from an event's resource name (false: the
	// event names no record of interest).
	Key func(resource string) (string, bool)

	built   bool
	lastSeq int64
}

// Sync brings the cache up to date through put. The log is read to its end
// before the first full load, so a write racing the load is seen by the
// next Sync; a failed Sync is repeated in full by the next.
func (f *Follower) Sync(ctx context.Context, s Store, put func(Record) error) error {
	const page = 1000
	changed := map[string]bool{}
	seq := f.lastSeq
	for {
		evs, err := s.Events(ctx, f.NS, seq, page)
		if err != nil {
			return fmt.Errorf("store.Events: %w", err)
		}
		for _, ev := range evs {
			if k, ok := f.Key(ev.Key); ok {
				changed[k] = true
			}
			seq = ev.Seq
		}
		if len(evs) < page {
			break
		}
	}
	if !f.built {
		q := Query{Index: f.Index, Limit: page}
		for {
			p, err := s.Scan(ctx, f.NS, q)
			if err != nil {
				return fmt.Errorf("store.Scan: %w", err)
			}
			for _, it := range p.Items {
				if err := put(it.Record); err != nil {
					return err
				}
				q.After = it.Cursor
			}
			if !p.More {
				break
			}
		}
		f.built, f.lastSeq = true, seq
		return nil
	}
	for key := range changed {
		rec, err := s.Get(ctx, f.NS, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store.Get %s: %w", key, err)
		}
		if err := put(rec); err != nil {
			return err
		}
	}
	f.lastSeq = seq
	return nil
}
