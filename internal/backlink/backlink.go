// Package backlink keeps the back-references between resources that
// different services own: an idea shows the needs and subprojects that link
// to it, a need the offers routed to it and the subprojects that build on
// it. The service that owns the link (the source) is the one truth; the
// service that owns the target keeps a copy of who points at it.
//
// The copy stays consistent under retries, lost answers and concurrent
// changes by two rules (docs/architecture.md, "Links both ways"):
//
//   - Ordered by the source's version. Every message says whether the
//     source links to the target as of a version of the source's record.
//     The target keeps, per source, the highest version it has seen,
//     tombstones included, and ignores any message that is not newer. A
//     repeat changes nothing and a late message never undoes a newer one,
//     whatever order they arrive in.
//   - Sent through an outbox. The source writes the message into its own
//     store in the same atomic commit as the link, delivers it after the
//     commit, and deletes it once the target has it. A message whose
//     delivery failed (the target's service down, the answer lost) stays in
//     the outbox until a sweep (Run) delivers it.
package backlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
)

// Index names in the store, next to the owning service's own.
const (
	sourcesIndex = "backlinks"
	outboxIndex  = "backlink-outbox"
	// maxSources bounds what Sources reads for one target.
	maxSources = 1000
	// attempts bounds the compare-and-set tries of Set.
	attempts = 10
)

// Message is one side of a link as the source sees it.
type Message struct {
	// Target is the resource linked to (regions/…/ideas/…).
	Target string `json:"target"`
	// Source is the resource that links (regions/…/needs/…).
	Source string `json:"source"`
	// Linked says whether Source links to Target as of Version.
	Linked bool `json:"linked"`
	// Version is the source record's version after the write.
	Version int64 `json:"version"`
}

// entry is what the target's store keeps per source.
type entry struct {
	Linked  bool  `json:"linked"`
	Version int64 `json:"version"`
}

func sourceKey(targetID, source string) string { return "backlink/" + targetID + "/" + source }

