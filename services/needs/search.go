package needs

import (
	"cmp"
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/trigram"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const (
	// searchThreshold is the share of each word's trigrams a need must
	// hold, pg_trgm's word_similarity_threshold.
	searchThreshold = 0.6
)

// searchNeeds answers ListNeeds with q: the needs whose folded statement
// parts hold each word of q, by relevance (then newest first), found in the
// similarity index rather than by scanning the region, narrowed there to
// what the caller may see and read one by one from the store for the page,
// where the filter and the caller's access are checked again.
func (s *Server) searchNeeds(ctx context.Context, req *needsv1.ListNeedsRequest, region string, who *auth.Identity) (*needsv1.ListNeedsResponse, error) {
	var v errs.Violations
	q := resource.SearchQuery(&v, req.GetQ(), req.GetOrderBy())
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: orderCreated}, filterFields(orderCreated))
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	scope := "region"
	if !isStaff(who, region) && !isNational(who) {
		scope = "published"
		if who.Has(auth.Submitter) {
			scope += "+" + repo.SubjectHash(who.Subject)
		}
	}
	digest := resource.Digest(region, "q", q, plan.Filter, scope)
	after := resource.DecodeToken(&v, req.GetPageToken(), digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	x := s.indexOf(region)
	x.mu.Lock()
	if err := s.syncIndex(ctx, x); err != nil {
		x.mu.Unlock()
		return nil, domain.Store(err, "NEED", "needs of "+region)
	}
	found := x.find.CoverWords(q, searchThreshold, func(name string) bool {
		m := x.meta[name]
		return mayRead(who, region, m.owner, &needsv1.Need{Published: m.published})
	})
	type hit struct{ name, key string }
	hits := make([]hit, len(found))
	for i, h := range found {
		hits[i] = hit{h.Name, trigram.RankKey(h.Similarity, x.meta[h.Name].newest, h.Name)}
	}
	x.mu.Unlock()
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Compare(a.key, b.key) })

	resp := &needsv1.ListNeedsResponse{}
	for i, h := range hits {
		if h.key <= after {
			continue
		}
		name, err := parseNeedName(h.name)
		if err != nil {
			continue
		}
		r, err := s.needs.Get(ctx, name.ref())
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !mayRead(who, region, r.Owner, r.Msg) || plan.Match != nil && !plan.Match(r.Msg) {
			continue
		}
		resp.Needs = append(resp.Needs, speak(ctx, redact(who, region, r.Owner, r.Msg)))
		if len(resp.Needs) == size && i < len(hits)-1 {
			resp.NextPageToken = resource.EncodeToken(h.key, digest)
			break
		}
	}
	return resp, nil
}
