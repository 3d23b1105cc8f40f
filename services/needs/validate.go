package needs

import (
	"strconv"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// Limits keep a need to what a person writes in a portal form and a record
// to a size the store handles well.
const (
	maxPart    = 1000 // problem, population, outcome: one clause each
	maxShort   = 200
	maxText    = 5000
	maxComment = 2000
	// maxPatients is above Sweden's population: a need cannot affect more
	// people a year than live in the country.
	maxPatients = 11_000_000
	maxLinks    = 100
)

// validateCreate checks every input field and reports all problems at once.
// Output-only fields (name, statement, status, priority, links, times, etag)
// are ignored, as AIP-203 asks.
func validateCreate(req *needsv1.CreateNeedRequest, staff bool) *errs.Violations {
	v := &errs.Violations{}
	resource.CheckRequestID(v, req.GetRequestId())
	need := req.GetNeed()
	if need == nil {
		v.Add("need", "is required")
		return v
	}
	checkNeed(v, need)
	if need.GetPublished() && !staff {
		v.Add("need.published", "is set by the region's advisors, not when reporting a need")
	}
	return v
}

// checkNeed checks the input fields of a need, as created or as an update
// would leave it.
func checkNeed(v *errs.Violations, need *needsv1.Need) {
	resource.CheckText(v, "need.problem", need.GetProblem(), maxPart, true)
	resource.CheckText(v, "need.population", need.GetPopulation(), maxPart, true)
	resource.CheckText(v, "need.outcome", need.GetOutcome(), maxPart, true)
	resource.CheckText(v, "need.care_unit", need.GetCareUnit(), maxShort, false)
	resource.CheckText(v, "need.evidence", need.GetEvidence(), maxText, false)
	switch o := need.GetReportedBy(); {
	case o == ideav1.Origin_ORIGIN_UNSPECIFIED:
		v.Add("need.reported_by", "is required: who reported the need (ORIGIN_PATIENT, ORIGIN_STAFF, …)")
	case ideav1.Origin_name[int32(o)] == "":
		v.Add("need.reported_by", "%d is not a known origin", o)
	}
	if n := need.GetPatientsAffectedPerYear(); n < 0 || n > maxPatients {
		v.Add("need.patients_affected_per_year", "%d is outside 0 to %d", n, maxPatients)
	}
}

// checkEtag accepts "" (no precondition) or an etag this service handed out.
func checkEtag(v *errs.Violations, field, etag string) {
	if etag == "" {
		return
	}
	if n, err := strconv.ParseInt(etag, 10, 64); err != nil || n < 1 {
		v.Add(field, "%q is not an etag returned by this service", etag)
	}
}

// checkScreening checks a screening round's scores and comment.
func checkScreening(v *errs.Violations, sc *needsv1.Screening) {
	if sc == nil {
		v.Add("screening", "is required")
		return
	}
	for _, c := range []struct {
		field string
		score int32
	}{
		{"screening.clinical_impact", sc.GetClinicalImpact()},
		{"screening.patients_affected", sc.GetPatientsAffected()},
		{"screening.problem_cost", sc.GetProblemCost()},
		{"screening.strategic_fit", sc.GetStrategicFit()},
		{"screening.feasibility", sc.GetFeasibility()},
	} {
		switch {
		case c.score == 0:
			v.Add(c.field, "is required: a score from 1 to 5")
		case c.score < 1 || c.score > 5:
			v.Add(c.field, "%d is not a score from 1 to 5", c.score)
		}
	}
	resource.CheckText(v, "screening.comment", sc.GetComment(), maxComment, false)
}

// newNeed builds the need to store from a validated report: input fields
// only, trimmed, with its statement rendered.
func newNeed(in *needsv1.Need, staff bool) *needsv1.Need {
	out := &needsv1.Need{
		Problem:                 strings.TrimSpace(in.GetProblem()),
		Population:              strings.TrimSpace(in.GetPopulation()),
		Outcome:                 strings.TrimSpace(in.GetOutcome()),
		CareUnit:                strings.TrimSpace(in.GetCareUnit()),
		ReportedBy:              in.GetReportedBy(),
		Evidence:                strings.TrimSpace(in.GetEvidence()),
		PatientsAffectedPerYear: in.GetPatientsAffectedPerYear(),
		Published:               staff && in.GetPublished(),
		Status:                  needsv1.NeedStatus_NEED_STATUS_IDENTIFIED,
	}
	out.Statement = statement(out)
	return out
}

// statement renders the Biodesign need statement as stored: in Swedish, the
// default; answers render it in the request's language (language.go).
func statement(n *needsv1.Need) string { return statementIn("sv", n) }

func clause(s string) string { return strings.TrimRight(strings.TrimSpace(s), " .!?;,:") }