// Set records m on the target, whose id in its namespace is targetID, with
// events in the same commit when it changes anything (so followers of the
// target's audit log see the change). It reports whether anything changed:
// false for a repeat or for a message no newer than the one recorded.
func Set(ctx context.Context, st store.Store, ns store.Namespace, targetID string, m Message, events ...store.Event) (bool, error) {
	key := sourceKey(targetID, m.Source)
	for range attempts {
		var cur entry
		var version int64
		rec, err := st.Get(ctx, ns, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return false, fmt.Errorf("backlink.Set: %w", err)
		default:
			if err := json.Unmarshal(rec.Value, &cur); err != nil {
				return false, fmt.Errorf("backlink.Set: %w", err)
			}
			version = rec.Version
		}
		if version > 0 && cur.Version >= m.Version {
			return false, nil
		}
		value, err := json.Marshal(entry{Linked: m.Linked, Version: m.Version})
		if err != nil {
			return false, fmt.Errorf("backlink.Set: %w", err)
		}
		put := store.Put{Key: key, Value: value, Version: version}
		if m.Linked {
			put.Index = []store.IndexEntry{{Index: sourcesIndex, Term: targetID + "/" + m.Source}}
		}
		_, err = st.Commit(ctx, ns, store.Write{Puts: []store.Put{put}, Events: events})
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
			continue // another message for this source came in between: compare again
		}
		if err != nil {
			return false, fmt.Errorf("backlink.Set: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("backlink.Set: %s kept changing: %w", key, store.ErrConflict)
}

// Sources returns the resources that link to targetID, in name order.
func Sources(ctx context.Context, st store.Store, ns store.Namespace, targetID string) ([]string, error) {
	var out []string
	prefix := targetID + "/"
	q := store.Query{Index: sourcesIndex, Prefix: prefix, Limit: 200}
	for len(out) < maxSources {
		page, err := st.Scan(ctx, ns, q)
		if err != nil {
			return nil, fmt.Errorf("backlink.Sources: %w", err)
		}
		for _, it := range page.Items {
			out = append(out, strings.TrimPrefix(it.Term, prefix))
		}
		if !page.More || len(page.Items) == 0 {
			break
		}
		q.After = page.Items[len(page.Items)-1].Cursor
	}
	return out, nil
}

// Outbox returns the put that keeps m in the source's store until it is
// delivered; it belongs in the same commit as the source's change. The key
// is unique per source, version and target, so it is created, never
// overwritten.
func Outbox(m Message) (store.Put, error) {
	value, err := json.Marshal(m)
	if err != nil {
		return store.Put{}, fmt.Errorf("backlink.Outbox: %w", err)
	}
	term := fmt.Sprintf("%s/%020d/%s", m.Source, m.Version, m.Target)
	return store.Put{Key: "backlink-out/" + term, Value: value, Index: []store.IndexEntry{{Index: outboxIndex, Term: term}}}, nil
}

// Changes returns the messages for a source whose targets went from before
// to after at version: one per target added or removed.
func Changes(source string, before, after []string, version int64) []Message {
	var out []Message
	had := map[string]bool{}
	for _, t := range before {
		had[t] = true
	}
	has := map[string]bool{}
	for _, t := range after {
		if has[t] {
			continue
		}
		has[t] = true
		if !had[t] {
			out = append(out, Message{Target: t, Source: source, Linked: true, Version: version})
		}
	}
	for t := range had {
		if !has[t] {
			out = append(out, Message{Target: t, Source: source, Linked: false, Version: version})
		}
	}
	return out
}

// Deliver hands one message to the target's service. An error with code
// NOT_FOUND or INVALID_ARGUMENT is final (the target does not exist or is
// not one the service keeps back-references for): the message is dropped.
// Any other error keeps it for the next sweep.
type Deliver func(ctx context.Context, m Message) error

// Flush delivers msgs, already committed to the outbox, and removes each
// one that was delivered. It returns the first error that keeps a message
// in the outbox; the caller's own change stands either way.
func Flush(ctx context.Context, st store.Store, ns store.Namespace, deliver Deliver, msgs ...Message) error {
	var first error
	for _, m := range msgs {
		put, err := Outbox(m)
		if err != nil {
			return err
		}
		if err := deliverOne(ctx, st, ns, deliver, put.Key, m); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func deliverOne(ctx context.Context, st store.Store, ns store.Namespace, deliver Deliver, key string, m Message) error {
	if err := deliver(ctx, m); err != nil {
		switch status.Code(err) {
		case codes.NotFound, codes.InvalidArgument:
		default:
			return fmt.Errorf("backlink.Flush: %s → %s: %w", m.Source, m.Target, err)
		}
	}
	_, err := st.Commit(ctx, ns, store.Write{Puts: []store.Put{{Key: key, Delete: true, Version: 1}}})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		// Delivered but still in the outbox: the next sweep repeats it,
		// which the target ignores.
		return fmt.Errorf("backlink.Flush: %w", err)
	}
	return nil
}

// Sweep delivers up to limit messages left in the outbox of ns, oldest
// source first, and returns how many it delivered and how many are left
// failing.
func Sweep(ctx context.Context, st store.Store, ns store.Namespace, deliver Deliver, limit int) (delivered, failed int, err error) {
	page, err := st.Scan(ctx, ns, store.Query{Index: outboxIndex, Limit: limit})
	if err != nil {
		return 0, 0, fmt.Errorf("backlink.Sweep: %w", err)
	}
	for _, it := range page.Items {
		var m Message
		if err := json.Unmarshal(it.Record.Value, &m); err != nil {
			return delivered, failed, fmt.Errorf("backlink.Sweep: %s: %w", it.Record.Key, err)
		}
		if err := deliverOne(ctx, st, ns, deliver, it.Record.Key, m); err != nil {
			failed++
			continue
		}
		delivered++
	}
	return delivered, failed, nil
}

// Pending counts the messages waiting in the outbox of ns.
func Pending(ctx context.Context, st store.Store, ns store.Namespace) (int64, error) {
	n, err := st.Count(ctx, ns, outboxIndex, "")
	if err != nil {
		return 0, fmt.Errorf("backlink.Pending: %w", err)
	}
	return n, nil
}

// Run sweeps the outboxes of namespaces every interval until ctx ends.
func Run(ctx context.Context, interval time.Duration, st store.Store, namespaces []store.Namespace, deliver Deliver, logger *slog.Logger) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, ns := range namespaces {
			sctx, cancel := context.WithTimeout(ctx, interval)
			n, failed, err := Sweep(sctx, st, ns, deliver, 100)
			cancel()
			switch {
			case err != nil:
				logger.Warn("back-reference sweep failed", "namespace", ns.String(), "error", err)
			case n > 0 || failed > 0:
				logger.Info("back-references delivered from the outbox", "namespace", ns.String(), "delivered", n, "failing", failed)
			}
		}
	}
}

// DefaultSweepInterval is how often Run looks at the outboxes.
const DefaultSweepInterval = 10 * time.Second
