// Package needs owns a region's needs mapping (behovskartläggning): need
// statements, who may read them, their screening rounds and priority, their
// way through the needs process with its history of decisions, their links
// to ideas, offers and subprojects, and the search for similar needs. It
// keeps its data in its own store namespace per region and reaches the idea
// service only through its generated gRPC client.
package needs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const domain errs.Domain = "needs.motor"

// defaultIdeaTimeout bounds the call that checks a linked idea exists: a
// slow idea service must not hold a portal request for long.
const defaultIdeaTimeout = 3 * time.Second

// Config is what the needs service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	Logger  *slog.Logger
	Now     func() time.Time
	// Ideas is the idea service, asked whether an idea exists before a need
	// is linked to it. Without it, links to ideas answer UNAVAILABLE.
	Ideas ideav1.IdeaServiceClient
	// IdeaBacklinks is the idea service called as this deployment, which
	// is told of links to its ideas (backlinks.go). Without it, ideas do not
	// show the needs that link to them.
	IdeaBacklinks ideav1.IdeaServiceClient
	// IdeaTimeout bounds that call; 3 s when zero.
	IdeaTimeout time.Duration
	// Weights are the screening weights by region; a region without an entry
	// weighs every criterion equally.
	Weights map[string]Weights
	// IdempotencyTTL is how long a request_id is answered with its first
	// result; a day when zero.
	IdempotencyTTL time.Duration
}

// Server implements needsv1.NeedsServiceServer.
type Server struct {
	needsv1.UnimplementedNeedsServiceServer
	store       store.Store
	regions     config.Served
	logger      *slog.Logger
	now         func() time.Time
	ideas       ideav1.IdeaServiceClient
	ideaTimeout time.Duration
	// ideaBacklinks reaches the idea service as this deployment.
	ideaBacklinks ideav1.IdeaServiceClient
	weights       map[string]Weights
	needs         *repo.Repo[*needsv1.Need]
	screenings    *repo.Repo[*needsv1.Screening]
	history       *repo.Repo[*needsv1.HistoryEntry]

	// upgrades bring a region's needs stored by earlier code onto the
	// owner index (see ownersIndexed).
	upgrades repo.Upgrades
	// updatedUpgrade puts needs stored before the update-time index on it
	// (see updatedIndexed).
	updatedUpgrade repo.Upgrades

	simMu   sync.Mutex
	similar map[string]*needIndex // by region, built on first use
}

// New returns the needs service, or an error when its configuration cannot
// work (weights that do not add up to a mean).
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now,
		ideas: cfg.Ideas, ideaTimeout: cfg.IdeaTimeout, weights: map[string]Weights{}, ideaBacklinks: cfg.IdeaBacklinks,
		similar: map[string]*needIndex{},
	}
	if s.store == nil {
		return nil, errors.New("needs.New: no store")
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.needs = repo.New(repo.Config[*needsv1.Need]{
		Store: s.store, Service: service, Domain: domain, Kind: "need", Now: s.now,
		New: func() *needsv1.Need { return &needsv1.Need{} }, Index: indexEntries,
		Legacy: repo.Legacy{Wrapped: "need"}, IdempotencyTTL: cfg.IdempotencyTTL,
	})
	s.screenings = repo.New(repo.Config[*needsv1.Screening]{
		Store: s.store, Service: service, Domain: domain, Kind: "screening", Now: s.now,
		New:   func() *needsv1.Screening { return &needsv1.Screening{} },
		Index: childIndex[*needsv1.Screening]("screenings", "screening/"),
	})
	s.history = repo.New(repo.Config[*needsv1.HistoryEntry]{
		Store: s.store, Service: service, Domain: domain, Kind: "history entry", Now: s.now,
		New:   func() *needsv1.HistoryEntry { return &needsv1.HistoryEntry{} },
		Index: childIndex[*needsv1.HistoryEntry]("history", "history/"),
	})
	if s.ideaTimeout <= 0 {
		s.ideaTimeout = defaultIdeaTimeout
	}
	for region, w := range cfg.Weights {
		if !config.KnownRegion(region) {
			return nil, fmt.Errorf("needs.New: weights for unknown region %q", region)
		}
		if err := w.check(); err != nil {
			return nil, fmt.Errorf("needs.New: weights of %s: %w", region, err)
		}
		s.weights[region] = w
	}
	return s, nil
}

// service is the needs service's store namespace.
const service = "needs"

func ns(region string) store.Namespace { return store.Namespace{Service: service, Region: region} }

// record is a need as the repository keeps it: the wire resource, who
// reported it (Owner) and the sequences of its screening rounds and
// decisions (counts), which are never shown.
type record = repo.Entry[*needsv1.Need]

// Counters of a need's parts.
const (
	countScreenings = "screenings"
	countDecisions  = "decisions"
)

// servedRegion answers NOT_FOUND for a region this deployment does not serve,
// before anything else is looked at.
func (s *Server) servedRegion(region string) error {
	return resource.Served(domain, s.regions, region)
}

// CreateNeed records a need; it starts at NEED_STATUS_IDENTIFIED.
func (s *Server) CreateNeed(ctx context.Context, req *needsv1.CreateNeedRequest) (*needsv1.Need, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), reporters()...)
	if err != nil {
		return nil, err
	}
	staff := isStaff(who, region)
	if err := validateCreate(req, staff).Err(domain); err != nil {
		return nil, err
	}

	name := needName{Region: region, ID: resource.NewID()}
	need := newNeed(req.GetNeed(), staff)
	need.Name = name.String()
	r, _, err := s.needs.Create(ctx, &record{Ref: name.ref(), Msg: need, Owner: who.Subject}, repo.Create{
		Actor: who.Subject, Action: "CreateNeed",
		// Keyed per caller: one person's request_id never returns another's need.
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "create",
			Body: &needsv1.CreateNeedRequest{Parent: req.GetParent(), Need: req.GetNeed()}},
	})
	if err != nil {
		return nil, err
	}
	return speak(ctx, redact(who, region, r.Owner, r.Msg)), nil
}

// GetNeed returns one need as far as the caller may see it.
func (s *Server) GetNeed(ctx context.Context, req *needsv1.GetNeedRequest) (*needsv1.Need, error) {
	name, err := parseNeedName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, readers()...)
	if err != nil {
		return nil, err
	}
	return s.read(ctx, who, name)
}

func (s *Server) read(ctx context.Context, who *auth.Identity, name needName) (*needsv1.Need, error) {
	r, err := s.needs.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if !mayRead(who, name.Region, r.Owner, r.Msg) {
		// Existence of unpublished needs must not leak to partners and submitters.
		return nil, notFound(name)
	}
	return s.withReferences(ctx, who, name, r.Owner, speak(ctx, redact(who, name.Region, r.Owner, r.Msg)))
}

func notFound(name needName) error {
	return domain.NotFound("NEED_NOT_FOUND", "need %s not found", name)
}
