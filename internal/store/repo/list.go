package repo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
)

// minScan is the smallest batch read from an index, so a filtered list with
// a small page does not make one store round trip per record.
const minScan = 50

// Page is one List call: the plan of its filter, the position the page
// token continues after, the page size and the digest its tokens carry.
type Page[T any] struct {
	Plan filter.Plan[T]
	// Union, when set, replaces the plan's scan: the records of several
	// scans whose terms continue alike after their prefixes (a person's own
	// records and the published ones), merged in that order, each once.
	Union  []store.Query
	After  string
	Size   int
	Digest string
}

// Full, returned by keep with true, ends the page after that record: for a
// page bounded in bytes as well as in records.
var Full = errors.New("page full")

// List scans the plan's index from p.After, decodes each record, keeps
// those the filter matches and keep accepts (access checks; keep may also
// change the entry it is handed) until p.Size were kept, and returns the
// token of the next page ("" at the end).
func (r *Repo[T]) List(ctx context.Context, region string, p Page[T], keep func(e *Entry[T]) (bool, error)) (string, error) {
	if len(p.Union) > 0 {
		return r.listUnion(ctx, region, p, keep)
	}
	q := p.Plan.Query
	q.After = p.After
	q.Limit = min(max(p.Size, minScan), resource.MaxPageSize)
	kept := 0
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return "", r.fail(err, "list of "+region)
		}
		for i, it := range page.Items {
			q.After = it.Cursor
			ok, err := r.take(region, it.Record, p, keep)
			full := errors.Is(err, Full)
			if err != nil && !full {
				return "", err
			}
			if !ok {
				continue
			}
			if kept++; kept == p.Size || full {
				if i < len(page.Items)-1 || page.More {
					return resource.EncodeToken(q.After, p.Digest), nil
				}
				return "", nil
			}
		}
		if !page.More {
			return "", nil
		}
	}
}

// take decodes a scanned record and hands it to keep if the filter matches
// it; it reports whether the record was kept.
func (r *Repo[T]) take(region string, rec store.Record, p Page[T], keep func(e *Entry[T]) (bool, error)) (bool, error) {
	e, err := r.Decode(Ref{Region: region}, rec)
	if err != nil {
		return false, r.fail(err, rec.Key)
	}
	if p.Plan.Match != nil && !p.Plan.Match(e.Msg) {
		return false, nil
	}
	return keep(e)
}

// Rewrite brings every record on index that an earlier code wrote
// (protojson) into the current form, with the index entries of today: what
// a new index (a submitter's own needs) needs before it can be trusted.
// Records are rewritten a batch per commit; a batch that lost a race with
// another writer is retried record by record, and a record changed
// meanwhile is left to its writer, which rewrites it too. Each rewrite
// carries an audit event, as every write of a record does. It returns how
// many records it rewrote.
func (r *Repo[T]) Rewrite(ctx context.Context, region, index string, name func(key string) string) (int, error) {
	const batch = 100
	q := store.Query{Index: index, Limit: batch}
	n := 0
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return n, r.fail(err, "records of "+region)
		}
		var w store.Write
		for _, it := range page.Items {
			q.After = it.Cursor
			if !isLegacy(it.Record.Value) {
				continue
			}
			if err := r.rewriteOne(&w, region, it.Record, name, "stored form upgraded"); err != nil {
				return n, err
			}
		}
		done, err := r.rewrite(ctx, region, w)
		n += done
		if err != nil {
			return n, err
		}
		if !page.More {
			return n, nil
		}
	}
}

// Reindex puts every record listed on base onto index too: records
// written before index existed lack its entries until they are written
// again. It reads the keys index holds, then rewrites each record of base
// that is not among them with the index entries of today, a batch per
// commit, with an audit event each, as Rewrite does; a record changed
// meanwhile is left to its writer, which indexes it too. Index must hold
// every record of base (else they are rewritten on every call). It returns
// how many records it rewrote.
func (r *Repo[T]) Reindex(ctx context.Context, region, base, index string, name func(key string) string) (int, error) {
	const batch = 100
	have := map[string]bool{}
	q := store.Query{Index: index, Limit: resource.MaxPageSize}
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return 0, r.fail(err, "records of "+region)
		}
		for _, it := range page.Items {
			have[it.Record.Key] = true
			q.After = it.Cursor
		}
		if !page.More {
			break
		}
	}
	q = store.Query{Index: base, Limit: batch}
	n := 0
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return n, r.fail(err, "records of "+region)
		}
		var w store.Write
		for _, it := range page.Items {
			q.After = it.Cursor
			if have[it.Record.Key] {
				continue
			}
			have[it.Record.Key] = true // listed twice on base: once is enough
			if err := r.rewriteOne(&w, region, it.Record, name, "listed on the "+index+" index"); err != nil {
				return n, err
			}
		}
		done, err := r.rewrite(ctx, region, w)
		n += done
		if err != nil {
			return n, err
		}
		if !page.More {
			return n, nil
		}
	}
}

