package funding

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// errChanged is a subproject that left the status a step started from
// while that step moved money on the ledger.
var errChanged = errors.New("subproject changed meanwhile")

// ApproveSubproject reserves the programme share on the ledger, keyed by
// the subproject's name, and then marks the subproject APPROVED. The order
// is what makes a crash or a lost answer harmless: until the subproject is
// APPROVED, a repeated approval reserves again under the same key, which
// returns the reservation already made, and completes.
func (s *Subprojects) ApproveSubproject(ctx context.Context, req *fundingv1.ApproveSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetName(), "name", auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.loadSubproject(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.Msg.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED {
		return r.Msg, nil // a repeated approval whose first answer was lost
	}
	if req.GetEtag() != r.Etag() {
		return nil, s.subprojects.Stale(r, req.GetEtag())
	}
	if st := r.Msg.GetStatus(); st != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED {
		return nil, domain.FailedPrecondition("SUBPROJECT_NOT_SUBMITTED", "subproject %s is %s: only a SUBMITTED subproject is approved", name, st)
	}

	var a *fundingv1.Allocation
	err = s.callLedger(ctx, func(ctx context.Context) error {
		var err error
		a, err = s.ledger.ReserveFunds(ctx, &fundingv1.ReserveFundsRequest{
			Programme: r.Msg.GetProgramme(), Subproject: name.String(), AmountOre: r.Msg.GetProgrammeShareOre(),
		})
		return err
	})
	if err != nil {
		return nil, ledgerErr(err, "the programme share may have been reserved; the subproject stays SUBMITTED until the approval is repeated, which completes it without reserving twice")
	}
	if a.GetReleaseTime() != nil {
		return nil, domain.FailedPrecondition("FUNDS_RELEASED", "the reservation of subproject %s was released on the ledger; it cannot be approved", name)
	}

	return s.finishApproval(ctx, who, name, a)
}

// finishApproval marks a SUBMITTED subproject APPROVED for the reservation
// a holds; when the subproject was rejected or withdrawn meanwhile, it
// gives the money back instead. The reconciler completes approvals whose
// answer was lost with it too.
func (s *Subprojects) finishApproval(ctx context.Context, who *auth.Identity, name subprojectName, a *fundingv1.Allocation) (*fundingv1.Subproject, error) {
	var gone *fundingv1.Subproject
	out, _, err := s.subprojects.Update(ctx, name.ref(), "", who.Subject, func(r *subRecord, now time.Time) (repo.Change, error) {
		switch r.Msg.GetStatus() {
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED:
			return repo.Change{Noop: true}, nil // a twin of this approval got there first
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED:
		default:
			gone = r.Msg
			return repo.Change{}, errChanged
		}
		transition(r.Msg, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED, who, "", now)
		r.Msg.GrantedOre = a.GetReservedOre()
		return repo.Change{Action: "ApproveSubproject"}, nil
	})
	if !errors.Is(err, errChanged) {
		// On a failure the reservation stands; repeating the approval
		// completes it.
		if err != nil {
			return nil, err
		}
		return out.Msg, nil
	}
	// Rejected or withdrawn while the money was being reserved: give it back.
	st := gone.GetStatus()
	if _, err := s.release(ctx, who, gone); err != nil {
		s.logger.ErrorContext(ctx, "reservation of a subproject that was not approved could not be released",
			"subproject", name.String(), "status", st.String(), "error", err)
		return nil, ledgerErr(err, fmt.Sprintf("subproject %s became %s during the approval and its reservation is still held: repeat :reject or :withdraw to release it", name, st))
	}
	return nil, domain.New(codes.Aborted, "SUBPROJECT_CHANGED",
		"subproject %s became %s while it was being approved; its reservation was released", name, st)
}

// CloseSubproject ends an APPROVED subproject: what the programme reserved
// and did not pay goes back to it (released on the ledger first, keyed by
// the subproject, so a repeated close completes a half-done one).
func (s *Subprojects) CloseSubproject(ctx context.Context, req *fundingv1.CloseSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetName(), "name", auth.RegionAdmin, auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.loadSubproject(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.Msg.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED {
		return r.Msg, nil
	}
	if req.GetEtag() != r.Etag() {
		return nil, s.subprojects.Stale(r, req.GetEtag())
	}
	if st := r.Msg.GetStatus(); st != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED {
		return nil, domain.FailedPrecondition("SUBPROJECT_NOT_APPROVED", "subproject %s is %s: only an APPROVED subproject is closed", name, st)
	}
	// A report waiting for certification would find the reservation gone.
	var pending *fundingv1.CostReport
	_, err = s.reports.List(ctx, name.Region, repo.Page[*fundingv1.CostReport]{
		Plan: filter.Plan[*fundingv1.CostReport]{Query: store.Query{
			Index: "reportstatus", Prefix: name.ID + "/" + fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED.String() + "/",
		}},
		Size: 1,
	}, func(r *reportRecord) (bool, error) {
		pending = r.Msg
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if pending != nil {
		return nil, domain.FailedPrecondition("COST_REPORT_PENDING",
			"cost report %s awaits certification: certify or return it before closing %s", pending.GetName(), name)
	}

	a, err := s.release(ctx, who, r.Msg)
	if err != nil {
		return nil, ledgerErr(err, "what was not paid may have been released; the subproject stays APPROVED until :close is repeated, which completes it")
	}
	return s.finishClose(ctx, who, name, a)
}

// finishClose marks an APPROVED subproject CLOSED once its allocation a is
// released; the reconciler completes closes whose answer was lost with it.
func (s *Subprojects) finishClose(ctx context.Context, who *auth.Identity, name subprojectName, a *fundingv1.Allocation) (*fundingv1.Subproject, error) {
	out, _, err := s.subprojects.Update(ctx, name.ref(), "", who.Subject, func(r *subRecord, now time.Time) (repo.Change, error) {
		switch st := r.Msg.GetStatus(); st {
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED:
			return repo.Change{Noop: true}, nil
		case fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED:
		default:
			return repo.Change{}, domain.FailedPrecondition("SUBPROJECT_STATUS", "subproject %s became %s while it was being closed", name, st)
		}
		transition(r.Msg, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_CLOSED, who, "", now)
		r.Msg.ReleasedOre = a.GetReleasedOre()
		if a.GetDisbursedOre() != r.Msg.GetPaidOre() {
			// The ledger is the truth about money; a difference means a
			// payment whose certification never completed here.
			s.logger.WarnContext(ctx, "paid amount differs from the ledger at close; taking the ledger's",
				"subproject", name.String(), "paid_ore", r.Msg.GetPaidOre(), "ledger_disbursed_ore", a.GetDisbursedOre())
			r.Msg.PaidOre = a.GetDisbursedOre()
		}
		return repo.Change{Action: "CloseSubproject"}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}
