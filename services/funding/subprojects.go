package funding

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// Config is what the subproject service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	// Ledger is the programme ledger's client: the national deployment's
	// ProgrammeService (in `motor serve`, this process's own). The ledger's
	// money calls take no user token, so the client must call as this
	// deployment itself (auth.AsService): with the process's service
	// credential for its own ledger, by its certificate alone for a peer's.
	Ledger fundingv1.ProgrammeServiceClient
	// LedgerTimeout bounds one call to the ledger; 5s when zero.
	LedgerTimeout time.Duration
	// LedgerAttempts is how often a call that found the ledger UNAVAILABLE
	// is made; 3 when zero.
	LedgerAttempts int
	// References checks the ideas, needs and partners a subproject names.
	References References
	Logger     *slog.Logger
	Now        func() time.Time
}

// Subprojects implements fundingv1.SubprojectServiceServer.
type Subprojects struct {
	fundingv1.UnimplementedSubprojectServiceServer
	store          store.Store
	regions        config.Served
	ledger         fundingv1.ProgrammeServiceClient
	ledgerTimeout  time.Duration
	ledgerAttempts int
	// ledgerRetries is the retry budget of every ledger call: an outage
	// of the ledger costs it about one attempt per call, not three.
	ledgerRetries *rpc.RetryBudget
	refs          References
	logger        *slog.Logger
	now           func() time.Time
}

// NewSubprojects returns the subproject service.
func NewSubprojects(cfg Config) *Subprojects {
	s := &Subprojects{
		store: cfg.Store, regions: cfg.Regions, ledger: cfg.Ledger,
		ledgerTimeout: cfg.LedgerTimeout, ledgerAttempts: cfg.LedgerAttempts, ledgerRetries: rpc.NewRetryBudget(10, 0.1),
		refs: cfg.References, logger: cfg.Logger, now: cfg.Now,
	}
	if s.ledgerTimeout <= 0 {
		s.ledgerTimeout = 5 * time.Second
	}
	if s.ledgerAttempts <= 0 {
		s.ledgerAttempts = 3
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Who may do what (docs/architecture.md, "Identity and access"): region admins own their region's subprojects
// and cost reports; the national coordinator decides on them.
func readers() []auth.Role {
	return []auth.Role{auth.RegionAdmin, auth.Advisor, auth.Coordinator, auth.Service}
}

// resolveSubproject parses a subproject name from field, checks the region
// is served and the caller holds one of roles there.
func (s *Subprojects) resolveSubproject(ctx context.Context, raw, field string, roles ...auth.Role) (subprojectName, *auth.Identity, error) {
	name, err := parseSubprojectName(raw)
	if err != nil {
		return subprojectName{}, nil, domain.InvalidArgument(field, err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return subprojectName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Region, roles...)
	return name, who, err
}

// subRecord is a subproject as read, with the version to compare-and-set
// against.
type subRecord struct {
	name    subprojectName
	sp      *fundingv1.Subproject
	version int64
	// linked are the ideas and needs the subproject had when read, so a
	// save can tell their services what changed (backlinks.go).
	linked []string
}

func (s *Subprojects) loadSubproject(ctx context.Context, name subprojectName) (subRecord, error) {
	rec, err := s.store.Get(ctx, regionNS(name.Region), name.key())
	if err != nil {
		return subRecord{}, domain.Store(err, "SUBPROJECT", "subproject "+name.String())
	}
	sp := &fundingv1.Subproject{}
	if err := decode(rec, sp); err != nil {
		return subRecord{}, domain.Store(err, "SUBPROJECT", "subproject "+name.String())
	}
	return subRecord{name: name, sp: sp, version: rec.Version, linked: linkedRefs(sp.GetIdeas(), sp.GetNeeds())}, nil
}

// newestFirst turns a create time into an index term that sorts the newest
// first.
func newestFirst(t time.Time) string { return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano()) }

func subprojectIndex(sp *fundingv1.Subproject) []store.IndexEntry {
	t := newestFirst(sp.GetCreateTime().AsTime())
	return []store.IndexEntry{
		{Index: "subprojects", Term: t},
		{Index: "status", Term: sp.GetStatus().String() + "/" + t},
	}
}

func putSubproject(r subRecord) (store.Put, error) {
	v, err := encode(r.sp)
	if err != nil {
		return store.Put{}, err
	}
	return store.Put{Key: r.name.key(), Value: v, Version: r.version, Index: subprojectIndex(r.sp)}, nil
}

// save commits a changed subproject against the version it was read at. It
// returns store errors as they are, so callers can tell a lost
// compare-and-set from a failure.
func (s *Subprojects) save(ctx context.Context, who *auth.Identity, r subRecord, action string, now time.Time) (*fundingv1.Subproject, error) {
	r.sp.UpdateTime = timestamppb.New(now)
	put, err := putSubproject(r)
	if err != nil {
		return nil, err
	}
	links, msgs, err := backlinkPuts(r.name.String(), r.linked, linkedRefs(r.sp.GetIdeas(), r.sp.GetNeeds()), r.version+1)
	if err != nil {
		return nil, err
	}
	res, err := s.store.Commit(ctx, regionNS(r.name.Region), store.Write{
		Puts: append([]store.Put{put}, links...),
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: action, Key: r.name.String(),
			EtagBefore: etagOf(r.version), EtagAfter: etagOf(r.version + 1)}},
	})
	if err != nil {
		return nil, err
	}
	s.flushBacklinks(ctx, r.name.Region, msgs)
	r.sp.Etag = etagOf(res.Versions[0])
	return r.sp, nil
}

