// Package idea owns a region's ideas: submission, who may read and change
// them, their way through the stage gates of docs/architecture.md ("Domain rules") with the history of
// every decision, the selection workshop's assessments, duplicate warnings by
// trigram similarity, and erasure of a submitter's personal data. It keeps its
// data in its own store namespace per region and never imports another
// service: it asks the partner service for an idea's agreements through its
// generated client.
package idea

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

const domain errs.Domain = "idea.motor"

// Config is what the idea service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	// Weights are the assessment weights per region; regions not listed
	// weigh the six criteria equally.
	Weights map[string]Weights
	// RegionIdeas returns the idea service of another region, for :spread:
	// this deployment's own for the regions it serves, a peer's otherwise.
	RegionIdeas func(region string) (ideav1.IdeaServiceClient, error)
	// Partners is the partner service, asked as this deployment for the
	// agreements the DEVELOPMENT gate needs (agreements.go); nil: not asked.
	Partners partnerv1.PartnerServiceClient
	Logger   *slog.Logger
	Now      func() time.Time
	// Relay makes this the national deployment's relay of adoptions
	// (relay.go): an AdoptIdea for a region it does not serve goes on to
	// the deployment that does.
	Relay bool
	// IdempotencyTTL is how long a request_id is answered with its first
	// result; a day when zero.
	IdempotencyTTL time.Duration
}

// Server implements ideav1.IdeaServiceServer.
type Server struct {
	ideav1.UnimplementedIdeaServiceServer
	store   store.Store
	regions config.Served
	weights map[string]Weights
	// regionIdeas reaches other regions' idea services (nil: none).
	regionIdeas func(region string) (ideav1.IdeaServiceClient, error)
	partners    partnerv1.PartnerServiceClient // nil: agreements not checked
	logger      *slog.Logger
	now         func() time.Time
	relay       bool

	ideas       *repo.Repo[*ideav1.Idea]
	assessments *repo.Repo[*ideav1.Assessment]
	workshops   *repo.Repo[*ideav1.Workshop]
	categories  *repo.Repo[*ideav1.Category]
	sessions    *repo.Repo[*ideav1.FocusGroupSession]
	testBeds    *repo.Repo[*ideav1.TestBed]
	testPlans   *repo.Repo[*ideav1.TestPlan]
	// upgrades drop, once per region and process, the request ids earlier
	// code kept for ever (see upgraded).
	upgrades repo.Upgrades
	// orderUpgrades put ideas stored before the update-time and score
	// indexes on them (see ordersIndexed).
	orderUpgrades repo.Upgrades

	simMu   sync.Mutex
	similar map[string]*simIndex // by region, built on first use

	// scrubMu guards the worker that rewrites a store's files after
	// erasures (see scrub).
	scrubMu   sync.Mutex
	scrubDue  bool // an erasure came after the last rewrite began
	scrubbing bool // the worker runs
}

// New returns the idea service.
func New(cfg Config) *Server {
	s := &Server{store: cfg.Store, regions: cfg.Regions, weights: cfg.Weights, regionIdeas: cfg.RegionIdeas, relay: cfg.Relay, partners: cfg.Partners, logger: cfg.Logger, now: cfg.Now, similar: map[string]*simIndex{}}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ideas = repo.New(repo.Config[*ideav1.Idea]{
		Store: s.store, Service: service, Domain: domain, Kind: "idea", Now: s.now, IdempotencyTTL: cfg.IdempotencyTTL,
		New: func() *ideav1.Idea { return &ideav1.Idea{} }, Index: indexEntries,
		Side:        func() proto.Message { return &ideav1.IdeaRecord{} },
		DeriveEntry: stageTime,
		Legacy:      repo.Legacy{Wrapped: "idea"},
	})
	ttl := cfg.IdempotencyTTL
	s.assessments = keptRepo(s, ttl, "assessment", func() *ideav1.Assessment { return &ideav1.Assessment{} }, keyIndex[*ideav1.Assessment]("assessments", "assessment/"))
	s.workshops = keptRepo(s, ttl, "workshop", func() *ideav1.Workshop { return &ideav1.Workshop{} }, workshopIndex)
	s.categories = keptRepo(s, ttl, "category", func() *ideav1.Category { return &ideav1.Category{} }, keyIndex[*ideav1.Category]("categories", "category/"))
	s.sessions = keptRepo[*ideav1.FocusGroupSession](s, ttl, "focus group session", func() *ideav1.FocusGroupSession { return &ideav1.FocusGroupSession{} }, nil)
	s.testBeds = keptRepo(s, ttl, "test bed", func() *ideav1.TestBed { return &ideav1.TestBed{} }, testBedIndex)
	s.testPlans = keptRepo(s, ttl, "test plan", func() *ideav1.TestPlan { return &ideav1.TestPlan{} }, testPlanIndex)
	return s
}

