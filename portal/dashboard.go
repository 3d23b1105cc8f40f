package portal

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// The national coordinator's dashboard. Every part is asked for on its own
// and a part that fails is shown as missing, never as an error page: the
// coordinator service already keeps answering while a region is down
// (its last good figures, marked stale), and the page keeps answering while
// the coordinator's other calls fail.

// dashboardRefresh is how often the page asks for fresh figures (htmx).
const dashboardRefresh = 30 * time.Second

// regionState is a region's state as the dashboard shows it.
type regionState string

const (
	stateUp          regionState = "up"
	statePartial     regionState = "partial"
	stateUnreachable regionState = "unreachable"
	stateTimedOut    regionState = "timedout"
)

type regionRow struct {
	Figures *coordinatorv1.RegionFigures
	Region  string
	State   regionState
	// Age is how old stale figures are, in the page's words ("" when
	// current or when there are none).
	Age    string
	Stale  bool
	NoData bool
	Funnel funnelChart
	Ideas  int64
	Needs  int64
}

type approval struct {
	Region     string
	Subproject *fundingv1.Subproject
	Programme  *fundingv1.Programme
	// AvailableAfter is what is left in the programme after approval.
	AvailableAfter int64
	Enough         bool
}

type certification struct {
	Region     string
	Subproject *fundingv1.Subproject
	Report     *fundingv1.CostReport
	// Pays is what certifying all of it pays: ⌊reported × rate / 10000⌋,
	// capped at what the reservation has left.
	Pays int64
}

type dashboardData struct {
	Generated   *timestamppb.Timestamp
	Failed      bool // the coordinator itself did not answer
	Partial     bool
	Rows        []regionRow
	Map         swedenMap
	Funnel      funnelChart
	Needs       barChart
	Programmes  []programmeChart
	ProgFailed  bool
	RegionMoney groupedChart
	Common      []*coordinatorv1.CommonNeed
	CommonNote  []string // regions the common needs lack
	CommonFail  bool
	Approvals   []approval
	Certify     []certification
	WorkFailed  []string // regions whose work could not be read
	Done        string
	Refresh     int
}

// funnelStages are the pipeline's stages in order; the final ones that end
// the pipeline are summed into the last step.
var funnelStages = []ideav1.Stage{
	ideav1.Stage_STAGE_SUBMITTED, ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED,
	ideav1.Stage_STAGE_DEVELOPMENT, ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_IMPLEMENTED,
}

func funnelCounts(byStage map[string]int64) []int64 {
	out := make([]int64, len(funnelStages))
	for i, st := range funnelStages {
		out[i] = byStage[st.String()]
	}
	last := len(out) - 1
	out[last] += byStage[ideav1.Stage_STAGE_COMMERCIALISED.String()] + byStage[ideav1.Stage_STAGE_SPREAD.String()]
	return out
}

func regionStateOf(f *coordinatorv1.RegionFigures, health map[string]coordinatorv1.RegionHealth) regionState {
	switch f.GetStatus() {
	case coordinatorv1.RegionStatus_REGION_STATUS_OK:
		if h, ok := health[f.GetRegion()]; ok && h == coordinatorv1.RegionHealth_REGION_HEALTH_NOT_SERVING {
			return statePartial
		}
		return stateUp
	case coordinatorv1.RegionStatus_REGION_STATUS_TIMED_OUT:
		return stateTimedOut
	}
	return stateUnreachable
}

// ageWords says how old t is: "3 min", "2 h", "4 d".
func ageWords(now, t time.Time, lang string) string {
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + nbsp + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + nbsp + "min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + nbsp + "h"
	}
	unit := "dagar"
	if lang == langEN {
		unit = "days"
	}
	return strconv.Itoa(int(d.Hours()/24)) + nbsp + unit
}

func (p *Portal) coordinatorOnly(w http.ResponseWriter, r *http.Request, s *session) bool {
	if !s.has(auth.Coordinator) || p.cfg.Coordinator == nil {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return false
	}
	return true
}

