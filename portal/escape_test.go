package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Both payloads in one string: a script element, and an attribute break-out
// into an element with an event handler.
const payload = `<script>alert(1)</script> "><img src=x onerror=alert(1)>`

// assertInert fails when a page carries the payload as markup, and when it
// does not carry it at all (then the test would prove nothing).
func assertInert(t *testing.T, what, body string) {
	t.Helper()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		i := strings.Index(body, "alert(1)")
		t.Errorf("%s renders the payload as markup: …%s…", what, body[max(0, i-80):min(len(body), i+80)])
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("%s does not show the planted text at all", what)
	}
}

func TestPlantedMarkupRendersInertOnEveryPage(t *testing.T) {
	e := newEnv(t)
	patient := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	form := url.Values{"origin": {"ORIGIN_PATIENT"}, "consent_store": {"on"}, "request_id": {"x1"}}
	for _, f := range []string{"title", "problem", "proposal", "care_area", "display_name", "workplace"} {
		form.Set(f, f+" "+payload)
	}
	page := patient.submitIdea(form)

	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	advisor.get(page)
	if code, body, _ := advisor.post(page+"/edit", url.Values{"etag": {etagOf(t, e, page)}, "tags": {strings.ReplaceAll(payload, "</script> ", "</script>, ")}, "ip_owner": {"IP_OWNER_REGION"},
		"test_environment": {"env " + payload}, "partner": {"partner " + payload}}); code != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", code, body)
	}
	advisor.post(page+"/assess", url.Values{"patient_benefit": {"3"}, "care_benefit": {"3"}, "feasibility": {"3"}, "novelty": {"3"}, "market_potential": {"3"}, "risk": {"3"}, "comment": {"comment " + payload}})
	if code, body, _ := advisor.post(page+"/transition", url.Values{"stage": {"STAGE_PARKED"}, "rationale": {"rationale " + payload}, "etag": {etagOf(t, e, page)}}); code != http.StatusSeeOther {
		t.Fatalf("park: %d\n%s", code, body)
	}

	patient.get("/needs/new")
	code, body, loc := patient.post("/needs/new", url.Values{"problem": {"p " + payload}, "population": {"pop " + payload}, "outcome": {"o " + payload},
		"care_unit": {"unit " + payload}, "evidence": {"ev " + payload}, "reported_by": {"ORIGIN_PATIENT"}, "request_id": {"n1"}})
	if code != http.StatusSeeOther {
		t.Fatalf("need: %d\n%s", code, body)
	}
	needPage, _, _ := strings.Cut(loc, "?")
	advisor.get(needPage)
	advisor.post(needPage+"/screen", url.Values{"clinical_impact": {"3"}, "patients_affected": {"3"}, "problem_cost": {"3"}, "strategic_fit": {"3"}, "feasibility": {"3"}, "comment": {"sc " + payload}})

	pages := []struct {
		who  *browser
		path string
	}{
		{patient, "/ideas/mine"}, {patient, page}, {advisor, page}, {advisor, "/board"},
		{advisor, "/needs"}, {advisor, needPage}, {patient, needPage},
	}
	for _, p := range pages {
		code, body, _ := p.who.get(p.path)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", p.path, code)
			continue
		}
		assertInert(t, p.path, body)
	}
	// The duplicate hint and a form shown again with errors echo input.
	patient.get("/ideas/new")
	_, body, _ = patient.post("/ideas/similar", url.Values{"title": {"title " + payload}, "problem": {"problem " + payload}})
	assertInert(t, "the duplicate hint", body)
	_, body, _ = patient.post("/ideas/new", url.Values{"title": {payload}, "problem": {payload}, "email": {payload}, "phone": {payload}, "consent_store": {"on"}, "request_id": {"x2"}})
	assertInert(t, "the idea form shown again", body)
}
