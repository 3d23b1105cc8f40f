package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// EventTail is a backend that tells the Seq of the newest audit event of a
// namespace (0: none) without reading the log. Both backends are one;
// LastSeq reads the log to its end for any other Store.
type EventTail interface {
	LastSeq(ctx context.Context, ns Namespace) (int64, error)
}

// LastSeq is the Seq of the newest audit event of ns.
func LastSeq(ctx context.Context, s Store, ns Namespace) (int64, error) {
	if t, ok := s.(EventTail); ok {
		return t.LastSeq(ctx, ns)
	}
	const page = 1000
	var seq int64
	for {
		evs, err := s.Events(ctx, ns, seq, page)
		if err != nil {
			return 0, err
		}
		if len(evs) > 0 {
			seq = evs[len(evs)-1].Seq
		}
		if len(evs) < page {
			return seq, nil
		}
	}
}

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

// Sync brings the cache up to date through put. Where the log ends is
// taken before the first full load (without reading the log where the
// backend can tell), so a write racing the load is seen by the next Sync;
// a failed Sync is repeated in full by the next.
func (f *Follower) Sync(ctx context.Context, s Store, put func(Record) error) error {
	const page = 1000
	if !f.built {
		// The whole index is read anyway: only where the log ends now
		// matters, not what it says.
		seq, err := LastSeq(ctx, s, f.NS)
		if err != nil {
			return fmt.Errorf("store.LastSeq: %w", err)
		}
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

// WarmEach builds an in-memory index of each region in turn, behind a
// process's start, so the first query after it does not wait for the whole
// region to be read; a query arriving meanwhile waits for its own region
// only (build holds that region's lock). A region that cannot be read now
// is logged and left to its first query, which tries again.
func WarmEach(ctx context.Context, regions []string, logger *slog.Logger, build func(ctx context.Context, region string) error) {
	for _, region := range regions {
		if ctx.Err() != nil {
			return
		}
		if err := build(ctx, region); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "similarity index not built at start-up; the first query builds it", "region", region, "error", err)
		}
	}
}
