package funding

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

const (
	// ledgerAttempts bounds the compare-and-set retries of one ledger call.
	// Within a process, calls on one programme take turns (see Ledger.lock),
	// so conflicts come only from other replicas on the same store.
	ledgerAttempts = 32
	lockStripes    = 64
)

// LedgerConfig is what the programme ledger is given.
type LedgerConfig struct {
	Store  store.Store
	Logger *slog.Logger
	Now    func() time.Time
	// IdempotencyTTL is how long a request_id is answered with its first
	// result; a day when zero.
	IdempotencyTTL time.Duration
}

// Ledger implements fundingv1.ProgrammeServiceServer: the national
// programmes and their reservations.
//
// Its invariants — Σ reserved ≤ budget per programme and disbursed ≤
// reserved per allocation — rest on the store alone: every change of money
// is one Commit that compare-and-sets the programme record (which holds the
// balance) together with the allocation and the payment it concerns. That
// holds across replicas, retries and crashes.
type Ledger struct {
	fundingv1.UnimplementedProgrammeServiceServer
	store  store.Store
	logger *slog.Logger
	now    func() time.Time
	// locks let one process's calls on a programme take turns, so that under
	// load they queue instead of losing compare-and-sets to each other. They
	// are an optimisation only; correctness is the store's.
	locks [lockStripes]chan struct{}

	upgrades    repo.Upgrades // see CreateProgramme
	programmes  *repo.Repo[*fundingv1.Programme]
	allocations *repo.Repo[*fundingv1.Allocation]
	payments    *repo.Repo[*fundingv1.Payment]
}

// NewLedger returns the programme ledger.
func NewLedger(cfg LedgerConfig) *Ledger {
	l := &Ledger{store: cfg.Store, logger: cfg.Logger, now: cfg.Now}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	for i := range l.locks {
		l.locks[i] = make(chan struct{}, 1)
	}
	l.programmes = repo.New(repo.Config[*fundingv1.Programme]{
		Store: l.store, Service: service, Domain: domain, Kind: "programme", Now: l.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *fundingv1.Programme { return &fundingv1.Programme{} }, Index: programmeIndex,
	})
	// A money call that lost a compare-and-set on its allocation reads and
	// checks again, as often as the ledger's own bound allows.
	l.allocations = repo.New(repo.Config[*fundingv1.Allocation]{
		Store: l.store, Service: service, Domain: domain, Kind: "allocation", Now: l.now, Attempts: ledgerAttempts,
		New: func() *fundingv1.Allocation { return &fundingv1.Allocation{} }, Index: allocationIndex,
	})
	l.payments = repo.New(repo.Config[*fundingv1.Payment]{
		Store: l.store, Service: service, Domain: domain, Kind: "payment", Now: l.now,
		New: func() *fundingv1.Payment { return &fundingv1.Payment{} },
	})
	return l
}

// lock takes the programme's turn, or gives up when ctx ends.
func (l *Ledger) lock(ctx context.Context, p programmeName) (unlock func(), err error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(p.ID))
	ch := l.locks[h.Sum32()%lockStripes]
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, domain.New(codes.DeadlineExceeded, "LEDGER_BUSY", "programme %s is busy: %v", p, ctx.Err())
	}
}

// requireAnyRegion checks roles in the caller's own region: the ledger is
// national, and a region admin of any region may read it.
func requireAnyRegion(ctx context.Context, roles ...auth.Role) (*auth.Identity, error) {
	region := auth.NationalRegion
	if id, ok := auth.FromContext(ctx); ok {
		region = id.Region
	}
	return auth.Require(ctx, region, roles...)
}

func ledgerReaders() []auth.Role {
	return []auth.Role{auth.Coordinator, auth.Service, auth.RegionAdmin, auth.Advisor}
}

// programmeRecord is a programme as the repository keeps it; its balance
// is what every change of money compare-and-sets.
type programmeRecord = repo.Entry[*fundingv1.Programme]

type allocationRecord = repo.Entry[*fundingv1.Allocation]

