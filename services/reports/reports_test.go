package reports_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }

func (e *env) submit(t *testing.T, c stack.Caller, origin ideav1.Origin, care string) *ideav1.Idea {
	t.Helper()
	got, err := e.Ideas.CreateIdea(c.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
		Title: "Idé " + care, Problem: "Något som borde bli bättre på avdelningen.", Proposal: "Gör så här.",
		Origin: origin, CareArea: care, Consent: &ideav1.Consent{},
	}})
	if err != nil {
		t.Fatalf("CreateIdea: %v", err)
	}
	return got
}

func (e *env) move(t *testing.T, c stack.Caller, idea *ideav1.Idea, to ideav1.Stage) {
	t.Helper()
	cur, err := e.Ideas.GetIdea(c.Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()})
	if err != nil {
		t.Fatalf("GetIdea: %v", err)
	}
	if _, err := e.Ideas.TransitionIdea(c.Ctx(t), &ideav1.TransitionIdeaRequest{Name: idea.GetName(), Stage: to, Rationale: "beslut i arbetsgruppen", Etag: cur.GetEtag()}); err != nil {
		t.Fatalf("TransitionIdea %s → %v: %v", idea.GetName(), to, err)
	}
}

func (e *env) assess(t *testing.T, c stack.Caller, idea *ideav1.Idea) {
	t.Helper()
	a := &ideav1.Assessment{PatientBenefit: 4, CareBenefit: 4, Feasibility: 3, Novelty: 3, MarketPotential: 2, Risk: 4, Comment: "lovande"}
	if _, err := e.Ideas.CreateAssessment(c.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: a}); err != nil {
		t.Fatalf("CreateAssessment: %v", err)
	}
}

func (e *env) report(t *testing.T, c stack.Caller, period, interval string) *reportsv1.IdeaReport {
	t.Helper()
	got, err := e.Reports.GetIdeaReport(c.Ctx(t), &reportsv1.GetIdeaReportRequest{Parent: "regions/vasterbotten", Period: period, Interval: interval})
	if err != nil {
		t.Fatalf("GetIdeaReport %s %s: %v", period, interval, err)
	}
	return got
}

func count(key string, n int64) *reportsv1.Count { return &reportsv1.Count{Key: key, Count: n} }

// pipeline plays the same quarter on a region: three ideas over three
// months, one selected, one rejected.
func pipeline(t *testing.T, e *env) (advisor stack.Caller) {
	advisor = e.As(t, auth.Advisor, "vasterbotten")
	patient := e.As(t, auth.Submitter, "vasterbotten")
	e.Clock.Set(day(time.January, 10))
	a := e.submit(t, patient, ideav1.Origin_ORIGIN_PATIENT, "Lungmedicin")
	b := e.submit(t, advisor, ideav1.Origin_ORIGIN_STAFF, "Ortopedi")
	e.Clock.Set(day(time.February, 15))
	e.move(t, advisor, a, ideav1.Stage_STAGE_SCREENING)
	e.submit(t, patient, ideav1.Origin_ORIGIN_PATIENT, "")
	e.Clock.Set(day(time.March, 20))
	e.assess(t, advisor, a)
	e.move(t, advisor, a, ideav1.Stage_STAGE_SELECTED)
	e.move(t, advisor, b, ideav1.Stage_STAGE_REJECTED)
	return advisor
}

