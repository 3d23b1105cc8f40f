package funding

import (
	"fmt"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// Limits keep a subproject to what an application form holds.
const (
	maxTitle         = 200
	maxText          = 5000
	maxShort         = 200
	maxLines         = 100
	maxContributions = 50
	maxLinks         = 50
	maxReportLines   = 50
	maxReason        = 2000
)

// validateProgramme checks a CreateProgramme request and reports every
// problem at once.
func validateProgramme(req *fundingv1.CreateProgrammeRequest) *errs.Violations {
	v := &errs.Violations{}
	resource.CheckRequestID(v, req.GetRequestId())
	if err := resource.CheckSegment(req.GetProgrammeId()); err != nil {
		v.Add("programme_id", "%v", err)
	}
	p := req.GetProgramme()
	if p == nil {
		v.Add("programme", "is required")
		return v
	}
	resource.CheckText(v, "programme.title", p.GetTitle(), maxTitle, true)
	checkAmount(v, "programme.budget_ore", p.GetBudgetOre())
	if p.CoFinancingRateBp != nil && (p.GetCoFinancingRateBp() < 0 || p.GetCoFinancingRateBp() > fullRateBp) {
		v.Add("programme.co_financing_rate_bp", "must be between 0 and %d basis points (5000 is 50 %%), got %d", fullRateBp, p.GetCoFinancingRateBp())
	}
	checkPeriod(v, "programme.start_date", p.GetStartDate(), "programme.end_date", p.GetEndDate())
	return v
}

// subprojectFields are the input fields of a subproject, as update_mask
// paths; everything else is computed or set by the server.
func subprojectFields() []string {
	return []string{"title", "description", "programme", "ideas", "needs", "partners", "budget_lines", "contributions"}
}

// outputOnly are the fields the server owns, with why.
func outputOnly() map[string]string {
	why := map[string]string{
		"name": "is the subproject's identity", "etag": "identifies the version you read; it is not a field to change",
		"status":  "changes only through :submit, :approve, :reject, :withdraw and :close",
		"history": "records the status changes", "create_time": "is set by the server", "update_time": "is set by the server",
	}
	for _, f := range []string{"eligible_cost_ore", "programme_share_ore", "own_share_ore", "contributed_ore", "co_financing_rate_bp"} {
		why[f] = "is computed from the budget lines, the contributions and the programme's rate"
	}
	for _, f := range []string{"granted_ore", "paid_ore", "released_ore"} {
		why[f] = "is set by the programme ledger"
	}
	return why
}

// checkSubprojectField validates one input field of sp; field names in
// violations carry prefix (e.g. "subproject.").
func checkSubprojectField(v *errs.Violations, prefix string, sp *fundingv1.Subproject, field string) {
	f := prefix + field
	switch field {
	case "title":
		resource.CheckText(v, f, sp.GetTitle(), maxTitle, true)
	case "description":
		resource.CheckText(v, f, sp.GetDescription(), maxText, false)
	case "programme":
		if sp.GetProgramme() == "" {
			v.Add(f, "is required: the programme that co-finances the subproject, e.g. programmes/innovationsmotorer-2026")
		} else if _, err := parseProgrammeName(sp.GetProgramme()); err != nil {
			v.Add(f, "%v", err)
		}
	case "ideas":
		checkLinks(v, f, sp.GetIdeas(), "ideas")
	case "needs":
		checkLinks(v, f, sp.GetNeeds(), "needs")
	case "partners":
		if len(sp.GetPartners()) > maxLinks {
			v.Add(f, "has %d partners; at most %d are allowed", len(sp.GetPartners()), maxLinks)
		}
		seen := map[string]bool{}
		for i, p := range sp.GetPartners() {
			pf := fmt.Sprintf("%s[%d]", f, i)
			if _, err := resource.Split(p.GetPartner(), "regions", "partners"); err != nil {
				v.Add(pf+".partner", "%v", err)
			} else if seen[p.GetPartner()] {
				v.Add(pf+".partner", "%s is listed twice", p.GetPartner())
			}
			seen[p.GetPartner()] = true
			resource.CheckText(v, pf+".role", p.GetRole(), maxShort, true)
		}
	case "budget_lines":
		if len(sp.GetBudgetLines()) > maxLines {
			v.Add(f, "has %d lines; at most %d are allowed", len(sp.GetBudgetLines()), maxLines)
		}
		for i, l := range sp.GetBudgetLines() {
			lf := fmt.Sprintf("%s[%d]", f, i)
			checkCategory(v, lf+".category", l.GetCategory())
			resource.CheckText(v, lf+".description", l.GetDescription(), maxShort, false)
			checkAmount(v, lf+".amount_ore", l.GetAmountOre())
		}
	case "contributions":
		if len(sp.GetContributions()) > maxContributions {
			v.Add(f, "has %d contributions; at most %d are allowed", len(sp.GetContributions()), maxContributions)
		}
		for i, c := range sp.GetContributions() {
			cf := fmt.Sprintf("%s[%d]", f, i)
			resource.CheckText(v, cf+".party", c.GetParty(), maxShort, true)
			switch k := c.GetKind(); {
			case k == fundingv1.ContributionKind_CONTRIBUTION_KIND_UNSPECIFIED:
				v.Add(cf+".kind", "is required: CONTRIBUTION_KIND_CASH or CONTRIBUTION_KIND_IN_KIND")
			case fundingv1.ContributionKind_name[int32(k)] == "":
				v.Add(cf+".kind", "%d is not a contribution kind", k)
			}
			checkAmount(v, cf+".amount_ore", c.GetAmountOre())
		}
	}
}

func checkCategory(v *errs.Violations, field string, c fundingv1.CostCategory) {
	switch {
	case c == fundingv1.CostCategory_COST_CATEGORY_UNSPECIFIED:
		v.Add(field, "is required: COST_CATEGORY_STAFF, _EQUIPMENT, _EXTERNAL_SERVICES, _TRAVEL, _PREMISES or _OTHER")
	case fundingv1.CostCategory_name[int32(c)] == "":
		v.Add(field, "%d is not a cost category", c)
	}
}

// checkLinks: ideas and needs are linked by resource name; another region's
// are allowed, since subprojects build on spread ideas and common needs.
func checkLinks(v *errs.Violations, field string, names []string, collection string) {
	if len(names) > maxLinks {
		v.Add(field, "has %d entries; at most %d are allowed", len(names), maxLinks)
	}
	seen := map[string]bool{}
	for i, n := range names {
		if _, err := resource.Split(n, "regions", collection); err != nil {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		} else if seen[n] {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%s is listed twice", n)
		}
		seen[n] = true
	}
}

// validateCreateSubproject checks a CreateSubproject request. Output-only
// fields are ignored, as AIP-203 asks.
func validateCreateSubproject(req *fundingv1.CreateSubprojectRequest) *errs.Violations {
	v := &errs.Violations{}
	resource.CheckRequestID(v, req.GetRequestId())
	sp := req.GetSubproject()
	if sp == nil {
		v.Add("subproject", "is required")
		return v
	}
	for _, f := range subprojectFields() {
		checkSubprojectField(v, "subproject.", sp, f)
	}
	if _, err := computeTotals(sp.GetBudgetLines(), sp.GetContributions(), fullRateBp); err != nil {
		v.Add("subproject", "%v", err)
	}
	return v
}

// checkUpdateMask validates an UpdateSubproject request's mask and the
// fields it names, and returns the mask as snake_case paths.
func checkUpdateMask(req *fundingv1.UpdateSubprojectRequest) ([]string, *errs.Violations) {
	v := &errs.Violations{}
	in := req.GetSubproject()
	if in.GetEtag() == "" {
		v.Add("subproject.etag", "is required: send the etag of the subproject as you read it")
	}
	// Output-only fields named in the mask are ignored (AIP-203).
	paths, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(req.GetUpdateMask().GetPaths()), func(f string) bool { _, ok := outputOnly()[f]; return ok })
	var out []string
	for _, p := range paths {
		if !slices.Contains(subprojectFields(), p) {
			v.Add("update_mask", "%q is not a field of a subproject (%s)", p, strings.Join(subprojectFields(), ", "))
			continue
		}
		out = append(out, p)
	}
	if len(out) == 0 && v.Len() == 0 {
		v.Add("update_mask", "name at least one field to change (%s)%s", strings.Join(subprojectFields(), ", "), resource.IgnoredNote(ignored, outputOnly()))
	}
	for _, p := range out {
		checkSubprojectField(v, "subproject.", in, p)
	}
	return out, v
}

