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

// programmeRecord is a programme as read, with the version to
// compare-and-set against.
type programmeRecord struct {
	p       *fundingv1.Programme
	version int64
}

func (l *Ledger) getProgramme(ctx context.Context, name programmeName) (programmeRecord, error) {
	rec, err := l.store.Get(ctx, nationalNS(), name.key())
	if err != nil {
		return programmeRecord{}, domain.Store(err, "PROGRAMME", "programme "+name.String())
	}
	p := &fundingv1.Programme{}
	if err := decode(rec, p); err != nil {
		return programmeRecord{}, domain.Store(err, "PROGRAMME", "programme "+name.String())
	}
	return programmeRecord{p: p, version: rec.Version}, nil
}

// getAllocation returns the subproject's allocation, or nil when it has none.
func (l *Ledger) getAllocation(ctx context.Context, sub subprojectName) (*fundingv1.Allocation, int64, error) {
	rec, err := l.store.Get(ctx, nationalNS(), allocationKey(sub))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, domain.Store(err, "ALLOCATION", "allocation of "+sub.String())
	}
	a := &fundingv1.Allocation{}
	if err := decode(rec, a); err != nil {
		return nil, 0, domain.Store(err, "ALLOCATION", "allocation of "+sub.String())
	}
	return a, rec.Version, nil
}

func programmeIndex(p *fundingv1.Programme) []store.IndexEntry {
	return []store.IndexEntry{{Index: "programmes", Term: strings.TrimPrefix(p.GetName(), "programmes/")}}
}

func allocationIndex(prog programmeName, a *fundingv1.Allocation) []store.IndexEntry {
	if a.GetReserveTime() == nil {
		return nil // a release without reservation is a marker, not an allocation
	}
	return []store.IndexEntry{{Index: "allocations", Term: prog.ID + "/" + sortable(a.GetReserveTime().AsTime())}}
}

// putProgramme is the compare-and-set of a programme's new balance.
func putProgramme(pr programmeRecord) (store.Put, error) {
	b := pr.p.GetBalance()
	b.AvailableOre = pr.p.GetBudgetOre() - b.GetReservedOre()
	if b.GetAvailableOre() < 0 || b.GetDisbursedOre() > b.GetReservedOre() || b.GetDisbursedOre() < 0 {
		// Unreachable by the checks before every write; refusing here keeps
		// a bug from ever committing a broken balance.
		return store.Put{}, fmt.Errorf("programme %s: balance %v breaks the ledger's invariants", pr.p.GetName(), b)
	}
	v, err := encode(pr.p)
	if err != nil {
		return store.Put{}, err
	}
	return store.Put{Key: "programme/" + strings.TrimPrefix(pr.p.GetName(), "programmes/"), Value: v, Version: pr.version, Index: programmeIndex(pr.p)}, nil
}

func putAllocation(prog programmeName, sub subprojectName, a *fundingv1.Allocation, version int64) (store.Put, error) {
	if a.GetDisbursedOre() > a.GetReservedOre() || a.GetDisbursedOre() < 0 {
		return store.Put{}, fmt.Errorf("allocation %s: disbursed %d öre exceeds reserved %d öre", a.GetName(), a.GetDisbursedOre(), a.GetReservedOre())
	}
	v, err := encode(a)
	if err != nil {
		return store.Put{}, err
	}
	return store.Put{Key: allocationKey(sub), Value: v, Version: version, Index: allocationIndex(prog, a)}, nil
}

// retryConflicts runs attempt until it reports done, backing off between
// attempts that lost a compare-and-set to another writer.
func retryConflicts[T any](ctx context.Context, what string, attempt func() (T, bool, error)) (T, error) {
	var zero T
	for n := 1; ; n++ {
		out, done, err := attempt()
		if err != nil || done {
			return out, err
		}
		if n == ledgerAttempts {
			return zero, domain.New(codes.Aborted, "LEDGER_CONTENDED", "%s lost %d compare-and-sets to concurrent writers; retry", what, n)
		}
		if err := backoff(ctx, n, time.Millisecond, 50*time.Millisecond); err != nil {
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
	put, err := putProgramme(programmeRecord{p: p})
	if err != nil {
		return nil, domain.Store(err, "PROGRAMME", "programme "+p.GetName())
	}
	w := store.Write{
		Puts: []store.Put{put},
		Events: []store.Event{{Time: now, Actor: who.Actor(), Action: "CreateProgramme", Key: p.GetName(), EtagAfter: "1",
			Detail: fmt.Sprintf("budget %d öre, rate %d bp", p.GetBudgetOre(), rate)}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         createKey("programme", who, rid),
			Fingerprint: resource.Fingerprint(&fundingv1.CreateProgrammeRequest{ProgrammeId: req.GetProgrammeId(), Programme: in}),
			Result:      []byte(p.GetName()),
		}
	}
	res, err := l.store.Commit(ctx, nationalNS(), w)
	if err != nil {
		return nil, domain.Store(err, "PROGRAMME", "programme "+p.GetName())
	}
	if res.Replayed {
		first, err := parseProgrammeName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "PROGRAMME", "replayed programme")
		}
		pr, err := l.getProgramme(ctx, first)
		return pr.p, err
	}
	p.Etag = etagOf(res.Versions[0])
	return p, nil
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
	pr, err := l.getProgramme(ctx, name)
	return pr.p, err
}

