package coordinator

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/trigram"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestCluster_NoChaining: a reaches b and b reaches c, but a and c are not
// alike: they do not end in one cluster, and every member of a cluster is
// similar to every need of another region in it.
func TestCluster_NoChaining(t *testing.T) {
	need := func(name, problem string) *needsv1.Need {
		return &needsv1.Need{Name: name, Problem: problem}
	}
	needs := []*needsv1.Need{
		need("regions/uppsala/needs/a", "upptäcka fall nattetid på äldreboenden"),
		need("regions/skane/needs/b", "upptäcka fall nattetid på vårdavdelningar med sensorer"),
		need("regions/kalmar/needs/c", "vårdavdelningar med sensorer för trycksår"),
	}
	sets := map[string]trigram.Set{}
	for _, n := range needs {
		sets[n.GetName()] = statementGrams(n)
	}
	if ab, bc, ac := trigram.Similarity(sets["regions/uppsala/needs/a"], sets["regions/skane/needs/b"]),
		trigram.Similarity(sets["regions/skane/needs/b"], sets["regions/kalmar/needs/c"]),
		trigram.Similarity(sets["regions/uppsala/needs/a"], sets["regions/kalmar/needs/c"]); ab < commonThreshold || bc < commonThreshold || ac >= commonThreshold {
		t.Fatalf("fixture: a~b %.2f, b~c %.2f, a~c %.2f; want a chain", ab, bc, ac)
	}
	clusters := clusterNeeds(needs)
	if len(clusters) != 1 || len(clusters[0].GetNeeds()) != 2 {
		t.Fatalf("clusters %v, want one pair", clusters)
	}
	assertComplete(t, clusters, sets)
}

func assertComplete(t *testing.T, clusters []*coordinatorv1.CommonNeed, sets map[string]trigram.Set) {
	t.Helper()
	for _, c := range clusters {
		if len(c.GetNeeds()) > maxClusterNeeds || len(c.GetRegions()) < 2 {
			t.Errorf("cluster of %d needs in %v regions", len(c.GetNeeds()), c.GetRegions())
		}
		for _, x := range c.GetNeeds() {
			for _, y := range c.GetNeeds() {
				if x.GetRegion() != y.GetRegion() {
					if s := trigram.Similarity(sets[x.GetName()], sets[y.GetName()]); s < commonThreshold {
						t.Errorf("%s and %s share a cluster at similarity %.3f", x.GetName(), y.GetName(), s)
					}
				}
			}
		}
	}
}

// TestNeighbours_Exact: with no budget, the prefix-filtered index finds for
// every need exactly the needs of other regions a comparison of every pair
// finds, with the same similarity.
func TestNeighbours_Exact(t *testing.T) {
	needs := syntheticNeeds(600, 7)
	c := commonCache{b: budgets{math.MaxInt, math.MaxInt, math.MaxInt}}
	c.clustersOf(slices.Clone(needs))
	got := neighbourSets(&c)
	want := allPairs(needs)
	if len(want) == 0 {
		t.Fatal("fixture: no similar pairs")
	}
	for name, w := range want {
		if d := cmp.Diff(w, got[name]); d != "" {
			t.Errorf("%s: neighbours (-every pair +index):\n%s", name, d)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d needs with neighbours, want %d", len(got), len(want))
	}
}

// TestNeighbours_Budget: with the walk and verify budgets, every pair kept
// is at least the threshold similar with its exact similarity, and each
// need keeps nearly all of its most similar needs of other regions.
func TestNeighbours_Budget(t *testing.T) {
	needs := syntheticNeeds(2000, 5)
	var c commonCache
	c.clustersOf(slices.Clone(needs))
	got := neighbourSets(&c)
	want := allPairs(needs)
	found, best := 0, 0
	for name, w := range want {
		g := got[name]
		for other, sim := range g {
			if d := sim - w[other]; w[other] == 0 || d > 1e-9 || d < -1e-9 {
				t.Fatalf("%s ~ %s kept at %v, exactly %v", name, other, sim, w[other])
			}
		}
		// Its best maxClusterNeeds by exact similarity.
		var sims []float64
		for _, s := range w {
			sims = append(sims, s)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(sims)))
		floor := sims[min(len(sims), maxClusterNeeds)-1]
		for other, s := range w {
			if s > floor {
				best++
				if _, ok := g[other]; ok {
					found++
				}
			}
		}
	}
	recall := float64(found) / float64(best)
	t.Logf("recall of each need's %d most similar: %.3f (%d of %d)", maxClusterNeeds, recall, found, best)
	if recall < 0.9 {
		t.Errorf("recall %.3f of each need's most similar needs, want at least 0.9", recall)
	}
}

