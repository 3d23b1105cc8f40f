package funding_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// With the ledger failing every call, retries must not multiply the
// outage: the retry budget runs dry after a few calls and each later call
// makes one attempt.
func TestApprove_LedgerDownRetriesStayWithinBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		coord := e.coordinator(t)
		sp := e.submitted(t, vb, p.GetName(), 100_000)
		d := e.dropReplies(t, "ReserveFunds", 1<<40)

		const calls = 200
		for range calls {
			_, err := e.subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("approve with the ledger down: %v, want Unavailable", err)
			}
		}
		attempts := d.calls.Load()
		t.Logf("%d approvals made %d ReserveFunds attempts (%.3f×)", calls, attempts, float64(attempts)/calls)
		if attempts > calls*11/10 {
			t.Errorf("%d attempts for %d calls, want at most %d (1.1×)", attempts, calls, calls*11/10)
		}
	})
}
