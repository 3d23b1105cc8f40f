package funding

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// Default reconciler timing: a pass a minute, and a grace period well past
// the longest a ledger call of a handler can take (three attempts of five
// seconds), so the reconciler never races a call still in flight.
const (
	DefaultReconcileInterval = time.Minute
	DefaultReconcileGrace    = 2 * time.Minute
)

// reconciler is who the subprojects' history and audit log name for the
// reconciler's changes.
var reconciler = &auth.Identity{Subject: "system:reconciler", Name: "Avstämning mot programreskontran", Roles: []auth.Role{auth.Service}}

// Reconciled is what one reconciliation pass found and did.
type Reconciled struct {
	Checked   int      // allocations of served regions looked at
	Approved  []string // approvals completed (reserved, answer lost)
	Closed    []string // closes completed (released, answer lost)
	Released  []string // allocations given back (subproject not approved)
	Failed    []string // subprojects the pass could not settle; the next pass tries again
	Unchanged int
}

// Reconcile compares every allocation of the regions this service serves
// with their subprojects, and settles what a lost ledger reply left behind,
// once it is older than grace:
//
//   - a SUBMITTED subproject holding an open reservation was approved by a
//     coordinator whose answer never came: the approval is completed;
//   - an APPROVED subproject whose allocation is released was being closed:
//     the close is completed;
//   - an allocation whose subproject is anything else (rejected, withdrawn,
//     closed, or no subproject at all) holds money nobody will use: it is
//     released.
//
// Every change goes through the same commits as the handlers, so it is
// audited in the subproject's region (actor system:reconciler) and on the
// ledger.
func (s *Subprojects) Reconcile(ctx context.Context, grace time.Duration) (Reconciled, error) {
	var out Reconciled
	allocs, err := s.servedAllocations(ctx)
	if err != nil {
		return out, err
	}
	cutoff := s.now().Add(-grace)
	for _, a := range allocs {
		out.Checked++
		done, err := s.reconcileOne(ctx, a, cutoff)
		switch {
		case err != nil:
			s.logger.WarnContext(ctx, "reconciler could not settle an allocation", "allocation", a.GetName(), "error", err)
			out.Failed = append(out.Failed, a.GetSubproject())
		case done == "approved":
			out.Approved = append(out.Approved, a.GetSubproject())
		case done == "closed":
			out.Closed = append(out.Closed, a.GetSubproject())
		case done == "released":
			out.Released = append(out.Released, a.GetSubproject())
		default:
			out.Unchanged++
		}
		if done != "" {
			s.logger.WarnContext(ctx, "reconciler settled what a lost ledger reply left behind", "allocation", a.GetName(), "subproject", a.GetSubproject(), "action", done)
		}
	}
	return out, nil
}

// RunReconciler reconciles every interval until ctx ends.
func (s *Subprojects) RunReconciler(ctx context.Context, interval, grace time.Duration) {
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	if grace <= 0 {
		grace = DefaultReconcileGrace
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Reconcile(ctx, grace); err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "reconciliation pass failed", "error", err)
		}
	}
}

// servedAllocations lists the allocations of every programme that belong
// to subprojects of the regions served here.
func (s *Subprojects) servedAllocations(ctx context.Context) ([]*fundingv1.Allocation, error) {
	var programmes []string
	token := ""
	for {
		var resp *fundingv1.ListProgrammesResponse
		err := s.callLedger(ctx, func(ctx context.Context) error {
			var err error
			resp, err = s.ledger.ListProgrammes(ctx, &fundingv1.ListProgrammesRequest{PageSize: maxPageSize, PageToken: token})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("ListProgrammes: %w", err)
		}
		for _, p := range resp.GetProgrammes() {
			programmes = append(programmes, p.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	var out []*fundingv1.Allocation
	for _, p := range programmes {
		token := ""
		for {
			var resp *fundingv1.ListAllocationsResponse
			err := s.callLedger(ctx, func(ctx context.Context) error {
				var err error
				resp, err = s.ledger.ListAllocations(ctx, &fundingv1.ListAllocationsRequest{Parent: p, PageSize: maxPageSize, PageToken: token})
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("ListAllocations %s: %w", p, err)
			}
			for _, a := range resp.GetAllocations() {
				if sub, err := parseSubprojectName(a.GetSubproject()); err == nil && s.regions.Has(sub.Region) {
					out = append(out, a)
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return out, nil
}

// reconcileOne settles one allocation; it returns what it did, or "".
func (s *Subprojects) reconcileOne(ctx context.Context, a *fundingv1.Allocation, cutoff time.Time) (string, error) {
	name, err := parseSubprojectName(a.GetSubproject())
	if err != nil {
		return "", err
	}
	open := a.GetReleaseTime() == nil
	last := a.GetReserveTime().AsTime()
	if !open {
		last = a.GetReleaseTime().AsTime()
	}
	if last.After(cutoff) {
		return "", nil // a call may still be under way
	}
	r, err := s.loadSubproject(ctx, name)
	if status.Code(err) == codes.NotFound {
		// A reservation for a subproject that does not exist.
		if !open {
			return "", nil
		}
		return "released", s.releaseOrphan(ctx, a)
	}
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(a.GetName(), r.Msg.GetProgramme()+"/") {
		if !open {
			return "", nil
		}
		return "released", s.releaseOrphan(ctx, a) // not the programme this subproject draws on
	}
	switch st := r.Msg.GetStatus(); {
	case st == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED && open:
		return "", nil
	case st == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED:
		_, err := s.finishClose(ctx, reconciler, name, a)
		return "closed", err
	case st == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED && open:
		_, err := s.finishApproval(ctx, reconciler, name, a)
		return "approved", err
	case open:
		_, err := s.release(ctx, reconciler, r.Msg)
		return "released", err
	}
	return "", nil
}

// releaseOrphan gives back an allocation whose subproject is not there.
func (s *Subprojects) releaseOrphan(ctx context.Context, a *fundingv1.Allocation) error {
	prog, _, _ := strings.Cut(a.GetName(), "/allocations/")
	return s.callLedger(ctx, func(ctx context.Context) error {
		_, err := s.ledger.ReleaseFunds(ctx, &fundingv1.ReleaseFundsRequest{Programme: prog, Subproject: a.GetSubproject()})
		return err
	})
}
