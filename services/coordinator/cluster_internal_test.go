package coordinator

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

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

// TestSimilarPairs_Exact: the prefix-filtered join finds exactly the pairs
// of different regions a comparison of every pair finds.
func TestSimilarPairs_Exact(t *testing.T) {
	needs := syntheticNeeds(600, 7)
	sets := make([]trigram.Set, len(needs))
	regions := make([]string, len(needs))
	for i, n := range needs {
		sets[i], regions[i] = statementGrams(n), regionOf(n.GetName())
	}
	for _, th := range []float64{0.2, commonThreshold, 0.5} {
		want := map[pair]bool{}
		for i := range sets {
			for j := i + 1; j < len(sets); j++ {
				if regions[i] != regions[j] && trigram.Similarity(sets[i], sets[j]) >= th {
					want[pair{int32(i), int32(j)}] = true
				}
			}
		}
		got := map[pair]bool{}
		for _, e := range similarPairs(sets, regions, th) {
			if got[e.pair] {
				t.Errorf("pair %v found twice", e.pair)
			}
			got[e.pair] = true
			if d := e.sim - trigram.Similarity(sets[e.a], sets[e.b]); d > 1e-9 || d < -1e-9 {
				t.Errorf("pair %v: similarity %v, want %v", e.pair, e.sim, trigram.Similarity(sets[e.a], sets[e.b]))
			}
		}
		if len(want) == 0 || len(got) != len(want) {
			t.Errorf("threshold %.2f: %d pairs, want %d", th, len(got), len(want))
		}
		for p := range want {
			if !got[p] {
				t.Errorf("threshold %.2f: missed %v", th, p)
			}
		}
	}
}

// TestCluster_Bounded: sixty copies of one need across the regions make
// clusters of at most maxClusterNeeds, and a page of clusters holds at
// most pageNeeds needs beyond its first cluster.
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
		n := 0
		for _, c := range page {
			n += len(c.GetNeeds())
		}
		if len(page) == 0 || (len(page) > 1 && n > pageNeeds) {
			t.Fatalf("page %d: %d clusters, %d needs", pages, len(page), n)
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
// needs change, come and go, only those are paired again, and the
// clusters are exactly those of clustering every need afresh.
func TestCommonCache(t *testing.T) {
	var c commonCache
	needs := syntheticNeeds(400, 3)
	first := c.clustersOf(slices.Clone(needs))
	if again := c.clustersOf(slices.Clone(needs)); len(again) == 0 || &again[0] != &first[0] {
		t.Error("the same needs were clustered again")
	}
	changed := slices.Clone(needs[:len(needs)-5]) // five gone
	changed[0] = &needsv1.Need{Name: needs[0].GetName(), Etag: "2", Problem: needs[1].GetProblem(), Population: needs[1].GetPopulation(), Outcome: needs[1].GetOutcome()}
	changed = append(changed, &needsv1.Need{Name: "regions/gotland/needs/new", Etag: "1", Problem: needs[2].GetProblem(), Population: needs[2].GetPopulation(), Outcome: needs[2].GetOutcome()})
	got := c.clustersOf(slices.Clone(changed))
	if c.joins != 1 || c.added != 2 {
		t.Errorf("%d full joins and %d needs paired alone, want 1 and 2", c.joins, c.added)
	}
	if diff := cmp.Diff(clusterNeeds(slices.Clone(changed)), got, protocmp.Transform()); diff != "" {
		t.Errorf("clusters after the change (-afresh +kept):\n%s", diff)
	}
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

// BenchmarkClusterNeeds: a cold join of every published need ("cold"),
// and a call after one need changed ("oneChanged", what the cache does on
// most calls), at 1k, 2k and 5k needs. ns/need about the same at every
// size means linear; the cold join grows with the pairs above the
// threshold. Each cold run reports the clusters' median member similarity
// and the largest cluster.
func BenchmarkClusterNeeds(b *testing.B) {
	for _, n := range []int{1000, 2000, 5000} {
		needs := syntheticNeeds(n, 42)
		b.Run(fmt.Sprintf("cold/needs=%d", n), func(b *testing.B) {
			var clusters []*coordinatorv1.CommonNeed
			for b.Loop() {
				clusters = clusterNeeds(slices.Clone(needs))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/need")
			var sims []float64
			largest := 0
			for _, c := range clusters {
				largest = max(largest, len(c.GetNeeds()))
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
		})
		b.Run(fmt.Sprintf("oneChanged/needs=%d", n), func(b *testing.B) {
			var c commonCache
			c.clustersOf(slices.Clone(needs))
			i := 0
			for b.Loop() {
				i++
				changed := slices.Clone(needs)
				changed[i%n] = &needsv1.Need{Name: needs[i%n].GetName(), Etag: fmt.Sprint(i), Problem: needs[(i+1)%n].GetProblem(),
					Population: needs[i%n].GetPopulation(), Outcome: needs[i%n].GetOutcome()}
				c.clustersOf(changed)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/need")
		})
	}
}
