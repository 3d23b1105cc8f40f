package idea

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
)

// The idea service's records beside ideas (workshops, categories, focus-group
// sessions, test beds, test plans) are kept one protojson value per key, with
// the store's version as their etag. Their persistence lives in these few
// functions only, so moving them onto a typed repository touches nothing
// else.

// getKept reads the record at key into m, sets m's etag and returns its
// version.
func (s *Server) getKept(ctx context.Context, region, key string, m proto.Message) (int64, error) {
	rec, err := s.store.Get(ctx, ns(region), key)
	if err != nil {
		return 0, err
	}
	return rec.Version, decodeKept(rec, m)
}

// decodeKept reads a kept record into m and sets m's etag (if it has one)
// from the record's version.
func decodeKept(rec store.Record, m proto.Message) error {
	if err := protojson.Unmarshal(rec.Value, m); err != nil {
		return fmt.Errorf("record %s: %w", rec.Key, err)
	}
	setEtag(m, etagOf(rec.Version))
	return nil
}

func setEtag(m proto.Message, etag string) {
	if f := m.ProtoReflect().Descriptor().Fields().ByName("etag"); f != nil {
		m.ProtoReflect().Set(f, protoreflect.ValueOfString(etag))
	}
}

// encodeKept is the stored form of m; its etag is never stored: the
// version is the etag.
func encodeKept(m proto.Message) ([]byte, error) {
	c := proto.Clone(m)
	setEtag(c, "")
	b, err := protojson.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	return b, nil
}

// keptCreate is a create of a new kept record, optionally idempotent.
type keptCreate struct {
	region, key, name, action string
	value                     []byte
	index                     []store.IndexEntry
	// requestID and request make the create idempotent per caller.
	requestID string
	request   proto.Message
	// extra puts and events commit in the same write.
	extra  []store.Put
	events []store.Event
}

// createKept writes c. It returns the version written, or, for a replayed
// request_id, the name the first call created (and version 0).
func (s *Server) createKept(ctx context.Context, who *auth.Identity, c keptCreate) (int64, string, error) {
	w := store.Write{
		Puts:   append([]store.Put{{Key: c.key, Value: c.value, Index: c.index}}, c.extra...),
		Events: append([]store.Event{{Time: s.now(), Actor: who.Subject, Action: c.action, Key: c.name, EtagAfter: "1"}}, c.events...),
	}
	if c.requestID != "" {
		w.Idempotency = &store.Idempotency{
			Key:         c.action + "/" + subjectKey(who.Subject) + "/" + c.requestID,
			Fingerprint: resource.Fingerprint(c.request),
			Result:      []byte(c.name),
		}
	}
	res, err := s.store.Commit(ctx, ns(c.region), w)
	if err != nil {
		return 0, "", err
	}
	if res.Replayed {
		return 0, string(res.Result), nil
	}
	return res.Versions[0], c.name, nil
}

// putKept writes a kept record over the version read, with its audit event.
func (s *Server) putKept(ctx context.Context, who *auth.Identity, region, key, name, action string, value []byte, version int64, index []store.IndexEntry, del bool) (int64, error) {
	res, err := s.store.Commit(ctx, ns(region), store.Write{
		Puts: []store.Put{{Key: key, Value: value, Version: version, Index: index, Delete: del}},
		Events: []store.Event{{Time: s.now(), Actor: who.Subject, Action: action, Key: name,
			EtagBefore: etagOf(version), EtagAfter: etagOf(version + 1)}},
	})
	if err != nil {
		return 0, err
	}
	return res.Versions[0], nil
}

// scanKept reads one page of an index of kept records, decoding each with
// decode; it returns the next page token ("" at the end).
func (s *Server) scanKept(ctx context.Context, region string, q store.Query, query string, decode func(store.Record) error) (string, error) {
	page, err := s.store.Scan(ctx, ns(region), q)
	if err != nil {
		return "", err
	}
	for _, it := range page.Items {
		if err := decode(it.Record); err != nil {
			return "", err
		}
	}
	if page.More && len(page.Items) > 0 {
		return resource.EncodeToken(page.Items[len(page.Items)-1].Cursor, query), nil
	}
	return "", nil
}

// pageKept is one page of a List of kept records: page_size and page_token
// read against query (the digest a token must match), one page of index q
// decoded into new records, the next page token, and a store error named by
// what and of.
func pageKept[T proto.Message](ctx context.Context, s *Server, region string, q store.Query, query string, pageSize int32, token string,
	newT func() T, what, of string) ([]T, string, error) {
	size, after, err := listPage(pageSize, token, query)
	if err != nil {
		return nil, "", err
	}
	q.After, q.Limit = after, size
	var out []T
	next, err := s.scanKept(ctx, region, q, query, func(rec store.Record) error {
		m := newT()
		out = append(out, m)
		return decodeKept(rec, m)
	})
	if err != nil {
		return nil, "", domain.Store(err, what, of)
	}
	return out, next, nil
}

// scanAll reads every record of an index prefix, for short lists kept whole
// (a region's categories, an idea's assessments).
func (s *Server) scanAll(ctx context.Context, region string, q store.Query, decode func(store.Record) error) error {
	q.Limit = 1000
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := decode(it.Record); err != nil {
				return err
			}
			q.After = it.Cursor
		}
		if !page.More || len(page.Items) == 0 {
			return nil
		}
	}
}

// listPage reads page_size and page_token of a List.
func listPage(pageSize int32, token, query string) (int, string, error) {
	var v errs.Violations
	size := resource.PageSize(&v, pageSize)
	after := resource.DecodeToken(&v, token, query)
	return size, after, v.Err(domain)
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
