package coordinator

import (
	"math"
	"testing"

	"github.com/innovationsmotorer/motor/internal/trigram"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

func TestSimilarity_PgTrgm(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"word", "word", 1},
		{"word", "two words", 4.0 / 11}, // pg_trgm: similarity('word', 'two words') = 0.36363637
		{"", "word", 0},
		{"Fall", "fall!", 1},
	} {
		if got := trigram.Similarity(trigram.Of(tc.a), trigram.Of(tc.b)); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("similarity(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestClusterNeeds_Transitive: needs join a cluster through any similar need
// of another region, and each member's similarity is its best one.
func TestClusterNeeds_Transitive(t *testing.T) {
	need := func(name, problem string) *needsv1.Need {
		return &needsv1.Need{Name: name, Problem: problem, Population: "äldre på boenden", Outcome: "färre skador"}
	}
	clusters := clusterNeeds([]*needsv1.Need{
		need("regions/uppsala/needs/a", "upptäcka fall nattetid"),
		need("regions/skane/needs/b", "upptäcka fall nattetid snabbt"),
		need("regions/kalmar/needs/c", "upptäcka fall snabbt"),
		need("regions/uppsala/needs/d", "upptäcka fall nattetid"), // same region as a: joins through b
		need("regions/gotland/needs/e", "kortare köer till hörselvården för barn och unga vuxna i glesbygd"),
	})
	if len(clusters) != 1 {
		t.Fatalf("%d clusters, want 1: %v", len(clusters), clusters)
	}
	c := clusters[0]
	if len(c.GetNeeds()) != 4 || len(c.GetRegions()) != 3 {
		t.Errorf("cluster %v: want a, b, c, d of kalmar, skane, uppsala", c)
	}
	for _, m := range c.GetNeeds() {
		if m.GetSimilarity() < commonThreshold {
			t.Errorf("member %s similarity %v below the threshold", m.GetName(), m.GetSimilarity())
		}
	}
}
