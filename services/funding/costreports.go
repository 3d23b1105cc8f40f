package funding

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// reportRecord is a cost report as the repository keeps it.
type reportRecord = repo.Entry[*fundingv1.CostReport]

func (s *Subprojects) resolveReport(ctx context.Context, raw string, roles ...auth.Role) (costReportName, *auth.Identity, error) {
	name, err := parseCostReportName(raw)
	if err != nil {
		return costReportName{}, nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Subproject.Region); err != nil {
		return costReportName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Subproject.Region, roles...)
	return name, who, err
}

// reportIndex lists a subproject's reports oldest first, all of them and
// by status (close looks for SUBMITTED ones).
func reportIndex(e *reportRecord) []store.IndexEntry {
	cr := e.Msg
	sub := strings.TrimPrefix(e.Ref.Key, "costreport/")
	sub, _, _ = strings.Cut(sub, "/")
	t := sortable(cr.GetCreateTime().AsTime())
	return []store.IndexEntry{
		{Index: "reports", Term: sub + "/" + t},
		{Index: "reportstatus", Term: sub + "/" + cr.GetStatus().String() + "/" + t},
	}
}

func reportTransition(cr *fundingv1.CostReport, to fundingv1.CostReportStatus, who *auth.Identity, reason string, now time.Time) {
	cr.History = append(cr.History, &fundingv1.CostReportStatusChange{
		From: cr.GetStatus(), To: to, Actor: who.Subject, Time: timestamppb.New(now), Reason: reason,
	})
	cr.Status = to
	cr.UpdateTime = timestamppb.New(now)
}

func requireApproved(sp *fundingv1.Subproject, what string) error {
	if st := sp.GetStatus(); st != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_APPROVED {
		return domain.FailedPrecondition("SUBPROJECT_NOT_APPROVED", "subproject %s is %s: %s only while it is APPROVED", sp.GetName(), st, what)
	}
	return nil
}

