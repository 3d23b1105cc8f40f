// Package needs owns a region's needs mapping (behovskartläggning): need
// statements, who may read them, their screening rounds and priority, their
// way through the needs process with its history of decisions, their links
// to ideas, offers and subprojects, and the search for similar needs. It
// keeps its data in its own store namespace per region and reaches the idea
// service only through its generated gRPC client.
package needs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

const domain errs.Domain = "needs.motor"

// defaultIdeaTimeout bounds the call that checks a linked idea exists: a
// slow idea service must not hold a portal request for long.
const defaultIdeaTimeout = 3 * time.Second

// maxAttempts bounds the re-reads of a change made without an etag when
// others write the same need at the same time.
const maxAttempts = 20

// Config is what the needs service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	Logger  *slog.Logger
	Now     func() time.Time
	// Ideas is the idea service, asked whether an idea exists before a need
	// is linked to it. Without it, links to ideas answer UNAVAILABLE.
	Ideas ideav1.IdeaServiceClient
	// IdeaTimeout bounds that call; 3 s when zero.
	IdeaTimeout time.Duration
	// Weights are the screening weights by region; a region without an entry
	// weighs every criterion equally.
	Weights map[string]Weights
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
	weights     map[string]Weights

	simMu   sync.Mutex
	similar map[string]*needIndex // by region, built on first use
}

// New returns the needs service, or an error when its configuration cannot
// work (weights that do not add up to a mean).
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now,
		ideas: cfg.Ideas, ideaTimeout: cfg.IdeaTimeout, weights: map[string]Weights{},
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

func ns(region string) store.Namespace { return store.Namespace{Service: "needs", Region: region} }

// stored is a need as kept in the store: the wire resource plus what the
// service needs to know about it and never shows: who reported it, and how
// many screening rounds and decisions it has (their records' sequence).
type stored struct {
	Owner      string          `json:"owner"`
	Screenings int             `json:"screenings,omitempty"`
	Decisions  int             `json:"decisions,omitempty"`
	Need       json.RawMessage `json:"need"`
}

// record is a decoded need record.
type record struct {
	owner      string
	screenings int
	decisions  int
	version    int64
	need       *needsv1.Need
}

func encode(r *record) ([]byte, error) {
	clean := proto.Clone(r.need).(*needsv1.Need)
	clean.Etag = "" // the version is the etag; never store it twice
	b, err := protojson.Marshal(clean)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	return json.Marshal(stored{Owner: r.owner, Screenings: r.screenings, Decisions: r.decisions, Need: b})
}

func decode(rec store.Record) (*record, error) {
	var st stored
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return nil, fmt.Errorf("need record %s: %w", rec.Key, err)
	}
	need := &needsv1.Need{}
	if err := protojson.Unmarshal(st.Need, need); err != nil {
		return nil, fmt.Errorf("need record %s: %w", rec.Key, err)
	}
	need.Etag = strconv.FormatInt(rec.Version, 10)
	return &record{owner: st.Owner, screenings: st.Screenings, decisions: st.Decisions, version: rec.Version, need: need}, nil
}

// encodeMessage and decodeMessage keep screenings and history entries.
func encodeMessage(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	return b, nil
}

func decodeMessage(rec store.Record, m proto.Message) error {
	if err := protojson.Unmarshal(rec.Value, m); err != nil {
		return fmt.Errorf("record %s: %w", rec.Key, err)
	}
	return nil
}

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

	now := s.now()
	name := needName{Region: region, ID: resource.NewID()}
	r := &record{owner: who.Subject, need: newNeed(req.GetNeed(), staff)}
	r.need.Name = name.String()
	r.need.CreateTime = timestamppb.New(now)
	r.need.UpdateTime = r.need.CreateTime
	value, err := encode(r)
	if err != nil {
		return nil, domain.Store(err, "NEED", "need")
	}
	w := store.Write{
		Puts: []store.Put{{Key: name.key(), Value: value, Index: indexEntries(r.need)}},
		Events: []store.Event{{
			Time: now, Actor: who.Subject, Action: "CreateNeed", Key: r.need.GetName(), EtagAfter: "1",
		}},
	}
	if rid := req.GetRequestId(); rid != "" {
		// Keyed per caller: one person's request_id never returns another's need.
		w.Idempotency = &store.Idempotency{
			Key:         "create/" + who.Subject + "/" + rid,
			Fingerprint: resource.Fingerprint(&needsv1.CreateNeedRequest{Parent: req.GetParent(), Need: req.GetNeed()}),
			Result:      []byte(r.need.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, ns(region), w)
	if err != nil {
		return nil, domain.Store(err, "NEED", "need "+r.need.GetName())
	}
	if res.Replayed {
		first, err := parseNeedName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "NEED", "replayed need")
		}
		return s.read(ctx, who, first)
	}
	r.need.Etag = strconv.FormatInt(res.Versions[0], 10)
	return redact(who, region, r.owner, r.need), nil
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
	r, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if !mayRead(who, name.Region, r.owner, r.need) {
		// Existence of unpublished needs must not leak to partners and submitters.
		return nil, notFound(name)
	}
	return redact(who, name.Region, r.owner, r.need), nil
}