func programmeIndex(e *programmeRecord) []store.IndexEntry {
	return []store.IndexEntry{{Index: "programmes", Term: strings.TrimPrefix(e.Msg.GetName(), "programmes/")}}
}

func allocationIndex(e *allocationRecord) []store.IndexEntry {
	a := e.Msg
	if a.GetReserveTime() == nil {
		return nil // a release without reservation is a marker, not an allocation
	}
	prog, _, _ := strings.Cut(strings.TrimPrefix(a.GetName(), "programmes/"), "/")
	return []store.IndexEntry{{Index: "allocations", Term: prog + "/" + sortable(a.GetReserveTime().AsTime())}}
}

// getAllocation returns the subproject's allocation, or nil when it has none.
func (l *Ledger) getAllocation(ctx context.Context, prog programmeName, sub subprojectName) (*allocationRecord, error) {
	a, err := l.allocations.Get(ctx, allocationRef(prog, sub))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return a, err
}

// putProgramme is the compare-and-set of a programme's new balance.
func (l *Ledger) putProgramme(pr *programmeRecord) (store.Put, error) {
	b := pr.Msg.GetBalance()
	b.AvailableOre = pr.Msg.GetBudgetOre() - b.GetReservedOre()
	if b.GetAvailableOre() < 0 || b.GetDisbursedOre() > b.GetReservedOre() || b.GetDisbursedOre() < 0 {
		// Unreachable by the checks before every write; refusing here keeps
		// a bug from ever committing a broken balance.
		return store.Put{}, domain.New(codes.Internal, "LEDGER_INVARIANT", "programme %s: balance %v breaks the ledger's invariants", pr.Msg.GetName(), b)
	}
	return l.programmes.Put(pr)
}

// checkAllocation refuses an allocation that pays out more than it holds.
func checkAllocation(a *fundingv1.Allocation) error {
	if a.GetDisbursedOre() > a.GetReservedOre() || a.GetDisbursedOre() < 0 {
		return domain.New(codes.Internal, "LEDGER_INVARIANT", "allocation %s: disbursed %d öre exceeds reserved %d öre", a.GetName(), a.GetDisbursedOre(), a.GetReservedOre())
	}
	return nil
}

// retryConflicts runs attempt until it reports done, backing off between
// attempts that lost a compare-and-set to another writer (the repository's
// policy; a money call commits several records, so it retries here).
func retryConflicts[T any](ctx context.Context, what string, attempt func() (T, bool, error)) (T, error) {
	var zero T
	for n := 1; ; n++ {
		out, done, err := attempt()
		if lost(err) {
			done, err = false, nil
		}
		if err != nil || done {
			return out, err
		}
		if n == ledgerAttempts {
			return zero, domain.New(codes.Aborted, "LEDGER_CONTENDED", "%s lost %d compare-and-sets to concurrent writers; retry", what, n)
		}
		if err := repo.Wait(ctx, n); err != nil {
			return zero, domain.New(codes.DeadlineExceeded, "LEDGER_BUSY", "%s: %v", what, err)
		}
	}
}

// lost reports whether a commit failed only because another writer got
// there first, so the attempt should be made again on fresh reads.
func lost(err error) bool {
	return errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)
}

