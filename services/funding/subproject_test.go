package funding_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

func TestCreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "im-2026", 1_000_000_00, -1)
		if p.GetCoFinancingRateBp() != 5000 {
			t.Errorf("default rate %d, want 5000", p.GetCoFinancingRateBp())
		}
		created := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 100_001))

		if !strings.HasPrefix(created.GetName(), "regions/vasterbotten/subprojects/") || created.GetEtag() == "" {
			t.Errorf("name %q etag %q", created.GetName(), created.GetEtag())
		}
		want := &fundingv1.Subproject{
			EligibleCostOre: 100_001, ProgrammeShareOre: 50_000, OwnShareOre: 50_001, ContributedOre: 100_001,
			CoFinancingRateBp: 5000, Status: fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT,
		}
		if diff := cmp.Diff(want, created, protocmp.Transform(), protocmp.IgnoreFields(&fundingv1.Subproject{},
			"name", "title", "description", "programme", "ideas", "needs", "partners", "budget_lines", "contributions",
			"etag", "history", "create_time", "update_time")); diff != "" {
			t.Errorf("computed fields (-want +got):\n%s", diff)
		}
		if h := created.GetHistory(); len(h) != 1 || h[0].GetTo() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT || h[0].GetActor() == "" {
			t.Errorf("history %v: want one entry to DRAFT with its actor", h)
		}

		for _, c := range []stack.Caller{e.admin(t, vb), e.As(t, auth.Advisor, vb), e.coordinator(t), e.As(t, auth.Service, up)} {
			got, err := e.subs.GetSubproject(c.Ctx(t), &fundingv1.GetSubprojectRequest{Name: created.GetName()})
			if err != nil {
				t.Fatalf("GetSubproject as %s: %v", c.Sub, err)
			}
			if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetSubproject as %s (-want +got):\n%s", c.Sub, diff)
			}
		}
		list, err := e.subs.ListSubprojects(e.admin(t, vb).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*fundingv1.Subproject{created}, list.GetSubprojects(), protocmp.Transform()); diff != "" {
			t.Errorf("ListSubprojects (-want +got):\n%s", diff)
		}
		other, err := e.subs.ListSubprojects(e.admin(t, up).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala"})
		if err != nil || len(other.GetSubprojects()) != 0 {
			t.Errorf("uppsala sees %d subprojects (%v), want 0", len(other.GetSubprojects()), err)
		}
	})
}

func TestCreate_NamesEveryBadField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		in := &fundingv1.Subproject{
			Title:     " ",
			Programme: "programs/x",
			Ideas:     []string{"regions/vasterbotten/needs/x"},
			Partners:  []*fundingv1.SubprojectPartner{{Partner: "acme"}},
			BudgetLines: []*fundingv1.BudgetLine{
				{AmountOre: 0},
				{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: -5},
				{Category: fundingv1.CostCategory(42), AmountOre: math.MaxInt64},
			},
			Contributions: []*fundingv1.Contribution{{Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: 1}},
		}
		_, err := e.subs.CreateSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: in, RequestId: "a b"})
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Fatalf("code %v, want InvalidArgument (%v)", got, err)
		}
		want := []string{
			"request_id",
			"subproject.budget_lines[0].amount_ore", "subproject.budget_lines[0].category",
			"subproject.budget_lines[1].amount_ore",
			"subproject.budget_lines[2].amount_ore", "subproject.budget_lines[2].category",
			"subproject.contributions[0].party",
			"subproject.ideas[0]",
			"subproject.partners[0].partner", "subproject.partners[0].role",
			"subproject.programme", "subproject.title",
		}
		got := fieldViolations(err)
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, slices.Compact(got)); diff != "" {
			t.Errorf("field violations (-want +got):\n%s", diff)
		}
	})
}

func TestCreate_UnknownProgramme(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		_, err := e.subs.CreateSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CreateSubprojectRequest{
			Parent: "regions/vasterbotten", Subproject: sampleSubproject("programmes/nothere", 1000)})
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "subproject.programme") {
			t.Errorf("unknown programme: %v, want InvalidArgument on subproject.programme", err)
		}
	})
}

