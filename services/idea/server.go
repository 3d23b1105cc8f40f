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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
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
	return s
}

func ns(region string) store.Namespace { return store.Namespace{Service: "idea", Region: region} }

// record is an idea as kept in the store: the wire resource plus what never
// goes on the wire as such — who submitted it, the decisions taken on it and
// the per-reviewer scores its summary is computed from.
type record struct {
	owner   string
	idea    *ideav1.Idea
	history []*ideav1.HistoryEntry
	scores  map[string]float64 // assessment id → weighted score
	// coOwners are the submitters of duplicates merged into the idea: they
	// read it as their own.
	coOwners []string
	version  int64
}

type storedRecord struct {
	Owner   string             `json:"owner"`
	Idea    json.RawMessage    `json:"idea"`
	History []json.RawMessage  `json:"history,omitempty"`
	Scores  map[string]float64 `json:"scores,omitempty"`
	// CoOwners: see record.coOwners.
	CoOwners []string `json:"coOwners,omitempty"`
}

func (r *record) encode() ([]byte, error) {
	clean := proto.Clone(r.idea).(*ideav1.Idea)
	clean.Etag = "" // the version is the etag; never store it twice
	b, err := protojson.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	st := storedRecord{Owner: r.owner, Idea: b, Scores: r.scores, CoOwners: r.coOwners}
	for _, h := range r.history {
		hb, err := protojson.Marshal(h)
		if err != nil {
			return nil, fmt.Errorf("protojson.Marshal: %w", err)
		}
		st.History = append(st.History, hb)
	}
	return json.Marshal(st)
}

func decode(rec store.Record) (*record, error) {
	var st storedRecord
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return nil, fmt.Errorf("idea record %s: %w", rec.Key, err)
	}
	r := &record{owner: st.Owner, idea: &ideav1.Idea{}, scores: st.Scores, coOwners: st.CoOwners, version: rec.Version}
	if err := protojson.Unmarshal(st.Idea, r.idea); err != nil {
		return nil, fmt.Errorf("idea record %s: %w", rec.Key, err)
	}
	for _, hb := range st.History {
		h := &ideav1.HistoryEntry{}
		if err := protojson.Unmarshal(hb, h); err != nil {
			return nil, fmt.Errorf("idea record %s history: %w", rec.Key, err)
		}
		r.history = append(r.history, h)
	}
	r.idea.Etag = etagOf(rec.Version)
	return r, nil
}

func etagOf(version int64) string { return strconv.FormatInt(version, 10) }

// servedRegion answers NOT_FOUND for a region this deployment does not serve,
// before anything else is looked at.
func (s *Server) servedRegion(region string) error { return resource.Served(domain, s.regions, region) }

// subjectKey turns a subject into something safe and short for store keys
// and index terms, and keeps the raw identifier out of them.
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

	now := s.now()
	id := ideaName{Region: region, ID: resource.NewID()}
	r := &record{owner: who.Subject, idea: newIdea(req.GetIdea(), staff)}
	r.idea.Name = id.String()
	r.idea.CreateTime = timestamppb.New(now)
	r.idea.UpdateTime = r.idea.CreateTime
	r.history = []*ideav1.HistoryEntry{{
		ToStage: ideav1.Stage_STAGE_SUBMITTED, Actor: who.Subject, ActorName: who.Name, Time: r.idea.CreateTime,
	}}
	value, err := r.encode()
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea")
	}

	w := store.Write{
		Puts:   []store.Put{{Key: id.key(), Value: value, Index: indexEntries(r)}},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreateIdea", Key: r.idea.Name, EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		// Keyed per caller: one person's request_id never returns another's idea.
		w.Idempotency = &store.Idempotency{
			Key:         "create/" + subjectKey(who.Subject) + "/" + rid,
			Fingerprint: resource.Fingerprint(&ideav1.CreateIdeaRequest{Parent: req.GetParent(), Idea: req.GetIdea()}),
			Result:      []byte(r.idea.Name),
		}
	}
	res, err := s.store.Commit(ctx, ns(region), w)
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+r.idea.Name)
	}
	if res.Replayed {
		first, err := parseIdeaName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "IDEA", "replayed idea")
		}
		return s.read(ctx, who, first)
	}
	r.idea.Etag = etagOf(res.Versions[0])
	return redact(who, region, r.owner, r.idea), nil
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
	rec, err := s.store.Get(ctx, ns(name.Region), name.key())
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+name.String())
	}
	r, err := decode(rec)
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+name.String())
	}
	if !r.readableBy(who, name.Region) {
		return nil, domain.NotFound("IDEA_NOT_FOUND", "idea %s not found", name)
	}
	return r, nil
}

func (s *Server) read(ctx context.Context, who *auth.Identity, name ideaName) (*ideav1.Idea, error) {
	r, err := s.load(ctx, who, name)
	if err != nil {
		return nil, err
	}
	return s.withLinks(ctx, name, redact(who, name.Region, r.owner, r.idea))
}

// checkEtag compares the caller's etag with the stored version: a stale etag
// is ABORTED, so the caller re-reads instead of overwriting someone's change.
func checkEtag(etag string, r *record) error {
	if etag != r.idea.GetEtag() {
		return domain.New(codes.Aborted, "ETAG_MISMATCH",
			"idea %s has etag %s, not %q: it was changed by someone else; read it again and retry", r.idea.GetName(), r.idea.GetEtag(), etag)
	}
	return nil
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

// commit reads the idea, applies m and writes it back atomically with its
// audit event. It returns the record as written.
func (s *Server) commit(ctx context.Context, who *auth.Identity, name ideaName, m mutation) (*record, error) {
	for attempt := 0; ; attempt++ {
		r, err := s.load(ctx, who, name)
		if err != nil {
			return nil, err
		}
		if m.etag != "" {
			if err := checkEtag(m.etag, r); err != nil {
				return nil, err
			}
		}
		before := r.idea.GetEtag()
		extra, err := m.apply(r)
		if err != nil {
			return nil, err
		}
		now := s.now()
		r.idea.UpdateTime = timestamppb.New(now)
		value, err := r.encode()
		if err != nil {
			return nil, domain.Store(err, "IDEA", "idea "+name.String())
		}
		actor := who.Subject
		if m.actor != "" {
			actor = m.actor
		}
		w := store.Write{
			Puts: append([]store.Put{{Key: name.key(), Value: value, Version: r.version, Index: indexEntries(r)}}, extra...),
			Events: []store.Event{{
				Time: now, Actor: actor, Action: m.action, Key: name.String(),
				EtagBefore: before, EtagAfter: etagOf(r.version + 1),
			}},
		}
		res, err := s.store.Commit(ctx, ns(name.Region), w)
		if errors.Is(err, store.ErrConflict) && m.etag == "" && attempt < 20 {
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "idea %s was changed by someone else: read it again and retry", name)
		}
		if err != nil {
			return nil, domain.Store(err, "IDEA", "idea "+name.String())
		}
		r.version = res.Versions[0]
		r.idea.Etag = etagOf(r.version)
		return r, nil
	}
}
