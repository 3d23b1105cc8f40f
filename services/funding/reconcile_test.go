package funding_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// lossy loses the answers of the ledger's money calls after the ledger
// committed them, while lose is set: the worst a network or a crash of the
// region between the ledger's commit and its own can do.
type lossy struct {
	lose atomic.Bool
	lost atomic.Int64
}

func (l *lossy) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	money := strings.HasSuffix(method, "/ReserveFunds") || strings.HasSuffix(method, "/RecordPayment") || strings.HasSuffix(method, "/ReleaseFunds")
	if money && err == nil && l.lose.Load() {
		l.lost.Add(1)
		return status.Error(codes.Unavailable, "reply lost on the way back")
	}
	return err
}

// lossyLedger points the subproject service at the ledger through a lossy
// connection for the rest of the test.
func (e *env) lossyLedger(t testing.TB) *lossy {
	t.Helper()
	l := &lossy{}
	e.ledgerThrough(t, l.intercept)
	return l
}

// consistent checks the ledger's invariants on programme and that every
// subproject's status agrees with its allocation:
//
//   - Σ reserved ≤ budget, and the balance is the sum of the allocations;
//   - each allocation pays out at most what it reserves;
//   - DRAFT and SUBMITTED hold no reservation; APPROVED holds an open one
//     of exactly its grant, paid exactly what it was paid; CLOSED holds a
//     released one; REJECTED and WITHDRAWN hold none that is open.
func (e *env) consistent(t testing.TB, programme string, subprojects []string, step string) {
	t.Helper()
	p := e.programme(t, programme)
	b := p.GetBalance()
	byName := map[string]*fundingv1.Allocation{}
	var reserved, disbursed int64
	for _, a := range e.allocations(t, programme) {
		byName[a.GetSubproject()] = a
		reserved += a.GetReservedOre()
		disbursed += a.GetDisbursedOre()
		if a.GetDisbursedOre() > a.GetReservedOre() {
			t.Errorf("%s: allocation %s paid %d öre of %d reserved", step, a.GetName(), a.GetDisbursedOre(), a.GetReservedOre())
		}
	}
	if b.GetReservedOre() > p.GetBudgetOre() || b.GetReservedOre() != reserved || b.GetDisbursedOre() != disbursed ||
		b.GetAvailableOre() != p.GetBudgetOre()-b.GetReservedOre() {
		t.Errorf("%s: balance %v of budget %d; allocations add up to reserved %d, disbursed %d", step, b, p.GetBudgetOre(), reserved, disbursed)
	}
	for _, name := range subprojects {
		sp := e.get(t, name)
		a := byName[name]
		open := a != nil && a.GetReleaseTime() == nil
		ok := true
		switch sp.GetStatus() {
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED:
			ok = a == nil
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED:
			ok = open && a.GetReservedOre() == sp.GetGrantedOre() && a.GetDisbursedOre() == sp.GetPaidOre()
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED:
			ok = a != nil && !open && a.GetDisbursedOre() == sp.GetPaidOre() && a.GetReleasedOre() == sp.GetReleasedOre()
		default:
			ok = !open
		}
		if !ok {
			t.Errorf("%s: subproject %s is %s (granted %d, paid %d, released %d) but its allocation is %v",
				step, name, sp.GetStatus(), sp.GetGrantedOre(), sp.GetPaidOre(), sp.GetReleasedOre(), a)
		}
	}
}

// mayHaveHappened: an answer that did not arrive says what may have
// happened and that repeating the call completes it; it never claims
// nothing happened.
func mayHaveHappened(t testing.TB, what string, err error) {
	t.Helper()
	msg := status.Convert(err).Message()
	if status.Code(err) != codes.Unavailable || !strings.Contains(msg, "may have") || !strings.Contains(msg, "repeat") || strings.Contains(msg, "nothing was") {
		t.Errorf("%s with the ledger's answer lost: %v; want UNAVAILABLE saying it may have happened and that repeating completes it", what, err)
	}
}

