// Package reports owns a region's reports over time: aggregates that a
// follower of each service's audit log keeps in the store, with its cursor,
// so a report reads a few aggregate records whatever the number of ideas,
// needs, offers or ledger movements (docs/architecture.md, "Reports and
// exports").
package reports

import (
	"context"
	"log/slog"

	"time"

	"google.golang.org/grpc/codes"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

const domain errs.Domain = "reports.motor"

// DefaultFollowInterval is how often the followers read the audit logs.
const DefaultFollowInterval = 5 * time.Second

// requestBatches bounds the catching up a request does before it answers:
// the follower in the background does the rest, and the report says which
// audit event it includes.
const requestBatches = 4

// Config is what the reports service is built from.
type Config struct {
	Store   store.Store
	Regions config.Served
	// Ideas, Needs and Offers read the resources the audit logs name, as
	// this deployment itself (no personal data is read).
	Ideas  IdeaSource
	Needs  NeedSource
	Offers OfferSource
	// Directory lists every region the deployment reaches and
	// RegionReports reaches a region's reports service: the national
	// report's fan-out.
	Directory     func() []string
	RegionReports RegionReports
	// RegionTimeout bounds each region's answer (DefaultRegionTimeout).
	RegionTimeout time.Duration
	// LedgerElsewhere names the deployment that keeps the programme ledger
	// when it is not this one ("" when it is).
	LedgerElsewhere string
	Logger          *slog.Logger
	Now             func() time.Time
	// Batch is how many audit events one commit folds in (default 200).
	Batch int
}

// OfferSource reads an offer's facts as this deployment.
type OfferSource = factsOf

// Server answers ReportService.
type Server struct {
	reportsv1.UnimplementedReportServiceServer
	store           store.Store
	regions         config.Served
	logger          *slog.Logger
	now             func() time.Time
	ledgerElsewhere string
	directory       func() []string
	regionReports   RegionReports
	regionTimeout   time.Duration

	followers map[string]*logFollower
	order     []string
}

// New builds the service.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now,
		ledgerElsewhere: cfg.LedgerElsewhere, followers: map[string]*logFollower{},
		directory: cfg.Directory, regionReports: cfg.RegionReports, regionTimeout: cfg.RegionTimeout}
	if s.regionTimeout <= 0 {
		s.regionTimeout = DefaultRegionTimeout
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = 200
	}
	add := func(fam family, region string, source store.Namespace, apply func(context.Context, *txn, []store.Event) error) {
		key := followerKey(fam, region)
		s.followers[key] = &logFollower{store: cfg.Store, source: source, ns: ns(region), cursor: fam.cursorKey(), batch: batch, apply: apply}
		s.order = append(s.order, key)
	}
	for _, region := range cfg.Regions.IDs() {
		if cfg.Ideas != nil {
			add(ideaFamily, region, store.Namespace{Service: "idea", Region: region}, foldFacts[monthAgg](ideaFamily, region, "ideas", cfg.Ideas.facts))
		}
		if cfg.Needs != nil {
			add(needFamily, region, store.Namespace{Service: "needs", Region: region}, foldFacts[needMonth](needFamily, region, "needs", cfg.Needs))
		}
		if cfg.Offers != nil {
			add(offerFamily, region, store.Namespace{Service: "partner", Region: region}, foldFacts[offerMonth](offerFamily, region, "offers", cfg.Offers))
		}
	}
	if cfg.LedgerElsewhere == "" {
		add(moneyFamily, "national", ledgerLog(), foldMoney)
	}
	return s
}

func followerKey(fam family, region string) string { return string(fam) + "/" + region }

func ns(region string) store.Namespace { return store.Namespace{Service: "reports", Region: region} }