// transition moves sp to status to and keeps the decision in its history.
func transition(sp *fundingv1.Subproject, to fundingv1.SubprojectStatus, who *auth.Identity, reason string, now time.Time) {
	sp.History = append(sp.History, &fundingv1.SubprojectStatusChange{
		From: sp.GetStatus(), To: to, Actor: who.Subject, Time: timestamppb.New(now), Reason: reason,
	})
	sp.Status = to
}

// change reads a subproject, checks the caller's etag, applies f and
// commits: the shape of every region-only change.
func (s *Subprojects) change(ctx context.Context, who *auth.Identity, name subprojectName, etag, action string, f func(r subRecord, now time.Time) error) (*fundingv1.Subproject, error) {
	r, err := s.loadSubproject(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := checkEtag(etag, r.version, "subproject "+name.String()); err != nil {
		return nil, err
	}
	now := s.now()
	if err := f(r, now); err != nil {
		return nil, err
	}
	out, err := s.save(ctx, who, r, action, now)
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subproject "+name.String())
	}
	return out, nil
}

// newSubproject builds the stored subproject from validated input: input
// fields only, trimmed.
func newSubproject(in *fundingv1.Subproject) *fundingv1.Subproject {
	out := &fundingv1.Subproject{}
	for _, f := range subprojectFields() {
		setField(out, in, f)
	}
	return out
}

// setField copies one input field from src to dst, trimmed.
func setField(dst, src *fundingv1.Subproject, field string) {
	switch field {
	case "title":
		dst.Title = strings.TrimSpace(src.GetTitle())
	case "description":
		dst.Description = strings.TrimSpace(src.GetDescription())
	case "programme":
		dst.Programme = src.GetProgramme()
	case "ideas":
		dst.Ideas = append([]string(nil), src.GetIdeas()...)
	case "needs":
		dst.Needs = append([]string(nil), src.GetNeeds()...)
	case "partners":
		dst.Partners = nil
		for _, p := range src.GetPartners() {
			dst.Partners = append(dst.Partners, &fundingv1.SubprojectPartner{Partner: p.GetPartner(), Role: strings.TrimSpace(p.GetRole())})
		}
	case "budget_lines":
		dst.BudgetLines = nil
		for _, l := range src.GetBudgetLines() {
			dst.BudgetLines = append(dst.BudgetLines, &fundingv1.BudgetLine{
				Category: l.GetCategory(), Description: strings.TrimSpace(l.GetDescription()), AmountOre: l.GetAmountOre(), Eligible: l.GetEligible(),
			})
		}
	case "contributions":
		dst.Contributions = nil
		for _, c := range src.GetContributions() {
			dst.Contributions = append(dst.Contributions, &fundingv1.Contribution{
				Party: strings.TrimSpace(c.GetParty()), Kind: c.GetKind(), AmountOre: c.GetAmountOre(),
			})
		}
	}
}

// programmeRate asks the ledger for the programme's co-financing rate. The
// rate of a programme never changes, so the subproject keeps it.
func (s *Subprojects) programmeRate(ctx context.Context, who *auth.Identity, programme, field string) (int32, error) {
	var p *fundingv1.Programme
	err := s.callLedger(ctx, func(ctx context.Context) error {
		var err error
		p, err = s.ledger.GetProgramme(ctx, &fundingv1.GetProgrammeRequest{Name: programme})
		return err
	})
	if status.Code(err) == codes.NotFound {
		return 0, domain.InvalidArgument(field, fmt.Errorf("programme %s does not exist on the national ledger", programme))
	}
	if err != nil {
		return 0, ledgerErr(err, "nothing was saved")
	}
	return p.GetCoFinancingRateBp(), nil
}

