package coordinator

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

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
// Similar needs are found through an inverted trigram index with prefix
// and size filtering (Chaudhuri et al., "A primitive operator for
// similarity joins"; Bayardo et al., "Scaling up all pairs similarity
// search"): with a need's trigrams ordered rarest first, two needs whose
// similarity reaches t share a trigram among the first |x| − ⌈t·|x|⌉ + 1 of
// each, and sizes further apart than t cannot reach it. At a threshold of
// 0.3 that prefix is most of a need's trigrams, and with many needs even
// the rare ones are shared by hundreds, so a need walks the postings of
// its prefix rarest first only up to walkBudget entries and verifies its
// best candidates by shared trigrams; it keeps its maxNeighbours most
// similar needs of other regions. Needs that are one need share their
// rare trigrams, which come first; what the budget can miss are pairs
// alike only in common words. Every kept pair is verified exactly, so the
// budget costs recall, never a member below the threshold, and the work
// per need stays the same however many needs there are.
//
// The index, each need's neighbours (most similar first) and the clusters
// are kept between calls: a changed need leaves its cluster and its
// neighbours' lists, is looked up once in the index, and joins the
// cluster of its most similar neighbour that stays complete with it, so
// a call costs what changed, not what exists (beyond noticing what
// changed). Clusters left behind are not merged again until the next full
// build, which the first call and any call where a quarter of the needs
// changed make.

// maxClusterNeeds bounds a cluster: beyond it a "common need" stops being
// something a company or a coordinator can read through.
const maxClusterNeeds = 50

// maxNeighbours bounds the similar needs kept for each need: enough for a
// full cluster, since every member of a need's cluster of another region
// is one of them.
const maxNeighbours = 64

// walkBudget bounds the postings one lookup walks, and verifyBudget the
// candidates it compares exactly, best counts of shared prefix trigrams
// first.
const (
	walkBudget   = 8192
	verifyBudget = 4 * maxNeighbours
)

// pageNeeds and pageBytes bound one page of clusters (at least one cluster
// is always shown), so a page stays a few hundred kilobytes.
const (
	pageNeeds = 250
	pageBytes = 256 << 10
)

// budgets of one index; tests lift them to compare with every pair.
type budgets struct{ walk, verify, neighbours int }

var defaultBudgets = budgets{walkBudget, verifyBudget, maxNeighbours}

// slot is one need as the index holds it. A changed need gets a new slot;
// the old one is dead and left in postings until they are compacted.
type slot struct {
	name, etag, region string
	need               *needsv1.Need
	toks               []int32 // trigram ids, ascending
	nbrs               []nbr   // most similar first, then by slot
	group              int32   // its cluster, or -1
	alive              bool
}

// walkMeta is what a walk of postings reads of a slot, apart from the
// slots so a walk stays in cache.
type walkMeta struct {
	region int32 // region id
	grams  int32 // its trigrams; -1 once dead
}

type nbr struct {
	s   int32
	sim float64
}

// group is a cluster in the making: a cluster is shown once it spans two
// regions.
type group struct {
	members []int32
}

// commonCache keeps, between calls, the trigram index of the needs, every
// need's neighbours and the clusters (see the top of the file). It is safe
// for concurrent use.
type commonCache struct {
	mu       sync.Mutex
	b        budgets
	ids      map[string]int32 // trigram → id; only grows
	df       []int32          // live needs per trigram
	postings [][]int32        // trigram → slots, dead ones included
	slots    []slot
	walk     []walkMeta                          // by slot: what a walk of postings reads
	regions  map[string]int32                    // region → id
	byName   map[string]int32                    // live slot of a need
	dead     int                                 // dead slots still in postings
	groups   []*group                            // by id; nil where dissolved
	shownOf  map[int32]*coordinatorv1.CommonNeed // shown clusters by group
	freeIDs  []int32
	clusters []*coordinatorv1.CommonNeed // shown, ranked

	// scratch for lookups
	seen     []int32 // by slot: seenMark when the call's needs hold it
	seenMark int32
	counts   []int32
	touched  []int32
	cands    []int32
	marks    []int32 // by slot
	mark     int32
	in       []int32 // by trigram: mark when the looked-up need has it
	inMark   int32

	// joins counts full builds, added the needs placed on their own, for
	// tests.
	joins, added int
}

