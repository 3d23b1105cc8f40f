package coordinator

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"sync"

	"github.com/innovationsmotorer/motor/internal/trigram"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// Clusters of common needs. Single linkage (join through any similar pair)
// chains: at national scale one cluster swallowed almost every need, its
// members' median similarity 0.10. A cluster here is complete-linkage
// across regions: every need is at least commonThreshold similar to every
// need of another region in the cluster, so each member is similar to the
// cluster as a whole; and a cluster holds at most maxClusterNeeds needs.
//
// The pairs above the threshold are found exactly with prefix filtering
// (Chaudhuri et al., "A primitive operator for similarity joins"; Bayardo
// et al., "Scaling up all pairs similarity search"): with each need's
// trigrams ordered rarest first, two needs whose similarity reaches t share
// a trigram among the first |x| − ⌈t·|x|⌉ + 1 of each. Only those rare
// prefixes are indexed, so the common trigrams ("att", " en") that made
// every pair a candidate are never walked.

// maxClusterNeeds bounds a cluster: beyond it a "common need" stops being
// something a company or a coordinator can read through.
const maxClusterNeeds = 50

// pageNeeds bounds the needs on one page of clusters (at least one
// cluster is always shown), so a page stays a few hundred kilobytes.
const pageNeeds = 250

// cachedNeed is what clustering keeps of a need while its etag stays.
type cachedNeed struct {
	etag, region string
	set          trigram.Set
	toks         []int32 // trigram ids, sorted
}

type namePair struct{ a, b string } // a < b

// commonCache keeps, between calls, every need's trigrams and every pair of
// needs of different regions at or above the threshold, so a call finds
// the pairs of the needs that came or changed since the last one only —
// each against every need, O(changed × needs) — instead of joining all
// needs again; a call whose needs did not change at all returns the last
// clusters.
type commonCache struct {
	mu       sync.Mutex
	ids      map[string]int32 // trigram → id; only grows
	byName   map[string]cachedNeed
	edges    map[namePair]float64
	key      string
	clusters []*coordinatorv1.CommonNeed
	// joins counts full joins and added the needs paired on their own,
	// for tests.
	joins, added int
}

// clustersOf returns the clusters of needs.
func (c *commonCache) clustersOf(needs []*needsv1.Need) []*coordinatorv1.CommonNeed {
	slices.SortFunc(needs, func(a, b *needsv1.Need) int { return cmp.Compare(a.GetName(), b.GetName()) })
	h := sha256.New()
	for _, n := range needs {
		h.Write([]byte(n.GetName()))
		h.Write([]byte{0})
		h.Write([]byte(n.GetEtag()))
		h.Write([]byte{0})
	}
	key := hex.EncodeToString(h.Sum(nil))
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == c.key && c.clusters != nil {
		return c.clusters
	}
	if c.byName == nil {
		c.ids, c.byName, c.edges = map[string]int32{}, map[string]cachedNeed{}, map[namePair]float64{}
	}
	current := make(map[string]string, len(needs))
	for _, n := range needs {
		current[n.GetName()] = n.GetEtag()
	}
	stale := map[string]bool{}
	for name, cn := range c.byName {
		if etag, ok := current[name]; !ok || etag != cn.etag || etag == "" {
			stale[name] = true
			delete(c.byName, name)
		}
	}
	if len(stale) > 0 {
		for p := range c.edges {
			if stale[p.a] || stale[p.b] {
				delete(c.edges, p)
			}
		}
	}
	var fresh []*needsv1.Need
	for _, n := range needs {
		if _, ok := c.byName[n.GetName()]; !ok {
			fresh = append(fresh, n)
			c.byName[n.GetName()] = c.remember(n)
		}
	}
	if len(fresh) > len(needs)/4 {
		// Many new needs (the first call): one join of them all.
		c.joins++
		sets := make([]trigram.Set, len(needs))
		regions := make([]string, len(needs))
		for i, n := range needs {
			cn := c.byName[n.GetName()]
			sets[i], regions[i] = cn.set, cn.region
		}
		clear(c.edges)
		for _, e := range similarPairs(sets, regions, commonThreshold) {
			c.edges[namePair{needs[e.a].GetName(), needs[e.b].GetName()}] = e.sim
		}
	} else {
		c.added += len(fresh)
		for _, n := range fresh {
			x := c.byName[n.GetName()]
			for _, m := range needs {
				y := c.byName[m.GetName()]
				if y.region == x.region {
					continue
				}
				p := namePair{min(n.GetName(), m.GetName()), max(n.GetName(), m.GetName())}
				if _, done := c.edges[p]; done {
					continue
				}
				if sim := jaccard(x.toks, y.toks); sim >= commonThreshold {
					c.edges[p] = sim
				}
			}
		}
	}
	index := make(map[string]int32, len(needs))
	regions := make([]string, len(needs))
	for i, n := range needs {
		index[n.GetName()], regions[i] = int32(i), c.byName[n.GetName()].region
	}
	edges := make([]edge, 0, len(c.edges))
	for p, sim := range c.edges {
		edges = append(edges, edge{pair{index[p.a], index[p.b]}, sim})
	}
	c.key = key
	c.clusters = cluster(needs, regions, edges)
	return c.clusters
}

