package coordinator

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/trigram"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// commonThreshold is the trigram similarity from which two needs of
// different regions count as the same need: a little above pg_trgm's
// default (0.25, what a region's duplicate warning uses), since a national
// cluster should hold needs that are clearly one.
const commonThreshold = 0.3

// ListCommonNeeds asks every region for its published needs and clusters
// the similar ones. Only published needs take part: they are the ones the
// regions show to companies, and a cluster is meant for companies too.
// A region that does not answer leaves its needs out and the answer says so.
func (s *Server) ListCommonNeeds(ctx context.Context, req *coordinatorv1.ListCommonNeedsRequest) (*coordinatorv1.ListCommonNeedsResponse, error) {
	who, err := requireCoordinator(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	const query = "commonNeeds"
	start := decodeOffset(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	regions := s.regions()
	needs := make([][]*needsv1.Need, len(regions))
	failed := make([]error, len(regions))
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Go(func() { needs[i], failed[i] = s.publishedNeeds(ctx, who, region) })
	}
	wg.Wait()

	resp := &coordinatorv1.ListCommonNeedsResponse{}
	var all []*needsv1.Need
	for i, region := range regions {
		if failed[i] != nil {
			s.logger.WarnContext(ctx, "region left out of common needs", "region", region, "error", failed[i])
			resp.Partial = true
			resp.UnreachedRegions = append(resp.UnreachedRegions, region)
			continue
		}
		all = append(all, needs[i]...)
	}
	resp.CommonNeeds, resp.NextPageToken = pageOf(clusterNeeds(all), start, size, query)
	return resp, nil
}

// publishedNeeds pages through one region's published needs under the
// region's own deadline.
func (s *Server) publishedNeeds(ctx context.Context, who *auth.Identity, region string) ([]*needsv1.Need, error) {
	rctx, cancel := s.regionContext(ctx, s.regionTimeout)
	defer cancel()
	if who.Token != "" {
		rctx = auth.WithBearer(rctx, who.Token)
	}
	conn, _, err := s.dial(svcNeeds, region)
	if err != nil {
		return nil, err
	}
	c := needsv1.NewNeedsServiceClient(conn)
	var out []*needsv1.Need
	for token := ""; ; {
		resp, err := c.ListNeeds(rctx, &needsv1.ListNeedsRequest{
			Parent: "regions/" + region, Filter: "published = true", PageSize: resource.MaxPageSize, PageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("ListNeeds %s: %w", region, err)
		}
		for _, n := range resp.GetNeeds() {
			// The filter already says so; the check keeps an unpublished
			// need out even from a region whose needs service ignores it.
			if n.GetPublished() {
				out = append(out, n)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// clusterNeeds joins needs of different regions whose statements are at
// least commonThreshold similar, transitively (single linkage), and returns
// the clusters that span two or more regions: most regions first, then
// most needs, then by the first need's name, so pages are stable.
//
// Candidate pairs come from an inverted index of trigrams, as pg_trgm's GIN
// index finds them, so needs that share no trigram are never compared.
func clusterNeeds(needs []*needsv1.Need) []*coordinatorv1.CommonNeed {
	slices.SortFunc(needs, func(a, b *needsv1.Need) int { return cmp.Compare(a.GetName(), b.GetName()) })
	grams := make([]trigram.Set, len(needs))
	regions := make([]string, len(needs))
	posting := map[string][]int{}
	for i, n := range needs {
		grams[i] = trigram.Of(n.GetProblem() + " " + n.GetPopulation() + " " + n.GetOutcome())
		regions[i] = regionOf(n.GetName())
		for g := range grams[i] {
			posting[g] = append(posting[g], i)
		}
	}

	parent := make([]int, len(needs))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	best := make([]float64, len(needs))
	for i := range needs {
		shared := map[int]int{}
		for g := range grams[i] {
			for _, j := range posting[g] {
				if j > i && regions[j] != regions[i] {
					shared[j]++
				}
			}
		}
		for j, n := range shared {
			sim := float64(n) / float64(len(grams[i])+len(grams[j])-n)
			if sim < commonThreshold {
				continue
			}
			best[i], best[j] = max(best[i], sim), max(best[j], sim)
			if a, b := find(i), find(j); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}

	byRoot := map[int]*coordinatorv1.CommonNeed{}
	var clusters []*coordinatorv1.CommonNeed
	for i, n := range needs {
		if best[i] == 0 {
			continue // similar to no need of another region
		}
		root := find(i)
		c := byRoot[root]
		if c == nil {
			c = &coordinatorv1.CommonNeed{}
			byRoot[root] = c
			clusters = append(clusters, c)
		}
		c.Needs = append(c.Needs, &coordinatorv1.CommonNeedMember{
			Name: n.GetName(), Region: regions[i], Statement: n.GetStatement(), Similarity: best[i],
		})
		if !slices.Contains(c.Regions, regions[i]) {
			c.Regions = append(c.Regions, regions[i])
		}
	}
	for _, c := range clusters {
		slices.Sort(c.Regions)
	}
	// Every linked pair is of two regions, so every cluster spans two or
	// more; the sort puts the widest first.
	slices.SortStableFunc(clusters, func(a, b *coordinatorv1.CommonNeed) int {
		return cmp.Or(
			cmp.Compare(len(b.GetRegions()), len(a.GetRegions())),
			cmp.Compare(len(b.GetNeeds()), len(a.GetNeeds())),
			cmp.Compare(a.GetNeeds()[0].GetName(), b.GetNeeds()[0].GetName()),
		)
	})
	return clusters
}

// regionOf reads the region of a resource name regions/{region}/….
func regionOf(name string) string {
	rest, ok := strings.CutPrefix(name, "regions/")
	if !ok {
		return ""
	}
	region, _, _ := strings.Cut(rest, "/")
	return region
}
