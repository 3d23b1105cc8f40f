package reports_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

func (e *env) newNeed(t *testing.T, c stack.Caller, by ideav1.Origin) *needsv1.Need {
	t.Helper()
	n, err := e.Needs.CreateNeed(c.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: &needsv1.Need{
		Problem: "upptäcka fall nattetid", Population: "boende på särskilda boenden", Outcome: "korta tiden på golvet",
		CareUnit: "Äldreomsorg", ReportedBy: by, Published: true,
	}})
	if err != nil {
		t.Fatalf("CreateNeed: %v", err)
	}
	return n
}

func (e *env) needTo(t *testing.T, c stack.Caller, n *needsv1.Need, to needsv1.NeedStatus) {
	t.Helper()
	cur, err := e.Needs.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: n.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Needs.TransitionNeed(c.Ctx(t), &needsv1.TransitionNeedRequest{Name: n.GetName(), Status: to, Reason: "beslut", Etag: cur.GetEtag()}); err != nil {
		t.Fatalf("TransitionNeed → %v: %v", to, err)
	}
}

func (e *env) link(t *testing.T, c stack.Caller, n *needsv1.Need, target string) {
	t.Helper()
	cur, err := e.Needs.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: n.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Needs.LinkNeed(c.Ctx(t), &needsv1.LinkNeedRequest{Name: n.GetName(), Target: target, Etag: cur.GetEtag()}); err != nil {
		t.Fatalf("LinkNeed %s: %v", target, err)
	}
}

func byKey(cs []*reportsv1.Count) map[string]int64 {
	out := map[string]int64{}
	for _, c := range cs {
		out[c.GetKey()] = c.GetCount()
	}
	return out
}

// TestNeedReport: needs reported, statuses entered and held at each
// month's end, and needs matched by what they are linked to.
func TestNeedReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		e.Clock.Set(day(time.January, 10))
		idea := e.submit(t, advisor, ideav1.Origin_ORIGIN_STAFF, "Geriatrik")
		a := e.newNeed(t, advisor, ideav1.Origin_ORIGIN_STAFF)
		b := e.newNeed(t, advisor, ideav1.Origin_ORIGIN_PATIENT)
		e.Clock.Set(day(time.February, 3))
		e.needTo(t, advisor, a, needsv1.NeedStatus_NEED_STATUS_VALIDATED)
		if _, err := e.Needs.CreateScreening(advisor.Ctx(t), &needsv1.CreateScreeningRequest{Parent: a.GetName(), Screening: &needsv1.Screening{
			ClinicalImpact: 4, PatientsAffected: 4, ProblemCost: 3, StrategicFit: 4, Feasibility: 3}}); err != nil {
			t.Fatal(err)
		}
		e.needTo(t, advisor, a, needsv1.NeedStatus_NEED_STATUS_PRIORITISED)
		e.needTo(t, advisor, a, needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH)
		e.needTo(t, advisor, b, needsv1.NeedStatus_NEED_STATUS_CLOSED)
		e.Clock.Set(day(time.March, 12))
		e.link(t, advisor, a, idea.GetName())
		e.needTo(t, advisor, a, needsv1.NeedStatus_NEED_STATUS_MATCHED)
		e.newNeed(t, advisor, ideav1.Origin_ORIGIN_PATIENT)

		got, err := e.Reports.GetNeedReport(advisor.Ctx(t), &reportsv1.GetNeedReportRequest{Parent: "regions/vasterbotten", Period: "2026-02/2026-04"})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Reported          int64
			Entered, InStatus map[string]int64
			MatchedBy         map[string]int64
		}
		var rows []row
		for _, r := range got.GetIntervals() {
			rows = append(rows, row{r.GetReported(), byKey(r.GetEntered()), byKey(r.GetInStatus()), byKey(r.GetMatchedBy())})
		}
		want := []row{
			{0, map[string]int64{"NEED_STATUS_VALIDATED": 1, "NEED_STATUS_PRIORITISED": 1, "NEED_STATUS_SOLUTION_SEARCH": 1, "NEED_STATUS_CLOSED": 1},
				map[string]int64{"NEED_STATUS_SOLUTION_SEARCH": 1, "NEED_STATUS_CLOSED": 1}, map[string]int64{}},
			{1, map[string]int64{"NEED_STATUS_IDENTIFIED": 1, "NEED_STATUS_MATCHED": 1},
				map[string]int64{"NEED_STATUS_IDENTIFIED": 1, "NEED_STATUS_MATCHED": 1, "NEED_STATUS_CLOSED": 1}, map[string]int64{"idea": 1}},
			// Nothing happens in April; the stock carries over.
			{0, map[string]int64{}, map[string]int64{"NEED_STATUS_IDENTIFIED": 1, "NEED_STATUS_MATCHED": 1, "NEED_STATUS_CLOSED": 1}, map[string]int64{}},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("needs by month (-want +got):\n%s", diff)
		}
		if got.GetMatched() != 1 || byKey(got.GetMatchedBy())["idea"] != 1 {
			t.Errorf("matched %d by %v, want 1 by idea", got.GetMatched(), got.GetMatchedBy())
		}
		code, body := e.REST(t, advisor, http.MethodGet, "/v1/regions/vasterbotten/reports/needs?period=2026-02&interval=fortnight", "")
		if code != http.StatusBadRequest {
			t.Errorf("REST bad interval: %d %v, want 400", code, body)
		}
	})
}

