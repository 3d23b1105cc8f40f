package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestRules_WhoIsToldWhat walks the rules of needs, offers and money
// through the real services: each change tells its audience, and only it.
func TestRules_WhoIsToldWhat(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := start(t, b, nil)
			advisor := e.As(t, auth.Advisor, "vasterbotten", "anna")
			admin := e.As(t, auth.RegionAdmin, "vasterbotten", "erik")
			coord := e.As(t, auth.Coordinator, auth.NationalRegion, "cecilia")
			needs := needsv1.NewNeedsServiceClient(e.Conn)

			need, err := needs.CreateNeed(advisor.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: &needsv1.Need{
				Problem: "upptäcka fall nattetid", Population: "boende på särskilda boenden", Outcome: "korta tiden på golvet",
				CareUnit: "Äldreomsorg Umeå", ReportedBy: ideav1.Origin_ORIGIN_STAFF, Published: true}})
			if err != nil {
				t.Fatal(err)
			}
			p, err := e.offers.CreatePartner(admin.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
				DisplayName: "Exempel AB", OrgNumber: "5560000019", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL}})
			if err != nil {
				t.Fatal(err)
			}
			company := stack.Caller{Sub: "kim", Token: e.Token(t, auth.Claims{Subject: "kim", Region: "vasterbotten", Roles: []auth.Role{auth.Partner}, Partner: p.GetName()})}
			otherCompany := e.As(t, auth.Partner, "vasterbotten", "lo")
			o, err := e.offers.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: &partnerv1.Offer{Title: "Fallsensor", Description: "Larmar vid fall."}})
			if err != nil {
				t.Fatal(err)
			}
			o, err = e.offers.RouteOffer(advisor.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: need.GetName(), Etag: o.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			o, err = e.offers.TransitionOffer(advisor.Ctx(t), &partnerv1.TransitionOfferRequest{Name: o.GetName(), Status: partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE, Etag: o.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err = e.offers.TransitionOffer(advisor.Ctx(t), &partnerv1.TransitionOfferRequest{Name: o.GetName(), Status: partnerv1.OfferStatus_OFFER_STATUS_CLOSED, Reason: "Avtal tecknat.", Etag: o.GetEtag()}); err != nil {
				t.Fatal(err)
			}

			ledger := fundingv1.NewProgrammeServiceClient(e.Conn)
			if _, err := ledger.CreateProgramme(coord.Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: "p", Programme: &fundingv1.Programme{
				Title: "Program", BudgetOre: 100_000_000, StartDate: "2026-01-01", EndDate: "2028-12-31"}}); err != nil {
				t.Fatal(err)
			}
			subproject := func(title string) *fundingv1.Subproject {
				sp, err := e.funding.CreateSubproject(admin.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: &fundingv1.Subproject{
					Title: title, Programme: "programmes/p",
					BudgetLines:   []*fundingv1.BudgetLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, Description: "Projektledare", AmountOre: 1_000_000, Eligible: true}},
					Contributions: []*fundingv1.Contribution{{Party: "Region", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: 1_000_000}}}})
				if err != nil {
					t.Fatal(err)
				}
				sp, err = e.funding.SubmitSubproject(admin.Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
				if err != nil {
					t.Fatal(err)
				}
				return sp
			}
			yes, no := subproject("Fallsensorer"), subproject("Robotar")
			yes, err = e.funding.ApproveSubproject(coord.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: yes.GetName(), Etag: yes.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.funding.RejectSubproject(coord.Ctx(t), &fundingv1.RejectSubprojectRequest{Name: no.GetName(), Etag: no.GetEtag(), Reason: "Ryms inte i budgeten."}); err != nil {
				t.Fatal(err)
			}
			report := func() *fundingv1.CostReport {
				cr, err := e.funding.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: yes.GetName(), CostReport: &fundingv1.CostReport{
					PeriodStart: "2026-01-01", PeriodEnd: "2026-06-30",
					Lines: []*fundingv1.CostReportLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 100_000, Description: "Projektledare"}}}})
				if err != nil {
					t.Fatal(err)
				}
				cr, err = e.funding.SubmitCostReport(admin.Ctx(t), &fundingv1.SubmitCostReportRequest{Name: cr.GetName(), Etag: cr.GetEtag()})
				if err != nil {
					t.Fatal(err)
				}
				return cr
			}
			certified, returned, waiting := report(), report(), report()
			if _, err := e.funding.CertifyCostReport(coord.Ctx(t), &fundingv1.CertifyCostReportRequest{Name: certified.GetName(), Etag: certified.GetEtag()}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.funding.ReturnCostReport(coord.Ctx(t), &fundingv1.ReturnCostReportRequest{Name: returned.GetName(), Etag: returned.GetEtag(), Reason: "Underlag saknas."}); err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)
			// Eleven working days after the reports were submitted (the
			// services go by the real clock), one still waits.
			e.clock.mu.Lock()
			e.clock.t = time.Now().AddDate(0, 0, 17)
			e.clock.mu.Unlock()
			if err := e.notify.CheckDeadlines(t.Context()); err != nil {
				t.Fatal(err)
			}

			subjects := func(c stack.Caller, parent, typ string) []string {
				var out []string
				for _, n := range e.inbox(t, c, parent).GetNotifications() {
					if n.GetType() == typ {
						out = append(out, n.GetSubject())
					}
				}
				slices.Sort(out)
				return out
			}
			sorted := func(s ...string) []string { slices.Sort(s); return s }
			for _, tc := range []struct {
				who    stack.Caller
				parent string
				typ    string
				want   []string
			}{
				{advisor, "regions/vasterbotten", notify.TypeNeedCreated, []string{need.GetName()}},
				{advisor, "regions/vasterbotten", notify.TypeOfferCreated, []string{o.GetName()}},
				{company, "regions/vasterbotten", notify.TypeOfferRouted, []string{o.GetName()}},
				{company, "regions/vasterbotten", notify.TypeOfferDialogue, []string{o.GetName()}},
				{company, "regions/vasterbotten", notify.TypeOfferClosed, []string{o.GetName()}},
				{otherCompany, "regions/vasterbotten", notify.TypeOfferRouted, nil},
				{advisor, "regions/vasterbotten", notify.TypeOfferRouted, nil},
				{coord, "regions/national", notify.TypeSubSubmitted, sorted(yes.GetName(), no.GetName())},
				{admin, "regions/vasterbotten", notify.TypeSubApproved, []string{yes.GetName()}},
				{admin, "regions/vasterbotten", notify.TypeSubRejected, []string{no.GetName()}},
				{admin, "regions/vasterbotten", notify.TypeReportCertified, []string{certified.GetName()}},
				{admin, "regions/vasterbotten", notify.TypeReportReturned, []string{returned.GetName()}},
				{coord, "regions/national", notify.TypeReportWaiting, []string{waiting.GetName()}},
				{advisor, "regions/vasterbotten", notify.TypeSubApproved, nil},
				{admin, "regions/vasterbotten", notify.TypeReportWaiting, nil},
			} {
				if got := subjects(tc.who, tc.parent, tc.typ); !slices.Equal(got, tc.want) {
					t.Errorf("%s in %s, %s: %v, want %v", tc.who.Sub, tc.parent, tc.typ, got, tc.want)
				}
			}
		})
	}
}
