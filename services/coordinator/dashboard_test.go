package coordinator_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// seeded is what seed puts in the regions.
type seeded struct {
	fallsVB, fallsUP, hidden, hearing string // need names
}

// seed gives Västerbotten two ideas (one at screening) and two needs (one
// published), and Uppsala an idea, two published needs, an academic partner
// and an approved subproject the programme reserved 50 000 kr for.
func seed(t *testing.T, e *env) seeded {
	t.Helper()
	ideas := ideav1.NewIdeaServiceClient(e.Conn)
	needsC := needsv1.NewNeedsServiceClient(e.Conn)
	var out seeded
	newIdea := func(region, title string) *ideav1.Idea {
		got, err := ideas.CreateIdea(e.As(t, auth.Advisor, region).Ctx(t), &ideav1.CreateIdeaRequest{
			Parent: "regions/" + region,
			Idea:   &ideav1.Idea{Title: title, Problem: "Problem: " + title, Origin: ideav1.Origin_ORIGIN_STAFF},
		})
		if err != nil {
			t.Fatalf("CreateIdea: %v", err)
		}
		return got
	}
	newIdea(vb, "Fallsensor i golvet")
	screened := newIdea(vb, "Videobesök för KOL-kontroller")
	if _, err := ideas.TransitionIdea(e.As(t, auth.Advisor, vb).Ctx(t), &ideav1.TransitionIdeaRequest{
		Name: screened.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: screened.GetEtag(),
	}); err != nil {
		t.Fatalf("TransitionIdea: %v", err)
	}
	newIdea(up, "Digital egenmonitorering")

	newNeed := func(region, problem, population, outcome string, published bool) string {
		got, err := needsC.CreateNeed(e.As(t, auth.Advisor, region).Ctx(t), &needsv1.CreateNeedRequest{
			Parent: "regions/" + region,
			Need: &needsv1.Need{
				Problem: problem, Population: population, Outcome: outcome, CareUnit: "Äldreomsorg",
				ReportedBy: ideav1.Origin_ORIGIN_STAFF, Published: published,
			},
		})
		if err != nil {
			t.Fatalf("CreateNeed: %v", err)
		}
		return got.GetName()
	}
	out.fallsVB = newNeed(vb, "upptäcka fall nattetid", "boende på särskilda boenden", "korta tiden en person ligger på golvet", true)
	out.hidden = newNeed(vb, "upptäcka fall på natten", "äldre på särskilda boenden", "korta tiden en person ligger på golvet efter ett fall", false)
	out.fallsUP = newNeed(up, "upptäcka fall på natten", "äldre på särskilda boenden", "korta tiden en person ligger på golvet efter ett fall", true)
	out.hearing = newNeed(up, "korta väntetiden för hörapparater", "personer med nedsatt hörsel", "de hör bättre snabbare", true)

	coord := e.coordinator(t)
	if _, err := fundingv1.NewProgrammeServiceClient(e.Conn).CreateProgramme(coord.Ctx(t), &fundingv1.CreateProgrammeRequest{
		ProgrammeId: "innovationsmotorer",
		Programme:   &fundingv1.Programme{Title: "Innovationsmotorer", BudgetOre: 10_000_000_00, StartDate: "2026-01-01", EndDate: "2028-12-31"},
	}); err != nil {
		t.Fatalf("CreateProgramme: %v", err)
	}
	subs := fundingv1.NewSubprojectServiceClient(e.Conn)
	admin := e.As(t, auth.RegionAdmin, up)
	sp, err := subs.CreateSubproject(admin.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/" + up, Subproject: &fundingv1.Subproject{
		Title: "Fallsensorer", Description: "Sensorer i golvet på två boenden.", Programme: "programmes/innovationsmotorer",
		BudgetLines:   []*fundingv1.BudgetLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, Description: "Projektledare", AmountOre: 100_000_00, Eligible: true}},
		Contributions: []*fundingv1.Contribution{{Party: "Region Uppsala", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: 50_000_00}},
	}})
	if err != nil {
		t.Fatalf("CreateSubproject: %v", err)
	}
	if sp, err = subs.SubmitSubproject(admin.Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
		t.Fatalf("SubmitSubproject: %v", err)
	}
	if _, err = subs.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
		t.Fatalf("ApproveSubproject: %v", err)
	}
	if _, err := partnerv1.NewPartnerServiceClient(e.Conn).CreatePartner(admin.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/" + up, Partner: &partnerv1.Partner{
		DisplayName: "Uppsala universitet", OrgNumber: "2021002932", Kind: partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA,
	}}); err != nil {
		t.Fatalf("CreatePartner: %v", err)
	}
	return out
}