// CreateCostReport starts a cost report of an APPROVED subproject. Its lines
// report eligible costs, so each must be of a category the subproject has
// an eligible budget line in.
func (s *Subprojects) CreateCostReport(ctx context.Context, req *fundingv1.CreateCostReportRequest) (*fundingv1.CostReport, error) {
	parent, who, err := s.resolveSubproject(ctx, req.GetParent(), "parent", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	v := validateCreateCostReport(req)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	sr, err := s.loadSubproject(ctx, parent)
	if err != nil {
		return nil, err
	}
	if err := requireApproved(sr.Msg, "cost reports are filed"); err != nil {
		return nil, err
	}
	eligible := map[fundingv1.CostCategory]bool{}
	for _, l := range sr.Msg.GetBudgetLines() {
		eligible[l.GetCategory()] = eligible[l.GetCategory()] || l.GetEligible()
	}
	in := req.GetCostReport()
	var sum int64
	for i, l := range in.GetLines() {
		if !eligible[l.GetCategory()] {
			v.Add(fmt.Sprintf("cost_report.lines[%d].category", i), "%s has no eligible budget line in %s", l.GetCategory(), parent)
		}
		sum += l.GetAmountOre() // bounded by validation: at most 50 × 10^15
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	if err := s.upgraded(ctx, parent.Region); err != nil {
		return nil, err
	}
	now := s.now()
	name := costReportName{Subproject: parent, ID: resource.NewID()}
	cr := &fundingv1.CostReport{
		Name:        name.String(),
		PeriodStart: in.GetPeriodStart(),
		PeriodEnd:   in.GetPeriodEnd(),
		ReportedOre: sum,
		CreateTime:  timestamppb.New(now),
	}
	for _, l := range in.GetLines() {
		cr.Lines = append(cr.Lines, &fundingv1.CostReportLine{Category: l.GetCategory(), AmountOre: l.GetAmountOre(), Description: strings.TrimSpace(l.GetDescription())})
	}
	reportTransition(cr, fundingv1.CostReportStatus_COST_REPORT_STATUS_DRAFT, who, "", now)
	r, _, err := s.reports.Create(ctx, &reportRecord{Ref: name.ref(), Msg: cr}, repo.Create{
		Actor: who.Subject, Action: "CreateCostReport",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "costreport",
			Body: &fundingv1.CreateCostReportRequest{Parent: req.GetParent(), CostReport: in}},
	})
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// GetCostReport returns one cost report.
func (s *Subprojects) GetCostReport(ctx context.Context, req *fundingv1.GetCostReportRequest) (*fundingv1.CostReport, error) {
	name, _, err := s.resolveReport(ctx, req.GetName(), readers()...)
	if err != nil {
		return nil, err
	}
	r, err := s.reports.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// ListCostReports pages through a subproject's cost reports, oldest first
// or newest first.
func (s *Subprojects) ListCostReports(ctx context.Context, req *fundingv1.ListCostReportsRequest) (*fundingv1.ListCostReportsResponse, error) {
	parent, _, err := s.resolveSubproject(ctx, req.GetParent(), "parent", readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := reportOrders.Parse(&v, req.GetOrderBy())
	page := repo.Page[*fundingv1.CostReport]{
		Plan: filter.Plan[*fundingv1.CostReport]{Query: store.Query{Index: "reports", Prefix: parent.ID + "/", Reverse: o == 1}},
		Size: size, Digest: resource.Digest(parent.String(), "reports", reportOrders[o]),
	}
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.loadSubproject(ctx, parent); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListCostReportsResponse{}
	resp.NextPageToken, err = s.reports.List(ctx, parent.Region, page, func(r *reportRecord) (bool, error) {
		resp.CostReports = append(resp.CostReports, r.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// SubmitCostReport sends a DRAFT report for certification.
func (s *Subprojects) SubmitCostReport(ctx context.Context, req *fundingv1.SubmitCostReportRequest) (*fundingv1.CostReport, error) {
	name, who, err := s.resolveReport(ctx, req.GetName(), auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, _, err := s.reports.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(r *reportRecord, now time.Time) (repo.Change, error) {
		if st := r.Msg.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_DRAFT {
			return repo.Change{}, domain.FailedPrecondition("COST_REPORT_NOT_DRAFT", "cost report %s is %s: only a DRAFT is submitted", name, st)
		}
		sr, err := s.loadSubproject(ctx, name.Subproject)
		if err != nil {
			return repo.Change{}, err
		}
		if err := requireApproved(sr.Msg, "cost reports are submitted"); err != nil {
			return repo.Change{}, err
		}
		reportTransition(r.Msg, fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED, who, "", now)
		// The certifier sees the warnings before deciding, not only in the
		// answer to :certify.
		r.Msg.Warnings = overBudget(sr.Msg, r.Msg)
		return repo.Change{Action: "SubmitCostReport"}, nil
	})
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// ReturnCostReport sends a SUBMITTED report back to the region.
func (s *Subprojects) ReturnCostReport(ctx context.Context, req *fundingv1.ReturnCostReportRequest) (*fundingv1.CostReport, error) {
	name, who, err := s.resolveReport(ctx, req.GetName(), auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	resource.CheckText(&v, "reason", req.GetReason(), maxReason, true)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, _, err := s.reports.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(r *reportRecord, now time.Time) (repo.Change, error) {
		if st := r.Msg.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
			return repo.Change{}, domain.FailedPrecondition("COST_REPORT_NOT_SUBMITTED", "cost report %s is %s: only a SUBMITTED report is returned", name, st)
		}
		reportTransition(r.Msg, fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED, who, strings.TrimSpace(req.GetReason()), now)
		return repo.Change{Action: "ReturnCostReport"}, nil
	})
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// CertifyCostReport accepts a SUBMITTED report and pays ⌊certified × rate /
// 10000⌋, capped at what is left of the reservation. The payment goes to
// the ledger first, keyed by the report, and then report and subproject are
// committed together; a repeated certification after a crash or a lost
// answer gets the first payment back from the ledger and completes.
func (s *Subprojects) CertifyCostReport(ctx context.Context, req *fundingv1.CertifyCostReportRequest) (*fundingv1.CostReport, error) {
	name, who, err := s.resolveReport(ctx, req.GetName(), auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	if req.CertifiedOre != nil && req.GetCertifiedOre() <= 0 {
		v.Add("certified_ore", "must be a positive amount of öre, got %d (to certify nothing, return the report)", req.GetCertifiedOre())
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.reports.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if r.Msg.GetStatus() == fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED {
		return r.Msg, nil // a repeated certification whose first answer was lost
	}
	if req.GetEtag() != r.Etag() {
		return nil, s.reports.Stale(r, req.GetEtag())
	}
	if st := r.Msg.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
		return nil, domain.FailedPrecondition("COST_REPORT_NOT_SUBMITTED", "cost report %s is %s: only a SUBMITTED report is certified", name, st)
	}
	certified := r.Msg.GetReportedOre()
	if req.CertifiedOre != nil {
		if req.GetCertifiedOre() > certified {
			return nil, domain.InvalidArgument("certified_ore", fmt.Errorf("%d öre is more than the %d öre reported", req.GetCertifiedOre(), certified))
		}
		certified = req.GetCertifiedOre()
	}
	sr, err := s.loadSubproject(ctx, name.Subproject)
	if err != nil {
		return nil, err
	}
	if err := requireApproved(sr.Msg, "cost reports are certified"); err != nil {
		return nil, err
	}

	due := paymentDue(certified, sr.Msg.GetCoFinancingRateBp(), sr.Msg.GetGrantedOre(), sr.Msg.GetPaidOre())
	var paid *fundingv1.RecordPaymentResponse
	err = s.callLedger(ctx, func(ctx context.Context) error {
		var err error
		paid, err = s.ledger.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{
			Programme: sr.Msg.GetProgramme(), Subproject: sr.Msg.GetName(), CostReport: name.String(), AmountOre: due,
		})
		return err
	})
	if err != nil {
		return nil, ledgerErr(err, "the payment may have been recorded; the cost report stays SUBMITTED until the certification is repeated, which completes it without paying twice")
	}
	amount := paid.GetPayment().GetAmountOre()

	// Report and subproject are committed together. When another report of
	// the subproject, or a twin of this call, moved first, both are read
	// again; the payment stands on the ledger whatever happens here, and
	// repeating the call completes it.
	out, _, err := s.reports.Update(ctx, name.ref(), "", who.Subject, func(r *reportRecord, now time.Time) (repo.Change, error) {
		st := r.Msg.GetStatus()
		switch {
		case st == fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED:
			return repo.Change{Noop: true}, nil
		case st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED && (st != fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED || amount == 0):
			return repo.Change{}, domain.New(codes.Aborted, "COST_REPORT_CHANGED", "cost report %s became %s while it was being certified; nothing was paid", name, st)
		}
		sr, err := s.loadSubproject(ctx, name.Subproject)
		if err != nil {
			return repo.Change{}, err
		}
		reason := ""
		if st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
			// Returned while the payment was being made. The money has left
			// the programme for this report, so the report is what it paid
			// for; returning it would invite paying the same costs twice.
			reason = fmt.Sprintf("certified after it was %s: the programme had already paid %d öre for it", st, amount)
		}
		reportTransition(r.Msg, fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED, who, reason, now)
		r.Msg.Warnings = overBudget(sr.Msg, r.Msg)
		r.Msg.CertifiedOre = certified
		r.Msg.PaidOre = amount
		sr.Msg.PaidOre += amount
		sr.Msg.UpdateTime = timestamppb.New(now)
		sp, err := s.subprojects.Put(sr)
		if err != nil {
			return repo.Change{}, err
		}
		detail := fmt.Sprintf("certified %d öre, paid %d öre", certified, amount)
		return repo.Change{
			Action: "CertifyCostReport", Detail: detail, Puts: []store.Put{sp},
			Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CertifyCostReport", Key: sr.Ref.Name,
				EtagBefore: sr.Etag(), EtagAfter: repo.Etag(sr.Version + 1), Detail: detail}},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

// overBudget warns of every category whose reported costs exceed what the
// subproject budgeted for it: certifying is the coordinator's call, but not
// one to make without a word.
func overBudget(sp *fundingv1.Subproject, cr *fundingv1.CostReport) []string {
	budget := map[fundingv1.CostCategory]int64{}
	for _, l := range sp.GetBudgetLines() {
		budget[l.GetCategory()] += l.GetAmountOre()
	}
	reported := map[fundingv1.CostCategory]int64{}
	var order []fundingv1.CostCategory
	for _, l := range cr.GetLines() {
		if _, ok := reported[l.GetCategory()]; !ok {
			order = append(order, l.GetCategory())
		}
		reported[l.GetCategory()] += l.GetAmountOre()
	}
	var out []string
	for _, c := range order {
		if b := budget[c]; reported[c] > b {
			out = append(out, fmt.Sprintf("%s: %d öre reported, %d öre above the budget line of %d öre", c, reported[c], reported[c]-b, b))
		}
	}
	return out
}