// service is the idea service's store namespace.
const service = "idea"

func ns(region string) store.Namespace { return store.Namespace{Service: service, Region: region} }

// record is an idea as the repository keeps it: the wire resource, who
// submitted it (Owner) and, beside it (side), what never goes on the wire as
// such.
type record = repo.Entry[*ideav1.Idea]

// side is what the service keeps beside an idea: the decisions taken on it,
// the per-reviewer scores its summary is computed from and the submitters
// of duplicates merged into it.
func side(r *record) *ideav1.IdeaRecord {
	k, _ := r.Side.(*ideav1.IdeaRecord)
	if k == nil {
		k = &ideav1.IdeaRecord{}
		r.Side = k
	}
	return k
}

// stageTime sets when the idea entered its current stage: the time of the
// latest decision into it, else its creation.
func stageTime(r *record) {
	h := side(r).GetHistory()
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].GetToStage() == r.Msg.GetStage() {
			r.Msg.StageTime = h[i].GetTime()
			return
		}
	}
	r.Msg.StageTime = r.Msg.GetCreateTime()
}

// upgraded drops the request-id keys earlier code kept for ever under its
// own prefixes, once per region and process; the repository's keys start
// with the caller's hashed subject and expire. A retry of a create sent
// before the upgrade is then a new create.
func (s *Server) upgraded(ctx context.Context, region string) error {
	return s.upgrades.Once(ctx, region, func(ctx context.Context) error {
		for _, prefix := range []string{"create/", "adopt/", "CreateWorkshop/", "CreateTestBed/", "CreateTestPlan/", "CreateFocusGroupSession/"} {
			if err := s.ideas.ForgetKeys(ctx, region, prefix); err != nil {
				return err
			}
		}
		return nil
	})
}

// servedRegion answers NOT_FOUND for a region this deployment does not serve,
// before anything else is looked at.
func (s *Server) servedRegion(region string) error { return resource.Served(domain, s.regions, region) }

// subjectKey turns a subject into something safe and short for index terms
// and assessment ids, and keeps the raw identifier out of them.
func subjectKey(sub string) string {
	sum := sha256.Sum256([]byte(sub))
	return hex.EncodeToString(sum[:8])
}

