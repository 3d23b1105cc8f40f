package needs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// Links both ways (docs/architecture.md, "Links both ways"). A need's own
// links to ideas are the need's: LinkNeed and UnlinkNeed write them and, in
// the same commit, a message for the idea service in the need's outbox,
// delivered right after and swept again until the idea service has it
// (internal/backlink). The offers routed to a need and the subprojects that
// build on it are the partner and funding services'; they tell this service
// through SetBacklink, and a need shows them as referenced_by.

// SetBacklink records that an offer or a subproject refers to a need, or no
// longer does. Only this deployment's own services call it.
func (s *Server) SetBacklink(ctx context.Context, req *needsv1.SetBacklinkRequest) (*needsv1.SetBacklinkResponse, error) {
	name, err := parseNeedName(req.GetTarget())
	if err != nil {
		return nil, domain.InvalidArgument("target", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, auth.Service)
	if err != nil {
		return nil, err
	}
	if who.Kind != auth.CallerInternal {
		return nil, domain.New(codes.PermissionDenied, "NOT_INTERNAL", "back-references are recorded only by this deployment's own services")
	}
	var v errs.Violations
	if err := referenceSource(req.GetSource(), s.regions.Has); err != nil {
		v.Add("source", "%v", err)
	}
	if req.GetSourceVersion() <= 0 {
		v.Add("source_version", "must be the source record's version, at least 1")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.needs.Get(ctx, name.ref()); err != nil {
		return nil, err
	}
	// The audit event lets the log's followers (reports: what matched the
	// need) read the need again.
	action := "ReferenceNeed"
	if !req.GetLinked() {
		action = "UnreferenceNeed"
	}
	applied, err := backlink.Set(ctx, s.store, s.needs.NS(name.Region), name.ID, backlink.Message{
		Target: name.String(), Source: req.GetSource(), Linked: req.GetLinked(), Version: req.GetSourceVersion(),
	}, store.Event{Time: s.now(), Actor: who.Subject, Action: action, Key: name.String(), Detail: req.GetSource()})
	if err != nil {
		return nil, domain.Store(err, "NEED", "need "+name.String())
	}
	return &needsv1.SetBacklinkResponse{Applied: applied}, nil
}

// referenceSource checks that a source is an offer or a subproject of a
// served region.
func referenceSource(source string, served func(string) bool) error {
	if source == "" {
		return errors.New("is required: regions/{region}/offers/{offer} or regions/{region}/subprojects/{subproject}")
	}
	var region string
	for _, c := range []string{"offers", "subprojects"} {
		if ids, err := resource.Split(source, "regions", c); err == nil {
			region = ids[0]
		}
	}
	if region == "" {
		return fmt.Errorf("%q is neither an offer nor a subproject", source)
	}
	if !served(region) {
		return fmt.Errorf("%s is of region %s, which this deployment does not serve", source, region)
	}
	return nil
}

// withReferences sets referenced_by on a need about to be answered, for
// those who see its links (the region's staff, national callers, the
// reporter): a company sees no other company's offers.
func (s *Server) withReferences(ctx context.Context, who *auth.Identity, name needName, owner string, need *needsv1.Need) (*needsv1.Need, error) {
	if !(isStaff(who, name.Region) || isNational(who) || (owner != "" && who.Subject == owner)) {
		return need, nil
	}
	from, err := backlink.Sources(ctx, s.store, s.needs.NS(name.Region), name.ID)
	if err != nil {
		return nil, domain.Store(err, "NEED", "need "+name.String())
	}
	if len(from) > 0 {
		need.ReferencedBy = from
	}
	return need, nil
}

// UnlinkNeed removes a link to an idea, an offer or a subproject. A target
// that is not linked answers with the need as it is (a retry of an unlink
// that succeeded).
func (s *Server) UnlinkNeed(ctx context.Context, req *needsv1.UnlinkNeedRequest) (*needsv1.Need, error) {
	name, err := parseNeedName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	target, terr := parseLinkTarget(req.GetTarget())
	switch {
	case req.GetTarget() == "":
		v.Add("target", "is required: the resource name of the linked idea, offer or subproject")
	case terr != nil:
		v.Add("target", "%v", terr)
	}
	checkEtag(&v, "etag", req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	var msgs []backlink.Message
	r, _, err := s.needs.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(r *record, _ time.Time) (repo.Change, error) {
		msgs = nil
		i := slices.Index(r.Msg.GetLinks(), target.String())
		if i < 0 {
			return repo.Change{Noop: true}, nil
		}
		r.Msg.Links = slices.Delete(slices.Clone(r.Msg.Links), i, i+1)
		c := repo.Change{Action: "UnlinkNeed", Detail: target.String()}
		if target.Kind == targetIdea {
			m := backlink.Message{Target: target.String(), Source: name.String(), Linked: false, Version: r.Version + 1}
			put, err := backlink.Outbox(m)
			if err != nil {
				return repo.Change{}, err
			}
			c.Puts, msgs = []store.Put{put}, []backlink.Message{m}
		}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	s.flushBacklinks(ctx, name.Region, msgs)
	return s.withReferences(ctx, who, name, r.Owner, redact(who, name.Region, r.Owner, r.Msg))
}

// linkOutbox is the outbox put of a new link to an idea, for LinkNeed's
// change (nil for other targets, which keep no back-references).
func linkOutbox(name needName, target linkTarget, r *record) ([]store.Put, []backlink.Message, error) {
	if target.Kind != targetIdea {
		return nil, nil, nil
	}
	m := backlink.Message{Target: target.String(), Source: name.String(), Linked: true, Version: r.Version + 1}
	put, err := backlink.Outbox(m)
	if err != nil {
		return nil, nil, err
	}
	return []store.Put{put}, []backlink.Message{m}, nil
}

// flushBacklinks delivers the messages a change just committed. A failure
// leaves them in the outbox for the sweep: the link itself stands.
func (s *Server) flushBacklinks(ctx context.Context, region string, msgs []backlink.Message) {
	if len(msgs) == 0 || s.ideaBacklinks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ideaTimeout)
	defer cancel()
	if err := backlink.Flush(ctx, s.store, s.needs.NS(region), s.deliverToIdea, msgs...); err != nil {
		s.logger.Warn("back-reference left in the outbox for the sweep", "region", region, "error", err)
	}
}

// deliverToIdea is the Deliver of the needs' outbox: the idea service's
// SetBacklink, as this deployment.
func (s *Server) deliverToIdea(ctx context.Context, m backlink.Message) error {
	_, err := s.ideaBacklinks.SetBacklink(ctx, &ideav1.SetBacklinkRequest{
		Target: m.Target, Source: m.Source, Linked: m.Linked, SourceVersion: m.Version,
	})
	return err
}

// RunBacklinkSweep delivers what the outbox of every served region still
// holds, every interval, until ctx ends.
func (s *Server) RunBacklinkSweep(ctx context.Context, interval time.Duration) {
	if s.ideaBacklinks == nil {
		return
	}
	var nss []store.Namespace
	for _, region := range s.regions.IDs() {
		nss = append(nss, s.needs.NS(region))
	}
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backlink.Run(ctx, interval, s.store, nss, s.deliverToIdea, logger)
}

// SweepBacklinks delivers what region's outbox holds once and returns how
// many messages are still waiting (tests, and an operator's check).
func (s *Server) SweepBacklinks(ctx context.Context, region string) (int64, error) {
	if s.ideaBacklinks != nil {
		if _, _, err := backlink.Sweep(ctx, s.store, s.needs.NS(region), s.deliverToIdea, 1000); err != nil {
			return 0, err
		}
	}
	return backlink.Pending(ctx, s.store, s.needs.NS(region))
}