// clustersOf returns the clusters of needs, from what the cache kept of
// the last call and the needs that changed since.
func (c *commonCache) clustersOf(needs []*needsv1.Need) []*coordinatorv1.CommonNeed {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.b == (budgets{}) {
		c.b = defaultBudgets
	}
	// What changed: one lookup per need, and a walk of the kept needs only
	// when some were not seen.
	var fresh []*needsv1.Need
	var gone []int32
	c.seenMark++
	seen := 0
	for _, n := range needs {
		s, ok := c.byName[n.GetName()]
		if ok && c.seen[s] != c.seenMark {
			c.seen[s] = c.seenMark
			seen++
		}
		if !ok || c.slots[s].etag != n.GetEtag() || n.GetEtag() == "" {
			fresh = append(fresh, n)
		}
	}
	if seen < len(c.byName) {
		for _, s := range c.byName {
			if c.seen[s] != c.seenMark {
				gone = append(gone, s)
			}
		}
	}
	switch {
	case c.byName == nil || len(fresh)+len(gone) > len(needs)/4:
		c.build(needs)
	case len(fresh) == 0 && len(gone) == 0:
		return c.clusters
	default:
		slices.Sort(gone) // the same needs leave in the same order
		dirty := map[int32]bool{}
		for _, s := range gone {
			c.remove(s, dirty)
		}
		slices.SortFunc(fresh, func(a, b *needsv1.Need) int { return cmp.Compare(a.GetName(), b.GetName()) })
		for _, n := range fresh {
			if s, ok := c.byName[n.GetName()]; ok {
				c.remove(s, dirty)
			}
		}
		for _, n := range fresh {
			c.place(c.add(n), dirty)
		}
		c.added += len(fresh)
		if c.dead > len(c.byName) {
			c.compact()
		}
		c.rank(dirty)
	}
	return c.clusters
}

