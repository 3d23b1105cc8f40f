package funding

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// reportRecord is a cost report as read, with the version to
// compare-and-set against.
type reportRecord struct {
	name    costReportName
	cr      *fundingv1.CostReport
	version int64
}

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

func (s *Subprojects) loadReport(ctx context.Context, name costReportName) (reportRecord, error) {
	rec, err := s.store.Get(ctx, regionNS(name.Subproject.Region), name.key())
	if err != nil {
		return reportRecord{}, domain.Store(err, "COST_REPORT", "cost report "+name.String())
	}
	cr := &fundingv1.CostReport{}
	if err := decode(rec, cr); err != nil {
		return reportRecord{}, domain.Store(err, "COST_REPORT", "cost report "+name.String())
	}
	return reportRecord{name: name, cr: cr, version: rec.Version}, nil
}

// reportIndex lists a subproject's reports oldest first, all of them and
// by status (close looks for SUBMITTED ones).
func reportIndex(name costReportName, cr *fundingv1.CostReport) []store.IndexEntry {
	t := sortable(cr.GetCreateTime().AsTime())
	return []store.IndexEntry{
		{Index: "reports", Term: name.Subproject.ID + "/" + t},
		{Index: "reportstatus", Term: name.Subproject.ID + "/" + cr.GetStatus().String() + "/" + t},
	}
}

func putReport(r reportRecord) (store.Put, error) {
	v, err := encode(r.cr)
	if err != nil {
		return store.Put{}, err
	}
	return store.Put{Key: r.name.key(), Value: v, Version: r.version, Index: reportIndex(r.name, r.cr)}, nil
}

func reportTransition(cr *fundingv1.CostReport, to fundingv1.CostReportStatus, who *auth.Identity, reason string, now time.Time) {
	cr.History = append(cr.History, &fundingv1.CostReportStatusChange{
		From: cr.GetStatus(), To: to, Actor: who.Subject, Time: timestamppb.New(now), Reason: reason,
	})
	cr.Status = to
	cr.UpdateTime = timestamppb.New(now)
}

// saveReport commits a changed report, returning store errors as they are.
func (s *Subprojects) saveReport(ctx context.Context, who *auth.Identity, r reportRecord, action string, now time.Time) (*fundingv1.CostReport, error) {
	put, err := putReport(r)
	if err != nil {
		return nil, err
	}
	res, err := s.store.Commit(ctx, regionNS(r.name.Subproject.Region), store.Write{
		Puts: []store.Put{put},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: action, Key: r.name.String(),
			EtagBefore: etagOf(r.version), EtagAfter: etagOf(r.version + 1)}},
	})
	if err != nil {
		return nil, err
	}
	r.cr.Etag = etagOf(res.Versions[0])
	return r.cr, nil
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
	if err := requireApproved(sr.sp, "cost reports are filed"); err != nil {
		return nil, err
	}
	eligible := map[fundingv1.CostCategory]bool{}
	for _, l := range sr.sp.GetBudgetLines() {
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

	now := s.now()
	r := reportRecord{name: costReportName{Subproject: parent, ID: resource.NewID()}}
	cr := &fundingv1.CostReport{
		Name:        r.name.String(),
		PeriodStart: in.GetPeriodStart(),
		PeriodEnd:   in.GetPeriodEnd(),
		ReportedOre: sum,
		CreateTime:  timestamppb.New(now),
	}
	for _, l := range in.GetLines() {
		cr.Lines = append(cr.Lines, &fundingv1.CostReportLine{Category: l.GetCategory(), AmountOre: l.GetAmountOre(), Description: strings.TrimSpace(l.GetDescription())})
	}
	reportTransition(cr, fundingv1.CostReportStatus_COST_REPORT_STATUS_DRAFT, who, "", now)
	r.cr = cr
	put, err := putReport(r)
	if err != nil {
		return nil, domain.Store(err, "COST_REPORT", "cost report")
	}
	w := store.Write{
		Puts:   []store.Put{put},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreateCostReport", Key: cr.GetName(), EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         createKey("costreport", who, rid),
			Fingerprint: resource.Fingerprint(&fundingv1.CreateCostReportRequest{Parent: req.GetParent(), CostReport: in}),
			Result:      []byte(cr.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, regionNS(parent.Region), w)
	if err != nil {
		return nil, domain.Store(err, "COST_REPORT", "cost report "+cr.GetName())
	}
	if res.Replayed {
		first, err := parseCostReportName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "COST_REPORT", "replayed cost report")
		}
		fr, err := s.loadReport(ctx, first)
		return fr.cr, err
	}
	cr.Etag = etagOf(res.Versions[0])
	return cr, nil
}

