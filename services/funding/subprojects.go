package funding

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
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
	// IdempotencyTTL is how long a request_id is answered with its first
	// result; a day when zero.
	IdempotencyTTL time.Duration
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
	subprojects   *repo.Repo[*fundingv1.Subproject]
	reports       *repo.Repo[*fundingv1.CostReport]
	// upgrades drop, once per region and process, the request-id keys
	// earlier code kept for ever under the raw subject.
	upgrades repo.Upgrades
	// orderUpgrades put subprojects stored before the update-time and cost
	// indexes on them (see ordersIndexed).
	orderUpgrades repo.Upgrades
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
	s.subprojects = repo.New(repo.Config[*fundingv1.Subproject]{
		Store: s.store, Service: service, Domain: domain, Kind: "subproject", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *fundingv1.Subproject { return &fundingv1.Subproject{} }, Index: subprojectIndex,
	})
	s.reports = repo.New(repo.Config[*fundingv1.CostReport]{
		Store: s.store, Service: service, Domain: domain, Kind: "cost report", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *fundingv1.CostReport { return &fundingv1.CostReport{} }, Index: reportIndex,
	})
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

// subRecord is a subproject as the repository keeps it, with the version
// to compare-and-set against.
type subRecord = repo.Entry[*fundingv1.Subproject]

func (s *Subprojects) loadSubproject(ctx context.Context, name subprojectName) (*subRecord, error) {
	return s.subprojects.Get(ctx, name.ref())
}

// legacyKeys is where earlier code kept request ids: under the raw subject,
// for ever ("create/{kind}/{subject}/{request_id}").
const legacyKeys = "create/"

// upgraded drops, once per region and process, the request-id keys earlier
// code kept; the repository's keys are hashed per caller and expire. A
// retry of a create sent before the upgrade is then a new create.
func (s *Subprojects) upgraded(ctx context.Context, region string) error {
	return s.upgrades.Once(ctx, region, func(ctx context.Context) error {
		return s.subprojects.ForgetKeys(ctx, region, legacyKeys)
	})
}

// newestFirst turns a create time into an index term that sorts the newest
// first.
func newestFirst(t time.Time) string { return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano()) }

func subprojectIndex(e *subRecord) []store.IndexEntry {
	sp := e.Msg
	t := newestFirst(sp.GetCreateTime().AsTime())
	return append([]store.IndexEntry{
		{Index: "subprojects", Term: t},
		{Index: "status", Term: sp.GetStatus().String() + "/" + t},
	}, subprojectOrderEntries(sp)...)
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
func (s *Subprojects) change(ctx context.Context, who *auth.Identity, name subprojectName, etag, action string, f func(r *subRecord, now time.Time) error) (*fundingv1.Subproject, error) {
	// The ideas and needs it links are told of what changed through the
	// outbox committed with the change (backlinks.go).
	var msgs []backlink.Message
	r, _, err := s.subprojects.Update(ctx, name.ref(), etag, who.Subject, func(r *subRecord, now time.Time) (repo.Change, error) {
		before := linkedRefs(r.Msg.GetIdeas(), r.Msg.GetNeeds())
		if err := f(r, now); err != nil {
			return repo.Change{}, err
		}
		links, m, err := backlinkPuts(name.String(), before, linkedRefs(r.Msg.GetIdeas(), r.Msg.GetNeeds()), r.Version+1)
		if err != nil {
			return repo.Change{}, err
		}
		msgs = m
		return repo.Change{Action: action, Puts: links}, nil
	})
	if err != nil {
		return nil, err
	}
	s.flushBacklinks(ctx, name.Region, msgs)
	return r.Msg, nil
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

	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	now := s.now()
	name := subprojectName{Region: region, ID: resource.NewID()}
	sp := newSubproject(req.GetSubproject())
	sp.Name = name.String()
	sp.CoFinancingRateBp = rate
	sp.Status = fundingv1.SubprojectStatus_SUBPROJECT_STATUS_UNSPECIFIED
	transition(sp, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT, who, "", now)
	sp.CreateTime = timestamppb.New(now)
	sp.UpdateTime = sp.CreateTime
	if err := setTotals(sp); err != nil {
		return nil, domain.InvalidArgument("subproject", err)
	}
	links, msgs, err := backlinkPuts(sp.GetName(), nil, linkedRefs(sp.GetIdeas(), sp.GetNeeds()), 1)
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subproject")
	}
	r, replayed, err := s.subprojects.Create(ctx, &subRecord{Ref: name.ref(), Msg: sp}, repo.Create{
		Actor: who.Subject, Action: "CreateSubproject", Puts: links,
		// Keyed per caller: one person's request_id never returns another's subproject.
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "subproject",
			Body: &fundingv1.CreateSubprojectRequest{Parent: req.GetParent(), Subproject: req.GetSubproject()}},
	})
	if err != nil {
		return nil, err
	}
	if !replayed {
		s.flushBacklinks(ctx, region, msgs)
	}
	return r.Msg, nil
}

