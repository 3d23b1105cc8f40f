// Package partner owns a region's partners: the organisations it works with
// (companies, academia, patient organisations, authorities), one per
// organisation number, with their contacts' personal data; the agreements it
// has with them, whose state follows from their dates; and the companies'
// "one way in": offers that are matched to the region's published needs,
// routed by the region's advisors and answered within ten working days. It
// keeps its data in its own store namespace per region and reaches the needs
// service only through its generated gRPC client.
package partner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	_ "time/tzdata" // Swedish dates must not depend on the host's zoneinfo

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

const domain errs.Domain = "partner.motor"

const (
	// defaultNeedsTimeout bounds one round of calls to the needs service: a
	// company sending an offer waits no longer than this for its matches.
	defaultNeedsTimeout = 3 * time.Second
	// defaultRetryAfter is how long reads leave pending matches alone after
	// the needs service failed, so a needs outage does not slow every read.
	defaultRetryAfter = 30 * time.Second
)

// Config is what the partner service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	Logger  *slog.Logger
	Now     func() time.Time
	// Needs is the needs service, asked for the published needs an offer
	// matches and for the need an offer is routed to. Without it offers are
	// stored with matching pending and routing answers UNAVAILABLE.
	Needs needsv1.NeedsServiceClient
	// NeedBacklinks is the needs service called as this deployment, which
	// is told of the offers routed to its needs (backlinks.go).
	NeedBacklinks needsv1.NeedsServiceClient
	// NeedsTimeout bounds the calls to the needs service; 3 s when zero.
	NeedsTimeout time.Duration
	// RetryAfter is the pause after a failed call to the needs service
	// before a read tries to match pending offers again; 30 s when zero.
	RetryAfter time.Duration
	// IdempotencyTTL is how long a request_id is answered with its first
	// result; a day when zero.
	IdempotencyTTL time.Duration
}

// Server implements partnerv1.PartnerServiceServer.
type Server struct {
	partnerv1.UnimplementedPartnerServiceServer
	store        store.Store
	regions      config.Served
	logger       *slog.Logger
	now          func() time.Time
	needs        needsv1.NeedsServiceClient
	needsTimeout time.Duration
	// needBacklinks reaches the needs service as this deployment.
	needBacklinks needsv1.NeedsServiceClient
	retryAfter    time.Duration
	loc           *time.Location // Sweden's, for dates and working days

	upgrades repo.Upgrades
	// orderUpgrades put records stored before the indexes of the orders
	// added since on them (see ordersIndexed).
	orderUpgrades repo.Upgrades
	partners      *repo.Repo[*partnerv1.Partner]
	agreements    *repo.Repo[*partnerv1.Agreement]
	revisions     *repo.Repo[*partnerv1.Agreement] // agreements' earlier revisions
	offers        *repo.Repo[*partnerv1.Offer]

	mu        sync.Mutex
	needsDown time.Time // reads skip matching until then
}

// New returns the partner service.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now,
		needs: cfg.Needs, needsTimeout: cfg.NeedsTimeout, needBacklinks: cfg.NeedBacklinks, retryAfter: cfg.RetryAfter,
	}
	if s.store == nil {
		return nil, errors.New("partner.New: no store")
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.needsTimeout <= 0 {
		s.needsTimeout = defaultNeedsTimeout
	}
	if s.retryAfter <= 0 {
		s.retryAfter = defaultRetryAfter
	}
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		return nil, fmt.Errorf("partner.New: time.LoadLocation: %w", err)
	}
	s.loc = loc
	s.partners = repo.New(repo.Config[*partnerv1.Partner]{
		Store: s.store, Service: service, Domain: domain, Kind: "partner", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *partnerv1.Partner { return &partnerv1.Partner{} }, Index: partnerIndex,
	})
	s.agreements = repo.New(repo.Config[*partnerv1.Agreement]{
		Store: s.store, Service: service, Domain: domain, Kind: "agreement", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *partnerv1.Agreement { return &partnerv1.Agreement{} }, Index: agreementIndex,
		// The state follows from the dates and today; it is never stored.
		Derive: func(a *partnerv1.Agreement) { a.State = agreementState(a, s.today()) },
	})
	s.revisions = repo.New(repo.Config[*partnerv1.Agreement]{
		Store: s.store, Service: service, Domain: domain, Kind: "agreement revision", Now: s.now,
		New: func() *partnerv1.Agreement { return &partnerv1.Agreement{} }, Index: revisionIndex,
	})
	s.offers = repo.New(repo.Config[*partnerv1.Offer]{
		Store: s.store, Service: service, Domain: domain, Kind: "offer", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *partnerv1.Offer { return &partnerv1.Offer{} }, Index: offerIndex,
	})
	return s, nil
}

// service is the partner service's store namespace.
const service = "partner"

func ns(region string) store.Namespace { return store.Namespace{Service: service, Region: region} }

// servedRegion answers NOT_FOUND for a region this deployment does not serve,
// before anything else is looked at.
func (s *Server) servedRegion(region string) error {
	return resource.Served(domain, s.regions, region)
}

// upgraded drops, once per region and process, the request-id keys earlier
// code kept for ever (under its own prefixes); the repository's keys expire.
func (s *Server) upgraded(ctx context.Context, region string) error {
	return s.upgrades.Once(ctx, region, func(ctx context.Context) error {
		for _, prefix := range []string{"create-partner/", "create-agreement/", "create-offer/"} {
			if err := s.partners.ForgetKeys(ctx, region, prefix); err != nil {
				return err
			}
		}
		return nil
	})
}