// draftRate is programmeRate for a DRAFT, which needs no ledger: with the
// ledger out of reach the draft is kept with its rate (and so its
// programme share) open, 0, and submitting settles it.
func (s *Subprojects) draftRate(ctx context.Context, who *auth.Identity, programme string) (int32, error) {
	rate, err := s.programmeRate(ctx, who, programme, "subproject.programme")
	if status.Code(err) == codes.Unavailable {
		s.logger.InfoContext(ctx, "draft saved without the programme's rate: the ledger did not answer", "programme", programme, "error", err)
		return 0, nil
	}
	return rate, err
}

// CreateSubproject starts a subproject at DRAFT.
func (s *Subprojects) CreateSubproject(ctx context.Context, req *fundingv1.CreateSubprojectRequest) (*fundingv1.Subproject, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	if err := validateCreateSubproject(req).Err(domain); err != nil {
		return nil, err
	}
	if err := s.checkReferences(ctx, req.GetSubproject(), []string{"ideas", "needs", "partners"}); err != nil {
		return nil, err
	}
	rate, err := s.draftRate(ctx, who, req.GetSubproject().GetProgramme())
	if err != nil {
		return nil, err
	}

	now := s.now()
	r := subRecord{name: subprojectName{Region: region, ID: resource.NewID()}, sp: newSubproject(req.GetSubproject())}
	sp := r.sp
	sp.Name = r.name.String()
	sp.CoFinancingRateBp = rate
	sp.Status = fundingv1.SubprojectStatus_SUBPROJECT_STATUS_UNSPECIFIED
	transition(sp, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT, who, "", now)
	sp.CreateTime = timestamppb.New(now)
	sp.UpdateTime = sp.CreateTime
	if err := setTotals(sp); err != nil {
		return nil, domain.InvalidArgument("subproject", err)
	}
	put, err := putSubproject(r)
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subproject")
	}
	links, msgs, err := backlinkPuts(sp.GetName(), nil, linkedRefs(sp.GetIdeas(), sp.GetNeeds()), 1)
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subproject")
	}
	w := store.Write{
		Puts:   append([]store.Put{put}, links...),
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreateSubproject", Key: sp.GetName(), EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         createKey("subproject", who, rid),
			Fingerprint: resource.Fingerprint(&fundingv1.CreateSubprojectRequest{Parent: req.GetParent(), Subproject: req.GetSubproject()}),
			Result:      []byte(sp.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, regionNS(region), w)
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subproject "+sp.GetName())
	}
	if res.Replayed {
		first, err := parseSubprojectName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "SUBPROJECT", "replayed subproject")
		}
		fr, err := s.loadSubproject(ctx, first)
		return fr.sp, err
	}
	s.flushBacklinks(ctx, region, msgs)
	sp.Etag = etagOf(res.Versions[0])
	return sp, nil
}

// GetSubproject returns one subproject.
func (s *Subprojects) GetSubproject(ctx context.Context, req *fundingv1.GetSubprojectRequest) (*fundingv1.Subproject, error) {
	name, _, err := s.resolveSubproject(ctx, req.GetName(), "name", readers()...)
	if err != nil {
		return nil, err
	}
	r, err := s.loadSubproject(ctx, name)
	return r.sp, err
}

// ListSubprojects pages through a region's subprojects, newest first,
// optionally of one status.
func (s *Subprojects) ListSubprojects(ctx context.Context, req *fundingv1.ListSubprojectsRequest) (*fundingv1.ListSubprojectsResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	q := store.Query{Index: "subprojects", Limit: size}
	if f := strings.TrimSpace(req.GetFilter()); f != "" {
		st, err := parseStatusFilter(f)
		if err != nil {
			v.Add("filter", "%v", err)
		}
		q = store.Query{Index: "status", Prefix: st.String() + "/", Limit: size}
	}
	query := resource.Digest(region, q.Index, q.Prefix)
	q.After = resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListSubprojectsResponse{}
	next, err := scanPage(ctx, s.store, regionNS(region), q, query, func(rec store.Record) error {
		sp := &fundingv1.Subproject{}
		resp.Subprojects = append(resp.Subprojects, sp)
		return decode(rec, sp)
	})
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subprojects of "+region)
	}
	resp.NextPageToken = next
	return resp, nil
}

