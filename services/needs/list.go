package needs

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const (
	defaultPageSize = 50
	maxPageSize     = 1000
	// minScan is the smallest batch read from an index, so a filtered list
	// with a small page does not make one store round trip per need.
	minScan = 50
)

// The two orders a list comes in. Each index below exists once per order.
const (
	orderCreated  = "created"  // newest first
	orderPriority = "priority" // highest priority score first, then newest
)

// newestFirst turns a create time into an index term that sorts the newest
// need first.
func newestFirst(need *needsv1.Need) string {
	return fmt.Sprintf("%019d", math.MaxInt64-need.GetCreateTime().AsTime().UnixNano())
}

// highestFirst turns a priority score (0, or 1 to 5) into an index term that
// sorts the highest score first, to a millionth; unscreened needs come last.
func highestFirst(score float64) string {
	micro := int64(math.Round(score * 1e6))
	micro = max(0, min(micro, 9_999_999))
	return fmt.Sprintf("%07d", 9_999_999-micro)
}

// indexEntries are every index a need is listed by: by create time and by
// priority, each for all needs, per status, and for published needs only
// (what partners list).
func indexEntries(need *needsv1.Need) []store.IndexEntry {
	t := newestFirst(need)
	terms := map[string]string{orderCreated: t, orderPriority: highestFirst(need.GetPriorityScore()) + "/" + t}
	status := need.GetStatus().String()
	var out []store.IndexEntry
	for _, order := range []string{orderCreated, orderPriority} {
		out = append(out,
			store.IndexEntry{Index: order, Term: terms[order]},
			store.IndexEntry{Index: "status_" + order, Term: status + "/" + terms[order]},
		)
		if need.GetPublished() {
			out = append(out, store.IndexEntry{Index: "published_" + order, Term: terms[order]})
		}
	}
	return out
}

// filter is a parsed ListNeeds filter: equality terms joined by AND.
type filter struct {
	status      needsv1.NeedStatus
	hasPublish  bool
	published   bool
	careUnit    string
	hasCareUnit bool
}

func (f filter) match(need *needsv1.Need) bool {
	return (f.status == 0 || need.GetStatus() == f.status) &&
		(!f.hasPublish || need.GetPublished() == f.published) &&
		(!f.hasCareUnit || strings.EqualFold(strings.TrimSpace(need.GetCareUnit()), f.careUnit))
}

// parseFilter reads `field = value` terms joined by AND. Values may be
// quoted ("Akutmottagningen, NUS"), with \" and \\ as escapes, so a care
// unit can hold spaces and the word AND.
func parseFilter(s string) (filter, error) {
	var f filter
	l := lexer{s: s}
	l.space()
	if l.done() {
		return f, nil
	}
	seen := map[string]bool{}
	for {
		field := l.word()
		l.space()
		if !l.take('=') {
			return f, fmt.Errorf("expected field = value at %q", l.rest())
		}
		l.space()
		value, err := l.value()
		if err != nil {
			return f, err
		}
		if field == "careUnit" {
			field = "care_unit"
		}
		if seen[field] {
			return f, fmt.Errorf("%s is given twice", field)
		}
		seen[field] = true
		switch field {
		case "status":
			n, ok := needsv1.NeedStatus_value[value]
			if !ok || n == 0 {
				return f, fmt.Errorf("status %q is not a need status (e.g. NEED_STATUS_PRIORITISED)", value)
			}
			f.status = needsv1.NeedStatus(n)
		case "published":
			switch value {
			case "true":
				f.published = true
			case "false":
				f.published = false
			default:
				return f, fmt.Errorf("published is true or false, not %q", value)
			}
			f.hasPublish = true
		case "care_unit":
			f.careUnit, f.hasCareUnit = strings.TrimSpace(value), true
		case "":
			return f, fmt.Errorf("expected a field name at %q", l.rest())
		default:
			return f, fmt.Errorf("cannot filter on %q (fields: status, published, care_unit)", field)
		}
		l.space()
		if l.done() {
			return f, nil
		}
		if at := l.rest(); l.word() != "AND" {
			return f, fmt.Errorf("expected AND before %q", at)
		}
		if !l.space() || l.done() {
			return f, fmt.Errorf("a term is missing after AND")
		}
	}
}

// lexer walks a filter string.
type lexer struct {
	s   string
	pos int
}