// loadDashboard asks for every part at once and builds the page from what
// answered.
func (p *Portal) loadDashboard(ctx context.Context, lang string) *dashboardData {
	var (
		wg         sync.WaitGroup
		dash       *coordinatorv1.Dashboard
		dashErr    error
		regions    *coordinatorv1.ListRegionsResponse
		programmes []*fundingv1.Programme
		progErr    error
		common     *coordinatorv1.ListCommonNeedsResponse
		commonErr  error
	)
	wg.Go(func() { dash, dashErr = p.cfg.Coordinator.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{}) })
	wg.Go(func() {
		regions, _ = p.cfg.Coordinator.ListRegions(ctx, &coordinatorv1.ListRegionsRequest{PageSize: 1000})
	})
	wg.Go(func() { programmes, progErr = p.listProgrammes(ctx) })
	wg.Go(func() {
		common, commonErr = p.cfg.Coordinator.ListCommonNeeds(ctx, &coordinatorv1.ListCommonNeedsRequest{PageSize: 50})
	})
	wg.Wait()
	now := p.now()
	d := &dashboardData{Refresh: int(dashboardRefresh.Seconds()), ProgFailed: progErr != nil, CommonFail: commonErr != nil}
	if dashErr != nil {
		p.logger.Warn("portal: the dashboard's figures", "error", dashErr)
		d.Failed, d.Partial = true, true
	}
	health := map[string]coordinatorv1.RegionHealth{}
	for _, r := range regions.GetRegions() {
		health[r.GetRegion()] = r.GetHealth()
	}
	d.Generated = dash.GetGenerateTime()
	d.Partial = d.Partial || dash.GetPartial()
	for _, f := range dash.GetRegions() {
		row := regionRow{Figures: f, Region: f.GetRegion(), State: regionStateOf(f, health), Stale: f.GetStale()}
		if row.State == statePartial {
			d.Partial = true
		}
		if f.GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_OK {
			if f.GetFiguresTime() == nil {
				row.NoData = true
			} else {
				row.Age = ageWords(now, f.GetFiguresTime().AsTime(), lang)
			}
		}
		for _, n := range f.GetIdeasByStage() {
			row.Ideas += n
		}
		for _, n := range f.GetNeedsByStatus() {
			row.Needs += n
		}
		row.Funnel = newFunnel(funnelCounts(f.GetIdeasByStage()), lang, 180, 14)
		d.Rows = append(d.Rows, row)
	}
	d.Map = newSwedenMap(d.Rows)
	totals := dash.GetTotals()
	d.Funnel = newFunnel(funnelCounts(totals.GetIdeasByStage()), lang, 420, 30)
	var needLabels []string
	var needValues []int64
	for i := int32(1); needsv1.NeedStatus_name[i] != ""; i++ {
		st := needsv1.NeedStatus(i)
		needLabels = append(needLabels, translate(lang, lowerName(st.String())))
		needValues = append(needValues, totals.GetNeedsByStatus()[st.String()])
	}
	d.Needs = newBarChart(needLabels, needValues)
	for _, pr := range programmes {
		d.Programmes = append(d.Programmes, newProgrammeChart(pr))
	}
	var money []groupedRow
	for _, row := range d.Rows {
		money = append(money, groupedRow{Label: regionNames[row.Region], Region: row.Region, A: row.Figures.GetGrantedOre(), B: row.Figures.GetPaidOre(), Stale: row.Stale})
	}
	d.RegionMoney = newGroupedChart(money)
	d.Common = common.GetCommonNeeds()
	d.CommonNote = common.GetUnreachedRegions()
	p.loadWork(ctx, d, programmes)
	return d
}

// fundingFor is the funding service that holds region's subprojects.
func (p *Portal) fundingFor(region string) (fundingv1.SubprojectServiceClient, error) {
	if p.cfg.RegionFunding != nil {
		return p.cfg.RegionFunding(region)
	}
	if p.cfg.Subprojects == nil {
		return nil, errNoSuchRegion
	}
	return p.cfg.Subprojects, nil
}

