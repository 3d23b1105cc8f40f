package funding

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// References are what a subproject builds on: ideas, needs and partners.
// Each must exist and belong to a region this deployment serves (another
// served region's too: subprojects build on spread ideas and common needs),
// asked of the service that owns it over gRPC. The clients call as this
// deployment itself (auth.AsService), since a region admin's token does not
// reach another region's needs.
type References struct {
	Ideas    ideav1.IdeaServiceClient
	Needs    needsv1.NeedsServiceClient
	Partners partnerv1.PartnerServiceClient
	// Timeout bounds one look-up; 5s when zero.
	Timeout time.Duration
}

// checkReferences checks the references of sp named by paths and reports
// every missing one at once. A service without a client is not asked (a
// deployment or test that runs funding alone).
func (s *Subprojects) checkReferences(ctx context.Context, sp *fundingv1.Subproject, paths []string) error {
	refs := s.refs
	timeout := refs.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var v errs.Violations
	lookup := func(field, kind, collection, name string, get func(context.Context) error) error {
		ids, err := resource.Split(name, "regions", collection)
		if err != nil {
			return nil // the shape is validate.go's
		}
		if !s.regions.Has(ids[0]) {
			v.Add(field, "%s is %s of region %s, which this deployment does not serve", name, kind, ids[0])
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		st := status.Convert(get(cctx))
		switch st.Code() {
		case codes.OK:
		case codes.NotFound:
			v.Add(field, "%s %s does not exist", kind, name)
		case codes.InvalidArgument:
			v.Add(field, "%s: %s", name, st.Message())
		default:
			return domain.New(codes.Unavailable, "REFERENCE_CHECK_UNAVAILABLE", "could not check %s %s (%s); nothing was saved", kind, name, st.Message())
		}
		return nil
	}
	var partners []string
	for _, p := range sp.GetPartners() {
		partners = append(partners, p.GetPartner())
	}
	kinds := []struct {
		path, field, kind string
		names             []string
		get               func(ctx context.Context, name string) error // nil: not checked
	}{
		{"ideas", "subproject.ideas[%d]", "idea", sp.GetIdeas(), nil},
		{"needs", "subproject.needs[%d]", "need", sp.GetNeeds(), nil},
		{"partners", "subproject.partners[%d].partner", "partner", partners, nil},
	}
	if refs.Ideas != nil {
		kinds[0].get = func(ctx context.Context, n string) error {
			_, err := refs.Ideas.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: n})
			return err
		}
	}
	if refs.Needs != nil {
		kinds[1].get = func(ctx context.Context, n string) error {
			_, err := refs.Needs.GetNeed(ctx, &needsv1.GetNeedRequest{Name: n})
			return err
		}
	}
	if refs.Partners != nil {
		kinds[2].get = func(ctx context.Context, n string) error {
			_, err := refs.Partners.GetPartner(ctx, &partnerv1.GetPartnerRequest{Name: n})
			return err
		}
	}
	for _, k := range kinds {
		if k.get == nil || !slices.Contains(paths, k.path) {
			continue
		}
		for i, n := range k.names {
			if err := lookup(fmt.Sprintf(k.field, i), k.kind, k.path, n, func(ctx context.Context) error { return k.get(ctx, n) }); err != nil {
				return err
			}
		}
	}
	return v.Err(domain)
}
