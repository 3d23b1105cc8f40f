package coordinator

import (
	"context"
	"maps"
	"sync"

	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// FiguresConfig is what a region deployment's figures service is given:
// the regions it serves and its own services, which it asks as the
// deployment itself (the caller was admitted once, by this service).
type FiguresConfig struct {
	Regions     config.Served
	Ideas       ideav1.IdeaServiceClient
	Needs       needsv1.NeedsServiceClient
	Subprojects fundingv1.SubprojectServiceClient
	Partners    partnerv1.PartnerServiceClient
}

// Figures implements coordinatorv1.RegionFiguresServiceServer: one region's
// figures in one call. A region deployment runs it so that the national
// dashboard asks each region once; the coordinator of a process that serves
// the region itself calls it directly (Config.Figures), without a call.
type Figures struct {
	coordinatorv1.UnimplementedRegionFiguresServiceServer
	cfg FiguresConfig
}

// NewFigures returns the region figures service.
func NewFigures(cfg FiguresConfig) *Figures {
	return &Figures{cfg: cfg}
}

// serves reports whether this figures service counts region.
func (f *Figures) serves(region string) bool {
	return f != nil && f.cfg.Regions.Has(region)
}

// GetRegionFigures answers the region's staff, national coordinators and
// other deployments (the national one as itself): who may read every
// Get…Stats of the region.
func (f *Figures) GetRegionFigures(ctx context.Context, req *coordinatorv1.GetRegionFiguresRequest) (*coordinatorv1.RegionFigures, error) {
	region, err := resource.StatsRegion(ctx, domain, f.cfg.Regions, req.GetName(), "figures")
	if err != nil {
		return nil, err
	}
	out, err := f.gather(ctx, region)
	if err != nil {
		return nil, figuresError(err)
	}
	return out, nil
}

// figuresError passes on the code and message of the region's service that
// failed, unless the message is a lower layer's (a dial error, an address),
// which stays in this deployment's log.
func figuresError(err error) error {
	st := status.Convert(err)
	if rpc.Leaky(st.Message()) {
		return status.Error(st.Code(), "a service of the region cannot be reached")
	}
	return st.Err()
}

// gather asks the region's four services for their figures concurrently,
// each counting on its own indexes. The first failure cancels the others
// and is the answer.
func (f *Figures) gather(ctx context.Context, region string) (*coordinatorv1.RegionFigures, error) {
	out := &coordinatorv1.RegionFigures{
		Region:       region,
		IdeasByStage: map[string]int64{}, NeedsByStatus: map[string]int64{},
		SubprojectsByStatus: map[string]int64{}, PartnersByKind: map[string]int64{},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Calls are made as this deployment, for the person who asked: the
	// caller's token was checked once, on the way in.
	if who, ok := auth.FromContext(ctx); ok {
		ctx = auth.OnBehalfOf(ctx, who.Subject)
	}
	name := "regions/" + region + "/"
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel()
		}
	}
	// Each counter writes only its own fields of out.
	counters := []func() error{
		func() error {
			st, err := f.cfg.Ideas.GetIdeaStats(ctx, &ideav1.GetIdeaStatsRequest{Name: name + "ideaStats"})
			if err != nil {
				return err
			}
			maps.Copy(out.IdeasByStage, st.GetIdeasByStage())
			return nil
		},
		func() error {
			st, err := f.cfg.Needs.GetNeedStats(ctx, &needsv1.GetNeedStatsRequest{Name: name + "needStats"})
			if err != nil {
				return err
			}
			maps.Copy(out.NeedsByStatus, st.GetNeedsByStatus())
			return nil
		},
		func() error {
			st, err := f.cfg.Subprojects.GetSubprojectStats(ctx, &fundingv1.GetSubprojectStatsRequest{Name: name + "subprojectStats"})
			if err != nil {
				return err
			}
			maps.Copy(out.SubprojectsByStatus, st.GetSubprojectsByStatus())
			out.GrantedOre, out.PaidOre, out.ReleasedOre = st.GetGrantedOre(), st.GetPaidOre(), st.GetReleasedOre()
			return nil
		},
		func() error {
			st, err := f.cfg.Partners.GetPartnerStats(ctx, &partnerv1.GetPartnerStatsRequest{Name: name + "partnerStats"})
			if err != nil {
				return err
			}
			maps.Copy(out.PartnersByKind, st.GetPartnersByKind())
			return nil
		},
	}
	for _, count := range counters {
		wg.Go(func() {
			if err := count(); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	return out, first
}
