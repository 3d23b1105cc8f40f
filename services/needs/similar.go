package needs

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/trigram"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const (
	// similarThreshold is pg_trgm's default similarity threshold.
	similarThreshold = 0.25
	maxSimilar       = 10
	maxSimilarText   = 5000
)

// statementText is what two needs are compared by: the statement's three
// parts. The fixed words of the template ("A way to … in … in order to …")
// are the same in every statement and would lift every score toward the
// threshold, so they are left out.
func statementText(problem, population, outcome string) string {
	return problem + " " + population + " " + outcome
}

// draftText is the text of a FindSimilarNeeds request: the free text when
// given (with the template's words removed if it is a rendered statement),
// else the three parts.
func draftText(req *needsv1.FindSimilarNeedsRequest) string {
	text := strings.TrimSpace(req.GetText())
	if text == "" {
		return statementText(req.GetProblem(), req.GetPopulation(), req.GetOutcome())
	}
	for _, lead := range []string{"a way to ", "ett sätt att "} {
		if len(text) >= len(lead) && strings.EqualFold(text[:len(lead)], lead) {
			text = text[len(lead):]
		}
	}
	return strings.NewReplacer(" in order to ", " ", " för att ", " ").Replace(text)
}

// FindSimilarNeeds returns the region's needs whose statements are most
// similar to a draft, among those the caller may see, so a portal can point
// to an existing need before a duplicate is reported.
func (s *Server) FindSimilarNeeds(ctx context.Context, req *needsv1.FindSimilarNeedsRequest) (*needsv1.FindSimilarNeedsResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	resource.CheckText(&v, "text", req.GetText(), maxSimilarText, false)
	resource.CheckText(&v, "problem", req.GetProblem(), maxPart, false)
	resource.CheckText(&v, "population", req.GetPopulation(), maxPart, false)
	resource.CheckText(&v, "outcome", req.GetOutcome(), maxPart, false)
	text := draftText(req)
	if v.Len() == 0 && len(trigram.Of(text)) == 0 {
		v.Add("text", "a draft is required: text, or problem, population and outcome")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	x := s.indexOf(region)
	x.mu.Lock()
	if err := s.syncIndex(ctx, x); err != nil {
		x.mu.Unlock()
		return nil, domain.Store(err, "NEED", "needs of "+region)
	}
	hits := x.idx.Search(text, similarThreshold, maxSimilar, func(name string) bool {
		m := x.meta[name]
		return mayRead(who, region, m.owner, &needsv1.Need{Published: m.published})
	})
	x.mu.Unlock()

	// The answer shows each need as GetNeed would: read now, redacted for
	// the caller.
	resp := &needsv1.FindSimilarNeedsResponse{}
	for _, h := range hits {
		name, err := parseNeedName(h.Name)
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
		resp.Results = append(resp.Results, &needsv1.SimilarNeed{Need: redact(who, region, r.Owner, r.Msg), Similarity: h.Similarity})
	}
	return resp, nil
}

// needIndex is the trigram index of one region's need statements, kept in
// memory and brought up to date from the audit log before every query (so
// it sees needs written by other replicas sharing the store), with what
// deciding who may see a need takes.
type needIndex struct {
	mu     sync.Mutex
	follow store.Follower
	idx    *trigram.Index
	find   *trigram.Index // the same text folded for case and accents, for ListNeeds' q (search.go)
	meta   map[string]needMeta
}

type needMeta struct {
	owner     string
	published bool
	newest    string // newestFirst, to order equally relevant hits
}

func newNeedIndex(region string) *needIndex {
	return &needIndex{
		follow: store.Follower{NS: ns(region), Index: orderCreated, Key: func(resource string) (string, bool) {
			// Events of a need's parts (screenings) name the need first.
			parts := strings.Split(resource, "/")
			n, err := parseNeedName(strings.Join(parts[:min(len(parts), 4)], "/"))
			return n.key(), err == nil
		}},
		idx: trigram.NewIndex(), find: trigram.NewIndex(), meta: map[string]needMeta{},
	}
}

func (x *needIndex) put(r *record) {
	n := r.Msg
	text := statementText(n.GetProblem(), n.GetPopulation(), n.GetOutcome())
	x.idx.Put(n.GetName(), text)
	x.find.Put(n.GetName(), trigram.Fold(text))
	x.meta[n.GetName()] = needMeta{owner: r.Owner, published: n.GetPublished(), newest: newestFirst(n)}
}

// syncIndex brings x up to date with the region's needs.
func (s *Server) syncIndex(ctx context.Context, x *needIndex) error {
	return x.follow.Sync(ctx, s.store, func(rec store.Record) error {
		r, err := s.needs.Decode(repo.Ref{Region: x.follow.NS.Region}, rec)
		if err != nil {
			return err
		}
		x.put(r)
		return nil
	})
}

// indexOf returns the region's need index, empty until synced.
func (s *Server) indexOf(region string) *needIndex {
	s.simMu.Lock()
	defer s.simMu.Unlock()
	x, ok := s.similar[region]
	if !ok {
		x = newNeedIndex(region)
		s.similar[region] = x
	}
	return x
}

// WarmSimilar builds the need index of every served region, one region
// after the other (store.WarmEach), for :findSimilar and q.
func (s *Server) WarmSimilar(ctx context.Context) error {
	store.WarmEach(ctx, s.regions.IDs(), s.logger, func(ctx context.Context, region string) error {
		x := s.indexOf(region)
		x.mu.Lock()
		defer x.mu.Unlock()
		return s.syncIndex(ctx, x)
	})
	return nil
}
