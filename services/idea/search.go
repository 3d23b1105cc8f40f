package idea

import (
	"cmp"
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/trigram"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

const (
	// searchThreshold is the share of each word's trigrams an idea must
	// hold, pg_trgm's word_similarity_threshold: "kol" finds "KOL-kontroll"
	// and "kolla", not every word beginning with "ko".
	searchThreshold = 0.6
)

// searchHit is an idea ListIdeas' q found, with its place in the answer.
type searchHit struct {
	name string
	key  string // relevance, best first, then newest first, then name
}

// searchIdeas answers ListIdeas with q: the ideas whose folded title and
// problem (or the title of a duplicate merged into them) hold each word of
// q, by relevance, read from the similarity index rather than by scanning
// the region, then read one by one from the store for the page, where the
// filter and the caller's access are checked again on the idea as it is.
func (s *Server) searchIdeas(ctx context.Context, req *ideav1.ListIdeasRequest, region string, who *auth.Identity) (*ideav1.ListIdeasResponse, error) {
	var v errs.Violations
	wide := isStaff(who, region) || isNational(who)
	q := resource.SearchQuery(&v, req.GetQ(), req.GetOrderBy())
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: "created"}, filterFields())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	scope := ""
	if !wide {
		scope = subjectKey(who.Subject)
	}
	digest := resource.Digest(region, "q", q, plan.Filter, scope)
	after := resource.DecodeToken(&v, req.GetPageToken(), digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	x := s.simIndexOf(region)
	x.mu.Lock()
	if err := s.sync(ctx, x); err != nil {
		x.mu.Unlock()
		return nil, domain.Store(err, "IDEA", "ideas of "+region)
	}
	mayList := func(name string) bool {
		return wide || who.Region == region && slices.Contains(x.readers[name], who.Subject)
	}
	hits := x.searchText(q, mayList)
	x.mu.Unlock()

	resp := &ideav1.ListIdeasResponse{}
	var bytes resource.PageBytes
	for i, h := range hits {
		if h.key <= after {
			continue
		}
		name, err := parseIdeaName(h.name)
		if err != nil {
			continue
		}
		r, err := s.ideas.Get(ctx, name.ref())
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !readableBy(r, who, region) || plan.Match != nil && !plan.Match(r.Msg) {
			continue
		}
		shown := redact(who, region, r.Owner, r.Msg)
		resp.Ideas = append(resp.Ideas, shown)
		if (len(resp.Ideas) == size || bytes.Add(proto.Size(shown))) && i < len(hits)-1 {
			resp.NextPageToken = resource.EncodeToken(h.key, digest)
			break
		}
	}
	return resp, nil
}

// searchText ranks the ideas that hold q (folded) and that mayList
// accepts. An idea's relevance is the mean of how much of q its title and
// problem hold and how much its title alone holds, so an idea named by the
// words comes before one that mentions them; an idea found by the title of
// a duplicate merged into it is ranked by that title. x.mu is held.
func (x *simIndex) searchText(q string, mayList func(name string) bool) []searchHit {
	best := map[string]float64{}
	title := x.findTitles.Shares(q)
	for _, h := range x.find.CoverWords(q, searchThreshold, mayList) {
		best[h.Name] = (h.Similarity + title(h.Name)) / 2
	}
	for _, h := range x.dupTitles.CoverWords(q, searchThreshold, nil) {
		into := x.mergedInto[h.Name]
		if _, known := x.ideas[into]; known && mayList(into) {
			best[into] = max(best[into], h.Similarity/2)
		}
	}
	out := make([]searchHit, 0, len(best))
	for name, rel := range best {
		out = append(out, searchHit{name: name, key: trigram.RankKey(rel, newestFirst(x.ideas[name]), name)})
	}
	slices.SortFunc(out, func(a, b searchHit) int { return cmp.Compare(a.key, b.key) })
	return out
}