// ListProgrammes pages through the programmes by id.
func (l *Ledger) ListProgrammes(ctx context.Context, req *fundingv1.ListProgrammesRequest) (*fundingv1.ListProgrammesResponse, error) {
	if _, err := requireAnyRegion(ctx, ledgerReaders()...); err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	query := resource.Digest("programmes")
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListProgrammesResponse{}
	next, err := scanPage(ctx, l.store, nationalNS(), store.Query{Index: "programmes", After: after, Limit: size}, query, func(rec store.Record) error {
		p := &fundingv1.Programme{}
		resp.Programmes = append(resp.Programmes, p)
		return decode(rec, p)
	})
	if err != nil {
		return nil, domain.Store(err, "PROGRAMME", "programmes")
	}
	resp.NextPageToken = next
	return resp, nil
}

// ListAllocations pages through a programme's reservations, oldest first.
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
	query := resource.Digest("allocations", name.ID)
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := l.getProgramme(ctx, name); err != nil {
		return nil, err
	}
	resp := &fundingv1.ListAllocationsResponse{}
	q := store.Query{Index: "allocations", Prefix: name.ID + "/", After: after, Limit: size}
	next, err := scanPage(ctx, l.store, nationalNS(), q, query, func(rec store.Record) error {
		a := &fundingv1.Allocation{}
		resp.Allocations = append(resp.Allocations, a)
		return decode(rec, a)
	})
	if err != nil {
		return nil, domain.Store(err, "ALLOCATION", "allocations of "+name.String())
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
		a, _, err := l.getAllocation(ctx, sub)
		if err != nil {
			return nil, false, err
		}
		if a != nil {
			a, err := replayedReservation(a, prog, sub, amount)
			return a, true, err
		}
		pr, err := l.getProgramme(ctx, prog)
		if err != nil {
			return nil, false, err
		}
		if avail := pr.p.GetBalance().GetAvailableOre(); amount > avail {
			// A twin of this call in another replica may have reserved in
			// the meantime; then that reservation is the answer.
			if a, _, err := l.getAllocation(ctx, sub); err != nil || a != nil {
				if err != nil {
					return nil, false, err
				}
				a, err := replayedReservation(a, prog, sub, amount)
				return a, true, err
			}
			return nil, false, domain.FailedPrecondition("INSUFFICIENT_FUNDS",
				"programme %s has %d öre available; subproject %s needs %d öre", prog, avail, sub, amount)
		}
		now := l.now()
		before := pr.version
		pr.p.Balance.ReservedOre += amount
		pr.p.UpdateTime = timestamppb.New(now)
		a = &fundingv1.Allocation{
			Name:        allocationName(prog, sub),
			Subproject:  sub.String(),
			ReservedOre: amount,
			ReserveTime: timestamppb.New(now),
		}
		pp, err := putProgramme(pr)
		if err != nil {
			return nil, false, domain.Store(err, "PROGRAMME", "programme "+prog.String())
		}
		ap, err := putAllocation(prog, sub, a, 0)
		if err != nil {
			return nil, false, domain.Store(err, "ALLOCATION", "allocation "+a.GetName())
		}
		detail := fmt.Sprintf("reserved %d öre for %s", amount, sub)
		_, err = l.store.Commit(ctx, nationalNS(), store.Write{
			Puts: []store.Put{pp, ap},
			Events: []store.Event{
				// One record per reservation: the allocation it created, with
				// the programme's balance change in its detail.
				{Time: now, Actor: who.Actor(), Action: "ReserveFunds", Key: a.GetName(), EtagAfter: "1", Detail: programmeDetail(detail, prog.String(), before)},
			},
		})
		if lost(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, domain.Store(err, "ALLOCATION", "reservation for "+sub.String())
		}
		return a, true, nil
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
		if rec, err := l.store.Get(ctx, nationalNS(), paymentKey(report)); err == nil {
			pay := &fundingv1.Payment{}
			if err := decode(rec, pay); err != nil {
				return nil, false, domain.Store(err, "PAYMENT", "payment for "+report.String())
			}
			a, _, err := l.getAllocation(ctx, sub)
			return &fundingv1.RecordPaymentResponse{Allocation: a, Payment: pay}, true, err
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, false, domain.Store(err, "PAYMENT", "payment for "+report.String())
		}
		a, aVersion, err := l.getAllocation(ctx, sub)
		if err != nil {
			return nil, false, err
		}
		switch {
		case a == nil || a.GetReserveTime() == nil:
			return nil, false, domain.FailedPrecondition("NO_RESERVATION", "subproject %s holds no reservation on %s", sub, prog)
		case !strings.HasPrefix(a.GetName(), prog.String()+"/"):
			return nil, false, domain.FailedPrecondition("OTHER_PROGRAMME", "subproject %s is funded by another programme (%s)", sub, a.GetName())
		case a.GetReleaseTime() != nil:
			return nil, false, domain.FailedPrecondition("ALLOCATION_RELEASED", "the reservation of %s was released; it takes no more payments", sub)
		}
		pr, err := l.getProgramme(ctx, prog)
		if err != nil {
			return nil, false, err
		}
		amount := min(req.GetAmountOre(), a.GetReservedOre()-a.GetDisbursedOre())
		now := l.now()
		before := pr.version
		pr.p.Balance.DisbursedOre += amount
		pr.p.UpdateTime = timestamppb.New(now)
		a.DisbursedOre += amount
		pay := &fundingv1.Payment{CostReport: report.String(), AmountOre: amount, CreateTime: timestamppb.New(now)}
		pp, err := putProgramme(pr)
		if err != nil {
			return nil, false, domain.Store(err, "PROGRAMME", "programme "+prog.String())
		}
		ap, err := putAllocation(prog, sub, a, aVersion)
		if err != nil {
			return nil, false, domain.Store(err, "ALLOCATION", "allocation "+a.GetName())
		}
		payValue, err := encode(pay)
		if err != nil {
			return nil, false, domain.Store(err, "PAYMENT", "payment for "+report.String())
		}
		detail := fmt.Sprintf("paid %d öre for %s", amount, report)
		_, err = l.store.Commit(ctx, nationalNS(), store.Write{
			Puts: []store.Put{pp, ap, {Key: paymentKey(report), Value: payValue}},
			Events: []store.Event{
				{Time: now, Actor: who.Actor(), Action: "RecordPayment", Key: a.GetName(), EtagBefore: etagOf(aVersion), EtagAfter: etagOf(aVersion + 1), Detail: programmeDetail(detail, prog.String(), before)},
			},
		})
		if lost(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, domain.Store(err, "PAYMENT", "payment for "+report.String())
		}
		return &fundingv1.RecordPaymentResponse{Allocation: a, Payment: pay}, true, nil
	})
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
		a, aVersion, err := l.getAllocation(ctx, sub)
		if err != nil {
			return nil, false, err
		}
		pr, err := l.getProgramme(ctx, prog)
		if err != nil {
			return nil, false, err
		}
		now := l.now()
		if a == nil {
			marker := &fundingv1.Allocation{Name: allocationName(prog, sub), Subproject: sub.String(), ReleaseTime: timestamppb.New(now)}
			ap, err := putAllocation(prog, sub, marker, 0)
			if err != nil {
				return nil, false, domain.Store(err, "ALLOCATION", "allocation "+marker.GetName())
			}
			_, err = l.store.Commit(ctx, nationalNS(), store.Write{
				Puts:   []store.Put{ap},
				Events: []store.Event{{Time: now, Actor: who.Actor(), Action: "ReleaseFunds", Key: marker.GetName(), EtagAfter: "1", Detail: "released before any reservation"}},
			})
			if lost(err) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, domain.Store(err, "ALLOCATION", "release of "+sub.String())
			}
			return marker, true, nil
		}
		if !strings.HasPrefix(a.GetName(), prog.String()+"/") {
			return nil, false, domain.FailedPrecondition("OTHER_PROGRAMME", "subproject %s is funded by another programme (%s)", sub, a.GetName())
		}
		if a.GetReleaseTime() != nil {
			return a, true, nil
		}
		rest := a.GetReservedOre() - a.GetDisbursedOre()
		before := pr.version
		pr.p.Balance.ReservedOre -= rest
		pr.p.UpdateTime = timestamppb.New(now)
		a.ReservedOre = a.GetDisbursedOre()
		a.ReleasedOre = rest
		a.ReleaseTime = timestamppb.New(now)
		pp, err := putProgramme(pr)
		if err != nil {
			return nil, false, domain.Store(err, "PROGRAMME", "programme "+prog.String())
		}
		ap, err := putAllocation(prog, sub, a, aVersion)
		if err != nil {
			return nil, false, domain.Store(err, "ALLOCATION", "allocation "+a.GetName())
		}
		detail := fmt.Sprintf("released %d öre of %s", rest, sub)
		_, err = l.store.Commit(ctx, nationalNS(), store.Write{
			Puts: []store.Put{pp, ap},
			Events: []store.Event{
				{Time: now, Actor: who.Actor(), Action: "ReleaseFunds", Key: a.GetName(), EtagBefore: etagOf(aVersion), EtagAfter: etagOf(aVersion + 1), Detail: programmeDetail(detail, prog.String(), before)},
			},
		})
		if lost(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, domain.Store(err, "ALLOCATION", "release of "+sub.String())
		}
		return a, true, nil
	})
}

// programmeDetail is a money movement's audit detail: what moved, and the
// programme whose balance it changed, with that record's etags, since the
// movement is recorded once, on its allocation.
func programmeDetail(detail, programme string, before int64) string {
	return fmt.Sprintf("%s; programme %s etag %s → %s", detail, programme, etagOf(before), etagOf(before+1))
}
