// Package reports owns a region's reports over time: aggregates that a
// follower of each service's audit log keeps in the store, with its cursor,
// so a report reads a few aggregate records whatever the number of ideas,
// needs or subprojects (docs/architecture.md, "Reports and exports").
package reports

import (
	"context"
	"log/slog"
	"sync"
	"time"

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
	// Ideas reads an idea and its history as this deployment itself.
	Ideas  IdeaSource
	Logger *slog.Logger
	Now    func() time.Time
	// Batch is how many audit events one commit folds in (default 200).
	Batch int
}

// Server answers ReportService.
type Server struct {
	reportsv1.UnimplementedReportServiceServer
	store   store.Store
	regions config.Served
	logger  *slog.Logger
	now     func() time.Time

	mu    sync.Mutex // one fold at a time per process; replicas are kept apart by the store
	ideas map[string]*logFollower
}

// New builds the service.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now, ideas: map[string]*logFollower{}}
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
	for _, region := range cfg.Regions.IDs() {
		s.ideas[region] = &logFollower{
			store:  cfg.Store,
			source: store.Namespace{Service: "idea", Region: region},
			ns:     ns(region),
			cursor: ideaCursorKey,
			batch:  batch,
			apply:  foldIdeas(region, cfg.Ideas),
		}
	}
	return s
}

func ns(region string) store.Namespace { return store.Namespace{Service: "reports", Region: region} }

// Follow keeps every region's aggregates current until ctx ends.
func (s *Server) Follow(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, region := range s.regions.IDs() {
			if _, err := s.syncIdeas(ctx, region, 0); err != nil && ctx.Err() == nil {
				s.logger.WarnContext(ctx, "reports: following the idea log failed; retrying", "region", region, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// SyncAll folds every served region's logs to their end (tests, benchmarks).
func (s *Server) SyncAll(ctx context.Context) error {
	for _, region := range s.regions.IDs() {
		if _, err := s.syncIdeas(ctx, region, 0); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) syncIdeas(ctx context.Context, region string, batches int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ideas[region].sync(ctx, batches)
}

// catchUp folds a few batches before a report, unless the background
// follower is folding already (a long first catch-up): then the report
// answers from the aggregates as they stand.
func (s *Server) catchUp(ctx context.Context, region string) (int64, error) {
	if !s.mu.TryLock() {
		return s.ideas[region].position(ctx)
	}
	defer s.mu.Unlock()
	return s.ideas[region].sync(ctx, requestBatches)
}

// readers are who may read a region's reports.
func readers() []auth.Role { return []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Coordinator} }

// GetIdeaReport answers a region's ideas over a period.
func (s *Server) GetIdeaReport(ctx context.Context, req *reportsv1.GetIdeaReportRequest) (*reportsv1.IdeaReport, error) {
	region, _, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	p, iv := parseQuery(&v, req.GetPeriod(), req.GetInterval(), s.now())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	seq, err := s.catchUp(ctx, region)
	if err != nil {
		// The figures as they stand are still a true report up to the
		// sequence they name.
		s.logger.WarnContext(ctx, "reports: catching up with the idea log failed", "region", region, "error", err)
		if seq, err = s.ideas[region].position(ctx); err != nil {
			return nil, domain.Store(err, "REPORT", "idea report of "+region)
		}
	}
	months, err := readMonths(ctx, s.store, region, p)
	if err != nil {
		return nil, domain.Store(err, "REPORT", "idea report of "+region)
	}
	out := ideaReport(region, p, iv, months)
	out.AuditSequence = seq
	return out, nil
}

// readMonths reads the aggregates of the months of p: one record a month.
func readMonths(ctx context.Context, st store.Store, region string, p period) (map[month]*monthAgg, error) {
	tx := newTxn(st, ns(region))
	out := map[month]*monthAgg{}
	for m := p.from; m <= p.to; m++ {
		a := &monthAgg{}
		found, err := tx.getJSON(ctx, ideaMonthKey(m), a)
		if err != nil {
			return nil, err
		}
		if found {
			out[m] = a
		}
	}
	return out, nil
}
