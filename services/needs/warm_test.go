package needs

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// WarmSimilar, run at start-up, leaves every served region's need index
// holding the region's needs, so the first query does not read them all.
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
	first, err := New(Config{Store: st, Regions: served})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{"uppsala": 3, "skane": 2}
	for region, n := range counts {
		who := auth.NewContext(t.Context(), &auth.Identity{Subject: "advisor-" + region, Region: region, Roles: []auth.Role{auth.Advisor}})
		for i := range n {
			if _, err := first.CreateNeed(who, &needsv1.CreateNeedRequest{Parent: "regions/" + region, RequestId: fmt.Sprintf("w%d", i), Need: &needsv1.Need{
				Problem: fmt.Sprintf("ta INR-prov hemma %d", i), Population: "patienter med warfarin", Outcome: "färre resor",
				CareUnit: "Vårdcentral", ReportedBy: ideav1.Origin_ORIGIN_STAFF, Evidence: "Journalgranskning", PatientsAffectedPerYear: 100,
			}}); err != nil {
				t.Fatalf("CreateNeed %s %d: %v", region, i, err)
			}
		}
	}

	restarted, err := New(Config{Store: st, Regions: served})
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.WarmSimilar(t.Context()); err != nil {
		t.Fatalf("WarmSimilar: %v", err)
	}
	for region, n := range counts {
		x := restarted.similar[region]
		if x == nil || len(x.meta) != n {
			t.Errorf("%s: index after WarmSimilar %v, want %d needs", region, x, n)
		}
	}
}
