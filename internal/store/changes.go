package store

import (
	"context"
	"fmt"
)

// ChangedSince reads the audit log of ns after seq to its end and returns
// the keys of the records its events changed, as key derives them from an
// event's resource name (false: the event names no record of interest),
// with the sequence of the last event read. Every write of a record carries
// an event naming it, so this is how a cache built from a scan (a search
// index) catches up with writes, also those of other processes sharing the
// store.
func ChangedSince(ctx context.Context, s Store, ns Namespace, seq int64, key func(resource string) (string, bool)) (map[string]bool, int64, error) {
	const page = 1000
	changed := map[string]bool{}
	for {
		evs, err := s.Events(ctx, ns, seq, page)
		if err != nil {
			return nil, 0, fmt.Errorf("store.Events: %w", err)
		}
		for _, ev := range evs {
			if k, ok := key(ev.Key); ok {
				changed[k] = true
			}
			seq = ev.Seq
		}
		if len(evs) < page {
			return changed, seq, nil
		}
	}
}
