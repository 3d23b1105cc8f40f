package needs

import (
	"context"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
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

// orderTerm is a need's place in one order.
func orderTerm(need *needsv1.Need, order string) string {
	if order == orderPriority {
		return highestFirst(need.GetPriorityScore()) + "/" + newestFirst(need)
	}
	return newestFirst(need)
}

// indexEntries are every index a need is listed by: by create time and by
// priority, each for all needs, per status, per owner (a reporter's own
// needs, by their hashed subject) and for published needs only (what
// partners list); and by update time, for all needs (orderUpdated). Each
// index serves its order in both directions (a reversed scan).
func indexEntries(r *record) []store.IndexEntry {
	need := r.Msg
	status := need.GetStatus().String()
	var out []store.IndexEntry
	for _, order := range []string{orderCreated, orderPriority} {
		t := orderTerm(need, order)
		out = append(out,
			store.IndexEntry{Index: order, Term: t},
			store.IndexEntry{Index: "status_" + order, Term: status + "/" + t},
		)
		if need.GetPublished() {
			out = append(out, store.IndexEntry{Index: "published_" + order, Term: t})
		}
		if r.Owner != "" {
			out = append(out, store.IndexEntry{Index: "owner_" + order, Term: repo.SubjectHash(r.Owner) + "/" + t})
		}
	}
	return append(out, store.IndexEntry{Index: orderUpdated, Term: fmt.Sprintf("%019d", math.MaxInt64-need.GetUpdateTime().AsTime().UnixNano())})
}

// childIndex lists a need's parts (screenings, decisions) in the order of
// their keys, prefix then need id and sequence.
func childIndex[T proto.Message](index, prefix string) func(e *repo.Entry[T]) []store.IndexEntry {
	return func(e *repo.Entry[T]) []store.IndexEntry {
		return []store.IndexEntry{{Index: index, Term: strings.TrimPrefix(e.Ref.Key, prefix)}}
	}
}

// fold compares care units as people type them.
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// filterFields are what ListNeeds filters on, the indexed first. The
// update-time order has no index per status or publication: its filters
// are checked on each need.
func filterFields(order string) []filter.Field[*needsv1.Need] {
	if order == orderUpdated {
		fields := filterFields(orderCreated)
		for i := range fields {
			fields[i].Index = nil
		}
		return fields
	}
	return []filter.Field[*needsv1.Need]{
		{
			Name: "status", Values: filter.EnumValues(needsv1.NeedStatus(0).Descriptor()),
			Get: func(n *needsv1.Need) []string { return []string{n.GetStatus().String()} },
			Index: func(v string) (store.Query, bool) {
				return store.Query{Index: "status_" + order, Prefix: v + "/"}, true
			},
		},
		{
			Name: "published", Values: filter.Bools(),
			Get: func(n *needsv1.Need) []string { return []string{fmt.Sprint(n.GetPublished())} },
			Index: func(v string) (store.Query, bool) {
				return store.Query{Index: "published_" + order}, v == "true"
			},
		},
		{
			Name: "care_unit", Aliases: []string{"careUnit"}, Fold: fold,
			Get: func(n *needsv1.Need) []string { return []string{n.GetCareUnit()} },
		},
	}
}

// ListNeeds pages through a region's needs on the secondary indexes, by
// create time, priority or update time (either way round), or the needs q
// finds (search.go), narrowed to what the caller may see. Staff and
// national callers list the region, on the index the filter asks for;
// partners the published needs; submitters their own and the published
// ones. A narrowed caller's list never walks needs they may not see.
func (s *Server) ListNeeds(ctx context.Context, req *needsv1.ListNeedsRequest) (*needsv1.ListNeedsResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.GetQ()) != "" {
		return s.searchNeeds(ctx, req, region, who)
	}

	var v errs.Violations
	wide := isStaff(who, region) || isNational(who)
	by, orderBy := parseNeedOrder(&v, req.GetOrderBy(), wide)
	order := by.index
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: order}, filterFields(order))
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())

	page := repo.Page[*needsv1.Need]{Plan: plan, Size: size}
	published := reversed(store.Query{Index: "published_" + order}, by.reverse)
	switch {
	case wide:
	case who.Has(auth.Submitter):
		page.Union = []store.Query{reversed(store.Query{Index: "owner_" + order, Prefix: repo.SubjectHash(who.Subject) + "/"}, by.reverse), published}
	default:
		page.Plan.Query = published
	}
	page.Plan.Query.Reverse = by.reverse
	page.Digest = resource.Digest(region, page.Plan.Query.Index, page.Plan.Query.Prefix, fmt.Sprint(page.Union), plan.Filter, orderBy)
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if page.Union != nil {
		if err := s.ownersIndexed(ctx, region); err != nil {
			return nil, err
		}
	}
	if order == orderUpdated {
		if err := s.updatedIndexed(ctx, region); err != nil {
			return nil, err
		}
	}

	resp := &needsv1.ListNeedsResponse{}
	resp.NextPageToken, err = s.needs.List(ctx, region, page, func(r *record) (bool, error) {
		if !mayRead(who, region, r.Owner, r.Msg) {
			return false, nil
		}
		resp.Needs = append(resp.Needs, speak(ctx, redact(who, region, r.Owner, r.Msg)))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// ownersIndexed makes sure every need of region is on the owner index
// before a reporter's list relies on it: needs stored by earlier code have
// no entry there until they are rewritten, once per region and process.
// Earlier code also kept request ids under the raw subject and for ever;
// those keys go in the same step (a retry of a create from before the
// upgrade is then a new create).
func (s *Server) ownersIndexed(ctx context.Context, region string) error {
	return s.upgrades.Once(ctx, region, func(ctx context.Context) error {
		if _, err := s.needs.Rewrite(ctx, region, orderCreated, func(key string) string {
			return needName{Region: region, ID: strings.TrimPrefix(key, "need/")}.String()
		}); err != nil {
			return err
		}
		for _, prefix := range []string{"create/", "screening/"} {
			if err := s.needs.ForgetKeys(ctx, region, prefix); err != nil {
				return err
			}
		}
		return nil
	})
}