// wantFigures are the figures seed gives each region, as an answering
// region reports them.
func wantFigures() map[string]*coordinatorv1.RegionFigures {
	return map[string]*coordinatorv1.RegionFigures{
		vb: {
			Region: vb, Deployment: "test-" + vb, Status: coordinatorv1.RegionStatus_REGION_STATUS_OK,
			IdeasByStage:  map[string]int64{"STAGE_SUBMITTED": 1, "STAGE_SCREENING": 1},
			NeedsByStatus: map[string]int64{"NEED_STATUS_IDENTIFIED": 2},
		},
		up: {
			Region: up, Deployment: "test-" + up, Status: coordinatorv1.RegionStatus_REGION_STATUS_OK,
			IdeasByStage:        map[string]int64{"STAGE_SUBMITTED": 1},
			NeedsByStatus:       map[string]int64{"NEED_STATUS_IDENTIFIED": 2},
			SubprojectsByStatus: map[string]int64{"SUBPROJECT_STATUS_APPROVED": 1},
			GrantedOre:          50_000_00,
			PartnersByKind:      map[string]int64{"PARTNER_KIND_ACADEMIA": 1},
		},
	}
}

// ignoreTimes leaves the times out of a comparison; tests check them apart.
func ignoreTimes() cmp.Option {
	return protocmp.IgnoreFields(&coordinatorv1.RegionFigures{}, "figures_time")
}

func (e *env) dashboard(t *testing.T, ctx context.Context) *coordinatorv1.Dashboard {
	t.Helper()
	d, err := e.client.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{})
	if err != nil {
		t.Fatalf("GetDashboard: %v", err)
	}
	return d
}

func byRegion(d *coordinatorv1.Dashboard) map[string]*coordinatorv1.RegionFigures {
	out := map[string]*coordinatorv1.RegionFigures{}
	for _, f := range d.GetRegions() {
		out[f.GetRegion()] = f
	}
	return out
}

func TestDashboard_FiguresOfEveryRegion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		before := time.Now()
		d := e.dashboard(t, e.coordinator(t).Ctx(t))

		if d.GetPartial() {
			t.Errorf("partial with every region answering")
		}
		want := wantFigures()
		if diff := cmp.Diff([]*coordinatorv1.RegionFigures{want[vb], want[up]}, d.GetRegions(), protocmp.Transform(), ignoreTimes()); diff != "" {
			t.Errorf("regions (-want +got):\n%s", diff)
		}
		for _, f := range d.GetRegions() {
			if f.GetFiguresTime().AsTime().Before(before) || f.GetStale() {
				t.Errorf("%s: figures of %v (stale %v), want current", f.GetRegion(), f.GetFiguresTime().AsTime(), f.GetStale())
			}
		}
		wantTotals := &coordinatorv1.DashboardTotals{
			IncludedRegions:     []string{vb, up},
			IdeasByStage:        map[string]int64{"STAGE_SUBMITTED": 2, "STAGE_SCREENING": 1},
			NeedsByStatus:       map[string]int64{"NEED_STATUS_IDENTIFIED": 4},
			SubprojectsByStatus: map[string]int64{"SUBPROJECT_STATUS_APPROVED": 1},
			GrantedOre:          50_000_00,
			PartnersByKind:      map[string]int64{"PARTNER_KIND_ACADEMIA": 1},
		}
		if diff := cmp.Diff(wantTotals, d.GetTotals(), protocmp.Transform()); diff != "" {
			t.Errorf("totals (-want +got):\n%s", diff)
		}

		// Each region's figures were kept with one audited commit (written
		// behind the answer).
		if diff := eventuallyRecorded(t, e, []string{"figures/" + up, "figures/" + vb}); diff != "" {
			t.Errorf("audited figures (-want +got):\n%s", diff)
		}
		// A refresh with nothing changed keeps the newer time of the
		// figures but adds no audit event; a change adds one.
		e.dashboard(t, e.coordinator(t).Ctx(t))
		if _, err := ideav1.NewIdeaServiceClient(e.Conn).CreateIdea(e.As(t, auth.Advisor, vb).Ctx(t), &ideav1.CreateIdeaRequest{
			Parent: "regions/" + vb, Idea: &ideav1.Idea{Title: "Ännu en idé", Problem: "Något mer.", Origin: ideav1.Origin_ORIGIN_STAFF},
		}); err != nil {
			t.Fatal(err)
		}
		e.dashboard(t, e.coordinator(t).Ctx(t))
		if diff := eventuallyRecorded(t, e, []string{"figures/" + up, "figures/" + vb, "figures/" + vb}); diff != "" {
			t.Errorf("figures audited after an unchanged refresh and a change in %s (-want +got):\n%s", vb, diff)
		}

		// The same over REST, as the coordinator's dashboard reads it.
		code, body := restCall(t, e, e.coordinator(t), "GET", "/v1/national/dashboard")
		regions, _ := body["regions"].([]any)
		if code != 200 || len(regions) != 2 {
			t.Fatalf("REST dashboard: %d %v", code, body)
		}
		first := regions[0].(map[string]any)
		if first["status"] != "REGION_STATUS_OK" || first["ideasByStage"].(map[string]any)["STAGE_SCREENING"] != "1" {
			t.Errorf("REST dashboard region: %v", first)
		}
	})
}

