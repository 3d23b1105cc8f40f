package reports

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// DefaultRegionTimeout is how long the national report waits for a region.
const DefaultRegionTimeout = 2 * time.Second

// RegionReports returns the reports service of a region: this deployment's
// for its own regions, a peer's for the others.
type RegionReports func(region string) (reportsv1.ReportServiceClient, error)

// GetNationalIdeaReport asks every region of the directory for its idea
// report at once, as the coordinator (their token is forwarded, so each
// region applies its own access rules), each under its own deadline.
func (s *Server) GetNationalIdeaReport(ctx context.Context, req *reportsv1.GetNationalIdeaReportRequest) (*reportsv1.NationalIdeaReport, error) {
	who, err := auth.Require(ctx, auth.NationalRegion, auth.Coordinator)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	p, iv := parseQuery(&v, req.GetPeriod(), req.GetInterval(), byMonth, s.now())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if s.directory == nil || s.regionReports == nil {
		return nil, domain.New(codes.Unimplemented, "NO_DIRECTORY", "this deployment has no region directory to gather a national report from")
	}
	regions := s.directory()
	parts := make([]*reportsv1.RegionIdeaReport, len(regions))
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Go(func() {
			parts[i] = s.regionIdeaReport(auth.WithBearer(ctx, who.Token), region, p, iv)
		})
	}
	wg.Wait()
	out := &reportsv1.NationalIdeaReport{Period: p.String(), Interval: string(iv), Regions: parts}
	var answered []*reportsv1.IdeaReport
	for _, part := range parts {
		if !part.GetAvailable() {
			out.Partial = true
			continue
		}
		out.IncludedRegions = append(out.IncludedRegions, part.GetRegion())
		answered = append(answered, part.GetReport())
	}
	out.Totals = addIdeaReports(p, iv, answered)
	return out, nil
}

func (s *Server) regionIdeaReport(ctx context.Context, region string, p period, iv interval) *reportsv1.RegionIdeaReport {
	part := &reportsv1.RegionIdeaReport{Region: region}
	client, err := s.regionReports(region)
	if err != nil {
		part.UnavailableReason = fmt.Sprintf("region %s cannot be reached: %v", region, err)
		return part
	}
	ctx, cancel := context.WithTimeout(ctx, s.regionTimeout)
	defer cancel()
	rep, err := client.GetIdeaReport(ctx, &reportsv1.GetIdeaReportRequest{Parent: "regions/" + region, Period: p.String(), Interval: string(iv)})
	if err != nil {
		st := status.Convert(err)
		part.UnavailableReason = fmt.Sprintf("region %s did not answer (%s): %s", region, st.Code(), st.Message())
		return part
	}
	part.Available, part.Report = true, rep
	return part
}

// addIdeaReports adds up the regions' figures; days in stage stay with
// each region.
func addIdeaReports(p period, iv interval, reps []*reportsv1.IdeaReport) *reportsv1.IdeaReport {
	rows := map[string]*monthAgg{}
	total := &monthAgg{}
	for _, rep := range reps {
		for _, row := range rep.GetIntervals() {
			a := rows[row.GetInterval()]
			if a == nil {
				a = &monthAgg{}
				rows[row.GetInterval()] = a
			}
			a.Submitted += row.GetSubmitted()
			for _, c := range row.GetByOrigin() {
				bump(&a.Origin, c.GetKey(), c.GetCount())
			}
			for _, c := range row.GetByCareArea() {
				bump(&a.CareArea, c.GetKey(), c.GetCount())
			}
			for _, c := range row.GetReached() {
				bump(&a.Reached, c.GetKey(), c.GetCount())
			}
		}
		for _, c := range rep.GetSpreadTo() {
			bump(&total.SpreadTo, c.GetKey(), c.GetCount())
		}
	}
	// The rows are the period's intervals in order, whichever regions
	// answered: one "month" of the merged figures per interval.
	byLabel := map[month]*monthAgg{}
	for m := p.from; m <= p.to; m++ {
		if a := rows[iv.label(m)]; a != nil && (m == p.from || iv.label(m-1) != iv.label(m)) {
			byLabel[m] = a
		}
	}
	out := ideaReport("national", p, iv, byLabel)
	out.Name = "national/reports/ideas"
	out.StageTimes = nil
	out.SpreadTo = counts(total.SpreadTo)
	return out
}