func TestCreate_RequestIDReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		req := &fundingv1.CreateSubprojectRequest{Parent: "regions/uppsala", Subproject: sampleSubproject(p.GetName(), 1000), RequestId: "form-7"}
		first, err := e.subs.CreateSubproject(e.admin(t, up).Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.subs.CreateSubproject(e.admin(t, up).Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
			t.Errorf("replay (-first +replay):\n%s", diff)
		}
		other := &fundingv1.CreateSubprojectRequest{Parent: "regions/uppsala", Subproject: sampleSubproject(p.GetName(), 2000), RequestId: "form-7"}
		if _, err := e.subs.CreateSubproject(e.admin(t, up).Ctx(t), other); status.Code(err) != codes.AlreadyExists {
			t.Errorf("same request_id, other body: %v, want AlreadyExists", err)
		}
		list, err := e.subs.ListSubprojects(e.admin(t, up).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala"})
		if err != nil || len(list.GetSubprojects()) != 1 {
			t.Errorf("%d subprojects after replays (%v), want 1", len(list.GetSubprojects()), err)
		}
	})
}

func TestUpdate_DraftOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000_00, -1)
		full := e.mustProgramme(t, "full", 1_000_000_00, 10000)
		sp := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1000))
		admin := e.admin(t, vb)

		in := &fundingv1.Subproject{Name: sp.GetName(), Etag: sp.GetEtag(), Title: "  Ny titel  ", Programme: full.GetName(),
			BudgetLines: []*fundingv1.BudgetLine{{Category: fundingv1.CostCategory_COST_CATEGORY_EQUIPMENT, AmountOre: 333, Eligible: true}}}
		got, err := e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
			Subproject: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "programme", "budgetLines"}}})
		if err != nil {
			t.Fatalf("UpdateSubproject: %v", err)
		}
		if got.GetTitle() != "Ny titel" || got.GetDescription() != sp.GetDescription() || got.GetCoFinancingRateBp() != 10000 ||
			got.GetEligibleCostOre() != 333 || got.GetProgrammeShareOre() != 333 || got.GetOwnShareOre() != 0 {
			t.Errorf("after update: %v", got)
		}

		_, err = e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
			Subproject: in, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
		if status.Code(err) != codes.Aborted {
			t.Errorf("stale etag: %v, want Aborted", err)
		}
		for _, mask := range [][]string{{"status"}, {"granted_ore"}, {"colour"}, nil} {
			_, err = e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
				Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: got.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: mask}})
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("mask %v: %v, want InvalidArgument", mask, err)
			}
		}

		submitted := e.mustSubmit(t, got)
		_, err = e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
			Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: submitted.GetEtag(), Title: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "SUBPROJECT_NOT_EDITABLE" {
			t.Errorf("edit of a SUBMITTED subproject: %v, want FailedPrecondition SUBPROJECT_NOT_EDITABLE", err)
		}
	})
}

