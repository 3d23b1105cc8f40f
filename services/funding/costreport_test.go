package funding_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

func staffReport(amount int64) *fundingv1.CostReport {
	return &fundingv1.CostReport{
		PeriodStart: "2026-01-01", PeriodEnd: "2026-06-30",
		Lines: []*fundingv1.CostReportLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: amount, Description: "Projektledare"}},
	}
}

func (e *env) mustReport(t testing.TB, sp *fundingv1.Subproject, cr *fundingv1.CostReport) *fundingv1.CostReport {
	t.Helper()
	admin := e.admin(t, regionOf(sp.GetName()))
	got, err := e.subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: cr})
	if err != nil {
		t.Fatalf("CreateCostReport: %v", err)
	}
	got, err = e.subs.SubmitCostReport(admin.Ctx(t), &fundingv1.SubmitCostReportRequest{Name: got.GetName(), Etag: got.GetEtag()})
	if err != nil {
		t.Fatalf("SubmitCostReport: %v", err)
	}
	return got
}

func (e *env) certify(t testing.TB, cr *fundingv1.CostReport, certified *int64) (*fundingv1.CostReport, error) {
	t.Helper()
	return e.subs.CertifyCostReport(e.coordinator(t).Ctx(t), &fundingv1.CertifyCostReportRequest{Name: cr.GetName(), Etag: cr.GetEtag(), CertifiedOre: certified})
}

// TestCertify_CappedAtTheReservation: reports that together claim more than
// the grant are paid until the grant is spent, and not an öre beyond.
func TestCertify_CappedAtTheReservation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 100_001)) // grant 50 000
		for _, tc := range []struct {
			name      string
			reported  int64
			certified *int64
			paid      int64
			total     int64
		}{
			{"odd öre round down", 30_001, nil, 15_000, 15_000},
			{"partly certified", 40_000, proto.Int64(20_001), 10_000, 25_000},
			{"more than is left", 80_000, nil, 25_000, 50_000},
			{"nothing left", 1_000, nil, 0, 50_000},
		} {
			t.Run(tc.name, func(t *testing.T) {
				cr, err := e.certify(t, e.mustReport(t, sp, staffReport(tc.reported)), tc.certified)
				if err != nil {
					t.Fatal(err)
				}
				wantCertified := tc.reported
				if tc.certified != nil {
					wantCertified = *tc.certified
				}
				if cr.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED || cr.GetCertifiedOre() != wantCertified || cr.GetPaidOre() != tc.paid {
					t.Errorf("report %v certified %d paid %d, want CERTIFIED %d %d", cr.GetStatus(), cr.GetCertifiedOre(), cr.GetPaidOre(), wantCertified, tc.paid)
				}
				if got := e.get(t, sp.GetName()).GetPaidOre(); got != tc.total {
					t.Errorf("subproject paid %d, want %d", got, tc.total)
				}
				e.balanceIs(t, p.GetName(), tc.name, 50_000, tc.total)
			})
		}
		closed, err := e.subs.CloseSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: e.get(t, sp.GetName()).GetEtag()})
		if err != nil || closed.GetReleasedOre() != 0 || closed.GetPaidOre() != 50_000 {
			t.Errorf("close: %v %v", closed, err)
		}
		e.balanceIs(t, p.GetName(), "after close", 50_000, 50_000)
	})
}

func TestCertify_RateZeroAndFull(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		zero := e.mustProgramme(t, "zero", 1_000_000, 0)
		full := e.mustProgramme(t, "full", 1_000_000, 10000)
		z := e.mustApprove(t, e.submitted(t, up, zero.GetName(), 5_000))
		f := e.mustApprove(t, e.submitted(t, up, full.GetName(), 5_000))
		if cr, err := e.certify(t, e.mustReport(t, z, staffReport(4_999)), nil); err != nil || cr.GetPaidOre() != 0 {
			t.Errorf("rate 0: %v %v, want 0 paid", cr, err)
		}
		if cr, err := e.certify(t, e.mustReport(t, f, staffReport(4_999)), nil); err != nil || cr.GetPaidOre() != 4_999 {
			t.Errorf("rate 100 %%: %v %v, want 4999 paid", cr, err)
		}
		e.balanceIs(t, zero.GetName(), "rate 0", 0, 0)
		e.balanceIs(t, full.GetName(), "rate 100 %", 5_000, 4_999)
	})
}

func TestCertify_LostLedgerReplyPaysOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 1_000_000))
		cr := e.mustReport(t, sp, staffReport(100_000))
		d := e.dropReplies(t, "RecordPayment", 1000)
		if _, err := e.certify(t, cr, nil); status.Code(err) != codes.Unavailable {
			t.Fatalf("certify with every reply lost: %v, want Unavailable", err)
		}
		e.balanceIs(t, p.GetName(), "payment made, answer lost", 500_000, 50_000)
		d.drops.Store(0)
		got, err := e.certify(t, cr, nil)
		if err != nil || got.GetPaidOre() != 50_000 {
			t.Fatalf("the caller's retry: %v %v", got, err)
		}
		e.balanceIs(t, p.GetName(), "after the retry", 500_000, 50_000)
		if again, err := e.certify(t, cr, nil); err != nil || again.GetEtag() != got.GetEtag() {
			t.Errorf("certifying a certified report: %v %v, want it returned unchanged", again, err)
		}
		if paid := e.get(t, sp.GetName()).GetPaidOre(); paid != 50_000 {
			t.Errorf("subproject paid %d, want 50000", paid)
		}
	})
}