// TestOfferReport: offers due in a month, answered by their respond_by day
// or later, or not at all.
func TestOfferReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		p, err := e.Partners.CreatePartner(advisor.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
			DisplayName: "Norrsken Sensorteknik AB", OrgNumber: "556677-8899", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY,
			Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
		}})
		if err != nil {
			t.Fatalf("CreatePartner: %v", err)
		}
		need := e.newNeed(t, advisor, ideav1.Origin_ORIGIN_STAFF)
		offer := func() *partnerv1.Offer {
			o, err := e.Partners.CreateOffer(advisor.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: &partnerv1.Offer{
				Partner: p.GetName(), Title: "Golvsensor", Description: "Trycksensorer som larmar vid fall.", Capabilities: []string{"sensorer"},
			}})
			if err != nil {
				t.Fatalf("CreateOffer: %v", err)
			}
			return o
		}
		route := func(o *partnerv1.Offer) {
			cur, err := e.Partners.GetOffer(advisor.Ctx(t), &partnerv1.GetOfferRequest{Name: o.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Partners.RouteOffer(advisor.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: need.GetName(), Etag: cur.GetEtag()}); err != nil {
				t.Fatalf("RouteOffer: %v", err)
			}
		}
		// Three offers on Monday 2 February are due ten working days later,
		// on 16 February: one answered the next day, one on 20 February, one
		// never.
		e.Clock.Set(day(time.February, 2))
		inTime, late, open := offer(), offer(), offer()
		if inTime.GetRespondBy() != "2026-02-16" || open.GetRespondBy() != "2026-02-16" {
			t.Fatalf("respond_by %s, want 2026-02-16", inTime.GetRespondBy())
		}
		e.Clock.Set(day(time.February, 3))
		route(inTime)
		e.Clock.Set(day(time.February, 20))
		route(late)

		got, err := e.Reports.GetOfferReport(advisor.Ctx(t), &reportsv1.GetOfferReportRequest{Parent: "regions/vasterbotten", Period: "2026-Q1", Interval: "quarter"})
		if err != nil {
			t.Fatal(err)
		}
		want := &reportsv1.OfferInterval{Interval: "2026-01/2026-03", Received: 3, Due: 3, AnsweredInTime: 1, AnsweredLate: 1, Unanswered: 1, ShareInTime: 1.0 / 3}
		if diff := cmp.Diff(want, got.GetTotal(), protocmp.Transform()); diff != "" {
			t.Errorf("offers (-want +got):\n%s", diff)
		}
		if len(got.GetIntervals()) != 1 || !proto.Equal(got.GetIntervals()[0], &reportsv1.OfferInterval{
			Interval: "2026-Q1", Received: 3, Due: 3, AnsweredInTime: 1, AnsweredLate: 1, Unanswered: 1, ShareInTime: 1.0 / 3}) {
			t.Errorf("quarters %v, want one row 2026-Q1 like the total", got.GetIntervals())
		}
	})
}

