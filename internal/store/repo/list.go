package repo

import (
	"context"
	"errors"

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
	Plan   filter.Plan[T]
	After  string
	Size   int
	Digest string
}

// List scans the plan's index from p.After, decodes each record, keeps
// those the filter matches and keep accepts (access checks; keep may also
// change the entry it is handed) until p.Size were kept, and returns the
// token of the next page ("" at the end).
func (r *Repo[T]) List(ctx context.Context, region string, p Page[T], keep func(e *Entry[T]) (bool, error)) (string, error) {
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
			e, err := r.Decode(Ref{Region: region}, it.Record)
			if err != nil {
				return "", r.fail(err, it.Record.Key)
			}
			if p.Plan.Match != nil && !p.Plan.Match(e.Msg) {
				continue
			}
			ok, err := keep(e)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
			if kept++; kept == p.Size {
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

// Rewrite brings every record on index that an earlier code wrote
// (protojson) into the current form, with the index entries of today: what
// a new index (a submitter's own needs) needs before it can be trusted. A
// record changed meanwhile is left to its writer, which rewrites it too.
// Each rewrite carries an audit event, as every write of a record does. It
// returns how many records it rewrote.
func (r *Repo[T]) Rewrite(ctx context.Context, region, index string, name func(key string) string) (int, error) {
	q := store.Query{Index: index, Limit: resource.MaxPageSize}
	n := 0
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return n, r.fail(err, "records of "+region)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			if !isLegacy(it.Record.Value) {
				continue
			}
			e, err := r.Decode(Ref{Region: region, Name: name(it.Record.Key)}, it.Record)
			if err != nil {
				return n, r.fail(err, it.Record.Key)
			}
			p, err := r.Put(e)
			if err != nil {
				return n, r.fail(err, it.Record.Key)
			}
			_, err = r.cfg.Store.Commit(ctx, r.NS(region), store.Write{
				Puts: []store.Put{p},
				Events: []store.Event{{
					Actor: "system:" + r.cfg.Service, Action: "RewriteRecord", Key: e.Ref.Name,
					EtagBefore: e.Etag(), EtagAfter: Etag(e.Version + 1), Detail: "stored form upgraded",
				}},
			})
			switch {
			case err == nil:
				n++
			case !isConflict(err):
				return n, r.fail(err, e.Ref.Name)
			}
		}
		if !page.More {
			return n, nil
		}
	}
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
