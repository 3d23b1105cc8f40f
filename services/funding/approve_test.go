package funding_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	"github.com/innovationsmotorer/motor/services/funding"
)

// TestApprove_ConcurrentNeverOvercommits fires 200 approvals for different
// subprojects of two regions at once against a programme that can fund only
// some of them. Whatever the interleaving, the programme never reserves more
// than its budget, every approved subproject holds exactly its share, and
// every refused one was refused for want of money that really was gone.
func TestApprove_ConcurrentNeverOvercommits(t *testing.T) {
	const n = 200
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			// The approvals queue on the programme; a generous deadline keeps a
			// slow disk from turning that queue into timeouts.
			e := newEnv(t, b, func(o *envOptions) { o.ledgerTimeout = 60 * time.Second })
			var total int64
			eligible := make([]int64, n)
			for i := range eligible {
				eligible[i] = 10_000_000 + int64(i)*104_729 + int64(i%3) // odd öre on purpose
				total += eligible[i] / 2
			}
			budget := total/2 + 12_345
			p := e.mustProgramme(t, "pot", budget, -1)

			// Create and submit in parallel too: it is setup, not the race.
			subs := make([]*fundingv1.Subproject, n)
			parallel(t, n, 8, func(i int) error {
				region := []string{vb, up}[i%2]
				ctx := e.admin(t, region).Ctx(t)
				sp, err := e.subs.CreateSubproject(ctx, &fundingv1.CreateSubprojectRequest{Parent: "regions/" + region, Subproject: sampleSubproject(p.GetName(), eligible[i])})
				if err != nil {
					return fmt.Errorf("create %d: %w", i, err)
				}
				subs[i], err = e.subs.SubmitSubproject(ctx, &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
				if err != nil {
					return fmt.Errorf("submit %d: %w", i, err)
				}
				return nil
			})
			if t.Failed() {
				t.FailNow()
			}

			coord := e.coordinator(t)
			errs := make([]error, n)
			got := make([]*fundingv1.Subproject, n)
			start := time.Now()
			parallel(t, n, 64, func(i int) error {
				got[i], errs[i] = e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: subs[i].GetName(), Etag: subs[i].GetEtag()})
				return nil
			})
			elapsed := time.Since(start)

			var won int
			var reserved int64
			shareOf := map[string]int64{}
			for i, sp := range subs {
				shareOf[sp.GetName()] = sp.GetProgrammeShareOre()
				switch {
				case errs[i] == nil:
					won++
					reserved += sp.GetProgrammeShareOre()
					if got[i].GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED || got[i].GetGrantedOre() != sp.GetProgrammeShareOre() {
						t.Errorf("%s: %v granted %d, want APPROVED with %d", sp.GetName(), got[i].GetStatus(), got[i].GetGrantedOre(), sp.GetProgrammeShareOre())
					}
				case status.Code(errs[i]) == codes.FailedPrecondition && reason(errs[i]) == "INSUFFICIENT_FUNDS":
					if !strings.Contains(status.Convert(errs[i]).Message(), "öre available") {
						t.Errorf("refusal does not say what is available: %v", errs[i])
					}
					if now := e.get(t, sp.GetName()); now.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED || now.GetEtag() != sp.GetEtag() {
						t.Errorf("%s refused but now %v (etag %s→%s), want unchanged SUBMITTED", sp.GetName(), now.GetStatus(), sp.GetEtag(), now.GetEtag())
					}
				default:
					t.Errorf("%s: %v, want success or INSUFFICIENT_FUNDS", sp.GetName(), errs[i])
				}
			}
			if won == 0 || won == n {
				t.Fatalf("%d of %d approvals won: the programme should fund only some", won, n)
			}

			prog := e.programme(t, p.GetName())
			bal := prog.GetBalance()
			if bal.GetReservedOre() > budget {
				t.Fatalf("reserved %d öre of a budget of %d öre", bal.GetReservedOre(), budget)
			}
			e.balanceIs(t, p.GetName(), "after the race", reserved, 0)
			allocs := e.allocations(t, p.GetName())
			if len(allocs) != won {
				t.Errorf("%d allocations for %d approvals", len(allocs), won)
			}
			seen := map[string]bool{}
			for _, a := range allocs {
				if seen[a.GetSubproject()] {
					t.Errorf("%s holds two allocations", a.GetSubproject())
				}
				seen[a.GetSubproject()] = true
				if a.GetReservedOre() != shareOf[a.GetSubproject()] {
					t.Errorf("allocation %s reserves %d öre, want the share %d", a.GetName(), a.GetReservedOre(), shareOf[a.GetSubproject()])
				}
			}
			for i, sp := range subs {
				if errs[i] != nil && sp.GetProgrammeShareOre() <= bal.GetAvailableOre() {
					t.Errorf("%s was refused %d öre, yet %d öre are still available", sp.GetName(), sp.GetProgrammeShareOre(), bal.GetAvailableOre())
				}
			}
			t.Logf("%s: %d of %d approvals won in %v; reserved %d of %d öre, %d öre available",
				b.Name, won, n, elapsed.Round(time.Millisecond), bal.GetReservedOre(), budget, bal.GetAvailableOre())
		})
	}
}

