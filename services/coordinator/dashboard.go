package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// figuresRef is where the coordinator keeps a region's last good figures,
// in its national namespace (coordinator:national). The audit log names
// them by their key.
func figuresRef(region string) repo.Ref {
	key := "figures/" + region
	return repo.Ref{Region: auth.NationalRegion, Key: key, Name: key}
}

type figuresRecord = repo.Entry[*coordinatorv1.RegionFigures]

// GetDashboard gathers every region's figures concurrently. A region that
// fails is shown with its status and its last good figures (stale), and is
// left out of the totals, so the totals never mix current and old numbers.
func (s *Server) GetDashboard(ctx context.Context, _ *coordinatorv1.GetDashboardRequest) (*coordinatorv1.Dashboard, error) {
	who, err := requireCoordinator(ctx)
	if err != nil {
		return nil, err
	}
	regions := s.regions()
	figures := make([]*coordinatorv1.RegionFigures, len(regions))
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Go(func() { figures[i] = s.regionFigures(ctx, who, region) })
	}
	wg.Wait()

	d := &coordinatorv1.Dashboard{
		Regions:      figures,
		GenerateTime: timestamppb.New(s.now()),
		Totals: &coordinatorv1.DashboardTotals{
			IdeasByStage: map[string]int64{}, NeedsByStatus: map[string]int64{},
			SubprojectsByStatus: map[string]int64{}, PartnersByKind: map[string]int64{},
		},
	}
	t := d.Totals
	for _, f := range figures {
		if f.GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_OK {
			d.Partial = true
			continue
		}
		t.IncludedRegions = append(t.IncludedRegions, f.GetRegion())
		add(t.IdeasByStage, f.GetIdeasByStage())
		add(t.NeedsByStatus, f.GetNeedsByStatus())
		add(t.SubprojectsByStatus, f.GetSubprojectsByStatus())
		add(t.PartnersByKind, f.GetPartnersByKind())
		t.GrantedOre += f.GetGrantedOre()
		t.PaidOre += f.GetPaidOre()
		t.ReleasedOre += f.GetReleasedOre()
	}
	return d, nil
}

func add(dst, src map[string]int64) {
	for k, n := range src {
		dst[k] += n
	}
}

// regionFigures asks one region for its figures under the region's own
// deadline. On success the figures are remembered as the region's last good
// ones; on failure those are served instead, marked stale.
func (s *Server) regionFigures(ctx context.Context, who *auth.Identity, region string) *coordinatorv1.RegionFigures {
	rctx, cancel := s.regionContext(ctx, s.regionTimeout)
	defer cancel()
	if who.Token != "" {
		rctx = auth.WithBearer(rctx, who.Token)
	}
	f, err := s.gather(rctx, region)
	if err == nil {
		f.Status = coordinatorv1.RegionStatus_REGION_STATUS_OK
		f.FiguresTime = timestamppb.New(s.now())
		s.keep(ctx, who, f)
		return f
	}

	st := coordinatorv1.RegionStatus_REGION_STATUS_UNAVAILABLE
	if errors.Is(rctx.Err(), context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
		st = coordinatorv1.RegionStatus_REGION_STATUS_TIMED_OUT
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The dashboard's caller went away: that says nothing of the region.
		s.logger.InfoContext(ctx, "dashboard cancelled by its caller before the region answered", "region", region)
	} else {
		s.logger.WarnContext(ctx, "region did not answer the dashboard", "region", region, "status", st.String(), "error", err)
	}
	out := &coordinatorv1.RegionFigures{Region: region, Deployment: f.GetDeployment()}
	last, lerr := s.lastGood(ctx, region)
	switch {
	case lerr != nil:
		s.logger.WarnContext(ctx, "last good figures unreadable", "region", region, "error", lerr)
	case last != nil:
		out = last
		out.Stale = true
		if f.GetDeployment() != "" {
			out.Deployment = f.GetDeployment()
		}
	}
	out.Status = st
	out.Error = regionError(err)
	return out
}

// regionError says why a region has no current figures in words fit for
// the coordinator: the code and the region's own message, but never a
// lower layer's detail (addresses, dial errors), which the log has.
func regionError(err error) string {
	st := status.Convert(err)
	if rpc.Leaky(st.Message()) {
		switch st.Code() {
		case codes.DeadlineExceeded:
			return "DEADLINE_EXCEEDED: the region did not answer in time"
		default:
			return st.Code().String() + ": the region cannot be reached"
		}
	}
	return st.Code().String() + ": " + st.Message()
}

// gather asks the region for its figures in one call: this process's own
// figures service for a region it serves (no call at all, and the caller's
// token, checked once on the way in, is not checked again), else the figures
// service of the deployment that serves the region, next to its funding
// service, with the caller's token. The figures come back even on error,
// with the deployment set when it is known.
func (s *Server) gather(ctx context.Context, region string) (*coordinatorv1.RegionFigures, error) {
	if s.local.serves(region) {
		f, err := s.local.gather(ctx, region)
		if _, deployment, derr := s.dial(svcFunding, region); derr == nil {
			f.Deployment = deployment
		}
		return f, err
	}
	conn, deployment, err := s.dial(svcFunding, region)
	if err != nil {
		return &coordinatorv1.RegionFigures{Region: region, Deployment: deployment}, err
	}
	f, err := coordinatorv1.NewRegionFiguresServiceClient(conn).GetRegionFigures(ctx, &coordinatorv1.GetRegionFiguresRequest{Name: "regions/" + region + "/figures"})
	if err != nil {
		return &coordinatorv1.RegionFigures{Region: region, Deployment: deployment}, fmt.Errorf("GetRegionFigures %s: %w", region, err)
	}
	// The region says nothing of how the dashboard sees it.
	f.Region, f.Deployment, f.Status, f.Stale, f.FiguresTime, f.Error = region, deployment, 0, false, nil, ""
	for _, m := range []*map[string]int64{&f.IdeasByStage, &f.NeedsByStatus, &f.SubprojectsByStatus, &f.PartnersByKind} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
	return f, nil
}