// TestDashboard_RegionDown: with one region's process gone, the dashboard
// still answers within its deadline, partial, that region UNAVAILABLE with
// its last figures marked stale and the other region current; once the
// region is back, the next dashboard is complete again.
func TestDashboard_RegionDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		first := byRegion(e.dashboard(t, e.coordinator(t).Ctx(t)))

		e.pointRegion(up, closedPort(t))
		ctx, cancel := context.WithTimeout(e.coordinator(t).Ctx(t), 3*time.Second)
		defer cancel()
		start := time.Now()
		d := e.dashboard(t, ctx)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("dashboard took %v, beyond its 3s deadline", took)
		}
		if !d.GetPartial() {
			t.Errorf("not partial with uppsala down")
		}
		got := byRegion(d)
		wantUP := wantFigures()[up]
		wantUP.Status = coordinatorv1.RegionStatus_REGION_STATUS_UNAVAILABLE
		wantUP.Stale = true
		wantUP.FiguresTime = first[up].GetFiguresTime()
		if diff := cmp.Diff(wantUP, got[up], protocmp.Transform(), protocmp.IgnoreFields(&coordinatorv1.RegionFigures{}, "error")); diff != "" {
			t.Errorf("uppsala down (-want +got):\n%s", diff)
		}
		if got[up].GetError() == "" {
			t.Errorf("uppsala down: no error says why")
		}
		if diff := cmp.Diff(wantFigures()[vb], got[vb], protocmp.Transform(), ignoreTimes()); diff != "" {
			t.Errorf("västerbotten (-want +got):\n%s", diff)
		}
		if !got[vb].GetFiguresTime().AsTime().After(first[vb].GetFiguresTime().AsTime()) || got[vb].GetStale() {
			t.Errorf("västerbotten figures of %v (stale %v), want newer than %v", got[vb].GetFiguresTime().AsTime(), got[vb].GetStale(), first[vb].GetFiguresTime().AsTime())
		}
		if diff := cmp.Diff([]string{vb}, d.GetTotals().GetIncludedRegions()); diff != "" {
			t.Errorf("totals include (-want +got):\n%s", diff)
		}
		if n := d.GetTotals().GetGrantedOre(); n != 0 {
			t.Errorf("totals granted %d öre: stale figures of uppsala counted", n)
		}

		e.pointRegion(up, nil)
		d = e.dashboard(t, e.coordinator(t).Ctx(t))
		if d.GetPartial() || byRegion(d)[up].GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_OK || byRegion(d)[up].GetStale() {
			t.Errorf("uppsala back: partial %v, uppsala %v", d.GetPartial(), byRegion(d)[up])
		}
	})
}

