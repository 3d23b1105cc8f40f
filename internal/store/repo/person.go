package repo

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/store"
)

// ErasedActor is the actor of the audit events an erasure of a person
// writes: the event must not name the person it erased.
const ErasedActor = "erased-person"

// Each calls f with every record of index in region, in index order: a
// person's copy of their data walks a service's records this way.
func (r *Repo[T]) Each(ctx context.Context, region, index string, f func(e *Entry[T]) error) error {
	q := store.Query{Index: index, Limit: 500}
	for {
		page, err := r.cfg.Store.Scan(ctx, r.NS(region), q)
		if err != nil {
			return r.fail(err, index+" of "+region)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			e, err := r.Decode(Ref{Region: region, Key: it.Record.Key, Name: nameOf(it.Record.Key, nil)}, it.Record)
			if err != nil {
				return r.fail(err, it.Record.Key)
			}
			e.Ref.Name = nameOf(it.Record.Key, e.Msg.ProtoReflect())
			if err := f(e); err != nil {
				return err
			}
		}
		if !page.More || len(page.Items) == 0 {
			return nil
		}
	}
}

// Scrub walks index like Each and rewrites every record that change
// alters (change reports whether it did), with compare-and-set and an audit
// event by ErasedActor; it returns how many records it rewrote. A record
// written concurrently is read again and changed again.
func (r *Repo[T]) Scrub(ctx context.Context, region, index string, change func(e *Entry[T]) bool) (int, error) {
	n := 0
	err := r.Each(ctx, region, index, func(e *Entry[T]) error {
		for attempt := 0; attempt < r.cfg.Attempts; attempt++ {
			if attempt > 0 {
				rec, err := r.cfg.Store.Get(ctx, r.NS(region), e.Ref.Key)
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				if err != nil {
					return r.fail(err, e.Ref.Name)
				}
				if e, err = r.Decode(e.Ref, rec); err != nil {
					return r.fail(err, e.Ref.Name)
				}
			}
			if !change(e) {
				return nil
			}
			put, err := r.Put(e)
			if err != nil {
				return r.fail(err, e.Ref.Name)
			}
			_, err = r.cfg.Store.Commit(ctx, r.NS(region), store.Write{
				Puts: []store.Put{put},
				Events: []store.Event{{Time: r.cfg.Now(), Actor: ErasedActor, Action: "ErasePersonData", Key: e.Ref.Name,
					EtagBefore: Etag(e.Version), EtagAfter: Etag(e.Version + 1)}},
			})
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			if err != nil {
				return r.fail(err, e.Ref.Name)
			}
			n++
			return nil
		}
		return r.fail(fmt.Errorf("%s kept changing during the erasure: %w", e.Ref.Name, store.ErrConflict), e.Ref.Name)
	})
	return n, err
}

// nameOf is a record's resource name: its name field, or its key.
func nameOf(key string, m protoreflect.Message) string {
	if m != nil {
		if f := m.Descriptor().Fields().ByName("name"); f != nil && f.Kind() == protoreflect.StringKind && !f.IsList() {
			if v := m.Get(f).String(); v != "" {
				return v
			}
		}
	}
	return key
}