// GetSubproject returns one subproject.
func (s *Subprojects) GetSubproject(ctx context.Context, req *fundingv1.GetSubprojectRequest) (*fundingv1.Subproject, error) {
	name, _, err := s.resolveSubproject(ctx, req.GetName(), "name", readers()...)
	if err != nil {
		return nil, err
	}
	r, err := s.loadSubproject(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.Msg, nil
}

// ListSubprojects pages through a region's subprojects, newest first or in
// the order asked for (order.go), optionally of one status.
func (s *Subprojects) ListSubprojects(ctx context.Context, req *fundingv1.ListSubprojectsRequest) (*fundingv1.ListSubprojectsResponse, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := subprojectOrders.Parse(&v, req.GetOrderBy())
	order := subprojectOrderPlans[o]
	plan, err := compileOrdered(req.GetFilter(), order)
	if err != nil {
		v.Add("filter", "%v", err)
	}
	plan.Query.Reverse = order.reverse
	page := repo.Page[*fundingv1.Subproject]{Plan: plan, Size: size}
	page.Digest = resource.Digest(region, plan.Query.Index, plan.Query.Prefix, plan.Filter, subprojectOrders[o])
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if order.index != "subprojects" {
		if err := s.ordersIndexed(ctx, region); err != nil {
			return nil, err
		}
	}
	resp := &fundingv1.ListSubprojectsResponse{}
	resp.NextPageToken, err = s.subprojects.List(ctx, region, page, func(r *subRecord) (bool, error) {
		resp.Subprojects = append(resp.Subprojects, r.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// compileFilter plans a subproject list's filter onto the indexes: status
// has one, the rest is checked on each subproject.
func compileFilter(f string) (filter.Plan[*fundingv1.Subproject], error) {
	return filter.Compile(f, store.Query{Index: "subprojects"}, subprojectFilter(true))
}

// subprojectFilter are what a subproject list filters on; indexed, status
// is planned onto its create-time index.
func subprojectFilter(indexed bool) []filter.Field[*fundingv1.Subproject] {
	status := filter.Field[*fundingv1.Subproject]{
		Name: "status", Values: filter.EnumValues(fundingv1.SubprojectStatus(0).Descriptor()),
		Get: func(sp *fundingv1.Subproject) []string { return []string{sp.GetStatus().String()} },
	}
	if indexed {
		status.Index = func(v string) (store.Query, bool) {
			return store.Query{Index: "status", Prefix: v + "/"}, true
		}
	}
	return []filter.Field[*fundingv1.Subproject]{status}
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
	return s.change(ctx, who, name, in.GetEtag(), "UpdateSubproject", func(r *subRecord, _ time.Time) error {
		if st := r.Msg.GetStatus(); st != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT {
			return domain.FailedPrecondition("SUBPROJECT_NOT_EDITABLE", "subproject %s is %s: only a DRAFT is edited", name, st)
		}
		for _, p := range paths {
			if p == "programme" && in.GetProgramme() != r.Msg.GetProgramme() {
				rate, err := s.draftRate(ctx, who, in.GetProgramme())
				if err != nil {
					return err
				}
				r.Msg.CoFinancingRateBp = rate
			}
			setField(r.Msg, in, p)
		}
		if err := setTotals(r.Msg); err != nil {
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
	return s.change(ctx, who, name, req.GetEtag(), "SubmitSubproject", func(r *subRecord, now time.Time) error {
		sp := r.Msg
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
	r, _, err := s.subprojects.Update(ctx, name.ref(), etag, who.Subject, func(r *subRecord, now time.Time) (repo.Change, error) {
		if r.Msg.GetStatus() == to {
			return repo.Change{Noop: true}, nil // a repeated call: finish the release below
		}
		if !slices.Contains(from, r.Msg.GetStatus()) {
			return repo.Change{}, domain.FailedPrecondition("SUBPROJECT_STATUS", "subproject %s is %s: it cannot become %s", name, r.Msg.GetStatus(), to)
		}
		transition(r.Msg, to, who, reason, now)
		return repo.Change{Action: action}, nil
	})
	if err != nil {
		return nil, err
	}
	h := r.Msg.GetHistory()
	if len(h) > 0 && h[len(h)-1].GetFrom() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_SUBMITTED {
		if _, err := s.release(ctx, who, r.Msg); err != nil {
			return nil, ledgerErr(err, fmt.Sprintf("subproject %s is %s; what it held on the ledger may have been released or not: repeat the call, which completes the release", name, to))
		}
	}
	return r.Msg, nil
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
		if repo.Backoff(ctx, n, 50*time.Millisecond, 500*time.Millisecond) != nil {
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
