package partner_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// TestLegacyRecordsStayReadable: a partner, its agreement and an offer as
// the service stored them in protojson before the repository's envelope
// are read, listed and changed, and the changed ones are rewritten.
func TestLegacyRecordsStayReadable(t *testing.T) {
	const (
		partner = "regions/vasterbotten/partners/5hru2zrcbbpqtsud"
		offer   = "regions/vasterbotten/offers/cfzq7t6ecxswig6m"
	)
	ns := store.Namespace{Service: "partner", Region: "vasterbotten"}
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.LoadRecords(t, ns, "testdata/legacy-records.json")
			// Earlier code kept request ids for ever.
			legacyKey := &store.Idempotency{Key: "create-partner/0123456789abcdef/form-1", Fingerprint: "f", Result: []byte(partner)}
			if _, err := e.Store.Commit(t.Context(), ns, store.Write{Idempotency: legacyKey, Events: []store.Event{{Action: "CreatePartner"}}}); err != nil {
				t.Fatal(err)
			}
			e.setClock(stockholm(t, "2026-06-15 10:00"))
			staff := e.As(t, auth.Advisor, "vasterbotten")

			list, err := e.client.ListPartners(staff.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten", Filter: "capability : sensorer"})
			if err != nil || len(list.GetPartners()) != 1 || list.GetPartners()[0].GetOrgNumber() != "5566000013" || list.GetPartners()[0].GetEtag() != "1" {
				t.Fatalf("legacy partner listed as %v, %v", list, err)
			}
			if res, err := e.Store.Commit(t.Context(), ns, store.Write{Idempotency: &store.Idempotency{Key: legacyKey.Key, Fingerprint: "other"}}); err != nil || res.Replayed {
				t.Errorf("the request id kept for ever outlived the upgrade: %+v, %v", res, err)
			}
			ags, err := e.client.ListAgreements(staff.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: partner, Filter: "state = AGREEMENT_STATE_ACTIVE"})
			if err != nil || len(ags.GetAgreements()) != 1 {
				t.Fatalf("legacy agreement: %v, %v", ags, err)
			}
			o, err := e.client.GetOffer(staff.Ctx(t), &partnerv1.GetOfferRequest{Name: offer})
			if err != nil || o.GetTitle() != "Golvsensor som larmar vid fall" || o.GetRespondBy() == "" {
				t.Fatalf("legacy offer: %v, %v", o, err)
			}
			if _, err := e.client.TransitionOffer(staff.Ctx(t), &partnerv1.TransitionOfferRequest{
				Name: offer, Status: partnerv1.OfferStatus_OFFER_STATUS_CLOSED, Reason: "Inte aktuellt i år", Etag: o.GetEtag(),
			}); err != nil {
				t.Fatal(err)
			}
			p := list.GetPartners()[0]
			updated, err := e.client.UpdatePartner(staff.Ctx(t), &partnerv1.UpdatePartnerRequest{
				Partner: &partnerv1.Partner{Name: partner, Etag: p.GetEtag(), DisplayName: "Norrsken Sensor AB"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
			})
			if err != nil || updated.GetOrgNumber() != "5566000013" || len(updated.GetCapabilities()) != 2 {
				t.Fatalf("update of a legacy partner: %v, %v", updated, err)
			}
			for _, key := range []string{"partner/5hru2zrcbbpqtsud", "offer/cfzq7t6ecxswig6m"} {
				rec, err := e.Store.Get(t.Context(), ns, key)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(string(rec.Value), "{") {
					t.Errorf("%s is still stored as protojson after its change", key)
				}
			}
		})
	}
}