// loadWork finds what waits for the coordinator in the regions that
// answered: submitted subprojects and submitted cost reports.
func (p *Portal) loadWork(ctx context.Context, d *dashboardData, programmes []*fundingv1.Programme) {
	byName := map[string]*fundingv1.Programme{}
	for _, pr := range programmes {
		byName[pr.GetName()] = pr
	}
	type found struct {
		approvals []approval
		certify   []certification
		failed    bool
	}
	res := make([]found, len(d.Rows))
	var wg sync.WaitGroup
	for i, row := range d.Rows {
		if row.State != stateUp && row.State != statePartial {
			continue
		}
		wg.Go(func() {
			c, err := p.fundingFor(row.Region)
			if err != nil {
				res[i].failed = true
				return
			}
			submitted, err := p.listSubprojects(ctx, c, row.Region, "status = SUBPROJECT_STATUS_SUBMITTED")
			if err != nil {
				res[i].failed = true
				return
			}
			for _, sp := range submitted {
				a := approval{Region: row.Region, Subproject: sp, Programme: byName[sp.GetProgramme()]}
				if a.Programme != nil {
					a.AvailableAfter = a.Programme.GetBalance().GetAvailableOre() - sp.GetProgrammeShareOre()
					a.Enough = a.AvailableAfter >= 0
				}
				res[i].approvals = append(res[i].approvals, a)
			}
			approved, err := p.listSubprojects(ctx, c, row.Region, "status = SUBPROJECT_STATUS_APPROVED")
			if err != nil {
				res[i].failed = true
				return
			}
			for _, sp := range approved {
				reports, err := c.ListCostReports(ctx, &fundingv1.ListCostReportsRequest{Parent: sp.GetName(), PageSize: 1000})
				if err != nil {
					res[i].failed = true
					return
				}
				for _, cr := range reports.GetCostReports() {
					if cr.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
						continue
					}
					pays := min(programmeShare(cr.GetReportedOre(), sp.GetCoFinancingRateBp()), max(0, sp.GetGrantedOre()-sp.GetPaidOre()))
					res[i].certify = append(res[i].certify, certification{Region: row.Region, Subproject: sp, Report: cr, Pays: pays})
				}
			}
		})
	}
	wg.Wait()
	for i, f := range res {
		d.Approvals = append(d.Approvals, f.approvals...)
		d.Certify = append(d.Certify, f.certify...)
		if f.failed {
			d.WorkFailed = append(d.WorkFailed, d.Rows[i].Region)
		}
	}
}

func (p *Portal) dashboard(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.coordinatorOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d := p.loadDashboard(ctx, chooseLang(r))
	d.Done = doneKey(r.URL.Query().Get("done"))
	v := &view{Title: "dash.title", Session: s, Data: d}
	if r.URL.Query().Get("live") != "" {
		v.Fragment = "live"
	}
	p.render(w, r, http.StatusOK, "dashboard", v)
}

// decide runs a coordinator's decision on a region's subproject or cost
// report and comes back to the dashboard, showing a refusal there.
func (p *Portal) decide(w http.ResponseWriter, r *http.Request, s *session, done string, call func(ctx context.Context, c fundingv1.SubprojectServiceClient, name string) error) {
	if !p.coordinatorOnly(w, r, s) {
		return
	}
	region := r.PathValue("region")
	name := "regions/" + region + "/subprojects/" + r.PathValue("subproject")
	p.act(w, r, s, "/dashboard?done="+done, "dashboard", "dash.title",
		func(ctx context.Context) error {
			c, err := p.fundingFor(region)
			if err != nil {
				return err
			}
			return call(ctx, c, name)
		},
		func(ctx context.Context) (any, error) { return p.loadDashboard(ctx, chooseLang(r)), nil })
}

func (p *Portal) approveSubproject(w http.ResponseWriter, r *http.Request, s *session) {
	p.decide(w, r, s, "approved", func(ctx context.Context, c fundingv1.SubprojectServiceClient, name string) error {
		_, err := c.ApproveSubproject(ctx, &fundingv1.ApproveSubprojectRequest{Name: name, Etag: r.PostFormValue("etag")})
		return err
	})
}

func (p *Portal) certifyCostReport(w http.ResponseWriter, r *http.Request, s *session) {
	p.decide(w, r, s, "certified", func(ctx context.Context, c fundingv1.SubprojectServiceClient, name string) error {
		_, err := c.CertifyCostReport(ctx, &fundingv1.CertifyCostReportRequest{Name: name + "/costReports/" + r.PathValue("report"), Etag: r.PostFormValue("etag")})
		return err
	})
}

// RegionState is a region state's label.
func (v *view) RegionState(s regionState) string { return v.T("dash.state." + string(s)) }