// parseStatusFilter reads `status = SUBPROJECT_STATUS_…`.
func parseStatusFilter(f string) (fundingv1.SubprojectStatus, error) {
	field, value, ok := strings.Cut(f, "=")
	field, value = strings.TrimSpace(field), strings.Trim(strings.TrimSpace(value), `"`)
	if !ok || field != "status" {
		return 0, fmt.Errorf("%q is not of the form status = SUBPROJECT_STATUS_…", f)
	}
	n, ok := fundingv1.SubprojectStatus_value[value]
	if !ok || n == 0 {
		return 0, fmt.Errorf("%q is not a subproject status (e.g. SUBPROJECT_STATUS_SUBMITTED)", value)
	}
	return fundingv1.SubprojectStatus(n), nil
}

// UpdateSubproject changes the masked fields of a DRAFT subproject.
func (s *Subprojects) UpdateSubproject(ctx context.Context, req *fundingv1.UpdateSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetSubproject().GetName(), "subproject.name", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	paths, v := checkUpdateMask(req)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	in := req.GetSubproject()
	if err := s.checkReferences(ctx, in, paths); err != nil {
		return nil, err
	}
	return s.change(ctx, who, name, in.GetEtag(), "UpdateSubproject", func(r subRecord, _ time.Time) error {
		if st := r.sp.GetStatus(); st != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT {
			return domain.FailedPrecondition("SUBPROJECT_NOT_EDITABLE", "subproject %s is %s: only a DRAFT is edited", name, st)
		}
		for _, p := range paths {
			if p == "programme" && in.GetProgramme() != r.sp.GetProgramme() {
				rate, err := s.draftRate(ctx, who, in.GetProgramme())
				if err != nil {
					return err
				}
				r.sp.CoFinancingRateBp = rate
			}
			setField(r.sp, in, p)
		}
		if err := setTotals(r.sp); err != nil {
			return domain.InvalidArgument("subproject", err)
		}
		return nil
	})
}

// SubmitSubproject sends a DRAFT for approval. The region and its partners
// must really put up their part: the contributions cover the own share.
func (s *Subprojects) SubmitSubproject(ctx context.Context, req *fundingv1.SubmitSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetName(), "name", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	return s.change(ctx, who, name, req.GetEtag(), "SubmitSubproject", func(r subRecord, now time.Time) error {
		sp := r.sp
		if sp.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT && sp.GetCoFinancingRateBp() == 0 {
			// Saved while the ledger was away: its rate, and with it the
			// shares, are settled now, before anything is checked.
			rate, err := s.programmeRate(ctx, who, sp.GetProgramme(), "subproject.programme")
			if err != nil {
				return err
			}
			sp.CoFinancingRateBp = rate
			if err := setTotals(sp); err != nil {
				return domain.InvalidArgument("subproject", err)
			}
		}
		switch {
		case sp.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT:
			return domain.FailedPrecondition("SUBPROJECT_NOT_DRAFT", "subproject %s is %s: only a DRAFT is submitted", name, sp.GetStatus())
		case sp.GetEligibleCostOre() == 0:
			return domain.FailedPrecondition("NO_ELIGIBLE_COST", "subproject %s has no eligible budget line: the programme co-finances eligible costs only", name)
		case sp.GetContributedOre() < sp.GetOwnShareOre():
			return domain.FailedPrecondition("CONTRIBUTIONS_SHORT",
				"contributions of %d öre do not cover the own share of %d öre (eligible cost %d öre, programme share %d öre): %d öre are missing",
				sp.GetContributedOre(), sp.GetOwnShareOre(), sp.GetEligibleCostOre(), sp.GetProgrammeShareOre(), sp.GetOwnShareOre()-sp.GetContributedOre())
		}
		transition(sp, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED, who, "", now)
		return nil
	})
}

// RejectSubproject refuses a SUBMITTED subproject.
func (s *Subprojects) RejectSubproject(ctx context.Context, req *fundingv1.RejectSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetName(), "name", auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	resource.CheckText(&v, "reason", req.GetReason(), maxReason, true)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	return s.endUnapproved(ctx, who, name, req.GetEtag(), fundingv1.SubprojectStatus_SUBPROJECT_STATUS_REJECTED,
		strings.TrimSpace(req.GetReason()), "RejectSubproject", fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED)
}

