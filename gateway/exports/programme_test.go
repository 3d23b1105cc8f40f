package exports_test

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// TestProgrammeReport_AgreesWithLedger: after a random sequence of
// approvals, payments and closes in two regions, the programme report's
// figures agree to the öre with the ledger and with each subproject.
func TestProgrammeReport_AgreesWithLedger(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 17))
			e := deployment.Start(t, b)
			e.CreateProgramme(t)
			regions := []string{"vasterbotten", "uppsala"}
			const n = 8
			for range n {
				region := regions[rng.IntN(2)]
				sp := e.ApprovedSubproject(t, region, int64(100_000+rng.IntN(5_000_000)))
				for range rng.IntN(3) {
					e.CertifiedCostReport(t, sp, int64(1+rng.IntN(int(sp.GetEligibleCostOre()/2))))
				}
				if rng.IntN(2) == 0 {
					admin := e.As(t, auth.RegionAdmin, region)
					cur, err := e.Subs.GetSubproject(admin.Ctx(t), &fundingv1.GetSubprojectRequest{Name: sp.GetName()})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := e.Subs.CloseSubproject(admin.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: cur.GetEtag()}); err != nil {
						t.Fatalf("CloseSubproject: %v", err)
					}
				}
			}

			coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
			code, _, body := get(t, e, coordinator, "/v1/national/programmeReports/motor-2026.json")
			if code != http.StatusOK {
				t.Fatalf("report: %d %s", code, body)
			}
			rep := &reportsv1.ProgrammeReport{}
			if err := protojson.Unmarshal(body, rep); err != nil {
				t.Fatalf("report is not a ProgrammeReport: %v\n%s", err, body)
			}
			p, err := e.Ledger.GetProgramme(coordinator.Ctx(t), &fundingv1.GetProgrammeRequest{Name: deployment.Programme})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.GetAgreesWithLedger() || rep.GetPartial() || len(rep.GetRows()) != n {
				t.Fatalf("agrees %v, partial %v, %d rows; want agreeing, whole, %d rows", rep.GetAgreesWithLedger(), rep.GetPartial(), len(rep.GetRows()), n)
			}
			if rep.GetPaidOre() != p.GetBalance().GetDisbursedOre() || rep.GetReservedOre() != p.GetBalance().GetReservedOre() {
				t.Errorf("report paid %d reserved %d; ledger disbursed %d reserved %d",
					rep.GetPaidOre(), rep.GetReservedOre(), p.GetBalance().GetDisbursedOre(), p.GetBalance().GetReservedOre())
			}
			var paid, shares int64
			for _, row := range rep.GetRows() {
				sp, err := e.Subs.GetSubproject(coordinator.Ctx(t), &fundingv1.GetSubprojectRequest{Name: row.GetSubproject()})
				if err != nil {
					t.Fatal(err)
				}
				if row.GetPaidOre() != sp.GetPaidOre() || row.GetGrantedOre() != sp.GetProgrammeShareOre() ||
					row.GetReleasedOre() != sp.GetReleasedOre() || row.GetEligibleCostOre() != sp.GetEligibleCostOre() {
					t.Errorf("row %v disagrees with subproject paid %d share %d released %d eligible %d",
						row, sp.GetPaidOre(), sp.GetProgrammeShareOre(), sp.GetReleasedOre(), sp.GetEligibleCostOre())
				}
				if closed := sp.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED; closed != (row.GetReleasedDate() != "") ||
					closed && row.GetReleasedOre() != row.GetGrantedOre()-row.GetPaidOre() {
					t.Errorf("row %v: closed %v, released %d of %d granted, %d paid", row.GetSubproject(), closed, row.GetReleasedOre(), row.GetGrantedOre(), row.GetPaidOre())
				}
				paid += row.GetPaidOre()
				shares += sp.GetProgrammeShareOre()
			}
			if paid != p.GetBalance().GetDisbursedOre() || rep.GetReservedOre()+rep.GetReleasedOre() != shares {
				t.Errorf("rows paid %d (ledger %d); reserved+released %d, shares %d", paid, p.GetBalance().GetDisbursedOre(), rep.GetReservedOre()+rep.GetReleasedOre(), shares)
			}

			code, _, body = get(t, e, coordinator, "/v1/national/programmeReports/motor-2026.xlsx")
			if code != http.StatusOK {
				t.Fatalf("xlsx: %d %s", code, body)
			}
			f, err := excelize.OpenReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			sheet, err := f.GetRows(f.GetSheetName(0))
			if err != nil || len(sheet) != n+2 {
				t.Errorf("xlsx has %d rows (%v), want a header, %d subprojects and the total", len(sheet), err, n)
			}

			// A region's admin sees the ledger and their own subprojects.
			_, _, body = get(t, e, e.As(t, auth.RegionAdmin, "uppsala"), "/v1/national/programmeReports/motor-2026.json")
			mine := &reportsv1.ProgrammeReport{}
			if err := protojson.Unmarshal(body, mine); err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			for _, row := range mine.GetRows() {
				if row.GetAvailable() != (row.GetRegion() == "uppsala") {
					t.Errorf("uppsala admin: row of %s available %v", row.GetRegion(), row.GetAvailable())
				}
			}
			code, _, body = get(t, e, coordinator, "/v1/national/programmeReports/motor-2026.pdf")
			if code != http.StatusBadRequest || !bytes.Contains(body, []byte("format")) {
				t.Errorf("pdf: %d %s, want 400 naming the format", code, body)
			}
		})
	}
}
