package coordinator

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// commonThreshold is the trigram similarity from which two needs of
// different regions count as the same need: a little above pg_trgm's
// default (0.25, what a region's duplicate warning uses), since a national
// cluster should hold needs that are clearly one.
const commonThreshold = 0.3

// ListCommonNeeds asks every region for its published needs and clusters
// the similar ones. Only published needs take part: they are the ones the
// regions show to companies, and a cluster is meant for companies too.
// A region that does not answer leaves its needs out and the answer says so.
func (s *Server) ListCommonNeeds(ctx context.Context, req *coordinatorv1.ListCommonNeedsRequest) (*coordinatorv1.ListCommonNeedsResponse, error) {
	who, err := requireCoordinator(ctx)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := commonOrders.Parse(&v, req.GetOrderBy())
	query := "commonNeeds " + commonOrders[o]
	start := decodeOffset(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	regions := s.regions()
	needs := make([][]*needsv1.Need, len(regions))
	failed := make([]error, len(regions))
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Go(func() { needs[i], failed[i] = s.publishedNeeds(ctx, who, region) })
	}
	wg.Wait()

	resp := &coordinatorv1.ListCommonNeedsResponse{}
	var all []*needsv1.Need
	for i, region := range regions {
		if failed[i] != nil {
			s.logger.WarnContext(ctx, "region left out of common needs", "region", region, "error", failed[i])
			resp.Partial = true
			resp.UnreachedRegions = append(resp.UnreachedRegions, region)
			continue
		}
		all = append(all, needs[i]...)
	}
	resp.CommonNeeds, resp.NextPageToken = pageClusters(orderClusters(s.common.clustersOf(all), o), start, size, query)
	return resp, nil
}

// The orders of the common needs: the clusters' ranking (most regions,
// then most needs, then the first need's name), the same with most needs
// first, and the exact reverse of each.
var commonOrders = resource.Orders{"regions desc", "regions", "needs desc", "needs"}

// orderClusters puts the ranked clusters in order o of commonOrders. The
// ranked list is the cache's and shared with other answers, so any other
// order is a copy.
func orderClusters(ranked []*coordinatorv1.CommonNeed, o int) []*coordinatorv1.CommonNeed {
	if o == 0 {
		return ranked
	}
	out := slices.Clone(ranked)
	if o >= 2 {
		slices.SortStableFunc(out, func(a, b *coordinatorv1.CommonNeed) int {
			// The ranking breaks the remaining ties: a stable sort keeps it.
			return cmp.Compare(len(b.GetNeeds()), len(a.GetNeeds()))
		})
	}
	if o == 1 || o == 3 {
		slices.Reverse(out)
	}
	return out
}

// publishedNeeds pages through one region's published needs under the
// region's own deadline.
func (s *Server) publishedNeeds(ctx context.Context, who *auth.Identity, region string) ([]*needsv1.Need, error) {
	rctx, cancel := s.regionContext(ctx, s.regionTimeout)
	defer cancel()
	if who.Token != "" {
		rctx = auth.WithBearer(rctx, who.Token)
	}
	conn, _, err := s.dial(svcNeeds, region)
	if err != nil {
		return nil, err
	}
	c := needsv1.NewNeedsServiceClient(conn)
	var out []*needsv1.Need
	for token := ""; ; {
		resp, err := c.ListNeeds(rctx, &needsv1.ListNeedsRequest{
			Parent: "regions/" + region, Filter: "published = true", PageSize: resource.MaxPageSize, PageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("ListNeeds %s: %w", region, err)
		}
		for _, n := range resp.GetNeeds() {
			// The filter already says so; the check keeps an unpublished
			// need out even from a region whose needs service ignores it.
			if n.GetPublished() {
				out = append(out, n)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// regionOf reads the region of a resource name regions/{region}/….
func regionOf(name string) string {
	rest, ok := strings.CutPrefix(name, "regions/")
	if !ok {
		return ""
	}
	region, _, _ := strings.Cut(rest, "/")
	return region
}