// WithdrawSubproject is the region taking back its own DRAFT or SUBMITTED
// subproject.
func (s *Subprojects) WithdrawSubproject(ctx context.Context, req *fundingv1.WithdrawSubprojectRequest) (*fundingv1.Subproject, error) {
	name, who, err := s.resolveSubproject(ctx, req.GetName(), "name", auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	checkEtagGiven(&v, req.GetEtag())
	resource.CheckText(&v, "reason", req.GetReason(), maxReason, false)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	return s.endUnapproved(ctx, who, name, req.GetEtag(), fundingv1.SubprojectStatus_SUBPROJECT_STATUS_WITHDRAWN,
		strings.TrimSpace(req.GetReason()), "WithdrawSubproject",
		fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED)
}

// endUnapproved moves a subproject that holds no money to a final status.
// A SUBMITTED one is then released on the ledger: an approval racing with
// this decision may have reserved (it gives the money back when it finds
// the subproject gone), or may be about to (the release marker refuses it),
// and either way no money stays held for a subproject that will never run.
// Repeating the call on a subproject already at status finishes that
// release, in case the first call's failed.
func (s *Subprojects) endUnapproved(ctx context.Context, who *auth.Identity, name subprojectName, etag string, to fundingv1.SubprojectStatus, reason, action string, from ...fundingv1.SubprojectStatus) (*fundingv1.Subproject, error) {
	r, err := s.loadSubproject(ctx, name)
	if err != nil {
		return nil, err
	}
	if r.sp.GetStatus() != to {
		if err := checkEtag(etag, r.version, "subproject "+name.String()); err != nil {
			return nil, err
		}
		ok := false
		for _, f := range from {
			ok = ok || r.sp.GetStatus() == f
		}
		if !ok {
			return nil, domain.FailedPrecondition("SUBPROJECT_STATUS", "subproject %s is %s: it cannot become %s", name, r.sp.GetStatus(), to)
		}
		now := s.now()
		transition(r.sp, to, who, reason, now)
		if _, err := s.save(ctx, who, r, action, now); err != nil {
			return nil, domain.Store(err, "SUBPROJECT", "subproject "+name.String())
		}
	}
	h := r.sp.GetHistory()
	if len(h) > 0 && h[len(h)-1].GetFrom() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED {
		if _, err := s.release(ctx, who, r.sp); err != nil {
			return nil, ledgerErr(err, fmt.Sprintf("subproject %s is %s; what it held on the ledger may have been released or not: repeat the call, which completes the release", name, to))
		}
	}
	return r.sp, nil
}

// release gives back on the ledger what the subproject holds and was not
// paid (keyed by the subproject).
func (s *Subprojects) release(ctx context.Context, who *auth.Identity, sp *fundingv1.Subproject) (*fundingv1.Allocation, error) {
	var a *fundingv1.Allocation
	err := s.callLedger(ctx, func(ctx context.Context) error {
		var err error
		a, err = s.ledger.ReleaseFunds(ctx, &fundingv1.ReleaseFundsRequest{Programme: sp.GetProgramme(), Subproject: sp.GetName()})
		return err
	})
	return a, err
}

// callLedger makes one call to the programme ledger, as this deployment
// (the caller's role was checked here; the ledger's money calls take no
// user token), under a deadline. Only UNAVAILABLE is retried, within the
// retry budget: the ledger's money calls are keyed, so repeating one whose
// answer was lost returns the first result instead of moving money again.
func (s *Subprojects) callLedger(ctx context.Context, call func(ctx context.Context) error) error {
	if who, ok := auth.FromContext(ctx); ok {
		ctx = auth.OnBehalfOf(ctx, who.Subject) // for the ledger's audit log
	}
	for n := 1; ; n++ {
		cctx, cancel := context.WithTimeout(ctx, s.ledgerTimeout)
		err := call(cctx)
		cancel()
		if status.Code(err) != codes.Unavailable {
			s.ledgerRetries.Succeeded()
			return err
		}
		if !s.ledgerRetries.Failed() || n >= s.ledgerAttempts {
			return err
		}
		if backoff(ctx, n, 50*time.Millisecond, 500*time.Millisecond) != nil {
			return err
		}
	}
}

// ledgerErr turns a ledger failure into this service's answer. A ledger
// that cannot be reached is UNAVAILABLE (REST 503) saying what was left
// undone; the ledger's own refusals (not enough money, no reservation) pass
// through as it gave them.
func ledgerErr(err error, state string) error {
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		return domain.New(codes.Unavailable, "LEDGER_UNAVAILABLE", "the national programme ledger did not answer (%s); %s", st.Code(), state)
	case codes.Canceled:
		return err
	}
	if _, ok := status.FromError(err); !ok {
		return domain.New(codes.Internal, "LEDGER_CALL", "programme ledger: %v", err)
	}
	return err
}