// TestDashboard_RegionSlow: a region that does not answer is TIMED_OUT
// after its own deadline, or sooner when the request's deadline is nearer,
// and the dashboard answers in time either way.
func TestDashboard_RegionSlow(t *testing.T) {
	for _, tc := range []struct {
		name          string
		regionTimeout time.Duration
		deadline      time.Duration // of the request; 0 for none
		within        time.Duration
	}{
		{"region deadline", 300 * time.Millisecond, 0, 2 * time.Second},
		{"request deadline nearer", time.Minute, time.Second, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, e *env) {
				seed(t, e)
				e.dashboard(t, e.coordinator(t).Ctx(t))
				e.pointRegion(up, fakeRegion(t, nil))

				ctx := e.coordinator(t).Ctx(t)
				if tc.deadline > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					defer cancel()
				}
				start := time.Now()
				d := e.dashboard(t, ctx)
				if took := time.Since(start); took > tc.within {
					t.Errorf("dashboard took %v, want within %v", took, tc.within)
				}
				got := byRegion(d)
				if got[up].GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_TIMED_OUT || !got[up].GetStale() || got[up].GetGrantedOre() != 50_000_00 {
					t.Errorf("slow uppsala: %v, want TIMED_OUT with its last figures, stale", got[up])
				}
				if !d.GetPartial() || got[vb].GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_OK {
					t.Errorf("partial %v, västerbotten %v", d.GetPartial(), got[vb].GetStatus())
				}
			}, func(o *envOptions) { o.regionTimeout = tc.regionTimeout })
		})
	}
}

// TestDashboard_NeverAnswered: a region down since before the first
// dashboard has no figures to serve; it is shown UNAVAILABLE, not stale.
func TestDashboard_NeverAnswered(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.pointRegion(vb, closedPort(t))
		got := byRegion(e.dashboard(t, e.coordinator(t).Ctx(t)))[vb]
		if got.GetStatus() != coordinatorv1.RegionStatus_REGION_STATUS_UNAVAILABLE || got.GetStale() || got.GetFiguresTime() != nil || len(got.GetIdeasByStage()) != 0 {
			t.Errorf("never answered: %v", got)
		}
		if got.GetDeployment() != "test-"+vb {
			t.Errorf("deployment %q, want test-%s", got.GetDeployment(), vb)
		}
	})
}

// TestDashboard_OneTrace: the dashboard request and every region's answer
// are one trace, so an engineer sees in one place which region was slow:
// each region's one GetRegionFigures and, under it, the four Get…Stats its
// figures service asked.
func TestDashboard_OneTrace(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tel := &telemetry.Telemetry{
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
		MeterProvider:  noop.NewMeterProvider(),
		Propagator:     propagation.TraceContext{},
		Metrics:        http.NotFoundHandler(),
	}
	e := newEnv(t, stack.Backends()[0], func(o *envOptions) { o.tel = tel })
	seed(t, e)

	ctx, portal := tel.TracerProvider.Tracer("portal").Start(e.coordinator(t).Ctx(t), "open dashboard")
	e.dashboard(t, ctx)
	portal.End()

	served := func() map[string]int {
		out := map[string]int{}
		for _, s := range spans.Ended() {
			if s.SpanContext().TraceID() == portal.SpanContext().TraceID() && s.SpanKind() == trace.SpanKindServer {
				out[s.Name()]++
			}
		}
		return out
	}
	want := map[string]int{
		"innovation.coordinator.v1.CoordinatorService/GetDashboard":       1,
		"innovation.coordinator.v1.RegionFiguresService/GetRegionFigures": 2,
		"innovation.idea.v1.IdeaService/GetIdeaStats":                     2,
		"innovation.needs.v1.NeedsService/GetNeedStats":                   2,
		"innovation.funding.v1.SubprojectService/GetSubprojectStats":      2,
		"innovation.partner.v1.PartnerService/GetPartnerStats":            2,
	}
	// A server span ends after its answer is on the wire, so the client
	// can hold the answer a moment before the span is recorded.
	got := served()
	for deadline := time.Now().Add(5 * time.Second); !cmp.Equal(want, got) && time.Now().Before(deadline); got = served() {
		time.Sleep(10 * time.Millisecond)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server spans in the dashboard's trace, by method (-want +got):\n%s", diff)
	}
}

// eventuallyRecorded waits (boundedly) for the national store's audit log
// to hold exactly want's figure records, and returns the last difference.
func eventuallyRecorded(t *testing.T, e *env, want []string) string {
	t.Helper()
	var diff string
	for range 100 {
		events, err := e.Store.Events(t.Context(), store.Namespace{Service: "coordinator", Region: auth.NationalRegion}, 0, 100)
		if err != nil {
			t.Fatalf("store.Events: %v", err)
		}
		var recorded []string
		for _, ev := range events {
			if ev.Action == "RecordRegionFigures" && ev.Actor == "coordinator-national" {
				recorded = append(recorded, ev.Key)
			}
		}
		slices.Sort(recorded)
		if diff = cmp.Diff(want, recorded); diff == "" {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
	return diff
}