// CreateProgramme opens a programme. Only the national coordinator runs
// programmes.
func (l *Ledger) CreateProgramme(ctx context.Context, req *fundingv1.CreateProgrammeRequest) (*fundingv1.Programme, error) {
	who, err := auth.Require(ctx, auth.NationalRegion, auth.Coordinator)
	if err != nil {
		return nil, err
	}
	if err := validateProgramme(req).Err(domain); err != nil {
		return nil, err
	}
	name := programmeName{ID: req.GetProgrammeId()}
	in := req.GetProgramme()
	now := l.now()
	rate := defaultRateBp
	if in.CoFinancingRateBp != nil {
		rate = in.GetCoFinancingRateBp()
	}
	p := &fundingv1.Programme{
		Name:              name.String(),
		Title:             strings.TrimSpace(in.GetTitle()),
		BudgetOre:         in.GetBudgetOre(),
		CoFinancingRateBp: proto.Int32(rate),
		StartDate:         in.GetStartDate(),
		EndDate:           in.GetEndDate(),
		Balance:           &fundingv1.Balance{AvailableOre: in.GetBudgetOre()},
		CreateTime:        timestamppb.New(now),
		UpdateTime:        timestamppb.New(now),
	}
	// Earlier code kept request ids under the raw subject and for ever;
	// they go once per process before the first create.
	if err := l.upgrades.Once(ctx, auth.NationalRegion, func(ctx context.Context) error {
		return l.programmes.ForgetKeys(ctx, auth.NationalRegion, legacyKeys)
	}); err != nil {
		return nil, err
	}
	pr := &programmeRecord{Ref: name.ref(), Msg: p}
	if _, err := l.putProgramme(pr); err != nil {
		return nil, err
	}
	out, _, err := l.programmes.Create(ctx, pr, repo.Create{
		Actor: who.Actor(), Action: "CreateProgramme", Detail: fmt.Sprintf("budget %d öre, rate %d bp", p.GetBudgetOre(), rate),
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "programme",
			Body: &fundingv1.CreateProgrammeRequest{ProgrammeId: req.GetProgrammeId(), Programme: in}},
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

// GetProgramme returns a programme with its balance.
func (l *Ledger) GetProgramme(ctx context.Context, req *fundingv1.GetProgrammeRequest) (*fundingv1.Programme, error) {
	name, err := parseProgrammeName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if _, err := requireAnyRegion(ctx, ledgerReaders()...); err != nil {
		return nil, err
	}
	pr, err := l.programmes.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return pr.Msg, nil
}

// ListProgrammes pages through the programmes by id, either way round.
func (l *Ledger) ListProgrammes(ctx context.Context, req *fundingv1.ListProgrammesRequest) (*fundingv1.ListProgrammesResponse, error) {
	if _, err := requireAnyRegion(ctx, ledgerReaders()...); err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := programmeOrders.Parse(&v, req.GetOrderBy())
	page := repo.Page[*fundingv1.Programme]{
		Plan: filter.Plan[*fundingv1.Programme]{Query: store.Query{Index: "programmes", Reverse: o == 1}},
		Size: size, Digest: resource.Digest("programmes", programmeOrders[o]),
	}
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListProgrammesResponse{}
	next, err := l.programmes.List(ctx, auth.NationalRegion, page, func(e *programmeRecord) (bool, error) {
		resp.Programmes = append(resp.Programmes, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	resp.NextPageToken = next
	return resp, nil
}

// ListAllocations pages through a programme's reservations, oldest first or
// newest first.
func (l *Ledger) ListAllocations(ctx context.Context, req *fundingv1.ListAllocationsRequest) (*fundingv1.ListAllocationsResponse, error) {
	name, err := parseProgrammeName(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if _, err := requireAnyRegion(ctx, ledgerReaders()...); err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := allocationOrders.Parse(&v, req.GetOrderBy())
	page := repo.Page[*fundingv1.Allocation]{
		Plan: filter.Plan[*fundingv1.Allocation]{Query: store.Query{Index: "allocations", Prefix: name.ID + "/", Reverse: o == 1}},
		Size: size, Digest: resource.Digest("allocations", name.ID, allocationOrders[o]),
	}
	page.After = resource.DecodeToken(&v, req.GetPageToken(), page.Digest)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := l.programmes.Get(ctx, name.ref()); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListAllocationsResponse{}
	next, err := l.allocations.List(ctx, auth.NationalRegion, page, func(e *allocationRecord) (bool, error) {
		resp.Allocations = append(resp.Allocations, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	resp.NextPageToken = next
	return resp, nil
}

// ledgerTarget is the parsed programme and subproject of a money call.
func ledgerTarget(v *errs.Violations, programme, subproject string) (programmeName, subprojectName) {
	p, err := parseProgrammeName(programme)
	if err != nil {
		v.Add("programme", "%v", err)
	}
	s, err := parseSubprojectName(subproject)
	if err != nil {
		v.Add("subproject", "%v", err)
	}
	return p, s
}

// ReserveFunds reserves amount_ore of a programme for a subproject. The
// allocation record is the key: it is created in the same commit that takes
// the money from the programme's balance, so a repeated call finds it and
// returns it instead of reserving again.
func (l *Ledger) ReserveFunds(ctx context.Context, req *fundingv1.ReserveFundsRequest) (*fundingv1.Allocation, error) {
	var v errs.Violations
	prog, sub := ledgerTarget(&v, req.GetProgramme(), req.GetSubproject())
	if amt := req.GetAmountOre(); amt < 0 || amt > maxAmountOre {
		v.Add("amount_ore", "must be between 0 and %d öre, got %d", maxAmountOre, amt)
	}
	who, err := requireAnyRegion(ctx, auth.Coordinator, auth.Service)
	if err != nil {
		return nil, err
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	unlock, err := l.lock(ctx, prog)
	if err != nil {
		return nil, err
	}
	defer unlock()
	amount := req.GetAmountOre()
	return retryConflicts(ctx, "reservation on "+prog.String(), func() (*fundingv1.Allocation, bool, error) {
		a, err := l.getAllocation(ctx, prog, sub)
		if err != nil {
			return nil, false, err
		}
		if a != nil {
			a, err := replayedReservation(a.Msg, prog, sub, amount)
			return a, true, err
		}
		pr, err := l.programmes.Get(ctx, prog.ref())
		if err != nil {
			return nil, false, err
		}
		if avail := pr.Msg.GetBalance().GetAvailableOre(); amount > avail {
			// A twin of this call in another replica may have reserved in
			// the meantime; then that reservation is the answer.
			if a, err := l.getAllocation(ctx, prog, sub); err != nil || a != nil {
				if err != nil {
					return nil, false, err
				}
				a, err := replayedReservation(a.Msg, prog, sub, amount)
				return a, true, err
			}
			return nil, false, domain.FailedPrecondition("INSUFFICIENT_FUNDS",
				"programme %s has %d öre available; subproject %s needs %d öre", prog, avail, sub, amount)
		}
		now := l.now()
		before := pr.Version
		pr.Msg.Balance.ReservedOre += amount
		pr.Msg.UpdateTime = timestamppb.New(now)
		pp, err := l.putProgramme(pr)
		if err != nil {
			return nil, false, err
		}
		alloc := &allocationRecord{Ref: allocationRef(prog, sub), Msg: &fundingv1.Allocation{
			Name:        allocationName(prog, sub),
			Subproject:  sub.String(),
			ReservedOre: amount,
			ReserveTime: timestamppb.New(now),
		}}
		// One audit record per reservation: the allocation it created, with
		// the programme's balance change in its detail.
		out, _, err := l.allocations.Create(ctx, alloc, repo.Create{
			Actor: who.Actor(), Action: "ReserveFunds", Puts: []store.Put{pp},
			Detail: programmeDetail(fmt.Sprintf("reserved %d öre for %s", amount, sub), prog.String(), before),
		})
		if err != nil {
			return nil, false, err
		}
		return out.Msg, true, nil
	})
}

// replayedReservation answers a reservation that exists already: the same
// request gets it back; another amount or programme for the same subproject
// is refused, since a subproject reserves once.
func replayedReservation(a *fundingv1.Allocation, prog programmeName, sub subprojectName, amount int64) (*fundingv1.Allocation, error) {
	if a.GetReserveTime() == nil {
		return nil, domain.FailedPrecondition("FUNDS_RELEASED",
			"subproject %s was released on the ledger before it reserved anything; it cannot reserve any more", sub)
	}
	if !strings.HasPrefix(a.GetName(), prog.String()+"/") {
		return nil, domain.New(codes.AlreadyExists, "RESERVATION_EXISTS",
			"subproject %s already holds a reservation on another programme (%s)", sub, a.GetName())
	}
	if first := a.GetReservedOre() + a.GetReleasedOre(); first != amount {
		return nil, domain.New(codes.AlreadyExists, "RESERVATION_EXISTS",
			"subproject %s already holds a reservation of %d öre, not %d öre", sub, first, amount)
	}
	return a, nil
}

// RecordPayment pays out of a subproject's reservation for one cost report,
// at most what is reserved and not yet paid. The payment record is the key:
// a repeated call for the same cost report returns the first payment.
func (l *Ledger) RecordPayment(ctx context.Context, req *fundingv1.RecordPaymentRequest) (*fundingv1.RecordPaymentResponse, error) {
	var v errs.Violations
	prog, sub := ledgerTarget(&v, req.GetProgramme(), req.GetSubproject())
	report, err := parseCostReportName(req.GetCostReport())
	switch {
	case err != nil:
		v.Add("cost_report", "%v", err)
	case report.Subproject != sub:
		v.Add("cost_report", "%s is not a cost report of %s", req.GetCostReport(), req.GetSubproject())
	}
	if amt := req.GetAmountOre(); amt < 0 || amt > maxAmountOre {
		v.Add("amount_ore", "must be between 0 and %d öre, got %d", maxAmountOre, amt)
	}
	who, err := requireAnyRegion(ctx, auth.Coordinator, auth.Service)
	if err != nil {
		return nil, err
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	unlock, err := l.lock(ctx, prog)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return retryConflicts(ctx, "payment on "+prog.String(), func() (*fundingv1.RecordPaymentResponse, bool, error) {
		var out *fundingv1.RecordPaymentResponse
		ran := false // apply ran: the allocation exists
		a, _, err := l.allocations.Update(ctx, allocationRef(prog, sub), "", who.Actor(), func(a *allocationRecord, now time.Time) (repo.Change, error) {
			ran = true
			if pay, err := l.payments.Get(ctx, paymentRef(report)); err == nil {
				// The payment record is the key: a repeated call gets it back.
				out = &fundingv1.RecordPaymentResponse{Payment: pay.Msg}
				return repo.Change{Noop: true}, nil
			} else if !errors.Is(err, store.ErrNotFound) {
				return repo.Change{}, err
			}
			switch {
			case a.Msg.GetReserveTime() == nil:
				return repo.Change{}, noReservation(prog, sub)
			case !strings.HasPrefix(a.Msg.GetName(), prog.String()+"/"):
				return repo.Change{}, domain.FailedPrecondition("OTHER_PROGRAMME", "subproject %s is funded by another programme (%s)", sub, a.Msg.GetName())
			case a.Msg.GetReleaseTime() != nil:
				return repo.Change{}, domain.FailedPrecondition("ALLOCATION_RELEASED", "the reservation of %s was released; it takes no more payments", sub)
			}
			pr, err := l.programmes.Get(ctx, prog.ref())
			if err != nil {
				return repo.Change{}, err
			}
			amount := min(req.GetAmountOre(), a.Msg.GetReservedOre()-a.Msg.GetDisbursedOre())
			before := pr.Version
			pr.Msg.Balance.DisbursedOre += amount
			pr.Msg.UpdateTime = timestamppb.New(now)
			a.Msg.DisbursedOre += amount
			if err := checkAllocation(a.Msg); err != nil {
				return repo.Change{}, err
			}
			pp, err := l.putProgramme(pr)
			if err != nil {
				return repo.Change{}, err
			}
			pay := &repo.Entry[*fundingv1.Payment]{Ref: paymentRef(report), Msg: &fundingv1.Payment{CostReport: report.String(), AmountOre: amount, CreateTime: timestamppb.New(now)}}
			payPut, err := l.payments.Put(pay)
			if err != nil {
				return repo.Change{}, err
			}
			out = &fundingv1.RecordPaymentResponse{Payment: pay.Msg}
			return repo.Change{
				Action: "RecordPayment", Puts: []store.Put{pp, payPut},
				Detail: programmeDetail(fmt.Sprintf("paid %d öre for %s", amount, report), prog.String(), before),
			}, nil
		})
		if !ran && errors.Is(err, store.ErrNotFound) {
			return nil, false, noReservation(prog, sub)
		}
		if err != nil {
			return nil, false, err
		}
		out.Allocation = a.Msg
		return out, true, nil
	})
}

func noReservation(prog programmeName, sub subprojectName) error {
	return domain.FailedPrecondition("NO_RESERVATION", "subproject %s holds no reservation on %s", sub, prog)
}

// ReleaseFunds gives back what a subproject reserved and was not paid, and
// closes its allocation. Releasing a subproject without a reservation leaves
// a marker that refuses a reservation arriving later: a rejected or
// withdrawn subproject is released, and an approval racing with that
// decision must not reserve money afterwards.
func (l *Ledger) ReleaseFunds(ctx context.Context, req *fundingv1.ReleaseFundsRequest) (*fundingv1.Allocation, error) {
	var v errs.Violations
	prog, sub := ledgerTarget(&v, req.GetProgramme(), req.GetSubproject())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	// Giving money back is safe, so a region's own admin may release their
	// subprojects (closing one is their call).
	who, err := auth.Require(ctx, sub.Region, auth.Coordinator, auth.Service, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	unlock, err := l.lock(ctx, prog)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return retryConflicts(ctx, "release on "+prog.String(), func() (*fundingv1.Allocation, bool, error) {
		ran := false // apply ran: the allocation exists
		a, _, err := l.allocations.Update(ctx, allocationRef(prog, sub), "", who.Actor(), func(a *allocationRecord, now time.Time) (repo.Change, error) {
			ran = true
			pr, err := l.programmes.Get(ctx, prog.ref())
			if err != nil {
				return repo.Change{}, err
			}
			if !strings.HasPrefix(a.Msg.GetName(), prog.String()+"/") {
				return repo.Change{}, domain.FailedPrecondition("OTHER_PROGRAMME", "subproject %s is funded by another programme (%s)", sub, a.Msg.GetName())
			}
			if a.Msg.GetReleaseTime() != nil {
				return repo.Change{Noop: true}, nil // release is final
			}
			rest := a.Msg.GetReservedOre() - a.Msg.GetDisbursedOre()
			before := pr.Version
			pr.Msg.Balance.ReservedOre -= rest
			pr.Msg.UpdateTime = timestamppb.New(now)
			a.Msg.ReservedOre = a.Msg.GetDisbursedOre()
			a.Msg.ReleasedOre = rest
			a.Msg.ReleaseTime = timestamppb.New(now)
			if err := checkAllocation(a.Msg); err != nil {
				return repo.Change{}, err
			}
			pp, err := l.putProgramme(pr)
			if err != nil {
				return repo.Change{}, err
			}
			return repo.Change{
				Action: "ReleaseFunds", Puts: []store.Put{pp},
				Detail: programmeDetail(fmt.Sprintf("released %d öre of %s", rest, sub), prog.String(), before),
			}, nil
		})
		if err == nil {
			return a.Msg, true, nil
		}
		if !ran && errors.Is(err, store.ErrNotFound) {
			return l.releaseMarker(ctx, who, prog, sub)
		}
		return nil, false, err
	})
}

// releaseMarker releases a subproject that reserved nothing yet: a marker
// allocation that refuses a later reservation.
func (l *Ledger) releaseMarker(ctx context.Context, who *auth.Identity, prog programmeName, sub subprojectName) (*fundingv1.Allocation, bool, error) {
	if _, err := l.programmes.Get(ctx, prog.ref()); err != nil {
		return nil, false, err
	}
	marker := &allocationRecord{Ref: allocationRef(prog, sub), Msg: &fundingv1.Allocation{
		Name: allocationName(prog, sub), Subproject: sub.String(), ReleaseTime: timestamppb.New(l.now()),
	}}
	out, _, err := l.allocations.Create(ctx, marker, repo.Create{Actor: who.Actor(), Action: "ReleaseFunds", Detail: "released before any reservation"})
	if err != nil {
		return nil, false, err
	}
	return out.Msg, true, nil
}

// programmeDetail is a money movement's audit detail: what moved, and the
// programme whose balance it changed, with that record's etags, since the
// movement is recorded once, on its allocation.
func programmeDetail(detail, programme string, before int64) string {
	return fmt.Sprintf("%s; programme %s etag %s → %s", detail, programme, repo.Etag(before), repo.Etag(before+1))
}