// rewrite commits one batch of Rewrite, or its records one by one when the
// batch conflicts, skipping those changed meanwhile.
func (r *Repo[T]) rewrite(ctx context.Context, region string, w store.Write) (int, error) {
	if len(w.Puts) == 0 {
		return 0, nil
	}
	_, err := r.cfg.Store.Commit(ctx, r.NS(region), w)
	switch {
	case err == nil:
		return len(w.Puts), nil
	case !isConflict(err):
		return 0, r.fail(err, "records of "+region)
	case len(w.Puts) == 1:
		return 0, nil
	}
	n := 0
	for i := range w.Puts {
		done, err := r.rewrite(ctx, region, store.Write{Puts: w.Puts[i : i+1], Events: w.Events[i : i+1]})
		if err != nil {
			return n, err
		}
		n += done
	}
	return n, nil
}

// rewriteOne adds rec, written again as it stands with today's codec and
// index entries, and its audit event to w.
func (r *Repo[T]) rewriteOne(w *store.Write, region string, rec store.Record, name func(key string) string, detail string) error {
	e, err := r.Decode(Ref{Region: region, Name: name(rec.Key)}, rec)
	if err != nil {
		return r.fail(err, rec.Key)
	}
	p, err := r.Put(e)
	if err != nil {
		return r.fail(err, rec.Key)
	}
	w.Puts = append(w.Puts, p)
	w.Events = append(w.Events, store.Event{
		Actor: "system:" + r.cfg.Service, Action: "RewriteRecord", Key: e.Ref.Name,
		EtagBefore: e.Etag(), EtagAfter: Etag(e.Version + 1), Detail: detail,
	})
	return nil
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// stream is one scan of a union with the items read ahead.
type stream struct {
	q     store.Query
	items []store.Item
	more  bool
}

func (s *stream) rest() string { return strings.TrimPrefix(s.items[0].Term, s.q.Prefix) }

func (r *Repo[T]) listUnion(ctx context.Context, region string, p Page[T], keep func(e *Entry[T]) (bool, error)) (string, error) {
	var afters []string
	if p.After != "" {
		if err := json.Unmarshal([]byte(p.After), &afters); err != nil || len(afters) != len(p.Union) {
			return "", r.fail(fmt.Errorf("page position %q does not fit the list", p.After), "list of "+region)
		}
	}
	streams := make([]*stream, len(p.Union))
	for i, q := range p.Union {
		q.Limit = min(max(p.Size, minScan), resource.MaxPageSize)
		if afters != nil {
			q.After = afters[i]
		}
		streams[i] = &stream{q: q, more: true}
	}
	// fill reads the next batch of a stream that ran dry; false: it ended.
	fill := func(s *stream) (bool, error) {
		if len(s.items) > 0 {
			return true, nil
		}
		if !s.more {
			return false, nil
		}
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), s.q)
		if err != nil {
			return false, r.fail(err, "list of "+region)
		}
		s.items, s.more = page.Items, page.More
		return len(s.items) > 0, nil
	}
	token := func() string {
		pos := make([]string, len(streams))
		for i, s := range streams {
			pos[i] = s.q.After
		}
		b, _ := json.Marshal(pos)
		return resource.EncodeToken(string(b), p.Digest)
	}
	// Reversed scans (all of a union's are alike) merge highest first.
	reverse := p.Union[0].Reverse
	before := func(a, b *stream) bool {
		ra, rb, ka, kb := a.rest(), b.rest(), a.items[0].Record.Key, b.items[0].Record.Key
		if reverse {
			return ra > rb || ra == rb && ka > kb
		}
		return ra < rb || ra == rb && ka < kb
	}
	kept := 0
	for {
		// The next item is the lowest (rest of term, key) of all streams,
		// or the highest when reversed.
		var next *stream
		for _, s := range streams {
			ok, err := fill(s)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
			if next == nil || before(s, next) {
				next = s
			}
		}
		if next == nil {
			return "", nil
		}
		it := next.items[0]
		// The same record in several streams is taken once, from all of them.
		for _, s := range streams {
			if len(s.items) > 0 && s.items[0].Record.Key == it.Record.Key && strings.TrimPrefix(s.items[0].Term, s.q.Prefix) == strings.TrimPrefix(it.Term, next.q.Prefix) {
				s.q.After = s.items[0].Cursor
				s.items = s.items[1:]
			}
		}
		ok, err := r.take(region, it.Record, p, keep)
		full := errors.Is(err, Full)
		if err != nil && !full {
			return "", err
		}
		if !ok {
			continue
		}
		if kept++; kept == p.Size || full {
			for _, s := range streams {
				if ok, err := fill(s); err != nil {
					return "", err
				} else if ok {
					return token(), nil
				}
			}
			return "", nil
		}
	}
}

// Upgrades runs a region's one-time upgrade step (Rewrite, ForgetKeys of
// keys earlier code built) once per process, before the first call that
// relies on it. A step that fails is tried again by the next call.
type Upgrades struct {
	mu   sync.Mutex // held while a step runs
	done sync.Map   // region → true once its step succeeded
}

// Once runs step for region unless it already succeeded in this process.
// Once it has, a call costs a map read and no lock: it sits in front of
// every create.
func (u *Upgrades) Once(ctx context.Context, region string, step func(ctx context.Context) error) error {
	if _, ok := u.done.Load(region); ok {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.done.Load(region); ok {
		return nil
	}
	if err := step(ctx); err != nil {
		return err
	}
	u.done.Store(region, true)
	return nil
}
