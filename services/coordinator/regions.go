package coordinator

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// regionService is one service every region runs: its name for Config.Conn
// and its name in grpc.health.v1.
type regionService struct {
	name, health string
}

func regionServices() []regionService {
	return []regionService{
		{svcIdea, ideav1.IdeaService_ServiceDesc.ServiceName},
		{svcNeeds, needsv1.NeedsService_ServiceDesc.ServiceName},
		{svcFunding, fundingv1.SubprojectService_ServiceDesc.ServiceName},
		{svcPartner, partnerv1.PartnerService_ServiceDesc.ServiceName},
	}
}

// The orders of the region directory: by region id, or its reverse.
var regionOrders = resource.Orders{"region", "region desc"}

// ListRegions lists the directory by region id, checking the health of the
// regions on the page only, all at once, each under the short health
// deadline.
func (s *Server) ListRegions(ctx context.Context, req *coordinatorv1.ListRegionsRequest) (*coordinatorv1.ListRegionsResponse, error) {
	who, err := requireCoordinator(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := regionOrders.Parse(&v, req.GetOrderBy())
	query := "regions " + regionOrders[o]
	start := decodeOffset(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	// The directory lists the deployment's own regions first; the list is
	// by id, so a page holds the same regions whichever deployment answers.
	regions := slices.Sorted(slices.Values(s.regions()))
	if o == 1 {
		slices.Reverse(regions)
	}
	window, next := pageOf(regions, start, size, query)
	resp := &coordinatorv1.ListRegionsResponse{Regions: make([]*coordinatorv1.Region, len(window)), NextPageToken: next}
	var wg sync.WaitGroup
	for i, region := range window {
		wg.Go(func() { resp.Regions[i] = s.regionHealth(ctx, who, region) })
	}
	wg.Wait()
	return resp, nil
}

// regionHealth asks each of the region's services for its health. The
// worst answer is the region's: a region whose partner service is down is
// not a region that serves.
func (s *Server) regionHealth(ctx context.Context, who *auth.Identity, region string) *coordinatorv1.Region {
	hctx, cancel := s.regionContext(ctx, s.healthTimeout)
	defer cancel()
	if who.Token != "" {
		hctx = auth.WithBearer(hctx, who.Token)
	}
	services := regionServices()
	healths := make([]coordinatorv1.RegionHealth, len(services))
	problems := make([]string, len(services))
	deployments := make([]string, len(services))
	var wg sync.WaitGroup
	for i, svc := range services {
		wg.Go(func() { healths[i], deployments[i], problems[i] = s.serviceHealth(hctx, svc, region) })
	}
	wg.Wait()

	out := &coordinatorv1.Region{
		Region: region, Health: coordinatorv1.RegionHealth_REGION_HEALTH_SERVING,
		ServiceHealth: map[string]coordinatorv1.RegionHealth{}, CheckTime: timestamppb.New(s.now()),
	}
	for i, svc := range services {
		out.ServiceHealth[svc.health] = healths[i]
		// Enum order is severity order: SERVING < NOT_SERVING < UNREACHABLE.
		out.Health = max(out.Health, healths[i])
		if out.Deployment == "" {
			out.Deployment = deployments[i]
		}
	}
	out.Error = strings.Join(slices.DeleteFunc(problems, func(p string) bool { return p == "" }), "; ")
	return out
}

func (s *Server) serviceHealth(ctx context.Context, svc regionService, region string) (coordinatorv1.RegionHealth, string, string) {
	conn, deployment, err := s.dial(svc.name, region)
	if err != nil {
		return coordinatorv1.RegionHealth_REGION_HEALTH_UNREACHABLE, deployment, err.Error()
	}
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc.health})
	switch {
	case status.Code(err) == codes.NotFound:
		return coordinatorv1.RegionHealth_REGION_HEALTH_NOT_SERVING, deployment, svc.name + " is not run by " + deploymentOr(deployment, region)
	case err != nil:
		return coordinatorv1.RegionHealth_REGION_HEALTH_UNREACHABLE, deployment, fmt.Sprintf("%s health check: %v", svc.name, err)
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		return coordinatorv1.RegionHealth_REGION_HEALTH_NOT_SERVING, deployment, fmt.Sprintf("%s reports %s", svc.name, resp.GetStatus())
	}
	return coordinatorv1.RegionHealth_REGION_HEALTH_SERVING, deployment, ""
}

func deploymentOr(deployment, region string) string {
	if deployment != "" {
		return "deployment " + deployment
	}
	return "the deployment of " + region
}

// decodeOffset reads a page token of a list the coordinator computes in
// memory: the position in the list to continue from.
func decodeOffset(v *errs.Violations, token, query string) int {
	after := resource.DecodeToken(v, token, resource.Digest(query))
	if after == "" {
		return 0
	}
	n, err := strconv.Atoi(after)
	if err != nil || n < 0 {
		v.Add("page_token", "is not a page token returned by this list")
		return 0
	}
	return n
}

// pageOf cuts one page out of a list computed in memory. The list is
// recomputed on every call, so a page may shift when regions change between
// calls; the directory and the clusters change rarely enough for that.
func pageOf[T any](all []T, start, size int, query string) ([]T, string) {
	start = min(start, len(all))
	end := min(start+size, len(all))
	next := ""
	if end < len(all) {
		next = resource.EncodeToken(strconv.Itoa(end), resource.Digest(query))
	}
	return all[start:end], next
}