// remember keeps f as the region's last good figures: one commit per
// region. The commit carries an audit event only when the figures changed:
// a dashboard left open refreshes every region's figures all day, and an
// event per refresh would grow the national log (in Redis, in memory)
// without recording anything new. Concurrent dashboards race on the same
// key; the loser re-reads and keeps whichever figures are newer.
func (s *Server) remember(ctx context.Context, who *auth.Identity, f *coordinatorv1.RegionFigures) error {
	ref := figuresRef(f.GetRegion())
	for range 2 {
		_, _, err := s.figures.Update(ctx, ref, "", who.Subject, func(e *figuresRecord, _ time.Time) (repo.Change, error) {
			if e.Msg.GetFiguresTime().AsTime().After(f.GetFiguresTime().AsTime()) {
				return repo.Change{Noop: true}, nil // a later dashboard kept fresher figures
			}
			changed := !sameFigures(e.Msg, f)
			// The figures are taken whole each time: the newest replace the
			// kept ones.
			e.Msg = proto.CloneOf(f)
			return repo.Change{Action: "RecordRegionFigures", Quiet: !changed}, nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			_, _, err = s.figures.Create(ctx, &figuresRecord{Ref: ref, Msg: proto.CloneOf(f)}, repo.Create{Actor: who.Subject, Action: "RecordRegionFigures"})
			if errors.Is(err, store.ErrExists) {
				continue // another dashboard kept the first figures: compare with them
			}
			return err
		case status.Code(err) == codes.Aborted:
			// Other dashboards kept figures of the same moment; nothing is lost.
			return nil
		}
		return err
	}
	return nil
}

// sameFigures compares two regions' figures but for when they were taken.
func sameFigures(a, b *coordinatorv1.RegionFigures) bool {
	a, b = proto.CloneOf(a), proto.CloneOf(b)
	a.FiguresTime, b.FiguresTime = nil, nil
	return proto.Equal(a, b)
}

// keep makes f the region's last good figures: in memory at once, and in
// the national store behind the answer, so a slow national store never
// holds up a dashboard. One writer per region writes the newest figures
// kept until none is left to write.
//
// Figures the same as those kept are not written again until the stored
// copy is keptRefresh old: a dashboard left open would otherwise write (and
// fsync) every region's figures on every read, while the stored copy is
// only read after a restart, to show how old a silent region's figures are.
func (s *Server) keep(ctx context.Context, who *auth.Identity, f *coordinatorv1.RegionFigures) {
	region := f.GetRegion()
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.kept[region]
	if prev != nil && prev.GetFiguresTime().AsTime().After(f.GetFiguresTime().AsTime()) {
		return
	}
	s.kept[region] = proto.CloneOf(f)
	if w, ok := s.written[region]; ok && prev != nil && sameFigures(prev, f) && f.GetFiguresTime().AsTime().Sub(w) < keptRefresh {
		return
	}
	// Counted as written from now: a write failing undoes it.
	s.written[region] = f.GetFiguresTime().AsTime()
	s.unwritten[region] = keptBy{f: proto.CloneOf(f), who: who}
	if s.persisting[region] {
		return
	}
	s.persisting[region] = true
	go s.writeBehind(context.WithoutCancel(ctx), region)
}

// keptRefresh is how old the stored copy of unchanged figures may grow
// before a dashboard writes it again.
const keptRefresh = time.Minute

// keptBy is figures waiting to be written, with who gathered them.
type keptBy struct {
	f   *coordinatorv1.RegionFigures
	who *auth.Identity
}

func (s *Server) writeBehind(ctx context.Context, region string) {
	for {
		s.mu.Lock()
		next, ok := s.unwritten[region]
		delete(s.unwritten, region)
		if !ok {
			delete(s.persisting, region)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, s.regionTimeout+5*time.Second)
		if err := s.remember(wctx, next.who, next.f); err != nil {
			s.logger.WarnContext(wctx, "region figures not kept in the national store", "region", region, "error", err)
			s.mu.Lock()
			delete(s.written, region) // the next dashboard tries again
			s.mu.Unlock()
		}
		cancel()
	}
}

// lastGood returns the region's last good figures, or nil when it never
// answered: from memory, else from the national store within what is left
// of the request's deadline (a store too slow for it means no figures, not
// a dashboard that fails).
func (s *Server) lastGood(ctx context.Context, region string) (*coordinatorv1.RegionFigures, error) {
	s.mu.Lock()
	kept := s.kept[region]
	s.mu.Unlock()
	if kept != nil {
		return proto.CloneOf(kept), nil
	}
	ctx, cancel := s.reserveContext(ctx)
	defer cancel()
	e, err := s.figures.Get(ctx, figuresRef(region))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("figures of %s: %w", region, err)
	}
	f := e.Msg
	s.mu.Lock()
	if s.kept[region] == nil {
		s.kept[region] = proto.CloneOf(f)
	}
	s.mu.Unlock()
	return f, nil
}