// remember computes what the cache keeps of n.
func (c *commonCache) remember(n *needsv1.Need) cachedNeed {
	set := statementGrams(n)
	toks := make([]int32, 0, len(set))
	for g := range set {
		id, ok := c.ids[g]
		if !ok {
			id = int32(len(c.ids))
			c.ids[g] = id
		}
		toks = append(toks, id)
	}
	slices.Sort(toks)
	return cachedNeed{etag: n.GetEtag(), region: regionOf(n.GetName()), set: set, toks: toks}
}

func statementGrams(n *needsv1.Need) trigram.Set {
	return trigram.Of(n.GetProblem() + " " + n.GetPopulation() + " " + n.GetOutcome())
}

// clusterNeeds clusters needs with no cache (tests, benchmarks).
func clusterNeeds(needs []*needsv1.Need) []*coordinatorv1.CommonNeed {
	slices.SortFunc(needs, func(a, b *needsv1.Need) int { return cmp.Compare(a.GetName(), b.GetName()) })
	sets := make([]trigram.Set, len(needs))
	regions := make([]string, len(needs))
	for i, n := range needs {
		sets[i], regions[i] = statementGrams(n), regionOf(n.GetName())
	}
	return cluster(needs, regions, similarPairs(sets, regions, commonThreshold))
}

type pair struct{ a, b int32 } // a < b

type edge struct {
	pair
	sim float64
}

