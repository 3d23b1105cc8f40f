package needs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestLegacyRecordsStayReadable: what the service stored before is read,
// listed (also by the reporter, through the owner index the old records
// did not have), changed, and rewritten in the current form on its change.
func TestLegacyRecordsStayReadable(t *testing.T) {
	const (
		screened  = "regions/vasterbotten/needs/w4guettwi7l4ujd2"
		published = "regions/vasterbotten/needs/xiq5xj4gk63beaiz"
	)
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			// A need reported by patient-anna, validated and screened once,
			// and a published need reported by an advisor, as the service
			// stored them in protojson before the repository's envelope.
			ns := store.Namespace{Service: "needs", Region: "vasterbotten"}
			e.LoadRecords(t, ns, "testdata/legacy-records.json")
			// Earlier code kept request ids under the raw subject, for ever.
			legacyKey := &store.Idempotency{Key: "create/patient-anna/form-1", Fingerprint: "f", Result: []byte(screened)}
			if _, err := e.Store.Commit(t.Context(), ns, store.Write{Idempotency: legacyKey, Events: []store.Event{{Action: "CreateNeed"}}}); err != nil {
				t.Fatal(err)
			}
			adv := e.As(t, auth.Advisor, "vasterbotten")
			anna := e.As(t, auth.Submitter, "vasterbotten", "patient-anna")

			got := e.mustGet(t, adv, screened)
			if got.GetStatus() != needsv1.NeedStatus_NEED_STATUS_VALIDATED || got.GetPriorityScore() != 3.6 || got.GetEtag() != "1" || got.GetCareUnit() != "Äldreomsorg Umeå" {
				t.Fatalf("legacy need read as status %v score %v etag %q care unit %q", got.GetStatus(), got.GetPriorityScore(), got.GetEtag(), got.GetCareUnit())
			}
			if ev := e.mustGet(t, anna, screened).GetEvidence(); ev == "" {
				t.Error("the reporter of a legacy need is not recognised as its owner")
			}

			list, err := e.client.ListNeeds(anna.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range list.GetNeeds() {
				names = append(names, n.GetName())
			}
			slices.Sort(names)
			if want := []string{screened, published}; !slices.Equal(names, want) {
				t.Errorf("the reporter lists %v, want %v", names, want)
			}

			if res, err := e.Store.Commit(t.Context(), ns, store.Write{Idempotency: &store.Idempotency{Key: legacyKey.Key, Fingerprint: "other"}}); err != nil || res.Replayed {
				t.Errorf("the raw-subject request id outlived the upgrade: %+v, %v", res, err)
			}

			scr, err := e.client.ListScreenings(adv.Ctx(t), &needsv1.ListScreeningsRequest{Parent: screened})
			if err != nil || len(scr.GetScreenings()) != 1 || scr.GetScreenings()[0].GetWeightedScore() != 3.6 {
				t.Fatalf("legacy screenings: %v, %v", scr, err)
			}

			// The stored count of screening rounds lets it be prioritised,
			// and the count of decisions puts the next one after the first.
			moved := e.mustTransition(t, adv, e.mustGet(t, adv, screened), needsv1.NeedStatus_NEED_STATUS_PRIORITISED, "")
			hist, err := e.client.ListNeedHistory(adv.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: screened})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(hist.GetEntries()); n != 2 || hist.GetEntries()[0].GetReason() != "evidens finns" {
				t.Errorf("history after the move: %v", hist.GetEntries())
			}
			if moved.GetEtag() == got.GetEtag() {
				t.Errorf("etag unchanged by the move: %s", moved.GetEtag())
			}
			rec, err := e.Store.Get(t.Context(), store.Namespace{Service: "needs", Region: "vasterbotten"}, "need/w4guettwi7l4ujd2")
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(string(rec.Value), "{") {
				t.Error("the changed need is still stored as protojson")
			}
			if got := e.mustGet(t, anna, screened); got.GetEvidence() == "" || got.GetStatus() != needsv1.NeedStatus_NEED_STATUS_PRIORITISED {
				t.Errorf("after the rewrite: status %v, owner sees evidence %v", got.GetStatus(), got.GetEvidence() != "")
			}
		})
	}
}