// Follow keeps every aggregate current until ctx ends.
func (s *Server) Follow(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, key := range s.order {
			if _, err := s.sync(ctx, key, 0, true); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "reports: following an audit log failed; retrying", "log", key, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncAll folds every log to its end (tests, benchmarks).
func (s *Server) SyncAll(ctx context.Context) error {
	for _, key := range s.order {
		if _, err := s.sync(ctx, key, 0, true); err != nil {
			return err
		}
	}
	return nil
}

// sync folds up to batches batches of one log (0: to its end). Unless
// wait, it does not wait for a fold under way (the background follower's
// first catch-up may be long) and answers the position as it stands.
func (s *Server) sync(ctx context.Context, key string, batches int, wait bool) (int64, error) {
	f := s.followers[key]
	if wait {
		f.mu.Lock()
	} else if !f.mu.TryLock() {
		return f.position(ctx)
	}
	defer f.mu.Unlock()
	return f.sync(ctx, batches)
}

// catchUp brings one family's aggregates nearly up to date before a report
// and returns the audit sequence they include.
func (s *Server) catchUp(ctx context.Context, fam family, region string) (int64, error) {
	key := followerKey(fam, region)
	if s.followers[key] == nil {
		return 0, domain.New(codes.Unimplemented, "REPORT_NOT_KEPT", "this deployment keeps no %s figures for %s", fam, region)
	}
	seq, err := s.sync(ctx, key, requestBatches, false)
	if err == nil {
		return seq, nil
	}
	// The figures as they stand are still a true report up to the
	// sequence they name.
	s.logger.WarnContext(ctx, "reports: catching up with an audit log failed", "log", key, "error", err)
	seq, err = s.followers[key].position(ctx)
	if err != nil {
		return 0, domain.Store(err, "REPORT", string(fam)+" report of "+region)
	}
	return seq, nil
}

// readers are who may read a region's reports.
func readers() []auth.Role { return []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Coordinator} }

// regionQuery checks a region report's request: parent, the caller, then
// period and interval (every bad one named at once).
func (s *Server) regionQuery(ctx context.Context, parent, rawPeriod, rawInterval string) (string, period, interval, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, parent, readers()...)
	if err != nil {
		return "", period{}, "", err
	}
	var v errs.Violations
	p, iv := parseQuery(&v, rawPeriod, rawInterval, byMonth, s.now())
	if err := v.Err(domain); err != nil {
		return "", period{}, "", err
	}
	return region, p, iv, nil
}

// GetIdeaReport answers a region's ideas over a period.
func (s *Server) GetIdeaReport(ctx context.Context, req *reportsv1.GetIdeaReportRequest) (*reportsv1.IdeaReport, error) {
	region, p, iv, err := s.regionQuery(ctx, req.GetParent(), req.GetPeriod(), req.GetInterval())
	if err != nil {
		return nil, err
	}
	seq, err := s.catchUp(ctx, ideaFamily, region)
	if err != nil {
		return nil, err
	}
	months, err := readMonths[monthAgg](ctx, s.store, ns(region), ideaFamily, p)
	if err != nil {
		return nil, domain.Store(err, "REPORT", "idea report of "+region)
	}
	out := ideaReport(region, p, iv, months)
	out.AuditSequence = seq
	return out, nil
}

// GetNeedReport answers a region's needs over a period.
func (s *Server) GetNeedReport(ctx context.Context, req *reportsv1.GetNeedReportRequest) (*reportsv1.NeedReport, error) {
	region, p, iv, err := s.regionQuery(ctx, req.GetParent(), req.GetPeriod(), req.GetInterval())
	if err != nil {
		return nil, err
	}
	seq, err := s.catchUp(ctx, needFamily, region)
	if err != nil {
		return nil, err
	}
	months, err := readMonthsUpTo[needMonth](ctx, s.store, ns(region), needFamily, p.to)
	if err != nil {
		return nil, domain.Store(err, "REPORT", "needs report of "+region)
	}
	out := needReport(region, p, iv, months)
	out.AuditSequence = seq
	return out, nil
}

// GetOfferReport answers how a region answered offers over a period.
func (s *Server) GetOfferReport(ctx context.Context, req *reportsv1.GetOfferReportRequest) (*reportsv1.OfferReport, error) {
	region, p, iv, err := s.regionQuery(ctx, req.GetParent(), req.GetPeriod(), req.GetInterval())
	if err != nil {
		return nil, err
	}
	seq, err := s.catchUp(ctx, offerFamily, region)
	if err != nil {
		return nil, err
	}
	months, err := readMonths[offerMonth](ctx, s.store, ns(region), offerFamily, p)
	if err != nil {
		return nil, domain.Store(err, "REPORT", "offer report of "+region)
	}
	out := offerReport(region, p, iv, months)
	out.AuditSequence = seq
	return out, nil
}

// GetMoneyReport answers the programme ledger's money over a period.
func (s *Server) GetMoneyReport(ctx context.Context, req *reportsv1.GetMoneyReportRequest) (*reportsv1.MoneyReport, error) {
	if _, err := auth.Require(ctx, auth.NationalRegion, auth.Coordinator); err != nil {
		return nil, err
	}
	if s.ledgerElsewhere != "" {
		return nil, domain.FailedPrecondition("LEDGER_ELSEWHERE",
			"the programme ledger is kept by %s: ask that deployment for the money report", s.ledgerElsewhere)
	}
	var v errs.Violations
	p, iv := parseQuery(&v, req.GetPeriod(), req.GetInterval(), byQuarter, s.now())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	seq, err := s.catchUp(ctx, moneyFamily, "national")
	if err != nil {
		return nil, err
	}
	months, err := readMonths[moneyMonth](ctx, s.store, moneyNS(), moneyFamily, p)
	if err != nil {
		return nil, domain.Store(err, "REPORT", "money report")
	}
	out := moneyReport(p, iv, months)
	for _, a := range months {
		out.UnreadMovements += a.Unread
	}
	out.AuditSequence = seq
	return out, nil
}