// TestIdeaReport_Quarter: the figures of a played quarter, by month and for
// the quarter, from the audit log.
func TestIdeaReport_Quarter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := pipeline(t, e)
		got := e.report(t, advisor, "2026-Q1", "month")
		want := &reportsv1.IdeaReport{
			Name: "regions/vasterbotten/reports/ideas", Period: "2026-01/2026-03", Interval: "month",
			Intervals: []*reportsv1.IdeaInterval{
				{Interval: "2026-01", Submitted: 2,
					ByOrigin:   []*reportsv1.Count{count("ORIGIN_PATIENT", 1), count("ORIGIN_STAFF", 1)},
					ByCareArea: []*reportsv1.Count{count("Lungmedicin", 1), count("Ortopedi", 1)},
					Reached:    []*reportsv1.Count{count("STAGE_SUBMITTED", 2)}},
				{Interval: "2026-02", Submitted: 1,
					ByOrigin:   []*reportsv1.Count{count("ORIGIN_PATIENT", 1)},
					ByCareArea: []*reportsv1.Count{count("unspecified", 1)},
					Reached:    []*reportsv1.Count{count("STAGE_SCREENING", 1), count("STAGE_SUBMITTED", 1)}},
				{Interval: "2026-03", ByOrigin: []*reportsv1.Count{}, ByCareArea: []*reportsv1.Count{},
					Reached: []*reportsv1.Count{count("STAGE_REJECTED", 1), count("STAGE_SELECTED", 1)}},
			},
			Funnel: []*reportsv1.Count{
				count("STAGE_SUBMITTED", 3), count("STAGE_SCREENING", 1), count("STAGE_SELECTED", 1), count("STAGE_DEVELOPMENT", 0),
				count("STAGE_TESTING", 0), count("STAGE_IMPLEMENTED", 0), count("STAGE_COMMERCIALISED", 0), count("STAGE_SPREAD", 0),
			},
			Conversions: []*reportsv1.StageConversion{
				{FromStage: "STAGE_SUBMITTED", ToStage: "STAGE_SCREENING", FromCount: 3, ToCount: 1, Rate: 1.0 / 3},
				{FromStage: "STAGE_SCREENING", ToStage: "STAGE_SELECTED", FromCount: 1, ToCount: 1, Rate: 1},
				{FromStage: "STAGE_SELECTED", ToStage: "STAGE_DEVELOPMENT", FromCount: 1},
				{FromStage: "STAGE_DEVELOPMENT", ToStage: "STAGE_TESTING"},
				{FromStage: "STAGE_TESTING", ToStage: "STAGE_IMPLEMENTED"},
				{FromStage: "STAGE_TESTING", ToStage: "STAGE_COMMERCIALISED"},
			},
			// Submitted: 36 days (Jan 10 → Feb 15) and 69 (Jan 10 → Mar 20);
			// screening: 33 days (Feb 15 → Mar 20).
			StageTimes: []*reportsv1.StageTime{
				{Stage: "STAGE_SUBMITTED", Stays: 2, MedianDays: 36, P90Days: 69},
				{Stage: "STAGE_SCREENING", Stays: 1, MedianDays: 33, P90Days: 33},
			},
			SpreadTo: []*reportsv1.Count{},
		}
		if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&reportsv1.IdeaReport{}, "audit_sequence")); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
		if got.GetAuditSequence() == 0 {
			t.Errorf("audit_sequence is 0: the report names no audit event it includes")
		}

		q := e.report(t, advisor, "2026", "quarter")
		var labels []string
		for _, row := range q.GetIntervals() {
			labels = append(labels, row.GetInterval())
		}
		if want := []string{"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}; !slices.Equal(labels, want) {
			t.Errorf("quarters %v, want %v", labels, want)
		}
		if n := q.GetIntervals()[0].GetSubmitted(); n != 3 {
			t.Errorf("Q1 submitted %d, want 3", n)
		}
	})
}

// TestIdeaReport_ChangesReplaceTheirFacts: an idea that moves again is
// counted once, with its new stays, and a second follower on the same store
// (another replica) folds nothing twice.
func TestIdeaReport_ChangesReplaceTheirFacts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := pipeline(t, e)
		before := e.report(t, advisor, "2026-Q1", "quarter")
		replica := e.NewReplica()
		done := make(chan error, 2)
		go func() { done <- e.Server.SyncAll(t.Context()) }()
		go func() { done <- replica.SyncAll(t.Context()) }()
		for range 2 {
			if err := <-done; err != nil {
				t.Fatalf("SyncAll: %v", err)
			}
		}
		again := e.report(t, advisor, "2026-Q1", "quarter")
		if diff := cmp.Diff(before, again, protocmp.Transform()); diff != "" {
			t.Errorf("two followers changed the figures (-before +after):\n%s", diff)
		}

		list, err := e.Ideas.ListIdeas(advisor.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Set(day(time.March, 25))
		for _, i := range list.GetIdeas() {
			if i.GetStage() == ideav1.Stage_STAGE_SELECTED {
				e.move(t, advisor, i, ideav1.Stage_STAGE_PARKED)
				e.move(t, advisor, i, ideav1.Stage_STAGE_SCREENING)
			}
		}
		after := e.report(t, advisor, "2026-Q1", "quarter")
		funnel := map[string]int64{}
		for _, c := range after.GetFunnel() {
			funnel[c.GetKey()] = c.GetCount()
		}
		if funnel["STAGE_SUBMITTED"] != 3 || funnel["STAGE_SCREENING"] != 1 || funnel["STAGE_SELECTED"] != 1 {
			t.Errorf("funnel after re-entering SCREENING: %v; want each idea counted once per stage", funnel)
		}
		stays := map[string]int64{}
		for _, st := range after.GetStageTimes() {
			stays[st.GetStage()] = st.GetStays()
		}
		// New stays: SELECTED (Mar 20 → 25) and PARKED (0 days).
		if want := map[string]int64{"STAGE_SUBMITTED": 2, "STAGE_SCREENING": 1, "STAGE_SELECTED": 1, "STAGE_PARKED": 1}; !cmp.Equal(stays, want) {
			t.Errorf("stays %v, want %v", stays, want)
		}
	})
}