// parallel runs f for 0..n-1 on at most width goroutines at once, all
// released together.
func parallel(t testing.TB, n, width int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	startGate := make(chan struct{})
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-startGate
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errc <- err
			}
		})
	}
	close(startGate)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestLedger_ReplicasNeverOvercommit runs two ledger instances on one store,
// as two replicas of the national deployment would: their in-process turns
// do not see each other, so only the store's compare-and-set keeps the
// budget. Every subproject also asks twice, once on each replica.
func TestLedger_ReplicasNeverOvercommit(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			st := b.Open(t)
			replicas := []*funding.Ledger{funding.NewLedger(funding.LedgerConfig{Store: st}), funding.NewLedger(funding.LedgerConfig{Store: st})}
			ctx := auth.NewContext(t.Context(), &auth.Identity{Subject: "coordinator-1", Region: auth.NationalRegion, Roles: []auth.Role{auth.Coordinator}})
			const budget = 1_000_000
			if _, err := replicas[0].CreateProgramme(ctx, &fundingv1.CreateProgrammeRequest{ProgrammeId: "pot",
				Programme: &fundingv1.Programme{Title: "Pot", BudgetOre: budget, StartDate: "2026-01-01", EndDate: "2026-12-31"}}); err != nil {
				t.Fatal(err)
			}
			const subprojects = 60
			amount := func(i int) int64 { return 20_000 + int64(i)*977 }
			var mu sync.Mutex
			granted := map[string]int64{}
			parallel(t, 2*subprojects, 2*subprojects, func(k int) error {
				i := k / 2
				sub := fmt.Sprintf("regions/%s/subprojects/s%03d", []string{vb, up}[i%2], i)
				a, err := replicas[k%2].ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{Programme: "programmes/pot", Subproject: sub, AmountOre: amount(i)})
				if err != nil {
					if reason(err) != "INSUFFICIENT_FUNDS" {
						return fmt.Errorf("%s: %v", sub, err)
					}
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, ok := granted[sub]; ok && prev != a.GetReservedOre() {
					return fmt.Errorf("%s got %d then %d", sub, prev, a.GetReservedOre())
				}
				granted[sub] = a.GetReservedOre()
				return nil
			})
			var sum int64
			for _, g := range granted {
				sum += g
			}
			p, err := replicas[1].GetProgramme(ctx, &fundingv1.GetProgrammeRequest{Name: "programmes/pot"})
			if err != nil {
				t.Fatal(err)
			}
			want := &fundingv1.Balance{ReservedOre: sum, AvailableOre: budget - sum}
			if !proto.Equal(p.GetBalance(), want) || sum > budget {
				t.Errorf("balance %v, want %v (budget %d)", p.GetBalance(), want, budget)
			}
			resp, err := replicas[0].ListAllocations(ctx, &fundingv1.ListAllocationsRequest{Parent: "programmes/pot", PageSize: 1000})
			if err != nil || len(resp.GetAllocations()) != len(granted) {
				t.Errorf("%d allocations (%v) for %d granted subprojects", len(resp.GetAllocations()), err, len(granted))
			}
			t.Logf("%s: %d of %d subprojects reserved %d of %d öre across two replicas", b.Name, len(granted), subprojects, sum, budget)
		})
	}
}

// replyDropper answers UNAVAILABLE after the ledger really did the call, as
// if the answer was lost on the way back.
type replyDropper struct {
	method string
	drops  atomic.Int64
	calls  atomic.Int64
}

func (d *replyDropper) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if strings.HasSuffix(method, "/"+d.method) {
		d.calls.Add(1)
		if err == nil && d.drops.Add(-1) >= 0 {
			return status.Error(codes.Unavailable, "reply lost on the way back")
		}
	}
	return err
}

// dropReplies points the subproject service's ledger client at a connection
// that drops the given number of method's replies after the ledger committed.
func (e *env) dropReplies(t testing.TB, method string, drops int64) *replyDropper {
	t.Helper()
	d := &replyDropper{method: method}
	d.drops.Store(drops)
	e.ledgerThrough(t, d.intercept)
	return d
}