// build indexes needs afresh and clusters them: the most similar pairs
// merge first, as long as the merged cluster stays complete across regions
// and within its bound.
func (c *commonCache) build(needs []*needsv1.Need) {
	c.joins++
	c.ids, c.df, c.postings, c.slots, c.walk = map[string]int32{}, nil, nil, nil, nil
	c.regions, c.byName, c.dead, c.groups, c.freeIDs = map[string]int32{}, make(map[string]int32, len(needs)), 0, nil, nil
	c.shownOf = map[int32]*coordinatorv1.CommonNeed{}
	c.counts, c.marks, c.mark, c.in, c.inMark, c.seen, c.clusters = nil, nil, 0, nil, 0, nil, nil
	needs = slices.Clone(needs)
	slices.SortFunc(needs, func(a, b *needsv1.Need) int { return cmp.Compare(a.GetName(), b.GetName()) })
	for _, n := range needs {
		c.add(n)
	}
	var edges []edge
	for i := range c.slots {
		c.lookUp(int32(i))
	}
	for i := range c.slots {
		for _, e := range c.slots[i].nbrs {
			if e.s > int32(i) {
				edges = append(edges, edge{int32(i), e.s, e.sim})
			}
		}
	}
	slices.SortFunc(edges, func(x, y edge) int {
		return cmp.Or(cmp.Compare(y.sim, x.sim), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
	root := make([]int32, len(c.slots))
	members := make([][]int32, len(c.slots))
	for i := range root {
		root[i], members[i] = int32(i), []int32{int32(i)}
	}
	for _, e := range edges {
		ra, rb := root[e.a], root[e.b]
		if ra == rb || len(members[ra])+len(members[rb]) > maxClusterNeeds || !c.completeWith(members[ra], members[rb], rb, root) {
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
	dirty := map[int32]bool{}
	for r, ms := range members {
		if int32(r) != root[r] || len(ms) < 2 {
			continue
		}
		g := c.newGroup()
		c.groups[g].members = ms
		for _, m := range ms {
			c.slots[m].group = g
		}
		dirty[g] = true
	}
	c.rank(dirty)
}

type edge struct {
	a, b int32
	sim  float64
}

// completeWith: every need of xs is a neighbour of every need of another
// region in the cluster rooted at ry (whose members are ys).
func (c *commonCache) completeWith(xs, ys []int32, ry int32, root []int32) bool {
	for _, i := range xs {
		want := 0
		for _, j := range ys {
			if c.slots[j].region != c.slots[i].region {
				want++
			}
		}
		for _, e := range c.slots[i].nbrs {
			if root[e.s] == ry {
				want--
			}
		}
		if want > 0 {
			return false
		}
	}
	return true
}

// add indexes a need in a new slot with no neighbours yet.
func (c *commonCache) add(n *needsv1.Need) int32 {
	set := statementGrams(n)
	toks := make([]int32, 0, len(set))
	for g := range set {
		id, ok := c.ids[g]
		if !ok {
			id = int32(len(c.df))
			c.ids[g] = id
			c.df = append(c.df, 0)
			c.postings = append(c.postings, nil)
		}
		toks = append(toks, id)
	}
	slices.Sort(toks)
	s := int32(len(c.slots))
	for _, t := range toks {
		c.df[t]++
		c.postings[t] = append(c.postings[t], s)
	}
	region := regionOf(n.GetName())
	r, ok := c.regions[region]
	if !ok {
		r = int32(len(c.regions))
		c.regions[region] = r
	}
	c.slots = append(c.slots, slot{name: n.GetName(), etag: n.GetEtag(), region: region, need: n, toks: toks, group: -1, alive: true})
	c.walk = append(c.walk, walkMeta{region: r, grams: int32(len(toks))})
	c.seen = append(c.seen, 0)
	c.byName[n.GetName()] = s
	return s
}

// remove takes slot s out: of the index, of its neighbours' lists and of
// its cluster, which dissolves when one need is left.
func (c *commonCache) remove(s int32, dirty map[int32]bool) {
	x := &c.slots[s]
	x.alive = false
	c.walk[s].grams = -1
	c.dead++
	delete(c.byName, x.name)
	for _, t := range x.toks {
		c.df[t]--
	}
	for _, e := range x.nbrs {
		y := &c.slots[e.s]
		y.nbrs = slices.DeleteFunc(y.nbrs, func(f nbr) bool { return f.s == s })
	}
	x.nbrs = nil
	if g := x.group; g >= 0 {
		x.group = -1
		gr := c.groups[g]
		gr.members = slices.DeleteFunc(gr.members, func(m int32) bool { return m == s })
		dirty[g] = true
		if len(gr.members) < 2 {
			for _, m := range gr.members {
				c.slots[m].group = -1
			}
			c.groups[g] = nil
			c.freeIDs = append(c.freeIDs, g)
		}
	}
}

// place adds a newly indexed need to the cluster of its most similar
// neighbour that stays complete with it and within its bound (a neighbour
// in no cluster makes one with it).
func (c *commonCache) place(s int32, dirty map[int32]bool) {
	c.lookUp(s)
	x := &c.slots[s]
	c.mark++
	for _, e := range x.nbrs {
		c.marks[e.s] = c.mark
	}
	for _, e := range x.nbrs {
		y := c.slots[e.s]
		if y.group < 0 {
			g := c.newGroup()
			c.groups[g].members = []int32{e.s, s}
			c.slots[e.s].group, c.slots[s].group = g, g
			dirty[g] = true
			return
		}
		gr := c.groups[y.group]
		if len(gr.members) >= maxClusterNeeds {
			continue
		}
		ok := true
		for _, m := range gr.members {
			if c.slots[m].region != x.region && c.marks[m] != c.mark {
				ok = false
				break
			}
		}
		if ok {
			gr.members = append(gr.members, s)
			x.group = y.group
			dirty[y.group] = true
			return
		}
	}
}

func (c *commonCache) newGroup() int32 {
	if n := len(c.freeIDs); n > 0 {
		g := c.freeIDs[n-1]
		c.freeIDs = c.freeIDs[:n-1]
		c.groups[g] = &group{}
		return g
	}
	c.groups = append(c.groups, &group{})
	return int32(len(c.groups) - 1)
}

// lookUp finds the needs of other regions most similar to slot s and keeps
// them as its neighbours, and s as theirs; a pair already kept from the
// other side is kept once.
func (c *commonCache) lookUp(s int32) {
	const t = commonThreshold
	if len(c.counts) < len(c.slots) {
		c.counts = slices.Grow(c.counts[:0], len(c.slots))[:len(c.slots)]
		c.marks = append(c.marks, make([]int32, len(c.slots)-len(c.marks))...)
		clear(c.counts)
	}
	x := &c.slots[s]
	n := len(x.toks)
	if n == 0 {
		return
	}
	xr := c.walk[s].region
	// Rarest first, by the live needs that hold each trigram.
	order := slices.Clone(x.toks)
	slices.SortFunc(order, func(a, b int32) int { return cmp.Or(cmp.Compare(c.df[a], c.df[b]), cmp.Compare(a, b)) })
	prefix := min(n-int(math.Ceil(t*float64(n)-1e-9))+1, n)
	lo, hi := int32(math.Ceil(t*float64(n)-1e-9)), int32(float64(n)/t+1e-9)
	c.touched = c.touched[:0]
	walked := 0
	for _, tok := range order[:prefix] {
		post := c.postings[tok]
		if walked > 0 && walked+len(post) > c.b.walk {
			break
		}
		walked += len(post)
		for _, j := range post {
			// Dead slots have -1 trigrams, below any size.
			if y := c.walk[j]; j == s || y.region == xr || y.grams < lo || y.grams > hi {
				continue
			}
			if c.counts[j] == 0 {
				c.touched = append(c.touched, j)
			}
			c.counts[j]++
		}
	}
	// The candidates sharing the most prefix trigrams, exactly compared.
	cands := c.touched
	if len(cands) > c.b.verify {
		// The least count among the best verify, by a histogram of counts
		// (at most the prefix): no sort of every candidate.
		hist := make([]int, prefix+1)
		for _, j := range cands {
			hist[c.counts[j]]++
		}
		least, above := prefix, 0
		for ; least > 1 && above+hist[least] < c.b.verify; least-- {
			above += hist[least]
		}
		room := c.b.verify - above // of those with the least count, the first met
		kept := c.cands[:0]
		for _, j := range cands {
			switch k := c.counts[j]; {
			case int(k) > least:
				kept = append(kept, j)
			case int(k) == least && room > 0:
				kept = append(kept, j)
				room--
			}
		}
		c.cands, cands = kept, kept
	}
	for _, j := range c.touched {
		c.counts[j] = 0
	}
	// A pair already kept from the other side is not compared again.
	c.mark++
	for _, e := range x.nbrs {
		c.marks[e.s] = c.mark
	}
	// x's trigrams marked, so a candidate's are counted by lookups.
	if len(c.in) < len(c.df) {
		c.in = append(c.in, make([]int32, len(c.df)-len(c.in))...)
	}
	c.inMark++
	for _, tok := range x.toks {
		c.in[tok] = c.inMark
	}
	var found []nbr
	for _, j := range cands {
		if c.marks[j] == c.mark {
			continue
		}
		shared := 0
		y := c.slots[j].toks
		for _, tok := range y {
			if c.in[tok] == c.inMark {
				shared++
			}
		}
		if sim := trigram.Ratio(shared, n, len(y)); sim >= t {
			found = append(found, nbr{j, sim})
		}
	}
	byBest := func(a, b nbr) int { return cmp.Or(cmp.Compare(b.sim, a.sim), cmp.Compare(a.s, b.s)) }
	slices.SortFunc(found, byBest)
	found = found[:min(len(found), c.b.neighbours)]
	for _, e := range found {
		x.nbrs = insertSorted(x.nbrs, e, byBest)
		y := &c.slots[e.s]
		y.nbrs = insertSorted(y.nbrs, nbr{s, e.sim}, byBest)
	}
}

// insertSorted inserts e into the sorted list, so no list is sorted again.
func insertSorted(list []nbr, e nbr, by func(a, b nbr) int) []nbr {
	i, _ := slices.BinarySearchFunc(list, e, by)
	return slices.Insert(list, i, e)
}

// compact drops dead slots from the postings.
func (c *commonCache) compact() {
	for t, post := range c.postings {
		c.postings[t] = slices.DeleteFunc(post, func(s int32) bool { return c.walk[s].grams < 0 })
	}
	c.dead = 0
}

// rank builds the shown form of the dirty clusters and puts them in their
// places among the shown clusters, which stay ordered: most regions first,
// then most needs, then by the first need's name, so pages are stable.
func (c *commonCache) rank(dirty map[int32]bool) {
	old := map[*coordinatorv1.CommonNeed]bool{}
	var shown []*coordinatorv1.CommonNeed
	for g := range dirty {
		if o := c.shownOf[g]; o != nil {
			old[o] = true
			delete(c.shownOf, g)
		}
		if gr := c.groups[g]; gr != nil {
			if sh := c.show(gr); sh != nil {
				c.shownOf[g] = sh
				shown = append(shown, sh)
			}
		}
	}
	// A new slice: an answer handed out before keeps its clusters.
	kept := make([]*coordinatorv1.CommonNeed, 0, len(c.clusters)+len(shown))
	for _, cl := range c.clusters {
		if !old[cl] {
			kept = append(kept, cl)
		}
	}
	order := func(a, b *coordinatorv1.CommonNeed) int {
		return cmp.Or(
			cmp.Compare(len(b.GetRegions()), len(a.GetRegions())),
			cmp.Compare(len(b.GetNeeds()), len(a.GetNeeds())),
			cmp.Compare(a.GetNeeds()[0].GetName(), b.GetNeeds()[0].GetName()),
		)
	}
	if len(shown) > len(kept)/8 {
		kept = append(kept, shown...)
		slices.SortFunc(kept, order)
	} else {
		for _, sh := range shown {
			i, _ := slices.BinarySearchFunc(kept, sh, order)
			kept = slices.Insert(kept, i, sh)
		}
	}
	c.clusters = kept
}

// show is the answer's form of a cluster, nil while it spans one region:
// its needs by name, each with its best similarity to a need of another
// region in it.
func (c *commonCache) show(gr *group) *coordinatorv1.CommonNeed {
	ms := gr.members
	slices.SortFunc(ms, func(a, b int32) int { return cmp.Compare(c.slots[a].name, c.slots[b].name) })
	out := &coordinatorv1.CommonNeed{}
	for _, i := range ms {
		x := &c.slots[i]
		best := 0.0
		for _, e := range x.nbrs {
			if c.slots[e.s].group == x.group {
				best = max(best, e.sim)
			}
		}
		out.Needs = append(out.Needs, &coordinatorv1.CommonNeedMember{
			Name: x.name, Region: x.region, Statement: x.need.GetStatement(), Similarity: best,
		})
		if !slices.Contains(out.Regions, x.region) {
			out.Regions = append(out.Regions, x.region)
		}
	}
	if len(out.Regions) < 2 {
		return nil
	}
	slices.Sort(out.Regions)
	return out
}

func statementGrams(n *needsv1.Need) trigram.Set {
	return trigram.Of(n.GetProblem() + " " + n.GetPopulation() + " " + n.GetOutcome())
}

// clusterNeeds clusters needs with a cache of their own (tests, benchmarks).
func clusterNeeds(needs []*needsv1.Need) []*coordinatorv1.CommonNeed {
	var c commonCache
	return c.clustersOf(needs)
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
// clusters and, beyond the first, at most pageNeeds needs and pageBytes.
func pageClusters(all []*coordinatorv1.CommonNeed, start, size int, query string) ([]*coordinatorv1.CommonNeed, string) {
	start = min(start, len(all))
	end, needs, bytes := start, 0, 0
	for end < len(all) && end-start < size {
		n, b := len(all[end].GetNeeds()), proto.Size(all[end])
		if end > start && (needs+n > pageNeeds || bytes+b > pageBytes) {
			break
		}
		needs += n
		bytes += b
		end++
	}
	return pageOf(all, start, end-start, query)
}