// TestArithmetic runs the split of docs/architecture.md ("Domain rules") through the service: odd öre, rates
// of 0 and 100 %, and the own share the contributions must cover.
func TestArithmetic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		half := e.mustProgramme(t, "half", 1_000_000_000, -1)
		zero := e.mustProgramme(t, "zero", 1_000_000_000, 0)
		full := e.mustProgramme(t, "full", 1_000_000_000, 10000)
		odd := e.mustProgramme(t, "odd", 1_000_000_000, 3333)
		for _, tc := range []struct {
			name                     string
			programme                string
			eligible                 int64
			share, own               int64
			contributionsThatSuffice int64
		}{
			{"odd öre at 50 %", half.GetName(), 100_001, 50_000, 50_001, 50_001},
			{"one öre at 50 %", half.GetName(), 1, 0, 1, 1},
			{"rate 0", zero.GetName(), 99_999, 0, 99_999, 99_999},
			{"rate 100 %", full.GetName(), 77_777, 77_777, 0, 0},
			{"rate 33.33 %", odd.GetName(), 10_000_001, 3_333_000, 6_667_001, 6_667_001},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := sampleSubproject(tc.programme, tc.eligible)
				in.Contributions = nil
				if tc.contributionsThatSuffice > 1 {
					in.Contributions = []*fundingv1.Contribution{
						{Party: "Region", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: tc.contributionsThatSuffice - 1},
					}
				}
				sp := e.mustCreate(t, up, in)
				if sp.GetProgrammeShareOre() != tc.share || sp.GetOwnShareOre() != tc.own || sp.GetEligibleCostOre() != tc.eligible {
					t.Fatalf("eligible %d share %d own %d, want %d %d %d", sp.GetEligibleCostOre(), sp.GetProgrammeShareOre(), sp.GetOwnShareOre(), tc.eligible, tc.share, tc.own)
				}
				if tc.contributionsThatSuffice > 0 {
					// One öre short of the own share.
					_, err := e.subs.SubmitSubproject(e.admin(t, up).Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
					if status.Code(err) != codes.FailedPrecondition || reason(err) != "CONTRIBUTIONS_SHORT" || !strings.Contains(status.Convert(err).Message(), "1 öre are missing") {
						t.Fatalf("submit one öre short: %v, want FailedPrecondition CONTRIBUTIONS_SHORT", err)
					}
					contributions := append(in.Contributions,
						&fundingv1.Contribution{Party: "Företaget", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_IN_KIND, AmountOre: 1})
					sp, err = e.subs.UpdateSubproject(e.admin(t, up).Ctx(t), &fundingv1.UpdateSubprojectRequest{
						Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: sp.GetEtag(), Contributions: contributions},
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contributions"}},
					})
					if err != nil {
						t.Fatal(err)
					}
				}
				sp = e.mustSubmit(t, sp)
				before := e.programme(t, tc.programme).GetBalance().GetReservedOre()
				sp = e.mustApprove(t, sp)
				if sp.GetGrantedOre() != tc.share {
					t.Errorf("granted %d, want %d", sp.GetGrantedOre(), tc.share)
				}
				if got := e.programme(t, tc.programme).GetBalance().GetReservedOre() - before; got != tc.share {
					t.Errorf("approval reserved %d öre, want %d", got, tc.share)
				}
			})
		}
	})
}

func TestSubmit_NeedsEligibleCost(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		in := sampleSubproject(p.GetName(), 1000)
		in.BudgetLines[0].Eligible = false
		sp := e.mustCreate(t, vb, in)
		_, err := e.subs.SubmitSubproject(e.admin(t, vb).Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
		if reason(err) != "NO_ELIGIBLE_COST" {
			t.Errorf("submit without eligible cost: %v, want NO_ELIGIBLE_COST", err)
		}
	})
}

func TestStatusMachine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000_00, -1)
		coord, admin := e.coordinator(t), e.admin(t, vb)

		// DRAFT cannot be approved, closed or rejected.
		draft := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1000))
		if _, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: draft.GetName(), Etag: draft.GetEtag()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("approve DRAFT: %v", err)
		}
		if _, err := e.subs.CloseSubproject(coord.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: draft.GetName(), Etag: draft.GetEtag()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("close DRAFT: %v", err)
		}
		if _, err := e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: draft.GetName(), Etag: draft.GetEtag(), Reason: "nej"}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("reject DRAFT: %v", err)
		}
		withdrawn, err := e.subs.WithdrawSubproject(admin.Ctx(t), &fundingv1.WithdrawSubprojectRequest{Name: draft.GetName(), Etag: draft.GetEtag(), Reason: "dubblett"})
		if err != nil || withdrawn.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_WITHDRAWN {
			t.Fatalf("withdraw DRAFT: %v %v", withdrawn.GetStatus(), err)
		}

		// Reject needs a reason, then releases: a later approval cannot reserve.
		sub := e.submitted(t, vb, p.GetName(), 2000)
		if _, err := e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: sub.GetName(), Etag: sub.GetEtag()}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("reject without reason: %v", err)
		}
		rejected, err := e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: sub.GetName(), Etag: sub.GetEtag(), Reason: "Ingen koppling till behov."})
		if err != nil {
			t.Fatal(err)
		}
		h := rejected.GetHistory()
		want := []fundingv1.SubprojectStatus{fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_REJECTED}
		var got []fundingv1.SubprojectStatus
		for _, c := range h {
			got = append(got, c.GetTo())
		}
		if diff := cmp.Diff(want, got); diff != "" || h[2].GetReason() != "Ingen koppling till behov." || h[2].GetActor() != coord.Sub {
			t.Errorf("history (-want +got):\n%s\nlast %v", diff, h[len(h)-1])
		}
		_, err = e.sys.ReserveFunds(coord.Ctx(t), &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub.GetName(), AmountOre: 1000})
		if reason(err) != "FUNDS_RELEASED" {
			t.Errorf("reservation after rejection: %v, want FUNDS_RELEASED", err)
		}
		e.balanceIs(t, p.GetName(), "after rejection", 0, 0)

		// Stale etags are ABORTED on every transition.
		s2 := e.submitted(t, vb, p.GetName(), 3000)
		stale := "1"
		if _, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: s2.GetName(), Etag: stale}); status.Code(err) != codes.Aborted {
			t.Errorf("approve with stale etag: %v, want Aborted", err)
		}
		e.balanceIs(t, p.GetName(), "after a stale approval", 0, 0)
		approved := e.mustApprove(t, s2)
		if _, err := e.subs.WithdrawSubproject(admin.Ctx(t), &fundingv1.WithdrawSubprojectRequest{Name: s2.GetName(), Etag: approved.GetEtag()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("withdraw APPROVED: %v, want FailedPrecondition", err)
		}
		// A repeated approval returns the approved subproject and reserves nothing more.
		again := e.mustApprove(t, s2)
		if diff := cmp.Diff(approved, again, protocmp.Transform()); diff != "" {
			t.Errorf("repeated approval (-first +again):\n%s", diff)
		}
		e.balanceIs(t, p.GetName(), "after a repeated approval", 1500, 0)
	})
}

func TestAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000_00, -1)
		draft := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1000))
		sub := e.submitted(t, vb, p.GetName(), 1000)
		as := func(role auth.Role, region string) func(t *testing.T) stack.Caller {
			return func(t *testing.T) stack.Caller { return e.As(t, role, region) }
		}
		type call func(c stack.Caller, t *testing.T) error
		get := func(c stack.Caller, t *testing.T) error {
			_, err := e.subs.GetSubproject(c.Ctx(t), &fundingv1.GetSubprojectRequest{Name: draft.GetName()})
			return err
		}
		create := func(c stack.Caller, t *testing.T) error {
			_, err := e.subs.CreateSubproject(c.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: sampleSubproject(p.GetName(), 1)})
			return err
		}
		submit := func(c stack.Caller, t *testing.T) error {
			_, err := e.subs.SubmitSubproject(c.Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: draft.GetName(), Etag: "0"})
			return err
		}
		approve := func(c stack.Caller, t *testing.T) error {
			_, err := e.subs.ApproveSubproject(c.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sub.GetName(), Etag: "0"})
			return err
		}
		reserve := func(c stack.Caller, t *testing.T) error {
			_, err := e.ledger.ReserveFunds(c.Ctx(t), &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub.GetName(), AmountOre: 1})
			return err
		}
		newProgramme := func(c stack.Caller, t *testing.T) error {
			_, err := e.ledger.CreateProgramme(c.Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: "x", Programme: &fundingv1.Programme{Title: "x", BudgetOre: 1, StartDate: "2026-01-01", EndDate: "2026-12-31"}})
			return err
		}
		readProgramme := func(c stack.Caller, t *testing.T) error {
			_, err := e.ledger.GetProgramme(c.Ctx(t), &fundingv1.GetProgrammeRequest{Name: p.GetName()})
			return err
		}
		release := func(c stack.Caller, t *testing.T) error {
			_, err := e.ledger.ReleaseFunds(c.Ctx(t), &fundingv1.ReleaseFundsRequest{Programme: p.GetName(), Subproject: "regions/vasterbotten/subprojects/none"})
			return err
		}
		pay := func(c stack.Caller, t *testing.T) error {
			_, err := e.ledger.RecordPayment(c.Ctx(t), &fundingv1.RecordPaymentRequest{Programme: p.GetName(), Subproject: sub.GetName(),
				CostReport: sub.GetName() + "/costReports/doesnotexist", AmountOre: 1})
			return err
		}
		for _, tc := range []struct {
			name   string
			caller func(t *testing.T) stack.Caller
			call   call
			want   codes.Code
		}{
			{"advisor reads", as(auth.Advisor, vb), get, codes.OK},
			{"admin of another region reads", as(auth.RegionAdmin, up), get, codes.PermissionDenied},
			{"submitter reads", as(auth.Submitter, vb), get, codes.PermissionDenied},
			{"partner reads", as(auth.Partner, vb), get, codes.PermissionDenied},
			{"advisor creates", as(auth.Advisor, vb), create, codes.PermissionDenied},
			{"coordinator creates", as(auth.Coordinator, auth.NationalRegion), create, codes.PermissionDenied},
			{"admin of another region creates", as(auth.RegionAdmin, up), create, codes.PermissionDenied},
			{"admin of another region submits", as(auth.RegionAdmin, up), submit, codes.PermissionDenied},
			{"admin approves", as(auth.RegionAdmin, vb), approve, codes.PermissionDenied},
			{"service approves", as(auth.Service, up), approve, codes.PermissionDenied},
			{"admin reserves on the ledger", as(auth.RegionAdmin, vb), reserve, codes.PermissionDenied},
			{"advisor reserves on the ledger", as(auth.Advisor, vb), reserve, codes.PermissionDenied},
			{"admin opens a programme", as(auth.RegionAdmin, vb), newProgramme, codes.PermissionDenied},
			{"service opens a programme", as(auth.Service, vb), newProgramme, codes.PermissionDenied},
			{"admin reads the programme", as(auth.RegionAdmin, up), readProgramme, codes.OK},
			{"submitter reads the programme", as(auth.Submitter, up), readProgramme, codes.PermissionDenied},
			// The ledger's money calls are the funding service's alone: no
			// user token reaches them, whatever its role.
			{"admin releases own region's subproject", as(auth.RegionAdmin, vb), release, codes.PermissionDenied},
			{"admin releases another region's subproject", as(auth.RegionAdmin, up), release, codes.PermissionDenied},
			{"coordinator reserves on the ledger", as(auth.Coordinator, auth.NationalRegion), reserve, codes.PermissionDenied},
			{"service token reserves on the ledger", as(auth.Service, vb), reserve, codes.PermissionDenied},
			{"coordinator pays a made-up cost report", as(auth.Coordinator, auth.NationalRegion), pay, codes.PermissionDenied},
			{"service token pays", as(auth.Service, vb), pay, codes.PermissionDenied},
			{"coordinator releases", as(auth.Coordinator, auth.NationalRegion), release, codes.PermissionDenied},
			{"no token", func(t *testing.T) stack.Caller { return stack.Caller{} }, get, codes.Unauthenticated},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := status.Code(tc.call(tc.caller(t), t)); got != tc.want {
					t.Errorf("code %v, want %v", got, tc.want)
				}
			})
		}
		e.balanceIs(t, p.GetName(), "after refused calls", 0, 0)
	})
}