// TestMoneyReport: what the ledger reserved, paid and released, by quarter,
// programme and region, read from the ledger's audit log.
func TestMoneyReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
		admin := e.As(t, auth.RegionAdmin, "vasterbotten")
		e.CreateProgramme(t)
		e.Clock.Set(day(time.February, 10))
		sp := e.ApprovedSubproject(t, "vasterbotten", 1_000_001)
		e.Clock.Set(day(time.May, 5))
		e.CertifiedCostReport(t, sp, 400_001)
		e.Clock.Set(day(time.August, 20))
		cur, err := e.Subs.GetSubproject(admin.Ctx(t), &fundingv1.GetSubprojectRequest{Name: sp.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err = e.Subs.CloseSubproject(admin.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: cur.GetEtag()}); err != nil {
			t.Fatalf("CloseSubproject: %v", err)
		}

		got, err := e.Reports.GetMoneyReport(coordinator.Ctx(t), &reportsv1.GetMoneyReportRequest{Period: "2026"})
		if err != nil {
			t.Fatal(err)
		}
		// ⌊1 000 001 × 0.5⌋ = 500 000 reserved; ⌊400 001 × 0.5⌋ = 200 000
		// paid; the other 300 000 released.
		const prog = deployment.Programme
		want := &reportsv1.MoneyReport{Period: "2026-01/2026-12", Interval: "quarter",
			Rows: []*reportsv1.MoneyRow{
				{Interval: "2026-Q1", Programme: prog, Region: "vasterbotten", ReservedOre: 500_000},
				{Interval: "2026-Q2", Programme: prog, Region: "vasterbotten", PaidOre: 200_000},
				{Interval: "2026-Q3", Programme: prog, Region: "vasterbotten", ReleasedOre: 300_000},
			},
			Totals: []*reportsv1.MoneyRow{{Programme: prog, Region: "vasterbotten", ReservedOre: 500_000, PaidOre: 200_000, ReleasedOre: 300_000}},
		}
		if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&reportsv1.MoneyReport{}, "audit_sequence")); diff != "" {
			t.Errorf("money (-want +got):\n%s", diff)
		}

		for _, c := range []stack.Caller{admin, e.As(t, auth.Advisor, "vasterbotten")} {
			if _, err := e.Reports.GetMoneyReport(c.Ctx(t), &reportsv1.GetMoneyReportRequest{}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("money report as %s: %v, want PermissionDenied", c.Sub, err)
			}
		}
		code, body := e.REST(t, coordinator, http.MethodGet, "/v1/national/reports/money?period=2026&interval=quarter", "")
		if code != http.StatusOK || fmt.Sprint(body["totals"]) == "[]" {
			t.Errorf("REST money report: %d %v", code, body)
		}
	})
}

// TestNationalIdeaReport: every region's report and their sum, partial and
// marked when a region does not answer; for coordinators only.
func TestNationalIdeaReport(t *testing.T) {
	e := newEnv(t, stack.Backends()[0])
	for _, region := range []string{"vasterbotten", "uppsala"} {
		staff := e.As(t, auth.Advisor, region)
		for range map[string]int{"vasterbotten": 2, "uppsala": 1}[region] {
			if _, err := e.Ideas.CreateIdea(staff.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/" + region, Idea: &ideav1.Idea{
				Title: "Idé", Problem: "Något som borde bli bättre.", Proposal: "Så här.", Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: "Ortopedi",
			}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
	got, err := e.Reports.GetNationalIdeaReport(coordinator.Ctx(t), &reportsv1.GetNationalIdeaReportRequest{Period: "2026-01", Interval: "month"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.GetPartial() || !cmp.Equal(got.GetIncludedRegions(), []string{"vasterbotten", "uppsala"}) {
		t.Errorf("partial %v, included %v; want partial with vasterbotten and uppsala", got.GetPartial(), got.GetIncludedRegions())
	}
	for _, part := range got.GetRegions() {
		if part.GetRegion() == "skane" && (part.GetAvailable() || part.GetUnavailableReason() == "") {
			t.Errorf("skane: %v; want unavailable with a reason", part)
		}
	}
	if rows := got.GetTotals().GetIntervals(); len(rows) != 1 || rows[0].GetSubmitted() != 3 || byKey(rows[0].GetByCareArea())["Ortopedi"] != 3 {
		t.Errorf("totals %v; want 3 ideas in Ortopedi in January", rows)
	}
	if f := byKey(got.GetTotals().GetFunnel()); f["STAGE_SUBMITTED"] != 3 {
		t.Errorf("funnel %v, want 3 submitted", f)
	}
	for _, c := range []stack.Caller{e.As(t, auth.Advisor, "vasterbotten"), e.As(t, auth.RegionAdmin, "uppsala")} {
		if _, err := e.Reports.GetNationalIdeaReport(c.Ctx(t), &reportsv1.GetNationalIdeaReportRequest{}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s: %v, want PermissionDenied", c.Sub, err)
		}
	}
	if code, body := e.REST(t, coordinator, http.MethodGet, "/v1/national/reports/ideas?period=2026&interval=quarter", ""); code != http.StatusOK || body["partial"] != true {
		t.Errorf("REST national report: %d %v", code, body)
	}
}
