package idea

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// WarmSimilar, run at start-up, leaves every served region's similarity
// index holding the region's ideas, so the first query finds them without
// reading the store.
func TestWarmSimilar(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	served, err := config.ParseServed("uppsala,skane")
	if err != nil {
		t.Fatal(err)
	}
	first := New(Config{Store: st, Regions: served})
	counts := map[string]int{"uppsala": 3, "skane": 2}
	for region, n := range counts {
		who := auth.NewContext(t.Context(), &auth.Identity{Subject: "advisor-" + region, Region: region, Roles: []auth.Role{auth.Advisor}})
		for i := range n {
			if _, err := first.CreateIdea(who, &ideav1.CreateIdeaRequest{Parent: "regions/" + region, RequestId: fmt.Sprintf("w%d", i), Idea: &ideav1.Idea{
				Title: fmt.Sprintf("Videobesök %d", i), Problem: "Långa resor till kontroller", Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: "Lungmedicin",
			}}); err != nil {
				t.Fatalf("CreateIdea %s %d: %v", region, i, err)
			}
		}
	}

	restarted := New(Config{Store: st, Regions: served})
	if err := restarted.WarmSimilar(t.Context()); err != nil {
		t.Fatalf("WarmSimilar: %v", err)
	}
	for region, n := range counts {
		x := restarted.similar[region]
		if x == nil || len(x.ideas) != n {
			t.Errorf("%s: index after WarmSimilar %v, want %d ideas", region, x, n)
		}
	}
}
