// Package funding owns subproject funding (docs/architecture.md, "Domain rules"): a region's
// subprojects with their budgets, contributions and 50 % co-financing, their
// cost reports, and the national programme ledger that every region
// reserves its co-financing from, pays it out of and releases it to.
//
// The two halves are two gRPC services. ProgrammeService (the Ledger) keeps
// its data in the namespace funding:national and is the only place money
// moves: every reservation, payment and release is one atomic store commit,
// keyed so that a retry or a duplicate never moves money twice.
// SubprojectService (Subprojects) keeps each region's data in funding:{region}
// and reaches the ledger only through its generated gRPC client, so a region
// and the national deployment may run in different processes.
package funding

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
)

const domain errs.Domain = "funding.motor"

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

func regionNS(region string) store.Namespace {
	return store.Namespace{Service: "funding", Region: region}
}

// nationalNS holds the programme ledger.
func nationalNS() store.Namespace {
	return store.Namespace{Service: "funding", Region: auth.NationalRegion}
}

// encode stores a resource as protojson without its etag: the record
// version is the etag, and keeping it twice would let them disagree.
func encode(m proto.Message) ([]byte, error) {
	clean := proto.Clone(m)
	if fd := clean.ProtoReflect().Descriptor().Fields().ByName("etag"); fd != nil {
		clean.ProtoReflect().Clear(fd)
	}
	b, err := protojson.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	return b, nil
}

// decode reads a record into m and sets m's etag, if it has one, to the
// record's version.
func decode(rec store.Record, m proto.Message) error {
	if err := protojson.Unmarshal(rec.Value, m); err != nil {
		return fmt.Errorf("record %s: %w", rec.Key, err)
	}
	if fd := m.ProtoReflect().Descriptor().Fields().ByName("etag"); fd != nil {
		m.ProtoReflect().Set(fd, protoreflect.ValueOfString(etagOf(rec.Version)))
	}
	return nil
}

func etagOf(version int64) string { return strconv.FormatInt(version, 10) }

// checkEtag compares the etag a caller sent with the version stored: a
// mismatch is ABORTED (REST 409), as docs/architecture.md ("Contracts and REST routes") asks.
func checkEtag(etag string, version int64, what string) error {
	if etag != etagOf(version) {
		return domain.New(codes.Aborted, "ETAG_MISMATCH", "%s has etag %s, not %q: it was changed by someone else; read it again and retry", what, etagOf(version), etag)
	}
	return nil
}

// createKey scopes a request_id to its caller and the kind of resource, so
// one person's request_id never returns another's resource.
func createKey(kind string, who *auth.Identity, requestID string) string {
	return "create/" + kind + "/" + who.Subject + "/" + requestID
}

// checkAmount: money on the wire is a positive number of öre (SEK; the wire
// has no other currency).
func checkAmount(v *errs.Violations, field string, ore int64) {
	switch {
	case ore <= 0:
		v.Add(field, "must be a positive amount of öre, got %d", ore)
	case ore > maxAmountOre:
		v.Add(field, "is %d öre; at most %d öre are accepted", ore, maxAmountOre)
	}
}

// checkDate accepts YYYY-MM-DD and returns the day.
func checkDate(v *errs.Violations, field, s string) (time.Time, bool) {
	if s == "" {
		v.Add(field, "is required (YYYY-MM-DD)")
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.Add(field, "%q is not a date of the form YYYY-MM-DD", s)
		return time.Time{}, false
	}
	return d, true
}

func checkPeriod(v *errs.Violations, startField, start, endField, end string) {
	s, okS := checkDate(v, startField, start)
	e, okE := checkDate(v, endField, end)
	if okS && okE && e.Before(s) {
		v.Add(endField, "%s is before %s %s", end, startField, start)
	}
}

// scanPage reads one page of an index and decodes each record with each.
func scanPage(ctx context.Context, st store.Store, ns store.Namespace, q store.Query, query string, each func(store.Record) error) (string, error) {
	page, err := st.Scan(ctx, ns, q)
	if err != nil {
		return "", err
	}
	var bytes resource.PageBytes
	for i, it := range page.Items {
		if err := each(it.Record); err != nil {
			return "", err
		}
		if bytes.Add(len(it.Record.Value)) && (i < len(page.Items)-1 || page.More) {
			return resource.EncodeToken(it.Cursor, query), nil
		}
	}
	if page.More && len(page.Items) > 0 {
		return resource.EncodeToken(page.Items[len(page.Items)-1].Cursor, query), nil
	}
	return "", nil
}

// sortable renders a time as an index term that sorts oldest first.
func sortable(t time.Time) string { return fmt.Sprintf("%019d", t.UnixNano()) }

// backoff sleeps before retry attempt n (from 1): jittered exponential from
// base, capped, so that competing callers spread out instead of colliding
// again in lockstep.
func backoff(ctx context.Context, n int, base, ceiling time.Duration) error {
	d := base << min(n-1, 10)
	d = min(d, ceiling)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