// GetCostReport returns one cost report.
func (s *Subprojects) GetCostReport(ctx context.Context, req *fundingv1.GetCostReportRequest) (*fundingv1.CostReport, error) {
	name, _, err := s.resolveReport(ctx, req.GetName(), readers()...)
	if err != nil {
		return nil, err
	}
	r, err := s.loadReport(ctx, name)
	return r.cr, err
}

// ListCostReports pages through a subproject's cost reports, oldest first.
func (s *Subprojects) ListCostReports(ctx context.Context, req *fundingv1.ListCostReportsRequest) (*fundingv1.ListCostReportsResponse, error) {
	parent, _, err := s.resolveSubproject(ctx, req.GetParent(), "parent", readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	query := resource.Digest(parent.String(), "reports")
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.loadSubproject(ctx, parent); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListCostReportsResponse{}
	q := store.Query{Index: "reports", Prefix: parent.ID + "/", After: after, Limit: size}
	next, err := scanPage(ctx, s.store, regionNS(parent.Region), q, query, func(rec store.Record) error {
		cr := &fundingv1.CostReport{}
		resp.CostReports = append(resp.CostReports, cr)
		return decode(rec, cr)
	})
	if err != nil {
		return nil, domain.Store(err, "COST_REPORT", "cost reports of "+parent.String())
	}
	resp.NextPageToken = next
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
	r, err := s.loadReport(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkEtag(req.GetEtag(), r.version, "cost report "+name.String()); err != nil {
		return nil, err
	}
	if st := r.cr.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_DRAFT {
		return nil, domain.FailedPrecondition("COST_REPORT_NOT_DRAFT", "cost report %s is %s: only a DRAFT is submitted", name, st)
	}
	sr, err := s.loadSubproject(ctx, name.Subproject)
	if err != nil {
		return nil, err
	}
	if err := requireApproved(sr.sp, "cost reports are submitted"); err != nil {
		return nil, err
	}
	now := s.now()
	reportTransition(r.cr, fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED, who, "", now)
	out, err := s.saveReport(ctx, who, r, "SubmitCostReport", now)
	if err != nil {
		return nil, domain.Store(err, "COST_REPORT", "cost report "+name.String())
	}
	return out, nil
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
	r, err := s.loadReport(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkEtag(req.GetEtag(), r.version, "cost report "+name.String()); err != nil {
		return nil, err
	}
	if st := r.cr.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
		return nil, domain.FailedPrecondition("COST_REPORT_NOT_SUBMITTED", "cost report %s is %s: only a SUBMITTED report is returned", name, st)
	}
	now := s.now()
	reportTransition(r.cr, fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED, who, strings.TrimSpace(req.GetReason()), now)
	out, err := s.saveReport(ctx, who, r, "ReturnCostReport", now)
	if err != nil {
		return nil, domain.Store(err, "COST_REPORT", "cost report "+name.String())
	}
	return out, nil
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
	r, err := s.loadReport(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.cr.GetStatus() == fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED {
		return r.cr, nil // a repeated certification whose first answer was lost
	}
	if err := checkEtag(req.GetEtag(), r.version, "cost report "+name.String()); err != nil {
		return nil, err
	}
	if st := r.cr.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
		return nil, domain.FailedPrecondition("COST_REPORT_NOT_SUBMITTED", "cost report %s is %s: only a SUBMITTED report is certified", name, st)
	}
	certified := r.cr.GetReportedOre()
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
	if err := requireApproved(sr.sp, "cost reports are certified"); err != nil {
		return nil, err
	}

	due := paymentDue(certified, sr.sp.GetCoFinancingRateBp(), sr.sp.GetGrantedOre(), sr.sp.GetPaidOre())
	var paid *fundingv1.RecordPaymentResponse
	err = s.callLedger(ctx, func(ctx context.Context) error {
		var err error
		paid, err = s.ledger.RecordPayment(ctx, &fundingv1.RecordPaymentRequest{
			Programme: sr.sp.GetProgramme(), Subproject: sr.sp.GetName(), CostReport: name.String(), AmountOre: due,
		})
		return err
	})
	if err != nil {
		return nil, ledgerErr(err, "the payment may have been recorded; the cost report stays SUBMITTED until the certification is repeated, which completes it without paying twice")
	}
	amount := paid.GetPayment().GetAmountOre()

	for n := 0; ; n++ {
		now := s.now()
		reason := ""
		if st := r.cr.GetStatus(); st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
			// Returned while the payment was being made. The money has left
			// the programme for this report, so the report is what it paid
			// for; returning it would invite paying the same costs twice.
			reason = fmt.Sprintf("certified after it was %s: the programme had already paid %d öre for it", st, amount)
		}
		reportTransition(r.cr, fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED, who, reason, now)
		r.cr.Warnings = overBudget(sr.sp, r.cr)
		r.cr.CertifiedOre = certified
		r.cr.PaidOre = amount
		sr.sp.PaidOre += amount
		sr.sp.UpdateTime = timestamppb.New(now)
		rp, err := putReport(r)
		if err != nil {
			return nil, domain.Store(err, "COST_REPORT", "cost report "+name.String())
		}
		sp, err := putSubproject(sr)
		if err != nil {
			return nil, domain.Store(err, "SUBPROJECT", "subproject "+sr.name.String())
		}
		detail := fmt.Sprintf("certified %d öre, paid %d öre", certified, amount)
		res, err := s.store.Commit(ctx, regionNS(name.Subproject.Region), store.Write{
			Puts: []store.Put{rp, sp},
			Events: []store.Event{
				{Time: now, Actor: who.Subject, Action: "CertifyCostReport", Key: name.String(), EtagBefore: etagOf(r.version), EtagAfter: etagOf(r.version + 1), Detail: detail},
				{Time: now, Actor: who.Subject, Action: "CertifyCostReport", Key: sr.name.String(), EtagBefore: etagOf(sr.version), EtagAfter: etagOf(sr.version + 1), Detail: detail},
			},
		})
		if err == nil {
			r.cr.Etag = etagOf(res.Versions[0])
			return r.cr, nil
		}
		if !errors.Is(err, store.ErrConflict) || n == maxRecommits {
			// The payment stands on the ledger; repeating the call completes it.
			return nil, domain.Store(err, "COST_REPORT", "cost report "+name.String())
		}
		// Another report of the subproject, or a twin of this call, moved
		// first: read both again.
		if r, err = s.loadReport(ctx, name); err != nil {
			return nil, err
		}
		if r.cr.GetStatus() == fundingv1.CostReportStatus_COST_REPORT_STATUS_CERTIFIED {
			return r.cr, nil
		}
		if sr, err = s.loadSubproject(ctx, name.Subproject); err != nil {
			return nil, err
		}
		st := r.cr.GetStatus()
		if st != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED && (st != fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED || amount == 0) {
			return nil, domain.New(codes.Aborted, "COST_REPORT_CHANGED", "cost report %s became %s while it was being certified; nothing was paid", name, st)
		}
	}
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