// neighbourSets: every need's kept neighbours by name.
func neighbourSets(c *commonCache) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, x := range c.slots {
		if !x.alive || len(x.nbrs) == 0 {
			continue
		}
		out[x.name] = map[string]float64{}
		for _, e := range x.nbrs {
			out[x.name][c.slots[e.s].name] = e.sim
		}
	}
	return out
}

// allPairs compares every pair of needs of different regions.
func allPairs(needs []*needsv1.Need) map[string]map[string]float64 {
	ids := map[string]int32{}
	toks := make([][]int32, len(needs))
	for i, n := range needs {
		for g := range statementGrams(n) {
			if _, ok := ids[g]; !ok {
				ids[g] = int32(len(ids))
			}
			toks[i] = append(toks[i], ids[g])
		}
		slices.Sort(toks[i])
	}
	out := map[string]map[string]float64{}
	for i, x := range needs {
		for j := i + 1; j < len(needs); j++ {
			y := needs[j]
			if regionOf(x.GetName()) == regionOf(y.GetName()) {
				continue
			}
			if s := jaccard(toks[i], toks[j]); s >= commonThreshold {
				for _, p := range [][2]string{{x.GetName(), y.GetName()}, {y.GetName(), x.GetName()}} {
					if out[p[0]] == nil {
						out[p[0]] = map[string]float64{}
					}
					out[p[0]][p[1]] = s
				}
			}
		}
	}
	return out
}

// TestCluster_Bounded: sixty copies of one need across the regions make
// clusters of at most maxClusterNeeds, and a page of clusters holds at
// most pageNeeds needs and pageBytes beyond its first cluster.
func TestCluster_Bounded(t *testing.T) {
	var needs []*needsv1.Need
	regions := config.RegionIDs()
	for i := range 60 {
		needs = append(needs, &needsv1.Need{Name: fmt.Sprintf("regions/%s/needs/n%02d", regions[i%len(regions)], i), Problem: "upptäcka fall nattetid"})
	}
	clusters := clusterNeeds(needs)
	total := 0
	for _, c := range clusters {
		total += len(c.GetNeeds())
		if len(c.GetNeeds()) > maxClusterNeeds {
			t.Errorf("a cluster of %d needs", len(c.GetNeeds()))
		}
	}
	if total != 60 || len(clusters[0].GetNeeds()) != maxClusterNeeds {
		t.Errorf("%d needs in %d clusters (first %d), want all 60, the first full", total, len(clusters), len(clusters[0].GetNeeds()))
	}

	many := clusterNeeds(syntheticNeeds(3000, 11))
	for start, pages := 0, 0; start < len(many); pages++ {
		page, next := pageClusters(many, start, 1000, "commonNeeds")
		n, size := 0, 0
		for _, c := range page {
			n += len(c.GetNeeds())
			size += proto.Size(c)
		}
		if len(page) == 0 || (len(page) > 1 && (n > pageNeeds || size > pageBytes)) {
			t.Fatalf("page %d: %d clusters, %d needs, %d bytes", pages, len(page), n, size)
		}
		if len(page) == 1 && len(page[0].GetNeeds()) > maxClusterNeeds {
			t.Fatalf("page %d: one cluster of %d needs", pages, len(page[0].GetNeeds()))
		}
		if next == "" {
			if start+len(page) != len(many) {
				t.Fatalf("the last page ends at %d of %d", start+len(page), len(many))
			}
			break
		}
		start += len(page)
	}
}

// TestCommonCache: the same needs again are not clustered again; after
// needs change, come and go, only those are placed again, the clusters
// hold no need that is gone, a changed need sits with the need it now
// repeats, and every cluster is still complete and bounded.
func TestCommonCache(t *testing.T) {
	var c commonCache
	needs := syntheticNeeds(400, 3)
	first := c.clustersOf(slices.Clone(needs))
	if again := c.clustersOf(slices.Clone(needs)); len(again) == 0 || &again[0] != &first[0] {
		t.Error("the same needs were clustered again")
	}
	// needs[0] becomes a copy of a need of another region, and a new need
	// of gotland copies needs[2].
	twin := 1
	for regionOf(needs[twin].GetName()) == regionOf(needs[0].GetName()) {
		twin++
	}
	changed := slices.Clone(needs[:len(needs)-5]) // five gone
	changed[0] = &needsv1.Need{Name: needs[0].GetName(), Etag: "2", Problem: needs[twin].GetProblem(), Population: needs[twin].GetPopulation(), Outcome: needs[twin].GetOutcome()}
	changed = append(changed, &needsv1.Need{Name: "regions/gotland/needs/new", Etag: "1", Problem: needs[2].GetProblem(), Population: needs[2].GetPopulation(), Outcome: needs[2].GetOutcome()})
	got := c.clustersOf(slices.Clone(changed))
	if c.joins != 1 || c.added != 2 {
		t.Errorf("%d full joins and %d needs placed alone, want 1 and 2", c.joins, c.added)
	}
	assertClusters(t, got, changed)
	if cl := clusterOf(got, needs[0].GetName()); cl == nil || !slices.ContainsFunc(cl.GetNeeds(), func(m *coordinatorv1.CommonNeedMember) bool { return m.GetName() == needs[twin].GetName() }) {
		t.Errorf("the changed need is in %v, not with %s whose statement it repeats", cl, needs[twin].GetName())
	}
}

