package idea

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Back-references: the needs and subprojects that link to an idea. The
// needs and funding services own those links and tell this service through
// SetBacklink, as themselves, from an outbox (internal/backlink); this
// service keeps who points at each idea and shows it as linked_from.

// SetBacklink records that a need or a subproject links to an idea, or no
// longer does. The source must be of a region this deployment serves (the
// services that send it are this process's); the idea must exist.
func (s *Server) SetBacklink(ctx context.Context, req *ideav1.SetBacklinkRequest) (*ideav1.SetBacklinkResponse, error) {
	target, err := parseIdeaName(req.GetTarget())
	if err != nil {
		return nil, domain.InvalidArgument("target", err)
	}
	if err := s.servedRegion(target.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, target.Region, auth.Service)
	if err != nil {
		return nil, err
	}
	if who.Kind != auth.CallerInternal {
		return nil, domain.New(codes.PermissionDenied, "NOT_INTERNAL", "back-references are recorded only by this deployment's own services")
	}
	var v errs.Violations
	if err := backlinkSource(req.GetSource(), s.regions.Has); err != nil {
		v.Add("source", "%v", err)
	}
	if req.GetSourceVersion() <= 0 {
		v.Add("source_version", "must be the source record's version, at least 1")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.store.Get(ctx, ns(target.Region), target.key()); err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+target.String())
	}
	applied, err := backlink.Set(ctx, s.store, ns(target.Region), target.ID, backlink.Message{
		Target: target.String(), Source: req.GetSource(), Linked: req.GetLinked(), Version: req.GetSourceVersion(),
	})
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+target.String())
	}
	return &ideav1.SetBacklinkResponse{Applied: applied}, nil
}

// backlinkSource checks that a source is a need or a subproject of a served
// region.
func backlinkSource(source string, served func(string) bool) error {
	if source == "" {
		return errors.New("is required: regions/{region}/needs/{need} or regions/{region}/subprojects/{subproject}")
	}
	var region string
	for _, c := range []string{"needs", "subprojects"} {
		if ids, err := resource.Split(source, "regions", c); err == nil {
			region = ids[0]
		}
	}
	if region == "" {
		return fmt.Errorf("%q is neither a need nor a subproject", source)
	}
	if !served(region) {
		return fmt.Errorf("%s is of region %s, which this deployment does not serve", source, region)
	}
	return nil
}

// withLinks sets linked_from on an idea about to be answered.
func (s *Server) withLinks(ctx context.Context, name ideaName, idea *ideav1.Idea) (*ideav1.Idea, error) {
	from, err := backlink.Sources(ctx, s.store, ns(name.Region), name.ID)
	if err != nil {
		return nil, domain.Store(err, "IDEA", "idea "+name.String())
	}
	idea.LinkedFrom = from
	return idea, nil
}
