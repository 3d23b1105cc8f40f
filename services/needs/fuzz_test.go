package needs

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// FuzzCreateRequest decodes request bodies the way the gateway does and runs
// them through validation: nothing may panic, and whatever validation lets
// through must build a need that satisfies the rules it checked.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"need":{"problem":"p","population":"q","outcome":"r","reportedBy":"ORIGIN_STAFF"}}`,
		`{"need":{"problem":" ","population":"","outcome":"r","reportedBy":99,"patientsAffectedPerYear":-4},"requestId":"x/y"}`,
		`{"need":{"problem":"p.","population":"q,","outcome":"r!","reportedBy":"ORIGIN_PATIENT","published":true,"status":"NEED_STATUS_CLOSED","links":["x"]}}`,
		`{"need":{"problem":"\u00e5\u00e4\u00f6","population":"\u0000","outcome":"r","reportedBy":"ORIGIN_OTHER"}}`,
		`{}`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, body string, staff bool) {
		var req needsv1.CreateNeedRequest
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(body), &req); err != nil {
			return
		}
		if validateCreate(&req, staff).Len() > 0 {
			return
		}
		need := newNeed(req.GetNeed(), staff)
		for _, part := range []string{need.GetProblem(), need.GetPopulation(), need.GetOutcome()} {
			if strings.TrimSpace(part) == "" {
				t.Errorf("accepted a need with an empty part: %q", body)
			}
		}
		if need.GetStatus() != needsv1.NeedStatus_NEED_STATUS_IDENTIFIED || need.GetPriorityScore() != 0 || len(need.GetLinks()) != 0 {
			t.Errorf("new need not at its start: %v", need)
		}
		if !strings.HasPrefix(need.GetStatement(), "Ett sätt att ") || !strings.Contains(need.GetStatement(), " för att ") {
			t.Errorf("statement %q does not follow the template", need.GetStatement())
		}
		if !staff && need.GetPublished() {
			t.Errorf("a submitter published a need: %q", body)
		}
		if n := need.GetPatientsAffectedPerYear(); n < 0 || n > maxPatients {
			t.Errorf("patients %d accepted", n)
		}
	})
}

// FuzzListParams: filters, orders and page tokens come straight from query
// strings.
func FuzzListParams(f *testing.F) {
	f.Add(`status = NEED_STATUS_VALIDATED AND published = true AND care_unit = "Akut, NUS"`, "priority_score desc", "")
	f.Add(`care_unit="a \" b" AND`, "create_time desc", "eyJhIjoieCIsInEiOiJ5In0")
	f.Add(" AND ", "priority_score", "!!")
	f.Add(`careUnit = "x\\`, "", resource.EncodeToken("a", "q"))
	f.Fuzz(func(t *testing.T, filterText, order, token string) {
		plan, err := filter.Compile(filterText, store.Query{Index: orderCreated}, filterFields(orderCreated))
		if err == nil && strings.TrimSpace(filterText) == "" && (plan.Match != nil || plan.Query.Index != orderCreated) {
			t.Errorf("empty filter %q planned as %+v", filterText, plan)
		}
		if err == nil && strings.HasPrefix(plan.Query.Index, "status_") {
			status := strings.TrimSuffix(plan.Query.Prefix, "/")
			if n := needsv1.NeedStatus_value[status]; n == 0 {
				t.Errorf("filter %q planned onto unknown status %q", filterText, status)
			}
		}
		var ov errs.Violations
		o, name := parseNeedOrder(&ov, order, false)
		if o.index == orderUpdated || ov.Len() > 0 && (o != needOrder{orderCreated, false} || name != "create_time desc") {
			t.Errorf("order %q for a narrowed caller parsed to %+v %q", order, o, name)
		}
		var v errs.Violations
		after := resource.DecodeToken(&v, token, "q")
		if v.Len() == 0 && token != "" && after == "" {
			t.Errorf("token %q accepted with no position", token)
		}
	})
}

// FuzzLinkTarget: whatever parses is a well-formed name of an idea, offer or
// subproject, and prints back to itself.
func FuzzLinkTarget(f *testing.F) {
	for _, s := range []string{"regions/uppsala/ideas/abc", "regions/uppsala/offers/o-1", "regions/x/subprojects/", "regions//ideas/a", "regions/a/b/c/d", "regions/UPPSALA/ideas/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, err := parseLinkTarget(s)
		if err != nil {
			return
		}
		if target.String() != s {
			t.Errorf("%q parsed to %+v, printing %q", s, target, target.String())
		}
		if target.Kind != targetIdea && target.Kind != targetOffer && target.Kind != targetSubproject {
			t.Errorf("%q: kind %q", s, target.Kind)
		}
		if strings.ContainsAny(target.Region+target.ID, "\x00/ ") {
			t.Errorf("%q: unsafe segment", s)
		}
	})
}

// FuzzScreening: accepted rounds score from 1 to 5, so their weighted mean
// does too, with any valid weights.
func FuzzScreening(f *testing.F) {
	f.Add(int32(1), int32(2), int32(3), int32(4), int32(5), 1.0, 0.0, 2.5)
	f.Add(int32(0), int32(6), int32(-1), int32(3), int32(3), 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b, c, d, e int32, w1, w2, w3 float64) {
		sc := &needsv1.Screening{ClinicalImpact: a, PatientsAffected: b, ProblemCost: c, StrategicFit: d, Feasibility: e}
		var v errs.Violations
		checkScreening(&v, sc)
		w := Weights{w1, w2, w3, 1, 0}
		if v.Len() > 0 || w.check() != nil {
			return
		}
		if s := w.score(sc); !(s >= 1-1e-9 && s <= 5+1e-9) {
			t.Errorf("scores %v with weights %v: mean %v outside 1 to 5", sc, w, s)
		}
	})
}