// TestCommonCache_Drift: many rounds of needs changing one by one keep
// every cluster complete and bounded, and keep about as many needs in
// clusters as clustering every need afresh.
func TestCommonCache_Drift(t *testing.T) {
	var c commonCache
	needs := syntheticNeeds(1500, 9)
	c.clustersOf(slices.Clone(needs))
	rng := rand.New(rand.NewPCG(9, 9))
	for round := range 300 {
		i, j := rng.IntN(len(needs)), rng.IntN(len(needs))
		needs[i] = &needsv1.Need{Name: needs[i].GetName(), Etag: fmt.Sprint("r", round), Problem: needs[j].GetProblem(),
			Population: needs[i].GetPopulation(), Outcome: needs[j].GetOutcome(), Published: true}
		c.clustersOf(slices.Clone(needs))
	}
	if c.joins != 1 || c.added != 300 {
		t.Fatalf("%d full builds, %d placed alone; want 1 and 300", c.joins, c.added)
	}
	kept := c.clustersOf(slices.Clone(needs))
	assertClusters(t, kept, needs)
	afresh := clusterNeeds(slices.Clone(needs))
	in := func(cs []*coordinatorv1.CommonNeed) (n int) {
		for _, cl := range cs {
			n += len(cl.GetNeeds())
		}
		return n
	}
	t.Logf("needs in clusters: %d kept up to date, %d afresh", in(kept), in(afresh))
	if in(kept) < in(afresh)*9/10 {
		t.Errorf("%d needs in clusters kept up to date, %d afresh: the clusters drift apart", in(kept), in(afresh))
	}
}

// assertClusters checks clusters of needs: each need in one cluster at
// most, no need that is not among needs, every cluster complete across its
// regions and bounded, and each member's similarity its best to a need of
// another region in the cluster.
func assertClusters(t *testing.T, clusters []*coordinatorv1.CommonNeed, needs []*needsv1.Need) {
	t.Helper()
	sets := map[string]trigram.Set{}
	for _, n := range needs {
		sets[n.GetName()] = statementGrams(n)
	}
	seen := map[string]bool{}
	for _, cl := range clusters {
		for _, x := range cl.GetNeeds() {
			if _, ok := sets[x.GetName()]; !ok || seen[x.GetName()] {
				t.Errorf("%s: unknown or in two clusters", x.GetName())
			}
			seen[x.GetName()] = true
			best := 0.0
			for _, y := range cl.GetNeeds() {
				if x.GetRegion() != y.GetRegion() {
					best = max(best, trigram.Similarity(sets[x.GetName()], sets[y.GetName()]))
				}
			}
			if d := best - x.GetSimilarity(); d > 1e-9 || d < -1e-9 {
				t.Errorf("%s: similarity %v, its best in the cluster %v", x.GetName(), x.GetSimilarity(), best)
			}
		}
	}
	assertComplete(t, clusters, sets)
}

func clusterOf(clusters []*coordinatorv1.CommonNeed, name string) *coordinatorv1.CommonNeed {
	for _, cl := range clusters {
		for _, m := range cl.GetNeeds() {
			if m.GetName() == name {
				return cl
			}
		}
	}
	return nil
}