// TestLostReplies_EveryStep loses the ledger's answer at each step that
// moves money (approve, certify, close) and checks that the region says so
// truthfully, and that a repeated call or the reconciler settles it with
// the money moved exactly once.
func TestLostReplies_EveryStep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 1_000_000, -1)
		coord := e.coordinator(t)
		l := e.lossyLedger(t)
		var all []string

		// approve, settled by the reconciler
		sp := e.submitted(t, vb, p.GetName(), 600_000)
		all = append(all, sp.GetName())
		l.lose.Store(true)
		_, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
		l.lose.Store(false)
		mayHaveHappened(t, "approve", err)
		e.balanceIs(t, p.GetName(), "reservation made, answer lost", 300_000, 0)
		var named bool
		for _, ev := range e.events(t, "national") {
			named = named || (ev.Action == "ReserveFunds" && ev.Actor == "service:local for "+coord.Sub)
		}
		if !named {
			t.Error("the ledger's audit log does not name the coordinator the funding service reserved for")
		}
		if got, err := e.service.Reconcile(t.Context(), time.Hour); err != nil || len(got.Approved)+len(got.Released)+len(got.Closed) != 0 {
			t.Errorf("reconciler within the grace period: %+v, %v; want it to leave a call that may be under way alone", got, err)
		}
		got, err := e.service.Reconcile(t.Context(), 0)
		if err != nil || !slices.Equal(got.Approved, []string{sp.GetName()}) {
			t.Fatalf("reconciler after the grace period: %+v, %v; want the approval completed", got, err)
		}
		sp = e.get(t, sp.GetName())
		if sp.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED || sp.GetGrantedOre() != 300_000 {
			t.Errorf("after reconciling: %v granted %d", sp.GetStatus(), sp.GetGrantedOre())
		}
		e.consistent(t, p.GetName(), all, "approval completed by the reconciler")
		var audited bool
		for _, ev := range e.events(t, vb) {
			audited = audited || (ev.Key == sp.GetName() && ev.Action == "ApproveSubproject" && ev.Actor == "system:reconciler")
		}
		if !audited {
			t.Error("the reconciler's approval is not in the region's audit log")
		}

		// certify, settled by repeating the call
		cr := e.mustReport(t, sp, staffReport(100_000))
		l.lose.Store(true)
		_, err = e.certify(t, cr, nil)
		l.lose.Store(false)
		mayHaveHappened(t, "certify", err)
		e.balanceIs(t, p.GetName(), "payment made, answer lost", 300_000, 50_000)
		cr, err = e.certify(t, cr, nil)
		if err != nil || cr.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED || cr.GetPaidOre() != 50_000 {
			t.Fatalf("repeated certification: %v, %v", cr, err)
		}
		e.balanceIs(t, p.GetName(), "certification repeated", 300_000, 50_000)
		e.consistent(t, p.GetName(), all, "certification repeated")

		// close, settled by the reconciler
		sp = e.get(t, sp.GetName())
		l.lose.Store(true)
		_, err = e.subs.CloseSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
		l.lose.Store(false)
		mayHaveHappened(t, "close", err)
		e.balanceIs(t, p.GetName(), "release made, answer lost", 50_000, 50_000)
		got, err = e.service.Reconcile(t.Context(), 0)
		if err != nil || !slices.Equal(got.Closed, []string{sp.GetName()}) {
			t.Fatalf("reconciler after a lost close: %+v, %v; want the close completed", got, err)
		}
		e.consistent(t, p.GetName(), all, "close completed by the reconciler")
		// A release is final: no payment, and no second reservation.
		if _, err := e.sys.RecordPayment(t.Context(), &fundingv1.RecordPaymentRequest{Programme: p.GetName(), Subproject: sp.GetName(),
			CostReport: sp.GetName() + "/costReports/late", AmountOre: 1}); reason(err) != "ALLOCATION_RELEASED" {
			t.Errorf("payment after the release: %v, want ALLOCATION_RELEASED", err)
		}
		if a, err := e.sys.ReserveFunds(t.Context(), &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: sp.GetName(), AmountOre: 300_000}); err != nil || a.GetReleaseTime() == nil {
			t.Errorf("reservation after the release: %v, %v; want the released allocation back", a, err)
		}
		e.balanceIs(t, p.GetName(), "after trying to use a released allocation", 50_000, 50_000)

		// reject after a lost approval: the reservation goes back
		other := e.submitted(t, up, p.GetName(), 200_000)
		all = append(all, other.GetName())
		l.lose.Store(true)
		_, err = e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: other.GetName(), Etag: other.GetEtag()})
		l.lose.Store(false)
		mayHaveHappened(t, "approve", err)
		if _, err := e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: other.GetName(), Etag: other.GetEtag(), Reason: "Inte nu."}); err != nil {
			t.Fatal(err)
		}
		e.consistent(t, p.GetName(), all, "rejected after a lost approval")

		// a reservation for a subproject that does not exist goes back
		if _, err := e.sys.ReserveFunds(t.Context(), &fundingv1.ReserveFundsRequest{Programme: p.GetName(), Subproject: "regions/uppsala/subprojects/ghost", AmountOre: 7}); err != nil {
			t.Fatal(err)
		}
		got, err = e.service.Reconcile(t.Context(), 0)
		if err != nil || !slices.Equal(got.Released, []string{"regions/uppsala/subprojects/ghost"}) {
			t.Errorf("reconciler with an orphan reservation: %+v, %v; want it released", got, err)
		}
		e.balanceIs(t, p.GetName(), "orphan released", 50_000, 50_000)
		if l.lost.Load() != 4*3 { // three attempts each
			t.Logf("%d answers lost", l.lost.Load())
		}
	})
}