// CreateIdea submits an idea; it starts at STAGE_SUBMITTED.
func (s *Server) CreateIdea(ctx context.Context, req *ideav1.CreateIdeaRequest) (*ideav1.Idea, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Service)
	if err != nil {
		return nil, err
	}
	staff := isStaff(who, region)
	if err := validateCreate(req, staff).Err(domain); err != nil {
		return nil, err
	}
	if staff && len(req.GetIdea().GetTags()) > 0 {
		tags, err := s.vocabularyTags(ctx, region, "idea.tags", req.GetIdea().GetTags())
		if err != nil {
			return nil, err
		}
		in := proto.Clone(req.GetIdea()).(*ideav1.Idea)
		in.Tags = tags
		req = &ideav1.CreateIdeaRequest{Parent: req.GetParent(), Idea: in, RequestId: req.GetRequestId()}
	}

	id := ideaName{Region: region, ID: resource.NewID()}
	in := newIdea(req.GetIdea(), staff)
	in.Name = id.String()
	in.CreateTime = timestamppb.New(s.now())
	r := &record{Ref: id.ref(), Owner: who.Subject, Msg: in, Side: &ideav1.IdeaRecord{History: []*ideav1.HistoryEntry{{
		ToStage: ideav1.Stage_STAGE_SUBMITTED, Actor: who.Subject, ActorName: who.Name, Time: in.CreateTime,
	}}}}
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	r, replayed, err := s.ideas.Create(ctx, r, repo.Create{
		Actor: who.Subject, Action: "CreateIdea",
		// Keyed per caller: one person's request_id never returns another's idea.
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "create",
			Body: &ideav1.CreateIdeaRequest{Parent: req.GetParent(), Idea: req.GetIdea()}},
	})
	if err != nil {
		return nil, err
	}
	if replayed && !readableBy(r, who, region) {
		return nil, notFound(ideaName{Region: region, ID: strings.TrimPrefix(r.Ref.Key, "idea/")})
	}
	return redact(who, region, r.Owner, r.Msg), nil
}

// GetIdea returns one idea, redacted for callers who may not see personal data.
func (s *Server) GetIdea(ctx context.Context, req *ideav1.GetIdeaRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolve(ctx, req.GetName(), "name", readers()...)
	if err != nil {
		return nil, err
	}
	return s.read(ctx, who, name)
}

// resolve parses an idea name, checks the region is served and the caller
// holds one of roles there.
func (s *Server) resolve(ctx context.Context, raw, field string, roles ...auth.Role) (ideaName, *auth.Identity, error) {
	name, err := parseIdeaName(raw)
	if err != nil {
		return ideaName{}, nil, domain.InvalidArgument(field, err)
	}
	if err := s.servedRegion(name.Region); err != nil {
		return ideaName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Region, roles...)
	if err != nil {
		return ideaName{}, nil, err
	}
	return name, who, nil
}

// load reads an idea the caller may see; anyone else gets NOT_FOUND, so the
// existence of other people's ideas does not leak to a submitter.
func (s *Server) load(ctx context.Context, who *auth.Identity, name ideaName) (*record, error) {
	r, err := s.ideas.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if !readableBy(r, who, name.Region) {
		return nil, notFound(name)
	}
	return r, nil
}

func notFound(name ideaName) error {
	return domain.NotFound("IDEA_NOT_FOUND", "idea %s not found", name)
}

func (s *Server) read(ctx context.Context, who *auth.Identity, name ideaName) (*ideav1.Idea, error) {
	r, err := s.load(ctx, who, name)
	if err != nil {
		return nil, err
	}
	return s.withLinks(ctx, name, redact(who, name.Region, r.Owner, r.Msg))
}

// mutation is one change to an idea, committed with compare-and-set on the
// version read. Extra puts (an assessment) commit in the same write.
type mutation struct {
	action string
	// apply changes r in place; its error is returned as is.
	apply func(r *record) ([]store.Put, error)
	// etag is the caller's; "" retries on a concurrent change instead of
	// failing (for changes that commute, like adding an assessment).
	etag string
	// actor overrides the caller's subject in the audit event.
	actor string
}

// commit applies m to the idea the caller may read, through the
// repository's one read-modify-write. It returns the record as written.
func (s *Server) commit(ctx context.Context, who *auth.Identity, name ideaName, m mutation) (*record, error) {
	actor := who.Subject
	if m.actor != "" {
		actor = m.actor
	}
	r, _, err := s.ideas.Update(ctx, name.ref(), m.etag, actor, func(r *record, _ time.Time) (repo.Change, error) {
		if !readableBy(r, who, name.Region) {
			return repo.Change{}, notFound(name)
		}
		puts, err := m.apply(r)
		return repo.Change{Action: m.action, Puts: puts}, err
	})
	return r, err
}