func (s *Server) get(ctx context.Context, name needName) (*record, error) {
	rec, err := s.store.Get(ctx, ns(name.Region), name.key())
	if err != nil {
		return nil, domain.Store(err, "NEED", "need "+name.String())
	}
	r, err := decode(rec)
	if err != nil {
		return nil, domain.Store(err, "NEED", "need "+name.String())
	}
	return r, nil
}

func notFound(name needName) error {
	return domain.NotFound("NEED_NOT_FOUND", "need %s not found", name)
}

// edit is what a change to a need writes besides the need itself.
type edit struct {
	action string // audit action
	detail string // audit detail; never personal data
	puts   []store.Put
	idem   *store.Idempotency
	// noop: the change is already in place; answer with the need as it is
	// and write nothing (a retried link).
	noop bool
}

// change modifies r in place for a write at now, or refuses.
type change func(r *record, now time.Time) (edit, error)

// update is the read-modify-write every change of a need goes through: it
// reads the need, lets apply change it, and commits the need, the records
// the change adds and one audit event atomically, on the version it read.
// With an etag, the need must still be at that version (else ABORTED).
// Without one, a concurrent write makes it read again and re-apply the
// rules, so a rule is never checked against a stale need.
func (s *Server) update(ctx context.Context, who *auth.Identity, name needName, etag string, apply change) (*record, store.WriteResult, error) {
	for attempt := 1; ; attempt++ {
		r, err := s.get(ctx, name)
		if err != nil {
			return nil, store.WriteResult{}, err
		}
		stale := etag != "" && etag != r.need.GetEtag()
		before := r.need.GetEtag()
		now := s.now()
		e, err := apply(r, now)
		switch {
		case err != nil && stale:
			// The caller decided on an old version; they should look again
			// before being told what their change would break.
			return nil, store.WriteResult{}, domain.Store(store.ErrConflict, "NEED", "need "+name.String())
		case err != nil:
			return nil, store.WriteResult{}, err
		case e.noop:
			return r, store.WriteResult{}, nil
		case stale:
			return nil, store.WriteResult{}, domain.Store(store.ErrConflict, "NEED", "need "+name.String())
		}
		r.need.UpdateTime = timestamppb.New(now)
		value, err := encode(r)
		if err != nil {
			return nil, store.WriteResult{}, domain.Store(err, "NEED", "need "+name.String())
		}
		w := store.Write{
			Puts: append([]store.Put{{Key: name.key(), Value: value, Version: r.version, Index: indexEntries(r.need)}}, e.puts...),
			Events: []store.Event{{
				Time: now, Actor: who.Subject, Action: e.action, Key: name.String(),
				EtagBefore: before, EtagAfter: strconv.FormatInt(r.version+1, 10), Detail: e.detail,
			}},
			Idempotency: e.idem,
		}
		res, err := s.store.Commit(ctx, ns(name.Region), w)
		if errors.Is(err, store.ErrConflict) && etag == "" && attempt < maxAttempts {
			continue
		}
		if err != nil {
			return nil, store.WriteResult{}, domain.Store(err, "NEED", "need "+name.String())
		}
		if !res.Replayed {
			r.version = res.Versions[0]
			r.need.Etag = strconv.FormatInt(r.version, 10)
		}
		return r, res, nil
	}
}