func TestRegions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, tc := range []struct{ region, reason string }{{"stockholm", "REGION_NOT_SERVED"}, {"atlantis", "REGION_NOT_FOUND"}} {
			_, err := e.subs.ListSubprojects(e.coordinator(t).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/" + tc.region})
			if status.Code(err) != codes.NotFound || reason(err) != tc.reason {
				t.Errorf("%s: %v, want NotFound %s", tc.region, err, tc.reason)
			}
		}
	})
}

func TestList_PagesAndFilter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000_00, -1)
		var want []string
		for i := range 7 {
			sp := e.mustCreate(t, up, sampleSubproject(p.GetName(), int64(1000+i)))
			if i%3 == 0 {
				sp = e.mustSubmit(t, sp)
			}
			want = append([]string{sp.GetName()}, want...)
		}
		var got []string
		token := ""
		for pages := 0; ; pages++ {
			resp, err := e.subs.ListSubprojects(e.admin(t, up).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala", PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, sp := range resp.GetSubprojects() {
				got = append(got, sp.GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("names in list order (-want +got):\n%s", diff)
		}
		filtered, err := e.subs.ListSubprojects(e.coordinator(t).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala", Filter: "status = SUBPROJECT_STATUS_SUBMITTED"})
		if err != nil || len(filtered.GetSubprojects()) != 3 {
			t.Errorf("filter: %d subprojects (%v), want 3", len(filtered.GetSubprojects()), err)
		}
		for _, bad := range []*fundingv1.ListSubprojectsRequest{
			{Parent: "regions/uppsala", Filter: "stage = X"},
			{Parent: "regions/uppsala", PageToken: "!!"},
			{Parent: "regions/uppsala", PageSize: -1},
		} {
			if _, err := e.subs.ListSubprojects(e.admin(t, up).Ctx(t), bad); status.Code(err) != codes.InvalidArgument {
				t.Errorf("%v: %v, want InvalidArgument", bad, err)
			}
		}
	})
}