// cluster groups needs (sorted by name, with their regions) along edges,
// every pair of different regions at or above the threshold, and returns
// the clusters that span two or more regions: most regions first, then
// most needs, then by the first need's name, so pages are stable.
func cluster(needs []*needsv1.Need, regions []string, edges []edge) []*coordinatorv1.CommonNeed {
	sims := make(map[pair]float64, len(edges))
	for _, e := range edges {
		sims[e.pair] = e.sim
	}
	// Merge the most similar pairs first, as long as the merged cluster
	// stays complete across regions and within its bound.
	slices.SortFunc(edges, func(x, y edge) int {
		return cmp.Or(cmp.Compare(y.sim, x.sim), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
	root := make([]int32, len(needs))
	members := make([][]int32, len(needs))
	for i := range root {
		root[i], members[i] = int32(i), []int32{int32(i)}
	}
	complete := func(x, y []int32) bool {
		for _, i := range x {
			for _, j := range y {
				if regions[i] == regions[j] {
					continue
				}
				if _, ok := sims[pair{min(i, j), max(i, j)}]; !ok {
					return false
				}
			}
		}
		return true
	}
	for _, e := range edges {
		ra, rb := root[e.a], root[e.b]
		if ra == rb || len(members[ra])+len(members[rb]) > maxClusterNeeds || !complete(members[ra], members[rb]) {
			continue
		}
		if len(members[ra]) < len(members[rb]) {
			ra, rb = rb, ra
		}
		for _, m := range members[rb] {
			root[m] = ra
		}
		members[ra] = append(members[ra], members[rb]...)
		members[rb] = nil
	}

	var clusters []*coordinatorv1.CommonNeed
	for r, ms := range members {
		if int32(r) != root[r] || len(ms) < 2 {
			continue
		}
		slices.Sort(ms) // by name
		c := &coordinatorv1.CommonNeed{}
		for _, i := range ms {
			best := 0.0
			for _, j := range ms {
				if s, ok := sims[pair{min(i, j), max(i, j)}]; ok && regions[i] != regions[j] {
					best = max(best, s)
				}
			}
			c.Needs = append(c.Needs, &coordinatorv1.CommonNeedMember{
				Name: needs[i].GetName(), Region: regions[i], Statement: needs[i].GetStatement(), Similarity: best,
			})
			if !slices.Contains(c.Regions, regions[i]) {
				c.Regions = append(c.Regions, regions[i])
			}
		}
		if len(c.Regions) < 2 {
			continue
		}
		slices.Sort(c.Regions)
		clusters = append(clusters, c)
	}
	slices.SortStableFunc(clusters, func(a, b *coordinatorv1.CommonNeed) int {
		return cmp.Or(
			cmp.Compare(len(b.GetRegions()), len(a.GetRegions())),
			cmp.Compare(len(b.GetNeeds()), len(a.GetNeeds())),
			cmp.Compare(a.GetNeeds()[0].GetName(), b.GetNeeds()[0].GetName()),
		)
	})
	return clusters
}

// similarPairs returns every pair of sets of different regions whose
// similarity is at least t, each once.
func similarPairs(sets []trigram.Set, regions []string, t float64) []edge {
	// Number the trigrams and count in how many sets each occurs.
	ids := map[string]int32{}
	var df []int32
	toks := make([][]int32, len(sets))
	for i, s := range sets {
		toks[i] = make([]int32, 0, len(s))
		for g := range s {
			id, ok := ids[g]
			if !ok {
				id = int32(len(df))
				ids[g] = id
				df = append(df, 0)
			}
			df[id]++
			toks[i] = append(toks[i], id)
		}
	}
	// One global order, rarest first; every set sorted by it.
	rank := make([]int32, len(df))
	order := make([]int32, len(df))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Or(cmp.Compare(df[a], df[b]), cmp.Compare(a, b)) })
	for r, id := range order {
		rank[id] = int32(r)
	}
	for i := range toks {
		for k, id := range toks[i] {
			toks[i][k] = rank[id]
		}
		slices.Sort(toks[i])
	}

	prefix := func(n int) int { return n - int(math.Ceil(t*float64(n)-1e-9)) + 1 }
	postings := make([][]int32, len(df))
	seen := make([]int32, len(sets)) // the i that last saw j as a candidate, +1
	var out []edge
	for i := range toks {
		x := toks[i]
		if len(x) == 0 {
			continue
		}
		p := min(prefix(len(x)), len(x))
		for _, tok := range x[:p] {
			for _, j := range postings[tok] {
				if seen[j] == int32(i)+1 || regions[j] == regions[i] {
					continue
				}
				seen[j] = int32(i) + 1
				y := toks[j]
				// Length filter: sizes too far apart cannot reach t.
				if float64(len(y)) < t*float64(len(x)) || float64(len(x)) < t*float64(len(y)) {
					continue
				}
				if sim := jaccard(x, y); sim >= t {
					out = append(out, edge{pair{int32(j), int32(i)}, sim})
				}
			}
		}
		for _, tok := range x[:p] {
			postings[tok] = append(postings[tok], int32(i))
		}
	}
	return out
}

// jaccard is the similarity of two sorted token lists (trigram.Ratio).
func jaccard(x, y []int32) float64 {
	shared := 0
	for a, b := 0, 0; a < len(x) && b < len(y); {
		switch {
		case x[a] == y[b]:
			shared++
			a++
			b++
		case x[a] < y[b]:
			a++
		default:
			b++
		}
	}
	return trigram.Ratio(shared, len(x), len(y))
}

// pageClusters is one page of clusters from offset start: at most size
// clusters and, beyond the first, at most pageNeeds needs.
func pageClusters(all []*coordinatorv1.CommonNeed, start, size int, query string) ([]*coordinatorv1.CommonNeed, string) {
	start = min(start, len(all))
	end, needs := start, 0
	for end < len(all) && end-start < size {
		n := len(all[end].GetNeeds())
		if end > start && needs+n > pageNeeds {
			break
		}
		needs += n
		end++
	}
	return pageOf(all, start, end-start, query)
}
