package coordinator

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

// TestLegacyFiguresStayReadable: a region's last good figures as the
// coordinator stored them in protojson before the repository's envelope
// are its last good figures after the upgrade (to a fresh process), and
// the next figures kept rewrite them in the current form, audited once.
func TestLegacyFiguresStayReadable(t *testing.T) {
	raw, err := os.ReadFile("testdata/legacy-figures.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	ns := store.Namespace{Service: "coordinator", Region: auth.NationalRegion}
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			for _, r := range recs {
				if _, err := st.Commit(t.Context(), ns, store.Write{Puts: []store.Put{{Key: r.Key, Value: []byte(r.Value)}}}); err != nil {
					t.Fatal(err)
				}
			}
			s := New(Config{Store: st})
			f, err := s.lastGood(t.Context(), "vasterbotten")
			if err != nil || f == nil {
				t.Fatalf("legacy figures: %v, %v", f, err)
			}
			if f.GetGrantedOre() != 50_000_00 || f.GetPaidOre() != 12_500_00 || f.GetIdeasByStage()["STAGE_SCREENING"] != 1 || !f.GetFiguresTime().AsTime().Equal(time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC)) {
				t.Errorf("legacy figures read as %v", f)
			}

			who := &auth.Identity{Subject: "coordinator-national"}
			same := proto.CloneOf(f)
			same.FiguresTime = timestamppb.New(f.GetFiguresTime().AsTime().Add(time.Hour))
			if err := s.remember(t.Context(), who, same); err != nil {
				t.Fatal(err)
			}
			changed := proto.CloneOf(same)
			changed.FiguresTime = timestamppb.New(same.GetFiguresTime().AsTime().Add(time.Hour))
			changed.PaidOre = 25_000_00
			if err := s.remember(t.Context(), who, changed); err != nil {
				t.Fatal(err)
			}
			rec, err := st.Get(t.Context(), ns, "figures/vasterbotten")
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(string(rec.Value), "{") {
				t.Error("the kept figures are still stored as protojson")
			}
			evs, err := st.Events(t.Context(), ns, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var audited []string
			for _, ev := range evs {
				if ev.Action == "RecordRegionFigures" {
					audited = append(audited, ev.Key+" "+ev.EtagBefore+"→"+ev.EtagAfter)
				}
			}
			if want := []string{"figures/vasterbotten 2→3"}; strings.Join(audited, ",") != strings.Join(want, ",") {
				t.Errorf("audited %v, want %v (an unchanged refresh is not audited)", audited, want)
			}
			again, err := New(Config{Store: st}).lastGood(t.Context(), "vasterbotten")
			if err != nil || !proto.Equal(again, changed) {
				t.Errorf("a fresh process reads %v, %v; want %v", again, err, changed)
			}
		})
	}
}
