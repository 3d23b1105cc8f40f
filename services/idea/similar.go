package idea

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/trigram"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

const (
	similarityThreshold = 0.25
	similarResults      = 10
)

// simIndex is the trigram index of one region's ideas, kept in memory and
// brought up to date from the audit log before every query, so it also sees
// ideas written by other replicas sharing the store. Beside the index it
// keeps what an answer shows of each idea, so a query reads nothing from
// the store.
type simIndex struct {
	mu     sync.Mutex
	follow store.Follower
	idx    *trigram.Index          // title + problem
	titles *trigram.Index          // title alone: a short draft title still finds its twin
	ideas  map[string]*ideav1.Idea // name, title, stage, care area, create time

	// What ListIdeas' q searches (search.go): title and problem folded for
	// case and accents, the title alone likewise (for the ranking), the
	// titles of merged duplicates (by the duplicate's name), where each
	// duplicate went, and who besides staff may read each idea.
	find       *trigram.Index
	findTitles *trigram.Index
	dupTitles  *trigram.Index
	mergedInto map[string]string
	readers    map[string][]string
}

func newSimIndex(region string) *simIndex {
	return &simIndex{
		follow: store.Follower{NS: ns(region), Index: "created", Key: func(resource string) (string, bool) {
			// Events of an idea's parts (assessments) name the idea first.
			n, err := parseIdeaName(strings.Join(firstN(strings.Split(resource, "/"), 4), "/"))
			return n.key(), err == nil
		}},
		idx: trigram.NewIndex(), titles: trigram.NewIndex(), ideas: map[string]*ideav1.Idea{},
		find: trigram.NewIndex(), findTitles: trigram.NewIndex(), dupTitles: trigram.NewIndex(), mergedInto: map[string]string{}, readers: map[string][]string{},
	}
}

// put adds or replaces one idea; readers are the subjects besides staff
// who may read it (its submitter and co-submitters).
func (x *simIndex) put(idea *ideav1.Idea, readers ...string) {
	name := idea.GetName()
	x.idx.Put(name, idea.GetTitle()+" "+idea.GetProblem())
	x.titles.Put(name, idea.GetTitle())
	x.ideas[name] = &ideav1.Idea{Name: name, Title: idea.GetTitle(), Stage: idea.GetStage(), CareArea: idea.GetCareArea(), CreateTime: idea.GetCreateTime()}
	title := trigram.Fold(idea.GetTitle())
	x.find.Put(name, title+" "+trigram.Fold(idea.GetProblem()))
	x.findTitles.Put(name, title)
	if into := idea.GetMergedInto(); into != "" {
		x.mergedInto[name] = into
		x.dupTitles.Put(name, title)
	}
	x.readers[name] = readers
}

// search returns the best matches at or above the threshold: each idea by
// the better of its title + problem compared with the draft's, and its title
// compared with the draft's title.
func (x *simIndex) search(title, text string, limit int) []trigram.Hit {
	hits := x.idx.Search(text, similarityThreshold, limit, nil)
	if strings.TrimSpace(title) == "" {
		return hits
	}
	best := map[string]float64{}
	for _, h := range append(hits, x.titles.Search(title, similarityThreshold, limit, nil)...) {
		best[h.Name] = max(best[h.Name], h.Similarity)
	}
	out := make([]trigram.Hit, 0, len(best))
	for name, sim := range best {
		out = append(out, trigram.Hit{Name: name, Similarity: sim})
	}
	slices.SortFunc(out, func(a, b trigram.Hit) int {
		if a.Similarity != b.Similarity {
			return cmp.Compare(b.Similarity, a.Similarity)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out[:min(len(out), limit)]
}

// sync brings the index up to date with the region's ideas.
func (s *Server) sync(ctx context.Context, x *simIndex) error {
	return x.follow.Sync(ctx, s.store, func(rec store.Record) error {
		r, err := s.ideas.Decode(repo.Ref{}, rec)
		if err != nil {
			return err
		}
		x.put(r.Msg, append([]string{r.Owner}, side(r).GetCoOwners()...)...)
		return nil
	})
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// FindSimilarIdeas returns the region's ideas most similar to a draft. The
// answer shows name, title, stage and care area only: enough to warn of a
// duplicate, nothing of the other submitters.
func (s *Server) FindSimilarIdeas(ctx context.Context, req *ideav1.FindSimilarIdeasRequest) (*ideav1.FindSimilarIdeasResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	text := strings.TrimSpace(req.GetTitle() + " " + req.GetProblem())
	switch {
	case text == "":
		v.Add("title", "give a title or a problem to compare with")
	case utf8.RuneCountInString(req.GetTitle()) > maxTitle:
		v.Add("title", "is longer than %d characters", maxTitle)
	case utf8.RuneCountInString(req.GetProblem()) > maxText:
		v.Add("problem", "is longer than %d characters", maxText)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	x := s.simIndexOf(region)
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := s.sync(ctx, x); err != nil {
		return nil, domain.Store(err, "IDEA", "ideas of "+region)
	}
	resp := &ideav1.FindSimilarIdeasResponse{}
	for _, h := range x.search(req.GetTitle(), text, similarResults) {
		resp.Results = append(resp.Results, &ideav1.SimilarIdea{Idea: x.ideas[h.Name], Similarity: h.Similarity})
	}
	return resp, nil
}

// simIndexOf returns the region's similarity index, empty until synced.
func (s *Server) simIndexOf(region string) *simIndex {
	s.simMu.Lock()
	defer s.simMu.Unlock()
	x, ok := s.similar[region]
	if !ok {
		x = newSimIndex(region)
		s.similar[region] = x
	}
	return x
}

// WarmSimilar builds the similarity index of every served region, one
// region after the other (store.WarmEach).
func (s *Server) WarmSimilar(ctx context.Context) error {
	store.WarmEach(ctx, s.regions.IDs(), s.logger, func(ctx context.Context, region string) error {
		x := s.simIndexOf(region)
		x.mu.Lock()
		defer x.mu.Unlock()
		return s.sync(ctx, x)
	})
	return nil
}