// ledgerThrough points the subproject service's ledger client, for the
// rest of the test, at a connection whose calls pass through icpt.
func (e *env) ledgerThrough(t testing.TB, icpt grpc.UnaryClientInterceptor) {
	t.Helper()
	conn, err := rpc.Dial(e.Conn.Target(), nil, grpc.WithChainUnaryInterceptor(icpt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	prev := e.ledgerVia.p.Swap(conn)
	t.Cleanup(func() { e.ledgerVia.p.Store(prev) })
}

func TestApprove_LostLedgerReplyReservesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		coord := e.coordinator(t)

		t.Run("retried inside the approval", func(t *testing.T) {
			sp := e.submitted(t, vb, p.GetName(), 100_001)
			d := e.dropReplies(t, "ReserveFunds", 1)
			got, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
			if err != nil {
				t.Fatalf("approve with one lost reply: %v", err)
			}
			if d.calls.Load() != 2 {
				t.Errorf("%d ReserveFunds calls, want 2 (the lost one and its retry)", d.calls.Load())
			}
			if got.GetGrantedOre() != 50_000 {
				t.Errorf("granted %d, want 50000", got.GetGrantedOre())
			}
			e.balanceIs(t, p.GetName(), "after one lost reply", 50_000, 0)
		})

		t.Run("retried by the caller", func(t *testing.T) {
			sp := e.submitted(t, up, p.GetName(), 300_000)
			d := e.dropReplies(t, "ReserveFunds", 1000)
			_, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
			if status.Code(err) != codes.Unavailable || reason(err) != "LEDGER_UNAVAILABLE" {
				t.Fatalf("approve with every reply lost: %v, want Unavailable LEDGER_UNAVAILABLE", err)
			}
			if now := e.get(t, sp.GetName()); now.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED || now.GetEtag() != sp.GetEtag() {
				t.Fatalf("after the failed approval: %v etag %s, want SUBMITTED etag %s", now.GetStatus(), now.GetEtag(), sp.GetEtag())
			}
			// The ledger did reserve (the answers were lost, not the calls).
			e.balanceIs(t, p.GetName(), "with the reservation made but unanswered", 50_000+150_000, 0)

			d.drops.Store(0)
			got, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
			if err != nil {
				t.Fatalf("the caller's retry: %v", err)
			}
			if got.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED || got.GetGrantedOre() != 150_000 {
				t.Errorf("after the retry: %v granted %d", got.GetStatus(), got.GetGrantedOre())
			}
			e.balanceIs(t, p.GetName(), "after the caller's retry", 50_000+150_000, 0)
			if n := len(e.allocations(t, p.GetName())); n != 2 {
				t.Errorf("%d allocations, want 2", n)
			}
			var reserves int
			for _, ev := range e.events(t, auth.NationalRegion) {
				if ev.Action == "ReserveFunds" && strings.HasPrefix(ev.Key, p.GetName()+"/allocations/") {
					reserves++
				}
			}
			if reserves != 2 {
				t.Errorf("%d reservations in the ledger's audit log, want 2", reserves)
			}
		})
	})
}

func TestApprove_LedgerUnreachable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.submitted(t, vb, p.GetName(), 1000)
		dead, err := rpc.Dial("127.0.0.1:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dead.Close() })
		real := e.ledgerVia.p.Swap(dead)

		start := time.Now()
		_, err = e.subs.ApproveSubproject(e.coordinator(t).Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
		if status.Code(err) != codes.Unavailable || reason(err) != "LEDGER_UNAVAILABLE" {
			t.Fatalf("approve without a ledger: %v, want Unavailable LEDGER_UNAVAILABLE", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("the refusal took %v", d)
		}
		if now := e.get(t, sp.GetName()); now.GetEtag() != sp.GetEtag() {
			t.Errorf("subproject changed (etag %s → %s)", sp.GetEtag(), now.GetEtag())
		}
		e.ledgerVia.p.Store(real)
		e.balanceIs(t, p.GetName(), "after an unreachable ledger", 0, 0)
		if n := len(e.allocations(t, p.GetName())); n != 0 {
			t.Errorf("%d allocations, want none", n)
		}
	})
}

func TestApprove_BudgetOfExactlyTheShare(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "tight", 50_000, -1)
		first := e.submitted(t, vb, p.GetName(), 100_001) // share 50 000
		second := e.submitted(t, up, p.GetName(), 2)      // share 1
		e.mustApprove(t, first)
		e.balanceIs(t, p.GetName(), "after the first approval", 50_000, 0)

		_, err := e.subs.ApproveSubproject(e.coordinator(t).Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: second.GetName(), Etag: second.GetEtag()})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "has 0 öre available") {
			t.Errorf("approval of a 1 öre share from an empty programme: %v, want FailedPrecondition naming 0 öre available", err)
		}
		if now := e.get(t, second.GetName()); now.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED {
			t.Errorf("refused subproject is %v, want SUBMITTED", now.GetStatus())
		}
	})
}

// TestApprove_RacesRejection: an approval and a rejection of the same
// subproject at once never leave money held for a subproject that is not
// approved.
func TestApprove_RacesRejection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 100_000_000, -1)
		coord := e.coordinator(t)
		for i := range 10 {
			sp := e.submitted(t, []string{vb, up}[i%2], p.GetName(), 10_000)
			var wg sync.WaitGroup
			wg.Go(func() {
				_, _ = e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
			})
			wg.Go(func() {
				_, _ = e.subs.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag(), Reason: "nej"})
			})
			wg.Wait()
		}
		var approved int64
		list, err := e.subs.ListSubprojects(coord.Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/vasterbotten", Filter: "status = SUBPROJECT_STATUS_APPROVED"})
		if err != nil {
			t.Fatal(err)
		}
		list2, err := e.subs.ListSubprojects(coord.Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/uppsala", Filter: "status = SUBPROJECT_STATUS_APPROVED"})
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range append(list.GetSubprojects(), list2.GetSubprojects()...) {
			approved += sp.GetGrantedOre()
		}
		e.balanceIs(t, p.GetName(), "after approvals racing rejections", approved, 0)
	})
}
