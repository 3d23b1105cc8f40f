package funding

import (
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// FuzzCreateSubproject decodes request bodies the way the gateway does and
// runs them through validation and the money arithmetic: nothing may panic,
// and whatever validation lets through must split its eligible cost into a
// programme share and an own share that add up, at any rate.
func FuzzCreateSubproject(f *testing.F) {
	for _, seed := range []string{
		`{"parent":"regions/uppsala","subproject":{"title":"t","programme":"programmes/p","budgetLines":[{"category":"COST_CATEGORY_STAFF","amountOre":"100001","eligible":true}],"contributions":[{"party":"Region","kind":"CONTRIBUTION_KIND_CASH","amountOre":"50001"}]}}`,
		`{"subproject":{"title":"t","programme":"programmes/p","budgetLines":[{"category":"COST_CATEGORY_OTHER","amountOre":"9223372036854775807","eligible":true},{"category":"COST_CATEGORY_OTHER","amountOre":"9223372036854775807","eligible":true}]}}`,
		`{"subproject":{"title":" ","programme":"x","budgetLines":[{"amountOre":"-1"}],"contributions":[{"kind":9,"amountOre":"0"}],"partners":[{"partner":"regions/a/partners/b"},{"partner":"regions/a/partners/b","role":"r"}]},"requestId":"a/b"}`,
		`{"subproject":{"title":"t","programme":"programmes/p","ideas":["regions/vasterbotten/ideas/x","regions/vasterbotten/ideas/x"],"needs":["needs/y"]}}`,
		`{}`,
	} {
		f.Add(seed, int32(5000))
		f.Add(seed, int32(0))
		f.Add(seed, int32(10000))
	}
	f.Fuzz(func(t *testing.T, body string, rate int32) {
		var req fundingv1.CreateSubprojectRequest
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(body), &req); err != nil {
			return
		}
		if rate < 0 || rate > fullRateBp {
			rate = defaultRateBp
		}
		if validateCreateSubproject(&req).Len() > 0 {
			return
		}
		sp := newSubproject(req.GetSubproject())
		sp.CoFinancingRateBp = rate
		if err := setTotals(sp); err != nil {
			t.Fatalf("validated subproject does not sum: %v (%q)", err, body)
		}
		if sp.GetProgrammeShareOre()+sp.GetOwnShareOre() != sp.GetEligibleCostOre() || sp.GetProgrammeShareOre() < 0 || sp.GetOwnShareOre() < 0 {
			t.Fatalf("eligible %d split into %d + %d at rate %d", sp.GetEligibleCostOre(), sp.GetProgrammeShareOre(), sp.GetOwnShareOre(), rate)
		}
		if strings.TrimSpace(sp.GetTitle()) == "" || sp.GetProgramme() == "" {
			t.Fatalf("accepted a subproject without title or programme: %q", body)
		}
		for _, l := range sp.GetBudgetLines() {
			if l.GetAmountOre() <= 0 || l.GetAmountOre() > maxAmountOre {
				t.Fatalf("accepted a budget line of %d öre", l.GetAmountOre())
			}
		}
	})
}

// FuzzCreateCostReport: cost report bodies come straight from portals.
func FuzzCreateCostReport(f *testing.F) {
	f.Add(`{"costReport":{"periodStart":"2026-01-01","periodEnd":"2026-06-30","lines":[{"category":"COST_CATEGORY_STAFF","amountOre":"1"}]}}`)
	f.Add(`{"costReport":{"periodStart":"2026-13-01","periodEnd":"2026-06-30","lines":[]}}`)
	f.Add(`{"costReport":{"periodStart":"2026-07-01","periodEnd":"2026-06-30","lines":[{"amountOre":"-5"}]},"requestId":" "}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req fundingv1.CreateCostReportRequest
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(body), &req); err != nil {
			return
		}
		if validateCreateCostReport(&req).Len() > 0 {
			return
		}
		cr := req.GetCostReport()
		if len(cr.GetLines()) == 0 || cr.GetPeriodStart() > cr.GetPeriodEnd() {
			t.Fatalf("accepted %q", body)
		}
		var sum int64
		for _, l := range cr.GetLines() {
			var err error
			if sum, err = addOre(sum, l.GetAmountOre()); err != nil || l.GetAmountOre() <= 0 {
				t.Fatalf("accepted a line of %d öre (%v)", l.GetAmountOre(), err)
			}
		}
	})
}

// FuzzListParams: filters and page tokens come from query strings.
func FuzzListParams(f *testing.F) {
	f.Add("status = SUBPROJECT_STATUS_SUBMITTED", "")
	f.Add("status=\"SUBPROJECT_STATUS_DRAFT\"", "eyJhIjoieCIsInEiOiJ5In0")
	f.Add("stage = X", "!!")
	f.Add("status = ", resource.EncodeToken("a", "q"))
	f.Fuzz(func(t *testing.T, filter, token string) {
		if plan, err := compileFilter(filter); err == nil && strings.HasPrefix(plan.Query.Prefix, fundingv1.SubprojectStatus_SUBPROJECT_STATUS_UNSPECIFIED.String()) {
			t.Errorf("filter %q parsed to no status", filter)
		}
		var v errs.Violations
		if after := resource.DecodeToken(&v, token, "q"); v.Len() == 0 && token != "" && after == "" {
			t.Errorf("token %q accepted with no position", token)
		}
	})
}
