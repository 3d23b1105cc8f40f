package funding_test

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

func TestProgramme_CreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		coord := e.coordinator(t)
		req := &fundingv1.CreateProgrammeRequest{ProgrammeId: "innovationsmotorer-2026", RequestId: "setup-1", Programme: &fundingv1.Programme{
			Title: "Innovationsmotorer 2026–2028", BudgetOre: 6_000_000_000_00, StartDate: "2026-01-01", EndDate: "2028-12-31",
			Balance: &fundingv1.Balance{ReservedOre: 99}, // output only: ignored
		}}
		p, err := e.ledger.CreateProgramme(coord.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		want := &fundingv1.Programme{
			Name: "programmes/innovationsmotorer-2026", Title: "Innovationsmotorer 2026–2028", BudgetOre: 6_000_000_000_00,
			CoFinancingRateBp: proto.Int32(5000), StartDate: "2026-01-01", EndDate: "2028-12-31",
			Balance: &fundingv1.Balance{AvailableOre: 6_000_000_000_00}, Etag: "1",
		}
		if diff := cmp.Diff(want, p, protocmp.Transform(), protocmp.IgnoreFields(&fundingv1.Programme{}, "create_time", "update_time")); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		again, err := e.ledger.CreateProgramme(coord.Ctx(t), req)
		if err != nil || !proto.Equal(p, again) {
			t.Errorf("replay: %v %v", again, err)
		}
		req.RequestId = ""
		if _, err := e.ledger.CreateProgramme(coord.Ctx(t), req); status.Code(err) != codes.AlreadyExists {
			t.Errorf("same id again: %v, want AlreadyExists", err)
		}
		for i := range 4 {
			e.mustProgramme(t, fmt.Sprintf("p%d", i), 1000, int32(i*2500))
		}
		var names []string
		token := ""
		for {
			resp, err := e.ledger.ListProgrammes(e.admin(t, up).Ctx(t), &fundingv1.ListProgrammesRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range resp.GetProgrammes() {
				names = append(names, p.GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		wantNames := []string{"programmes/innovationsmotorer-2026", "programmes/p0", "programmes/p1", "programmes/p2", "programmes/p3"}
		if diff := cmp.Diff(wantNames, names); diff != "" {
			t.Errorf("programmes by id (-want +got):\n%s", diff)
		}
	})
}

func TestProgramme_BadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, tc := range []struct {
			name  string
			id    string
			p     *fundingv1.Programme
			field string
		}{
			{"bad id", "Big Pot", &fundingv1.Programme{Title: "t", BudgetOre: 1, StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme_id"},
			{"no title", "p", &fundingv1.Programme{BudgetOre: 1, StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.title"},
			{"zero budget", "p", &fundingv1.Programme{Title: "t", StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.budget_ore"},
			{"negative budget", "p", &fundingv1.Programme{Title: "t", BudgetOre: -1, StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.budget_ore"},
			{"absurd budget", "p", &fundingv1.Programme{Title: "t", BudgetOre: math.MaxInt64, StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.budget_ore"},
			{"rate over 100 %", "p", &fundingv1.Programme{Title: "t", BudgetOre: 1, CoFinancingRateBp: proto.Int32(10001), StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.co_financing_rate_bp"},
			{"negative rate", "p", &fundingv1.Programme{Title: "t", BudgetOre: 1, CoFinancingRateBp: proto.Int32(-1), StartDate: "2026-01-01", EndDate: "2026-01-01"}, "programme.co_financing_rate_bp"},
			{"bad date", "p", &fundingv1.Programme{Title: "t", BudgetOre: 1, StartDate: "1/1/2026", EndDate: "2026-01-01"}, "programme.start_date"},
			{"end before start", "p", &fundingv1.Programme{Title: "t", BudgetOre: 1, StartDate: "2026-02-01", EndDate: "2026-01-31"}, "programme.end_date"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.ledger.CreateProgramme(e.coordinator(t).Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: tc.id, Programme: tc.p})
				if status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), tc.field) {
					t.Errorf("%v, want InvalidArgument naming %s", err, tc.field)
				}
			})
		}
	})
}

func TestLedger_ReservePayRelease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		other := e.mustProgramme(t, "other", 1_000_000, -1)
		ctx := e.coordinator(t).Ctx(t)
		sub := "regions/vasterbotten/subprojects/s1"
		report := func(i int) string { return fmt.Sprintf("%s/costReports/r%d", sub, i) }
		pay := func(i int, amount int64) (*fundingv1.RecordPaymentResponse, error) {
			return e.sys.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{Programme: p.GetName(), Subproject: sub, CostReport: report(i), AmountOre: amount})
		}

		if _, err := pay(0, 10); reason(err) != "NO_RESERVATION" {
			t.Errorf("payment before reservation: %v, want NO_RESERVATION", err)
		}
		a, err := e.sys.ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub, AmountOre: 300_000})
		if err != nil {
			t.Fatal(err)
		}
		if a.GetName() != "programmes/p/allocations/vasterbotten-s1" || a.GetReservedOre() != 300_000 || a.GetReserveTime() == nil {
			t.Errorf("allocation %v", a)
		}
		for _, tc := range []struct {
			name string
			req  *fundingv1.ReserveFundsRequest
			want codes.Code
		}{
			{"same again", &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub, AmountOre: 300_000}, codes.OK},
			{"other amount", &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub, AmountOre: 300_001}, codes.AlreadyExists},
			{"other programme", &fundingv1.ReserveFundsRequest{Programme: other.GetName(), Subproject: sub, AmountOre: 300_000}, codes.AlreadyExists},
			{"negative", &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: "regions/uppsala/subprojects/x", AmountOre: -1}, codes.InvalidArgument},
			{"bad subproject", &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: "subprojects/x", AmountOre: 1}, codes.InvalidArgument},
			{"no programme", &fundingv1.ReserveFundsRequest{Programme: "programmes/none", Subproject: "regions/uppsala/subprojects/x", AmountOre: 1}, codes.NotFound},
		} {
			if _, err := e.sys.ReserveFunds(ctx, tc.req); status.Code(err) != tc.want {
				t.Errorf("reserve, %s: %v, want %v", tc.name, err, tc.want)
			}
		}
		e.balanceIs(t, p.GetName(), "after one reservation and its replays", 300_000, 0)
		e.balanceIs(t, other.GetName(), "other programme", 0, 0)

		r, err := pay(1, 200_000)
		if err != nil || r.GetPayment().GetAmountOre() != 200_000 || r.GetAllocation().GetDisbursedOre() != 200_000 {
			t.Fatalf("first payment: %v %v", r, err)
		}
		// A repeat with another amount still returns the first payment.
		r, err = pay(1, 1)
		if err != nil || r.GetPayment().GetAmountOre() != 200_000 || r.GetAllocation().GetDisbursedOre() != 200_000 {
			t.Errorf("repeated payment: %v %v", r, err)
		}
		// More than is left is capped at what is left.
		r, err = pay(2, 250_000)
		if err != nil || r.GetPayment().GetAmountOre() != 100_000 || r.GetAllocation().GetDisbursedOre() != 300_000 {
			t.Errorf("capped payment: %v %v", r, err)
		}
		r, err = pay(3, 5)
		if err != nil || r.GetPayment().GetAmountOre() != 0 {
			t.Errorf("payment from a spent reservation: %v %v, want 0 paid", r, err)
		}
		if _, err := e.sys.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{Programme: p.GetName(), Subproject: sub,
			CostReport: "regions/vasterbotten/subprojects/s2/costReports/r1", AmountOre: 1}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("cost report of another subproject: %v, want InvalidArgument", err)
		}
		e.balanceIs(t, p.GetName(), "after payments", 300_000, 300_000)

		rel, err := e.sys.ReleaseFunds(ctx, &fundingv1.ReleaseFundsRequest{Programme: p.GetName(), Subproject: sub})
		if err != nil || rel.GetReleasedOre() != 0 || rel.GetReleaseTime() == nil {
			t.Errorf("release of a spent reservation: %v %v", rel, err)
		}
		e.balanceIs(t, p.GetName(), "after release", 300_000, 300_000)
		if _, err := pay(4, 1); reason(err) != "ALLOCATION_RELEASED" {
			t.Errorf("payment after release: %v, want ALLOCATION_RELEASED", err)
		}

		// A partly paid reservation gives back the rest, once.
		sub2 := "regions/uppsala/subprojects/s2"
		if _, err := e.sys.ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub2, AmountOre: 400_000}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sys.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{Programme: p.GetName(), Subproject: sub2, CostReport: sub2 + "/costReports/a", AmountOre: 123_457}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			rel, err := e.sys.ReleaseFunds(ctx, &fundingv1.ReleaseFundsRequest{Programme: p.GetName(), Subproject: sub2})
			if err != nil || rel.GetReleasedOre() != 276_543 || rel.GetReservedOre() != 123_457 {
				t.Errorf("release: %v %v", rel, err)
			}
		}
		e.balanceIs(t, p.GetName(), "after the second release", 300_000+123_457, 300_000+123_457)
	})
}

// TestLedger_ConcurrentPaymentsNeverExceedReservation pays fifty cost
// reports of one subproject at once, together worth far more than its
// reservation.
func TestLedger_ConcurrentPaymentsNeverExceedReservation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		ctx := e.coordinator(t).Ctx(t)
		sub := "regions/uppsala/subprojects/s1"
		if _, err := e.sys.ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sub, AmountOre: 100_003}); err != nil {
			t.Fatal(err)
		}
		var paid atomic.Int64
		parallel(t, 100, 100, func(i int) error {
			// Each report is paid twice at once, with different amounts.
			r, err := e.sys.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{
				Programme: p.GetName(), Subproject: sub, CostReport: fmt.Sprintf("%s/costReports/r%d", sub, i/2), AmountOre: 7_001 + int64(i%2)})
			if err != nil {
				return err
			}
			if i%2 == 0 {
				paid.Add(r.GetPayment().GetAmountOre())
			}
			return nil
		})
		if paid.Load() != 100_003 {
			t.Errorf("the reports were paid %d öre in all, want the whole reservation of 100003", paid.Load())
		}
		e.balanceIs(t, p.GetName(), "after the payments", 100_003, 100_003)
	})
}