// validateCreateCostReport checks a CreateCostReport request's own fields;
// whether its categories are eligible is checked against the subproject.
func validateCreateCostReport(req *fundingv1.CreateCostReportRequest) *errs.Violations {
	v := &errs.Violations{}
	resource.CheckRequestID(v, req.GetRequestId())
	cr := req.GetCostReport()
	if cr == nil {
		v.Add("cost_report", "is required")
		return v
	}
	checkPeriod(v, "cost_report.period_start", cr.GetPeriodStart(), "cost_report.period_end", cr.GetPeriodEnd())
	switch n := len(cr.GetLines()); {
	case n == 0:
		v.Add("cost_report.lines", "at least one line is required")
	case n > maxReportLines:
		v.Add("cost_report.lines", "has %d lines; at most %d are allowed", n, maxReportLines)
	}
	var sum int64
	for i, l := range cr.GetLines() {
		lf := fmt.Sprintf("cost_report.lines[%d]", i)
		checkCategory(v, lf+".category", l.GetCategory())
		checkAmount(v, lf+".amount_ore", l.GetAmountOre())
		resource.CheckText(v, lf+".description", l.GetDescription(), maxShort, false)
		if l.GetAmountOre() > 0 {
			var err error
			if sum, err = addOre(sum, l.GetAmountOre()); err != nil {
				v.Add("cost_report.lines", "%v", err)
				break
			}
		}
	}
	return v
}

// checkEtagGiven is for custom methods that change a resource: the etag of
// the version the caller decided on is required.
func checkEtagGiven(v *errs.Violations, etag string) {
	if etag == "" {
		v.Add("etag", "is required: send the etag of the resource as you read it")
	}
}