// TestLedger_RandomSequencesKeepInvariant runs random sequences of approve,
// reject, withdraw, certify, close, replays, concurrent twins and lost
// answers against both stores, and checks the ledger's invariants and the
// agreement of every subproject with its allocation after every step. A
// step whose answer was lost is settled the way a caller or the system
// would: by repeating it, or by the reconciler.
func TestLedger_RandomSequencesKeepInvariant(t *testing.T) {
	steps := 60
	if testing.Short() {
		steps = 20
	}
	forEachBackend(t, func(t *testing.T, e *env) {
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 11))
		const budget = 1_000_000
		p := e.mustProgramme(t, "p", budget, -1)
		coord := e.coordinator(t)
		l := e.lossyLedger(t)
		var subs []string
		pick := func(statuses ...fundingv1.SubprojectStatus) *fundingv1.Subproject {
			var c []*fundingv1.Subproject
			for _, n := range subs {
				if sp := e.get(t, n); slices.Contains(statuses, sp.GetStatus()) {
					c = append(c, sp)
				}
			}
			if len(c) == 0 {
				return nil
			}
			return c[rng.IntN(len(c))]
		}
		// settle finishes a step whose answer may have been lost: repeat
		// the call, or (when it has one to settle) let the reconciler.
		settle := func(what string, err error, repeat func() error, reconcilable bool) {
			if err == nil || status.Code(err) != codes.Unavailable {
				return
			}
			mayHaveHappened(t, what, err)
			if reconcilable && rng.IntN(2) == 0 {
				if _, err := e.service.Reconcile(t.Context(), 0); err != nil {
					t.Fatalf("%s: reconcile: %v", what, err)
				}
				return
			}
			if err := repeat(); err != nil {
				t.Fatalf("%s repeated: %v", what, err)
			}
		}
		SUBMITTED, APPROVED := fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED
		for step := range steps {
			lose := rng.IntN(3) == 0
			var what string
			switch op := rng.IntN(8); {
			case op == 0 || len(subs) < 3:
				what = "submit"
				region := []string{vb, up}[rng.IntN(2)]
				subs = append(subs, e.submitted(t, region, p.GetName(), int64(20_000+rng.IntN(400_000))).GetName())
			case op == 1 || op == 2:
				what = "approve"
				if sp := pick(SUBMITTED, APPROVED); sp != nil {
					approve := func() error {
						_, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
						return err
					}
					l.lose.Store(lose)
					var errs [2]error
					if rng.IntN(3) == 0 { // a concurrent twin
						var wg sync.WaitGroup
						for i := range errs {
							wg.Go(func() { errs[i] = approve() })
						}
						wg.Wait()
					} else {
						errs[0] = approve()
					}
					l.lose.Store(false)
					for _, err := range errs {
						if reason(err) == "INSUFFICIENT_FUNDS" {
							continue
						}
						settle(what, err, approve, true)
					}
				}
			case op == 3:
				what = "reject or withdraw"
				if sp := pick(SUBMITTED); sp != nil {
					l.lose.Store(lose)
					reject := rng.IntN(2) == 0
					end := func() error {
						if reject {
							_, err := e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag(), Reason: "Nej."})
							return err
						}
						_, err := e.subs.WithdrawSubproject(e.admin(t, regionOf(sp.GetName())).Ctx(t), &fundingv1.WithdrawSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
						return err
					}
					err := end()
					l.lose.Store(false)
					settle(what, err, end, false)
				}
			case op == 4 || op == 5:
				what = "certify"
				if sp := pick(APPROVED); sp != nil {
					cr := e.mustReport(t, sp, staffReport(int64(1+rng.IntN(300_000))))
					certify := func() error { _, err := e.certify(t, cr, nil); return err }
					l.lose.Store(lose)
					err := certify()
					l.lose.Store(false)
					settle(what, err, certify, false)
				}
			case op == 6:
				what = "close"
				if sp := pick(APPROVED); sp != nil {
					closeIt := func() error {
						_, err := e.subs.CloseSubproject(e.admin(t, regionOf(sp.GetName())).Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
						return err
					}
					l.lose.Store(lose)
					err := closeIt()
					l.lose.Store(false)
					settle(what, err, closeIt, true)
				}
			default:
				what = "reconcile"
				if _, err := e.service.Reconcile(t.Context(), 0); err != nil {
					t.Fatal(err)
				}
			}
			e.consistent(t, p.GetName(), subs, fmt.Sprintf("step %d (%s, answers lost: %v)", step, what, lose))
			if t.Failed() {
				t.FailNow()
			}
		}
		t.Logf("%d subprojects, %d answers lost", len(subs), l.lost.Load())
	})
}
