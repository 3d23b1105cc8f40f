package idea

import (
	"context"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// newestFirst turns a create time into an index term that sorts the newest
// idea first.
func newestFirst(idea *ideav1.Idea) string {
	return fmt.Sprintf("%019d", math.MaxInt64-idea.GetCreateTime().AsTime().UnixNano())
}

// indexEntries are every index an idea is listed by. Each orders by create
// time, newest first, within its prefix, but the two of orderEntries. Tags and care areas are folded to
// lower case so a filter matches however a focus group spelled them.
func indexEntries(r *record) []store.IndexEntry {
	idea := r.Msg
	t := newestFirst(idea)
	entries := []store.IndexEntry{
		{Index: "created", Term: t},
		{Index: "stage", Term: idea.GetStage().String() + "/" + t},
		{Index: "origin", Term: idea.GetOrigin().String() + "/" + t},
	}
	if r.Owner != "" {
		entries = append(entries, store.IndexEntry{Index: "owner", Term: subjectKey(r.Owner) + "/" + t})
	}
	for _, o := range side(r).CoOwners {
		entries = append(entries, store.IndexEntry{Index: "owner", Term: subjectKey(o) + "/" + t})
	}
	entries = append(entries, orderEntries(idea)...)
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

// filterFields are what ListIdeas filters on, the most selective first:
// tags and care areas, then stage, then origin; the remaining terms are
// checked on the records the index yields.
func filterFields() []filter.Field[*ideav1.Idea] {
	prefixed := func(index string) func(v string) (store.Query, bool) {
		return func(v string) (store.Query, bool) { return store.Query{Index: index, Prefix: v + "/"}, true }
	}
	return []filter.Field[*ideav1.Idea]{
		{
			// A region's categories are the tags its ideas carry.
			Name: "tag", Aliases: []string{"category", "tags"}, Repeated: true, Fold: fold,
			Get:   func(i *ideav1.Idea) []string { return i.GetTags() },
			Index: prefixed("tag"),
		},
		{
			Name: "care_area", Aliases: []string{"careArea"}, Fold: fold,
			Get:   func(i *ideav1.Idea) []string { return []string{i.GetCareArea()} },
			Index: prefixed("care_area"),
		},
		{
			Name: "stage", Values: filter.EnumValues(ideav1.Stage(0).Descriptor()),
			Get:   func(i *ideav1.Idea) []string { return []string{i.GetStage().String()} },
			Index: prefixed("stage"),
		},
		{
			Name: "origin", Values: filter.EnumValues(ideav1.Origin(0).Descriptor()),
			Get:   func(i *ideav1.Idea) []string { return []string{i.GetOrigin().String()} },
			Index: prefixed("origin"),
		},
	}
}

// ListIdeas pages through a region's ideas, newest first or in the order
// asked for (order.go), or the ideas q finds (search.go), on the secondary indexes: a submitter's own ideas via the owner index, a filtered list via
// the index of its most selective term.
func (s *Server) ListIdeas(ctx context.Context, req *ideav1.ListIdeasRequest) (*ideav1.ListIdeasResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.GetQ()) != "" {
		return s.searchIdeas(ctx, req, region, who)
	}

	var v errs.Violations
	wide := isStaff(who, region) || isNational(who)
	order, orderBy := parseIdeaOrder(&v, req.GetOrderBy(), wide)
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: order.index}, orderedFields(order))
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	page := repo.Page[*ideav1.Idea]{Plan: plan, Size: size}
	if !wide {
		page.Plan.Query = store.Query{Index: "owner", Prefix: subjectKey(who.Subject) + "/"}
	}
	page.Plan.Query.Reverse = order.reverse
	page.Digest = resource.Digest(region, page.Plan.Query.Index, page.Plan.Query.Prefix, plan.Filter, orderBy)
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if order.index != "created" {
		if err := s.ordersIndexed(ctx, region); err != nil {
			return nil, err
		}
	}

	resp := &ideav1.ListIdeasResponse{}
	var bytes resource.PageBytes
	resp.NextPageToken, err = s.ideas.List(ctx, region, page, func(r *record) (bool, error) {
		if !readableBy(r, who, region) {
			return false, nil
		}
		shown := redact(who, region, r.Owner, r.Msg)
		resp.Ideas = append(resp.Ideas, shown)
		if bytes.Add(proto.Size(shown)) {
			return true, repo.Full
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