// syntheticNeeds are n published needs of the 21 regions: topics of a few
// words each told in several regions with words swapped, and a population
// and an outcome from short lists every topic shares — what made single
// linkage chain on real statements.
func syntheticNeeds(n int, seed uint64) []*needsv1.Need {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Words of care's own vocabulary, and a long tail of rarer ones as
	// real statements have (pseudo-words of Swedish syllables), drawn
	// skewed towards the common ones.
	words := strings.Fields(`fall nattetid sensorer trycksår läkemedel dosering hemsjukvård provtagning
		hörsel köer väntetid barn psykiatri journal remiss diabetes glukos stroke rehabilitering
		nutrition smärta andning syrgas sömn delirium infektion antibiotika sår kateter dialys`)
	syllables := strings.Fields("ba be bo da de dö fa fi ga gå ha he ja jo ka kä la le lö ma mi na nå pa pe ra re sa sä ta te va vi")
	for len(words) < 4000 {
		w := ""
		for range 2 + rng.IntN(3) {
			w += syllables[rng.IntN(len(syllables))]
		}
		words = append(words, w)
	}
	word := func() string { u := rng.Float64(); return words[int(u*u*float64(len(words)))] }
	populations := []string{"äldre på boenden", "patienter i hemsjukvården", "barn och unga", "personer med kronisk sjukdom", "inneliggande patienter"}
	outcomes := []string{"färre skador", "kortare vårdtid", "ökad trygghet", "färre återinläggningar", "bättre livskvalitet"}
	// Populations and outcomes recur across topics, as in real statements.
	for range 20 {
		populations = append(populations, word()+" "+populations[rng.IntN(5)])
		outcomes = append(outcomes, outcomes[rng.IntN(5)]+" "+word())
	}
	topics := max(n/15, 1)
	base := make([][]string, topics)
	for i := range base {
		for range 10 {
			base[i] = append(base[i], word())
		}
	}
	regions := config.RegionIDs()
	out := make([]*needsv1.Need, n)
	for i := range out {
		w := slices.Clone(base[rng.IntN(topics)])
		for range rng.IntN(3) {
			w[rng.IntN(len(w))] = word()
		}
		region := regions[rng.IntN(len(regions))]
		out[i] = &needsv1.Need{
			Name: fmt.Sprintf("regions/%s/needs/s%06d", region, i), Etag: "1",
			Problem: strings.Join(w, " "), Population: populations[rng.IntN(len(populations))], Outcome: outcomes[rng.IntN(len(outcomes))],
			Published: true,
		}
	}
	return out
}

// BenchmarkClusterNeeds: a full build of every published need ("cold"),
// and a call after one need changed ("oneChanged", what the cache does on
// most calls), at 1k, 5k and 20k needs. The last lines print how each
// grows with the needs in CPU time (the machine may be shared): 5× and 20×
// for linear, 1× for flat. Each cold run
// reports the clusters' median member similarity and the largest cluster.
func BenchmarkClusterNeeds(b *testing.B) {
	sizes := []int{1000, 5000, 20000}
	perOp := map[string]float64{}
	for _, n := range sizes {
		needs := syntheticNeeds(n, 42)
		b.Run(fmt.Sprintf("cold/needs=%d", n), func(b *testing.B) {
			var clusters []*coordinatorv1.CommonNeed
			cpu := cpuTime()
			for b.Loop() {
				clusters = clusterNeeds(slices.Clone(needs))
			}
			cpu = cpuTime() - cpu
			perOp[fmt.Sprint("cold/", n)] = float64(cpu.Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
			var sims []float64
			largest, in := 0, 0
			for _, c := range clusters {
				largest = max(largest, len(c.GetNeeds()))
				in += len(c.GetNeeds())
				for _, m := range c.GetNeeds() {
					sims = append(sims, m.GetSimilarity())
				}
			}
			sort.Float64s(sims)
			if len(sims) > 0 {
				b.ReportMetric(sims[len(sims)/2], "median-sim")
			}
			b.ReportMetric(float64(largest), "largest")
			b.ReportMetric(float64(len(clusters)), "clusters")
			b.ReportMetric(float64(in)/float64(n), "clustered/need")
		})
		b.Run(fmt.Sprintf("oneChanged/needs=%d", n), func(b *testing.B) {
			var c commonCache
			c.clustersOf(slices.Clone(needs))
			changed := slices.Clone(needs)
			i := 0
			var cpu time.Duration
			for b.Loop() {
				if i == 0 {
					cpu = cpuTime()
				}
				i++
				changed[i%n] = &needsv1.Need{Name: needs[i%n].GetName(), Etag: fmt.Sprint(i), Problem: needs[(i+1)%n].GetProblem(),
					Population: needs[i%n].GetPopulation(), Outcome: needs[i%n].GetOutcome()}
				c.clustersOf(changed)
			}
			cpu = cpuTime() - cpu
			perOp[fmt.Sprint("oneChanged/", n)] = float64(cpu.Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
	for _, kind := range []string{"cold", "oneChanged"} {
		base := perOp[fmt.Sprint(kind, "/", sizes[0])]
		if base == 0 {
			continue // filtered out
		}
		line := kind + " (CPU time): " + fmt.Sprintf("%d needs %.2f ms", sizes[0], base/1e6)
		for _, n := range sizes[1:] {
			if v := perOp[fmt.Sprint(kind, "/", n)]; v > 0 {
				line += fmt.Sprintf(", %d needs %.2f ms (%.1f× for %d× the needs)", n, v/1e6, v/base, n/sizes[0])
			}
		}
		b.Log(line)
	}
}
