// Package coordinator owns the national coordinator's view across regions:
// the region directory with each region's health, the national dashboard
// (every region's figures gathered concurrently, each region under its own
// deadline, the last good figures of each region kept in the national store
// and served marked stale while the region cannot be reached), and the
// clusters of similar published needs that span several regions. It reads
// the regions only through the other services' gRPC contracts and never
// imports another service. A region's figures are one call
// (RegionFiguresService, figures.go, which every region deployment runs in
// its funding process) that carries the coordinator's token; the figures
// service, and the dashboard for regions its own process serves, ask the
// four Get…Stats as the deployment itself, so the token is checked once per
// deployment, not once per service.
package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

const domain errs.Domain = "coordinator.motor"

// Services a region is asked; the names are those Config.Conn understands.
const (
	svcIdea    = "idea"
	svcNeeds   = "needs"
	svcFunding = "funding"
	svcPartner = "partner"
)

const (
	// defaultRegionTimeout bounds one region's part of a request when the
	// configuration gives none.
	defaultRegionTimeout = 2 * time.Second
	// defaultHealthTimeout bounds one region's health check: a directory
	// listing should not wait on a region that is down.
	defaultHealthTimeout = time.Second
)

// Config is what the coordinator is given.
type Config struct {
	// Store is the national store; the coordinator keeps every region's
	// last good figures there.
	Store store.Store
	// Regions is the region directory: every region the coordinator reaches.
	Regions func() []string
	// Conn returns the connection to service (idea, needs, funding, partner)
	// for region, and the name of the deployment that serves it.
	Conn   func(service, region string) (*grpc.ClientConn, string, error)
	Logger *slog.Logger
	Now    func() time.Time
	// RegionTimeout bounds one region's part of a request (2 s when zero);
	// it is always shortened to fit inside the request's own deadline.
	RegionTimeout time.Duration
	// HealthTimeout bounds one region's health check (1 s when zero).
	HealthTimeout time.Duration
	// Figures is this process's own region figures service, when it runs
	// one: the dashboard asks it directly for the regions it serves, and
	// asks the figures service of the deployment behind Conn("funding",
	// region) for the others.
	Figures *Figures
}

// Server implements coordinatorv1.CoordinatorServiceServer.
type Server struct {
	coordinatorv1.UnimplementedCoordinatorServiceServer
	store         store.Store
	regions       func() []string
	conn          func(service, region string) (*grpc.ClientConn, string, error)
	logger        *slog.Logger
	now           func() time.Time
	regionTimeout time.Duration
	healthTimeout time.Duration
	local         *Figures

	// kept are the regions' last good figures in memory, so a dashboard
	// serves them without waiting on the national store; the store copy
	// survives restarts and is written behind the answer.
	mu         sync.Mutex
	kept       map[string]*coordinatorv1.RegionFigures
	figures    *repo.Repo[*coordinatorv1.RegionFigures]
	unwritten  map[string]keptBy
	persisting map[string]bool
	// written is when the figures last written (or being written) to the
	// store were taken.
	written map[string]time.Time

	common commonCache
}

// New returns the coordinator service.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, regions: cfg.Regions, conn: cfg.Conn, logger: cfg.Logger, now: cfg.Now,
		regionTimeout: cfg.RegionTimeout, healthTimeout: cfg.HealthTimeout, local: cfg.Figures,
		kept: map[string]*coordinatorv1.RegionFigures{}, unwritten: map[string]keptBy{}, persisting: map[string]bool{},
		written: map[string]time.Time{},
	}
	if s.regions == nil {
		s.regions = func() []string { return nil }
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.regionTimeout <= 0 {
		s.regionTimeout = defaultRegionTimeout
	}
	if s.healthTimeout <= 0 {
		s.healthTimeout = defaultHealthTimeout
	}
	// A lost race with another dashboard is retried a few times only: the
	// other one kept figures of the same moment.
	s.figures = repo.New(repo.Config[*coordinatorv1.RegionFigures]{
		Store: s.store, Service: "coordinator", Domain: domain, Kind: "figures", Now: s.now, Attempts: 5,
		New: func() *coordinatorv1.RegionFigures { return &coordinatorv1.RegionFigures{} },
	})
	return s
}

// requireCoordinator admits the national coordinator and other deployments'
// service identities: the figures of every region are theirs to see, and no
// region's own staff sees other regions' figures through this service.
func requireCoordinator(ctx context.Context) (*auth.Identity, error) {
	return auth.Require(ctx, auth.NationalRegion, auth.Coordinator, auth.Service)
}

// dial returns the connection to service for region. A connection that is
// waiting out its reconnect backoff after the region went down is told to
// try again now: the coordinator's requests are human-paced, and a region
// that came back should show up on the next dashboard, not minutes later.
func (s *Server) dial(service, region string) (*grpc.ClientConn, string, error) {
	if s.conn == nil {
		return nil, "", fmt.Errorf("no connection to %s of region %s is configured", service, region)
	}
	conn, deployment, err := s.conn(service, region)
	if err != nil {
		return nil, deployment, fmt.Errorf("connect to %s of region %s: %w", service, region, err)
	}
	if conn.GetState() == connectivity.TransientFailure {
		conn.ResetConnectBackoff()
	}
	return conn, deployment, nil
}

// regionContext bounds one region's part of a request: the region timeout,
// shortened so that the request keeps a reserve of its own deadline to
// answer with stale figures when the region does not make it.
func (s *Server) regionContext(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		remaining := time.Until(dl)
		reserve := min(remaining/5, 500*time.Millisecond)
		limit = min(limit, remaining-reserve)
	}
	return context.WithTimeout(ctx, limit)
}

// reserveContext bounds what is done in the reserve regionContext kept:
// most of what is left of the request's deadline, so the answer still goes
// out in time.
func (s *Server) reserveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithTimeout(ctx, time.Until(dl)*3/4)
	}
	return context.WithTimeout(ctx, s.regionTimeout)
}