// TestIdeaReport_BadQuery: a bad period and interval are one 400 naming both.
func TestIdeaReport_BadQuery(t *testing.T) {
	e := newEnv(t, stack.Backends()[0])
	advisor := e.As(t, auth.Advisor, "vasterbotten")
	for _, tc := range []struct {
		period, interval string
		fields           []string
	}{
		{"2026-13", "week", []string{"interval", "period"}},
		{"2026-Q5", "", []string{"period"}},
		{"2026-05/2026-01", "month", []string{"period"}},
		{"2000-01/2026-01", "month", []string{"period"}},
		{"last year", "year", []string{"period"}},
		{"2026", "daily", []string{"interval"}},
	} {
		_, err := e.Reports.GetIdeaReport(advisor.Ctx(t), &reportsv1.GetIdeaReportRequest{Parent: "regions/vasterbotten", Period: tc.period, Interval: tc.interval})
		if got := fieldViolations(err); status.Code(err) != codes.InvalidArgument || !slices.Equal(got, tc.fields) {
			t.Errorf("period %q interval %q: %v, fields %v; want InvalidArgument naming %v", tc.period, tc.interval, err, got, tc.fields)
		}
	}
	code, body := e.REST(t, advisor, http.MethodGet, "/v1/regions/vasterbotten/reports/ideas?period=2026-13&interval=week", "")
	if code != http.StatusBadRequest {
		t.Fatalf("REST bad period: %d %v, want 400", code, body)
	}
	if msg, _ := body["message"].(string); msg == "" {
		t.Errorf("REST bad period: no message in %v", body)
	}
	code, body = e.REST(t, advisor, http.MethodGet, "/v1/regions/vasterbotten/reports/ideas?period=2026&interval=quarter", "")
	if code != http.StatusOK || body["period"] != "2026-01/2026-12" {
		t.Errorf("REST report: %d %v, want 200 with period 2026-01/2026-12", code, body)
	}
}

func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	slices.Sort(fields)
	return fields
}

// TestRegionReports_Access: the region's advisors and admins and national
// coordinators read it; everyone else, and staff of another region, are
// refused, over gRPC and REST.
func TestRegionReports_Access(t *testing.T) {
	e := newEnv(t, stack.Backends()[0])
	type caller struct {
		role   auth.Role
		region string
		ok     bool
	}
	callers := []caller{{auth.Coordinator, auth.NationalRegion, true}}
	for _, role := range []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner} {
		callers = append(callers,
			caller{role, "vasterbotten", role == auth.Advisor || role == auth.RegionAdmin},
			caller{role, "uppsala", false})
	}
	for _, c := range callers {
		who := e.As(t, c.role, c.region)
		_, err := e.Reports.GetIdeaReport(who.Ctx(t), &reportsv1.GetIdeaReportRequest{Parent: "regions/vasterbotten", Period: "2026"})
		wantCode, wantHTTP := codes.PermissionDenied, http.StatusForbidden
		if c.ok {
			wantCode, wantHTTP = codes.OK, http.StatusOK
		}
		if got := status.Code(err); got != wantCode {
			t.Errorf("%s of %s over gRPC: %v, want %v", c.role, c.region, err, wantCode)
		}
		_, err = e.Reports.GetNeedReport(who.Ctx(t), &reportsv1.GetNeedReportRequest{Parent: "regions/vasterbotten"})
		if got := status.Code(err); got != wantCode {
			t.Errorf("%s of %s, needs over gRPC: %v, want %v", c.role, c.region, err, wantCode)
		}
		_, err = e.Reports.GetOfferReport(who.Ctx(t), &reportsv1.GetOfferReportRequest{Parent: "regions/vasterbotten"})
		if got := status.Code(err); got != wantCode {
			t.Errorf("%s of %s, offers over gRPC: %v, want %v", c.role, c.region, err, wantCode)
		}
		for _, report := range []string{"ideas", "needs", "offers"} {
			if code, body := e.REST(t, who, http.MethodGet, "/v1/regions/vasterbotten/reports/"+report+"?period=2026", ""); code != wantHTTP {
				t.Errorf("%s of %s, %s over REST: %d %v, want %d", c.role, c.region, report, code, body, wantHTTP)
			}
		}
	}
	if code, _ := e.REST(t, stack.Caller{}, http.MethodGet, "/v1/regions/vasterbotten/reports/ideas", ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	if code, body := e.REST(t, e.As(t, auth.Coordinator, auth.NationalRegion), http.MethodGet, "/v1/regions/skane/reports/ideas", ""); code != http.StatusNotFound {
		t.Errorf("a region not served: %d %v, want 404", code, body)
	}
}
