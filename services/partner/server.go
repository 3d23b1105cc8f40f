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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
	_ "time/tzdata" // Swedish dates must not depend on the host's zoneinfo

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
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
	// maxAttempts bounds re-reads of a change made without an etag.
	maxAttempts = 20
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
	// NeedsTimeout bounds the calls to the needs service; 3 s when zero.
	NeedsTimeout time.Duration
	// RetryAfter is the pause after a failed call to the needs service
	// before a read tries to match pending offers again; 30 s when zero.
	RetryAfter time.Duration
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
	retryAfter   time.Duration
	loc          *time.Location // Sweden's, for dates and working days

	mu        sync.Mutex
	needsDown time.Time // reads skip matching until then
}

// New returns the partner service.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, regions: cfg.Regions, logger: cfg.Logger, now: cfg.Now,
		needs: cfg.Needs, needsTimeout: cfg.NeedsTimeout, retryAfter: cfg.RetryAfter,
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
	return s, nil
}

func ns(region string) store.Namespace { return store.Namespace{Service: "partner", Region: region} }

// servedRegion answers NOT_FOUND for a region this deployment does not serve,
// before anything else is looked at.
func (s *Server) servedRegion(region string) error {
	return resource.Served(domain, s.regions, region)
}

func etagOf(version int64) string { return strconv.FormatInt(version, 10) }

// subjectKey turns a subject into something safe and short for store keys,
// and keeps the raw identifier out of them.
func subjectKey(sub string) string {
	sum := sha256.Sum256([]byte(sub))
	return hex.EncodeToString(sum[:8])
}

// encode stores a resource as protojson. Etags are the record's version and
// derived fields are computed on read, so neither is ever stored.
func encode(m proto.Message) ([]byte, error) {
	b, err := protojson.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	return b, nil
}

func decodeInto(rec store.Record, m proto.Message) error {
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rec.Value, m); err != nil {
		return fmt.Errorf("record %s: %w", rec.Key, err)
	}
	return nil
}

// staleEtag is ABORTED, so the caller re-reads instead of overwriting
// someone's change.
func staleEtag(what, have, sent string) error {
	return domain.New(codes.Aborted, "ETAG_MISMATCH",
		"%s has etag %s, not %q: it was changed by someone else; read it again and retry", what, have, sent)
}

// requestIDKey scopes a request_id to its caller and the kind of create, so
// one person's request_id never returns another's resource.
func requestIDKey(kind, subject, rid string) string {
	return "create-" + kind + "/" + subjectKey(subject) + "/" + rid
}
