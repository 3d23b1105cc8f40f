package idea

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Spreading across the country (docs/architecture.md, "Spreading across
// the country"). A region's config lists only the national peer; the
// national deployment lists every region. A region that spreads an idea to
// a region it has no peer entry for asks the national deployment, whose
// idea service relays the adoption to the region's deployment as itself.
// The national gate has admitted the source region's deployment only for a
// source idea of a region it serves (region-spreads-idea); the target
// trusts the national deployment's certificate for the relay (Rule.Relay),
// so no region has to list, or hold the address of, any other.

// relayAdoption passes an adoption for target on to the deployment that
// serves it. Only a region deployment's own call is relayed: the gate
// checked that it serves the source idea's region.
func (s *Server) relayAdoption(ctx context.Context, req *ideav1.AdoptIdeaRequest, target string) (*ideav1.Idea, error) {
	who, ok := auth.FromContext(ctx)
	if !ok || who.Kind != auth.CallerPeer {
		return nil, domain.New(codes.PermissionDenied, "NOT_A_REGION_PEER", "only a region deployment's adoption is relayed to region %s", target)
	}
	source, err := parseIdeaName(req.GetSpreadFrom())
	if err != nil {
		return nil, domain.InvalidArgument("spread_from", err)
	}
	if source.Region == target {
		return nil, domain.InvalidArgument("spread_from", errors.New("an idea is not spread to its own region"))
	}
	if s.regionIdeas == nil {
		return nil, domain.FailedPrecondition("REGION_NOT_ROUTED", "region %s is in no deployment the national directory lists; nothing was spread", target)
	}
	client, err := s.regionIdeas(target)
	if err != nil {
		return nil, domain.FailedPrecondition("REGION_NOT_ROUTED", "region %s is in no deployment the national directory lists; nothing was spread", target)
	}
	ctx, cancel := context.WithTimeout(ctx, spreadDeadline)
	defer cancel()
	adopted, err := client.AdoptIdea(ctx, req)
	if err == nil {
		return adopted, nil
	}
	switch st := status.Convert(err); st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		// The target's transport error may name addresses: not for callers.
		return nil, domain.New(codes.Unavailable, "REGION_UNREACHABLE", "region %s did not answer the national relay; nothing was spread, try again", target)
	default:
		return nil, st.Err() // the target's own answer
	}
}