func TestCostReports_Rules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		admin, coord := e.admin(t, vb), e.coordinator(t)
		draft := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 10_000))
		if _, err := e.subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: draft.GetName(), CostReport: staffReport(1)}); reason(err) != "SUBPROJECT_NOT_APPROVED" {
			t.Errorf("report on a DRAFT: %v, want SUBPROJECT_NOT_APPROVED", err)
		}
		sp := e.mustApprove(t, e.mustSubmit(t, draft))

		bad := &fundingv1.CostReport{PeriodStart: "2026-07-01", PeriodEnd: "2026-06-30", Lines: []*fundingv1.CostReportLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_TRAVEL, AmountOre: 100}, // not eligible in the sample
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 0},
		}}
		_, err := e.subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: bad})
		want := []string{"cost_report.lines[1].amount_ore", "cost_report.period_end"}
		if got := fieldViolations(err); status.Code(err) != codes.InvalidArgument || !slices.Equal(sortedCopy(got), want) {
			t.Errorf("bad report: %v fields %v, want %v", err, got, want)
		}
		bad.PeriodStart, bad.Lines[1].AmountOre = "2026-01-01", 5
		_, err = e.subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: bad})
		if got := fieldViolations(err); !slices.Equal(got, []string{"cost_report.lines[0].category"}) {
			t.Errorf("line of a category without eligible budget: %v", err)
		}

		req := &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: staffReport(2_000), RequestId: "q1"}
		cr, err := e.subs.CreateCostReport(admin.Ctx(t), req)
		if err != nil || cr.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_DRAFT || cr.GetReportedOre() != 2_000 {
			t.Fatalf("create: %v %v", cr, err)
		}
		if again, err := e.subs.CreateCostReport(admin.Ctx(t), req); err != nil || again.GetName() != cr.GetName() {
			t.Errorf("replay: %v %v", again, err)
		}
		if _, err := e.certify(t, cr, nil); reason(err) != "COST_REPORT_NOT_SUBMITTED" {
			t.Errorf("certify a DRAFT: %v", err)
		}
		sub, err := e.subs.SubmitCostReport(admin.Ctx(t), &fundingv1.SubmitCostReportRequest{Name: cr.GetName(), Etag: cr.GetEtag()})
		if err != nil {
			t.Fatal(err)
		}
		for _, certified := range []int64{2_001, 0, -1} {
			if _, err := e.certify(t, sub, proto.Int64(certified)); status.Code(err) != codes.InvalidArgument {
				t.Errorf("certify %d of 2000 öre reported: %v, want InvalidArgument", certified, err)
			}
		}
		if _, err := e.certify(t, cr, nil); status.Code(err) != codes.Aborted {
			t.Errorf("certify with a stale etag: %v, want Aborted", err)
		}
		// Closing waits for the report.
		cur := e.get(t, sp.GetName())
		if _, err := e.subs.CloseSubproject(admin.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: cur.GetEtag()}); reason(err) != "COST_REPORT_PENDING" {
			t.Errorf("close with a report pending: %v, want COST_REPORT_PENDING", err)
		}
		if _, err := e.subs.ReturnCostReport(coord.Ctx(t), &fundingv1.ReturnCostReportRequest{Name: sub.GetName(), Etag: sub.GetEtag()}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("return without reason: %v", err)
		}
		ret, err := e.subs.ReturnCostReport(coord.Ctx(t), &fundingv1.ReturnCostReportRequest{Name: sub.GetName(), Etag: sub.GetEtag(), Reason: "Underlag saknas för lönekostnaden."})
		if err != nil || ret.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED || ret.GetHistory()[len(ret.GetHistory())-1].GetReason() == "" {
			t.Fatalf("return: %v %v", ret, err)
		}
		if _, err := e.certify(t, ret, nil); reason(err) != "COST_REPORT_NOT_SUBMITTED" {
			t.Errorf("certify a RETURNED report: %v", err)
		}
		list, err := e.subs.ListCostReports(e.As(t, auth.Advisor, vb).Ctx(t), &fundingv1.ListCostReportsRequest{Parent: sp.GetName()})
		if err != nil || len(list.GetCostReports()) != 1 {
			t.Errorf("list: %v %v", list, err)
		}
		closed, err := e.subs.CloseSubproject(coord.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: cur.GetEtag()})
		if err != nil || closed.GetReleasedOre() != 5_000 {
			t.Fatalf("close: %v %v", closed, err)
		}
		e.balanceIs(t, p.GetName(), "after close", 0, 0)
		if _, err := e.subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: staffReport(1)}); reason(err) != "SUBPROJECT_NOT_APPROVED" {
			t.Errorf("report on a CLOSED subproject: %v", err)
		}
		for _, c := range []stack.Caller{e.admin(t, up), e.As(t, auth.Advisor, vb)} {
			if _, err := e.subs.CreateCostReport(c.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: staffReport(1)}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("create report as %s: %v, want PermissionDenied", c.Sub, err)
			}
		}
		if _, err := e.subs.CertifyCostReport(admin.Ctx(t), &fundingv1.CertifyCostReportRequest{Name: cr.GetName(), Etag: "1"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("region admin certifies: %v, want PermissionDenied", err)
		}
	})
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