func (l *lexer) done() bool   { return l.pos >= len(l.s) }
func (l *lexer) rest() string { return l.s[l.pos:] }

// space skips blanks and reports whether there were any.
func (l *lexer) space() bool {
	start := l.pos
	for !l.done() && (l.s[l.pos] == ' ' || l.s[l.pos] == '\t') {
		l.pos++
	}
	return l.pos > start
}

func (l *lexer) take(c byte) bool {
	if !l.done() && l.s[l.pos] == c {
		l.pos++
		return true
	}
	return false
}

// word reads letters, digits and underscores.
func (l *lexer) word() string {
	start := l.pos
	for !l.done() {
		c := l.s[l.pos]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			break
		}
		l.pos++
	}
	return l.s[start:l.pos]
}

// value reads a quoted string or a bare value up to the next blank.
func (l *lexer) value() (string, error) {
	if !l.take('"') {
		start := l.pos
		for !l.done() && l.s[l.pos] != ' ' && l.s[l.pos] != '\t' {
			l.pos++
		}
		if l.pos == start {
			return "", fmt.Errorf("a value is missing at the end")
		}
		return l.s[start:l.pos], nil
	}
	var b strings.Builder
	for !l.done() {
		c := l.s[l.pos]
		l.pos++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\' && !l.done():
			b.WriteByte(l.s[l.pos])
			l.pos++
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("a quoted value is not closed")
}

// parseOrder accepts the orders the indexes serve.
func parseOrder(s string) (string, error) {
	switch strings.Join(strings.Fields(s), " ") {
	case "", "create_time desc", "createTime desc":
		return orderCreated, nil
	case "priority_score desc", "priorityScore desc":
		return orderPriority, nil
	}
	return "", fmt.Errorf("%q is not an order this list supports: use create_time desc (the default) or priority_score desc", s)
}

// ListNeeds pages through a region's needs on the secondary indexes, newest
// first or by priority, narrowed to what the caller may see.
func (s *Server) ListNeeds(ctx context.Context, req *needsv1.ListNeedsRequest) (*needsv1.ListNeedsResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}

	var v errs.Violations
	f, ferr := parseFilter(req.GetFilter())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	order, oerr := parseOrder(req.GetOrderBy())
	if oerr != nil {
		v.Add("order_by", "%v", oerr)
	}
	size := resource.PageSize(&v, req.GetPageSize())

	// Partners see published needs only, so their lists never walk the rest.
	partnerOnly := !isStaff(who, region) && !isNational(who) && !who.Has(auth.Submitter)
	q := store.Query{Index: order}
	switch {
	case f.status != 0:
		q = store.Query{Index: "status_" + order, Prefix: f.status.String() + "/"}
	case partnerOnly || (f.hasPublish && f.published):
		q = store.Query{Index: "published_" + order}
	}
	query := resource.Digest(region, q.Index, q.Prefix, req.GetFilter(), order)
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	resp := &needsv1.ListNeedsResponse{}
	q.After = after
	resp.NextPageToken, err = s.collect(ctx, region, q, size, query, func(rec store.Record) (bool, error) {
		r, err := decode(rec)
		if err != nil {
			return false, err
		}
		if !f.match(r.need) || !mayRead(who, region, r.owner, r.need) {
			return false, nil
		}
		resp.Needs = append(resp.Needs, redact(who, region, r.owner, r.need))
		return true, nil
	})
	if err != nil {
		return nil, domain.Store(err, "NEED", "needs of "+region)
	}
	return resp, nil
}

// collect scans q from q.After and hands each record to keep until size of
// them were kept. It returns the token of the next page, "" at the end.
func (s *Server) collect(ctx context.Context, region string, q store.Query, size int, query string, keep func(store.Record) (bool, error)) (string, error) {
	q.Limit = max(size, minScan)
	kept := 0
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return "", err
		}
		for i, it := range page.Items {
			q.After = it.Cursor
			ok, err := keep(it.Record)
			if err != nil {
				return "", err
			}
			if !ok {
				continue
			}
			if kept++; kept == size {
				if i < len(page.Items)-1 || page.More {
					return resource.EncodeToken(q.After, query), nil
				}
				return "", nil
			}
		}
		if !page.More {
			return "", nil
		}
	}
}
