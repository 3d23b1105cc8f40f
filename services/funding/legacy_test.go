package funding_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// TestLegacyRecordsStayReadable: a programme with one reservation and one
// payment, an approved subproject with a certified and a draft cost report,
// and a draft subproject, as the service stored them in protojson before
// the repository's envelope, are read, listed, changed — money moves on the
// old programme and allocation — and rewritten in the current form.
func TestLegacyRecordsStayReadable(t *testing.T) {
	const (
		approved  = "regions/vasterbotten/subprojects/3i6ftd5xi6lpf52s"
		draft     = "regions/vasterbotten/subprojects/2jov5oqxai2cjrqa"
		certified = approved + "/costReports/oalslq7l6amslr2q"
		open      = approved + "/costReports/v5jap3mjoyt5hlvf"
		programme = "programmes/vinnova-2026"
	)
	region := store.Namespace{Service: "funding", Region: vb}
	national := store.Namespace{Service: "funding", Region: "national"}
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			e.LoadRecords(t, region, "testdata/legacy-region.json")
			e.LoadRecords(t, national, "testdata/legacy-national.json")
			// Earlier code kept request ids under the raw subject, for ever.
			legacyKey := &store.Idempotency{Key: "create/subproject/region_admin-vasterbotten/form-1", Fingerprint: "f", Result: []byte(draft)}
			if _, err := e.Store.Commit(t.Context(), region, store.Write{Idempotency: legacyKey, Events: []store.Event{{Action: "CreateSubproject"}}}); err != nil {
				t.Fatal(err)
			}
			coord, admin := e.coordinator(t), e.admin(t, vb)

			sp := e.get(t, approved)
			if sp.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED || sp.GetGrantedOre() != 200_000_00 || sp.GetPaidOre() != 50_000_00 || sp.GetEtag() != "1" {
				t.Fatalf("legacy subproject read as %v granted %d paid %d etag %q", sp.GetStatus(), sp.GetGrantedOre(), sp.GetPaidOre(), sp.GetEtag())
			}
			list, err := e.subs.ListSubprojects(coord.Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/" + vb, Filter: "status = SUBPROJECT_STATUS_APPROVED"})
			if err != nil || len(list.GetSubprojects()) != 1 || list.GetSubprojects()[0].GetName() != approved {
				t.Fatalf("legacy subprojects listed by status: %v, %v", list, err)
			}
			reports, err := e.subs.ListCostReports(coord.Ctx(t), &fundingv1.ListCostReportsRequest{Parent: approved})
			if err != nil || len(reports.GetCostReports()) != 2 || reports.GetCostReports()[0].GetName() != certified {
				t.Fatalf("legacy cost reports: %v, %v", reports, err)
			}
			e.balanceIs(t, programme, "legacy programme", 200_000_00, 50_000_00)
			if allocs := e.allocations(t, programme); len(allocs) != 1 || allocs[0].GetDisbursedOre() != 50_000_00 {
				t.Fatalf("legacy allocations: %v", allocs)
			}

			// The old payment is still the key of its cost report: paying
			// for it again returns it and moves nothing.
			again, err := e.sys.RecordPayment(t.Context(), &fundingv1.RecordPaymentRequest{Programme: programme, Subproject: approved, CostReport: certified, AmountOre: 1})
			if err != nil || again.GetPayment().GetAmountOre() != 50_000_00 {
				t.Fatalf("replayed legacy payment: %v, %v", again, err)
			}
			e.balanceIs(t, programme, "after the replayed payment", 200_000_00, 50_000_00)

			// The draft report is submitted and certified: money moves from
			// the legacy allocation and programme.
			cr, err := e.subs.GetCostReport(admin.Ctx(t), &fundingv1.GetCostReportRequest{Name: open})
			if err != nil {
				t.Fatal(err)
			}
			cr, err = e.subs.SubmitCostReport(admin.Ctx(t), &fundingv1.SubmitCostReportRequest{Name: open, Etag: cr.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			cr, err = e.subs.CertifyCostReport(coord.Ctx(t), &fundingv1.CertifyCostReportRequest{Name: open, Etag: cr.GetEtag()})
			if err != nil || cr.GetPaidOre() != 25_000_00 {
				t.Fatalf("certifying a legacy report: %v, %v", cr, err)
			}
			e.balanceIs(t, programme, "after certifying", 200_000_00, 75_000_00)
			if sp := e.get(t, approved); sp.GetPaidOre() != 75_000_00 {
				t.Errorf("legacy subproject paid %d öre after the certification, want %d", sp.GetPaidOre(), 75_000_00)
			}

			d := e.get(t, draft)
			upd, err := e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
				Subproject: &fundingv1.Subproject{Name: draft, Etag: d.GetEtag(), Title: "Egenmonitorering av KOL i hemmet"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
			})
			if err != nil || upd.GetProgrammeShareOre() != d.GetProgrammeShareOre() || len(upd.GetHistory()) != 1 {
				t.Fatalf("update of a legacy draft: %v, %v", upd, err)
			}

			// A create drops the request ids earlier code kept for ever.
			e.mustCreate(t, vb, sampleSubproject(programme, 1000))
			if res, err := e.Store.Commit(t.Context(), region, store.Write{Idempotency: &store.Idempotency{Key: legacyKey.Key, Fingerprint: "other"}}); err != nil || res.Replayed {
				t.Errorf("the raw-subject request id outlived the upgrade: %+v, %v", res, err)
			}

			for ns, keys := range map[store.Namespace][]string{
				region:   {"subproject/3i6ftd5xi6lpf52s", "subproject/2jov5oqxai2cjrqa", "costreport/3i6ftd5xi6lpf52s/v5jap3mjoyt5hlvf"},
				national: {"programme/vinnova-2026", "allocation/" + approved},
			} {
				for _, key := range keys {
					rec, err := e.Store.Get(t.Context(), ns, key)
					if err != nil {
						t.Fatal(err)
					}
					if strings.HasPrefix(string(rec.Value), "{") {
						t.Errorf("%s %s is still stored as protojson after its change", ns, key)
					}
				}
			}
			// Closing releases the rest of the legacy reservation.
			closed, err := e.subs.CloseSubproject(admin.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: approved, Etag: e.get(t, approved).GetEtag()})
			if err != nil || closed.GetReleasedOre() != 125_000_00 {
				t.Fatalf("closing a legacy subproject: %v, %v", closed, err)
			}
			e.balanceIs(t, programme, "after the close", 75_000_00, 75_000_00)
		})
	}
}
