package needs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// LinkNeed links a need to an idea, an offer or a subproject of its region.
// A link to an idea is written only once the idea service has confirmed the
// idea exists. Linking a target that is already linked answers with the need
// as it is, whatever etag came with it: that is a retry of a link that
// succeeded, whose etag the first answer made stale.
func (s *Server) LinkNeed(ctx context.Context, req *needsv1.LinkNeedRequest) (*needsv1.Need, error) {
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
		v.Add("target", "is required: the resource name of an idea, offer or subproject")
	case terr != nil:
		v.Add("target", "%v", terr)
	case target.Region != name.Region:
		v.Add("target", "%s is in region %s; a need of %s links to targets of its own region", target, target.Region, name.Region)
	}
	checkEtag(&v, "etag", req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	// Look before calling the idea service: a retried link or a closed need
	// is answered without a remote call.
	r, err := s.needs.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if slices.Contains(r.Msg.GetLinks(), target.String()) {
		return speak(ctx, redact(who, name.Region, r.Owner, r.Msg)), nil
	}
	if err := linkable(name, r); err != nil {
		return nil, err
	}
	switch target.Kind {
	case targetIdea:
		if err := s.checkIdea(ctx, who, target); err != nil {
			return nil, err
		}
	case targetOffer, targetSubproject:
		// The partner service (offers) and the funding service
		// (subprojects) do not exist yet, so these targets are checked for
		// form only. Once they do, ask them as checkIdea asks the idea
		// service.
	}

	var msgs []backlink.Message
	r, _, err = s.needs.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(r *record, _ time.Time) (repo.Change, error) {
		msgs = nil
		if slices.Contains(r.Msg.GetLinks(), target.String()) {
			return repo.Change{Noop: true}, nil
		}
		if err := linkable(name, r); err != nil {
			return repo.Change{}, err
		}
		puts, m, err := linkOutbox(name, target, r)
		if err != nil {
			return repo.Change{}, err
		}
		msgs = m
		r.Msg.Links = append(r.Msg.Links, target.String())
		return repo.Change{Action: "LinkNeed", Detail: target.String(), Puts: puts}, nil
	})
	if err != nil {
		return nil, err
	}
	s.flushBacklinks(ctx, name.Region, msgs)
	return s.withReferences(ctx, who, name, r.Owner, speak(ctx, redact(who, name.Region, r.Owner, r.Msg)))
}

// linkable refuses links to a closed need and beyond the limit a record holds.
func linkable(name needName, r *record) error {
	if r.Msg.GetStatus() == needsv1.NeedStatus_NEED_STATUS_CLOSED {
		return closedError(name, "it takes no new links")
	}
	if len(r.Msg.GetLinks()) >= maxLinks {
		return precondition("TOO_MANY_LINKS", "LINK", name.String(), "need %s already has %d links, the most a need holds", name, maxLinks)
	}
	return nil
}

// checkIdea asks the idea service whether the idea exists, as the caller:
// their token is forwarded, so the idea service applies its own access rules.
// Anything but a clear answer means the link cannot be checked now, which is
// UNAVAILABLE: the caller may retry, and nothing was written.
func (s *Server) checkIdea(ctx context.Context, who *auth.Identity, target linkTarget) error {
	if s.ideas == nil {
		return domain.New(codes.Unavailable, "IDEA_SERVICE_UNAVAILABLE", "no idea service is configured, so a link to %s cannot be checked", target)
	}
	ctx, cancel := context.WithTimeout(ctx, s.ideaTimeout)
	defer cancel()
	_, err := s.ideas.GetIdea(auth.WithBearer(ctx, who.Token), &ideav1.GetIdeaRequest{Name: target.String()})
	st := status.Convert(err)
	switch st.Code() {
	case codes.OK:
		return nil
	case codes.NotFound:
		return domain.InvalidArgument("target", fmt.Errorf("idea %s does not exist", target))
	case codes.InvalidArgument:
		return domain.InvalidArgument("target", fmt.Errorf("the idea service refused %s: %s", target, st.Message()))
	case codes.PermissionDenied, codes.Unauthenticated:
		return domain.New(st.Code(), "IDEA_NOT_VISIBLE", "the idea service does not show idea %s to you: %s", target, st.Message())
	}
	return domain.New(codes.Unavailable, "IDEA_SERVICE_UNAVAILABLE",
		"the idea service could not confirm that %s exists (%s: %s); the link was not written, try again", target, st.Code(), st.Message())
}
