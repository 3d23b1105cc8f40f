package idea

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// newestFirst turns a create time into an index term that sorts the newest
// idea first.
func newestFirst(idea *ideav1.Idea) string {
	return fmt.Sprintf("%019d", math.MaxInt64-idea.GetCreateTime().AsTime().UnixNano())
}

// indexEntries are every index an idea is listed by. Each orders by create
// time, newest first, within its prefix. Tags and care areas are folded to
// lower case so a filter matches however a focus group spelled them.
func indexEntries(r *record) []store.IndexEntry {
	idea := r.idea
	t := newestFirst(idea)
	entries := []store.IndexEntry{
		{Index: "created", Term: t},
		{Index: "stage", Term: idea.GetStage().String() + "/" + t},
		{Index: "origin", Term: idea.GetOrigin().String() + "/" + t},
	}
	if r.owner != "" {
		entries = append(entries, store.IndexEntry{Index: "owner", Term: subjectKey(r.owner) + "/" + t})
	}
	for _, o := range r.coOwners {
		entries = append(entries, store.IndexEntry{Index: "owner", Term: subjectKey(o) + "/" + t})
	}
	if a := fold(idea.GetCareArea()); a != "" {
		entries = append(entries, store.IndexEntry{Index: "care_area", Term: a + "/" + t})
	}
	seen := map[string]bool{}
	for _, tag := range idea.GetTags() {
		if f := fold(tag); f != "" && !seen[f] {
			seen[f] = true
			entries = append(entries, store.IndexEntry{Index: "tag", Term: f + "/" + t})
		}
	}
	return entries
}

// fold normalises a free-text filter value; "/" is the term separator.
func fold(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "/", " ")
}

// filter is a parsed ListIdeas filter: equality terms joined by AND.
type filter struct {
	stage    ideav1.Stage
	origin   ideav1.Origin
	tag      string // folded
	careArea string // folded
}

func (f filter) match(idea *ideav1.Idea) bool {
	if f.stage != 0 && idea.GetStage() != f.stage || f.origin != 0 && idea.GetOrigin() != f.origin {
		return false
	}
	if f.careArea != "" && fold(idea.GetCareArea()) != f.careArea {
		return false
	}
	if f.tag != "" && !slices.ContainsFunc(idea.GetTags(), func(t string) bool { return fold(t) == f.tag }) {
		return false
	}
	return true
}

// index picks the index that serves f: tags and care areas are usually the
// most selective, then stage, then origin; the remaining terms are checked on
// the records the index yields.
func (f filter) index() store.Query {
	switch {
	case f.tag != "":
		return store.Query{Index: "tag", Prefix: f.tag + "/"}
	case f.careArea != "":
		return store.Query{Index: "care_area", Prefix: f.careArea + "/"}
	case f.stage != 0:
		return store.Query{Index: "stage", Prefix: f.stage.String() + "/"}
	case f.origin != 0:
		return store.Query{Index: "origin", Prefix: f.origin.String() + "/"}
	}
	return store.Query{Index: "created"}
}

func parseFilter(s string) (filter, error) {
	var f filter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	for _, term := range strings.Split(s, " AND ") {
		field, value, ok := strings.Cut(term, "=")
		field, value = strings.TrimSpace(field), strings.Trim(strings.TrimSpace(value), `"`)
		if !ok || field == "" || value == "" {
			return f, fmt.Errorf("%q is not of the form field = VALUE", strings.TrimSpace(term))
		}
		switch field {
		case "stage":
			n, ok := ideav1.Stage_value[value]
			if !ok || n == 0 {
				return f, fmt.Errorf("stage %q is not a stage (e.g. STAGE_SCREENING)", value)
			}
			f.stage = ideav1.Stage(n)
		case "origin":
			n, ok := ideav1.Origin_value[value]
			if !ok || n == 0 {
				return f, fmt.Errorf("origin %q is not an origin (e.g. ORIGIN_STAFF)", value)
			}
			f.origin = ideav1.Origin(n)
		case "tag", "category":
			// A region's categories are the tags its ideas carry.
			f.tag = fold(value)
		case "care_area", "careArea":
			f.careArea = fold(value)
		default:
			return f, fmt.Errorf("cannot filter on %q (fields: stage, origin, tag, category, care_area)", field)
		}
	}
	return f, nil
}

// ListIdeas pages through a region's ideas, newest first, on the secondary
// indexes: a submitter's own ideas via the owner index, a filtered list via
// the index of its most selective term.
func (s *Server) ListIdeas(ctx context.Context, req *ideav1.ListIdeasRequest) (*ideav1.ListIdeasResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}

	var v errs.Violations
	f, ferr := parseFilter(req.GetFilter())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())

	q := f.index()
	if !isStaff(who, region) && !isNational(who) {
		q = store.Query{Index: "owner", Prefix: subjectKey(who.Subject) + "/"}
	}
	query := resource.Digest(region, q.Index, q.Prefix, req.GetFilter())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	resp := &ideav1.ListIdeasResponse{}
	var bytes resource.PageBytes
	q.After, q.Limit = after, size
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return nil, domain.Store(err, "IDEA", "ideas of "+region)
		}
		for i, it := range page.Items {
			r, err := decode(it.Record)
			if err != nil {
				return nil, domain.Store(err, "IDEA", "ideas of "+region)
			}
			q.After = it.Cursor
			if !f.match(r.idea) || !r.readableBy(who, region) {
				continue
			}
			shown := redact(who, region, r.owner, r.idea)
			resp.Ideas = append(resp.Ideas, shown)
			if full := bytes.Add(proto.Size(shown)); len(resp.Ideas) == size || full {
				if i < len(page.Items)-1 || page.More {
					resp.NextPageToken = resource.EncodeToken(q.After, query)
				}
				return resp, nil
			}
		}
		if !page.More {
			return resp, nil
		}
	}
}
