package idea

import (
	"context"
	"regexp"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
)

// The idea service's records beside ideas (assessments, workshops,
// categories, focus-group sessions, test beds, test plans) are each kept by
// a repository of their own, stored as the resource itself; records earlier
// code stored as protojson stay readable.

// keptRepo is the repository of one kind of kept record.
func keptRepo[T proto.Message](s *Server, ttl time.Duration, kind string, newT func() T, index func(e *repo.Entry[T]) []store.IndexEntry) *repo.Repo[T] {
	return repo.New(repo.Config[T]{
		Store: s.store, Service: service, Domain: domain, Kind: kind, Now: s.now, IdempotencyTTL: ttl,
		New: newT, Index: index,
	})
}

// keyIndex lists records on index by their key without prefix.
func keyIndex[T proto.Message](index, prefix string) func(e *repo.Entry[T]) []store.IndexEntry {
	return func(e *repo.Entry[T]) []store.IndexEntry {
		return []store.IndexEntry{{Index: index, Term: strings.TrimPrefix(e.Ref.Key, prefix)}}
	}
}

// pageKept is one page of a List of kept records: order_by read against
// orders (two: the index's order, the default, and its reverse), page_size
// and page_token read against digest and the order, one page of index q
// read in that order.
func pageKept[T proto.Message](ctx context.Context, r *repo.Repo[T], region string, q store.Query, digest string, orders resource.Orders, orderBy string, pageSize int32, token string) ([]T, string, error) {
	var v errs.Violations
	o := orders.Parse(&v, orderBy)
	q.Reverse = o == 1
	digest = resource.Digest(digest, orders[o])
	size := resource.PageSize(&v, pageSize)
	after := resource.DecodeToken(&v, token, digest)
	if err := v.Err(domain); err != nil {
		return nil, "", err
	}
	var out []T
	next, err := r.List(ctx, region, repo.Page[T]{Plan: filter.Plan[T]{Query: q}, After: after, Size: size, Digest: digest}, func(e *repo.Entry[T]) (bool, error) {
		out = append(out, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// all reads every record of an index prefix, for short lists kept whole
// (a region's categories, an idea's assessments).
func all[T proto.Message](ctx context.Context, r *repo.Repo[T], region string, q store.Query, each func(e *repo.Entry[T]) error) error {
	_, err := r.List(ctx, region, repo.Page[T]{Plan: filter.Plan[T]{Query: q}}, func(e *repo.Entry[T]) (bool, error) {
		return true, each(e)
	})
	return err
}

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// checkDate reads a YYYY-MM-DD date.
func checkDate(v *errs.Violations, field, s string, required bool) (time.Time, bool) {
	if s == "" {
		if required {
			v.Add(field, "is required (YYYY-MM-DD)")
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || !datePattern.MatchString(s) {
		v.Add(field, "%q is not a date (YYYY-MM-DD)", s)
		return time.Time{}, false
	}
	return t, true
}
