package portal

import (
	"net"

	"encoding/base64"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

func TestSubmitterFollowsIdeaThroughAdvisorDecisions(t *testing.T) {
	e := newEnv(t)
	patient := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	page := patient.submitIdea(sampleIdea())

	_, body, _ := patient.get("/ideas/mine")
	if !strings.Contains(body, "Fallsensor i golvet") || !strings.Contains(body, "Inskickad") {
		t.Fatalf("my ideas does not list the idea as submitted:\n%s", body)
	}

	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	_, board, _ := advisor.get("/board")
	if !strings.Contains(board, page) {
		t.Fatalf("the board does not link %s", page)
	}
	advisor.get(page)
	etag := etagOf(t, e, page)
	if code, body, _ := advisor.post(page+"/transition", url.Values{"stage": {"STAGE_SCREENING"}, "etag": {etag}}); code != http.StatusSeeOther {
		t.Fatalf("move to screening: %d\n%s", code, body)
	}
	// SELECTED is not offered before the workshop scored it, and says why.
	_, body, _ = advisor.get(page)
	if !strings.Contains(body, translate(langSV, "gate.need.assessment")) || strings.Contains(body, `value="STAGE_SELECTED"`) {
		t.Fatalf("SELECTED offered, or its missing assessment not named:\n%s", body)
	}
	scores := url.Values{"patient_benefit": {"5"}, "care_benefit": {"4"}, "feasibility": {"4"}, "novelty": {"3"}, "market_potential": {"2"}, "risk": {"4"}, "comment": {"Bra"}}
	if code, body, _ := advisor.post(page+"/assess", scores); code != http.StatusSeeOther {
		t.Fatalf("assess: %d\n%s", code, body)
	}
	if code, body, _ := advisor.post(page+"/transition", url.Values{"stage": {"STAGE_SELECTED"}, "rationale": {"Urvalsworkshopen valde idén."}, "etag": {etagOf(t, e, page)}}); code != http.StatusSeeOther {
		t.Fatalf("move to selected: %d\n%s", code, body)
	}

	_, body, _ = patient.get("/ideas/mine")
	if !strings.Contains(body, "Utvald") || !strings.Contains(body, "Urvalsworkshopen valde idén.") {
		t.Fatalf("the patient does not see the new stage and rationale:\n%s", body)
	}
	_, body, _ = patient.get(page)
	for _, want := range []string{"Inskickad", "Granskning", "Utvald", "Anna Rådgivare"} {
		if !strings.Contains(body, want) {
			t.Errorf("the idea's timeline lacks %q", want)
		}
	}
}

// etagOf reads an idea's current etag as its region's advisor.
func etagOf(t *testing.T, e *env, page string) string {
	t.Helper()
	name := strings.TrimPrefix(page, "/")
	idea, err := e.ideas.GetIdea(e.ctxAs(t, auth.Advisor, regionOf(name), "etag-reader"), &ideav1.GetIdeaRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return idea.GetEtag()
}

func TestAdvisorOfAnotherRegionCannotOpenIdea(t *testing.T) {
	e := newEnv(t)
	page := e.signIn(t, "submitter", "vasterbotten", "Pia Patient").submitIdea(sampleIdea())
	other := e.signIn(t, "advisor", "uppsala", "Ulf Uppsala")
	code, body, _ := other.get(page)
	if code != http.StatusNotFound && code != http.StatusForbidden {
		t.Fatalf("uppsala advisor opening a västerbotten idea: status %d, want 403 or 404", code)
	}
	if strings.Contains(body, "Fallsensor") {
		t.Fatal("the page shows the other region's idea")
	}
}

func TestFieldErrorsFromBadRequestNextToFields(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.get("/ideas/new")
	code, body, _ := b.post("/ideas/new", url.Values{"proposal": {"Kept proposal text"}, "request_id": {"r"}})
	if code != http.StatusBadRequest {
		t.Fatalf("empty idea: status %d, want 400", code)
	}
	for _, field := range []string{"title", "problem", "origin"} {
		if !strings.Contains(body, `id="f-`+field+`-err"`) {
			t.Errorf("no error next to %s", field)
		}
	}
	if !strings.Contains(body, "Kept proposal text") {
		t.Error("the proposal typed was lost")
	}
}

func TestRefusedMoveShowsServiceMessage(t *testing.T) {
	e := newEnv(t)
	page := e.signIn(t, "submitter", "vasterbotten", "Pia Patient").submitIdea(sampleIdea())
	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	advisor.get(page)
	// Rejecting needs a rationale; the service refuses and says so.
	code, body, _ := advisor.post(page+"/transition", url.Values{"stage": {"STAGE_REJECTED"}, "etag": {etagOf(t, e, page)}})
	if code != http.StatusBadRequest {
		t.Fatalf("reject without rationale: status %d, want 400\n%s", code, body)
	}
	if !strings.Contains(body, `id="f-rationale-err"`) || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("the refusal does not show the reason next to the rationale:\n%s", body)
	}
	// A move the page does not offer, posted anyway: the service refuses it
	// and the page shows the service's own message.
	advisor.post(page+"/transition", url.Values{"stage": {"STAGE_SCREENING"}, "etag": {etagOf(t, e, page)}})
	code, body, _ = advisor.post(page+"/transition", url.Values{"stage": {"STAGE_SELECTED"}, "etag": {etagOf(t, e, page)}})
	if code != http.StatusBadRequest || !strings.Contains(body, translate(langSV, "err.refused")+" ") || !strings.Contains(body, "assessment") {
		t.Fatalf("SELECTED without assessment: status %d, want 400 with the service's message\n%s", code, body)
	}
}

func TestStaleEditOffersReloadAndKeepsTyping(t *testing.T) {
	e := newEnv(t)
	page := e.signIn(t, "submitter", "vasterbotten", "Pia Patient").submitIdea(sampleIdea())
	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	advisor.get(page)
	stale := etagOf(t, e, page)
	// Someone else changes the idea meanwhile.
	name := strings.TrimPrefix(page, "/")
	if _, err := e.ideas.UpdateIdea(e.ctxAs(t, auth.Advisor, "vasterbotten", "other-advisor"), &ideav1.UpdateIdeaRequest{
		Idea: &ideav1.Idea{Name: name, Etag: stale, TestEnvironment: "Innovationsklinik"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"test_environment"}},
	}); err != nil {
		t.Fatal(err)
	}
	code, body, _ := advisor.post(page+"/edit", url.Values{"etag": {stale}, "tags": {"sensorer, fall"}, "ip_owner": {"IP_OWNER_REGION"}})
	if code != http.StatusConflict {
		t.Fatalf("stale edit: status %d, want 409", code)
	}
	if !strings.Contains(body, translate(langSV, "err.conflict")) || !strings.Contains(body, translate(langSV, "reload")) {
		t.Fatalf("no reload offer:\n%s", body)
	}
	if !strings.Contains(body, "sensorer, fall") {
		t.Fatal("what the advisor typed was lost")
	}
}

func TestExpiredSessionKeepsHalfFilledForm(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.get("/ideas/new")
	// The session runs out while the form is open.
	e.later(9 * time.Hour)
	form := sampleIdea()
	form.Set("title", "Halvfärdig idé om nattlarm")
	code, _, loc := b.post("/ideas/new", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin?next=%2Fideas%2Fnew") {
		t.Fatalf("post without a session: %d to %q, want 303 to sign-in", code, loc)
	}
	_, body, _ := b.get(loc)
	if !strings.Contains(body, translate(langSV, "signin.expired")) {
		t.Fatal("sign-in page does not say why")
	}
	b.csrf = ""
	code, _, loc = b.post("/signin", url.Values{"role": {"submitter"}, "region": {"vasterbotten"}, "name": {"Pia Patient"}, "next": {"/ideas/new"}})
	if code != http.StatusSeeOther || loc != "/ideas/new" {
		t.Fatalf("sign in again: %d to %q, want 303 to /ideas/new", code, loc)
	}
	_, body, _ = b.get(loc)
	if !strings.Contains(body, "Halvfärdig idé om nattlarm") {
		t.Fatal("the half-filled form was not restored after sign-in")
	}
	// Once: a second visit starts afresh.
	if _, body, _ = b.get(loc); strings.Contains(body, "Halvfärdig idé om nattlarm") {
		t.Fatal("the stash was shown twice")
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.get("/ideas/new")
	form := sampleIdea()
	form.Set("csrf", "not-the-token")
	if code, _, _ := b.post("/ideas/new", form); code != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: status %d, want 403", code)
	}
	// A cross-site post is refused by the browser-header check too.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/ideas/new", strings.NewReader(sampleIdea().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, _, _ := b.do(req); code != http.StatusForbidden {
		t.Fatalf("cross-site post: status %d, want 403", code)
	}
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	resp, err := b.c.Post(e.srv.URL+"/signin", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"role": {"submitter"}, "region": {"vasterbotten"}, "name": {"Pia"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %q", csp)
	}
	var found bool
	for _, c := range resp.Cookies() {
		if c.Name != sessionCookie {
			continue
		}
		found = true
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie: HttpOnly %v Secure %v SameSite %v, want true true Lax", c.HttpOnly, c.Secure, c.SameSite)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil || strings.Contains(string(raw), "eyJ") || strings.Contains(string(raw), "Pia") {
			t.Errorf("the session cookie is not sealed: %q", raw)
		}
	}
	if !found {
		t.Fatal("no session cookie after sign-in")
	}
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "token") || strings.Contains(loc, "eyJ") {
		t.Errorf("a token in the redirect URL %q", loc)
	}
}

func TestLanguageFromHeaderAndSwitch(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	if _, body, _ := b.do(req); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Welcome") {
		t.Fatal("Accept-Language en does not give English")
	}
	if _, body, _ := b.get("/"); !strings.Contains(body, `<html lang="sv">`) || !strings.Contains(body, "Välkommen") {
		t.Fatal("no Accept-Language does not give Swedish")
	}
	b.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}})
	if _, body, _ := b.get("/"); !strings.Contains(body, "Welcome") {
		t.Fatal("the switch does not give English")
	}
}

func TestWithdrawAndErase(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	form := sampleIdea()
	form.Set("consent_store", "on")
	form.Set("display_name", "Pia Persson")
	form.Set("email", "pia@example.se")
	page := b.submitIdea(form)
	_, body, _ := b.get(page)
	if !strings.Contains(body, "pia@example.se") {
		t.Fatal("the submitter does not see their own details")
	}
	code, body, loc := b.post(page+"/erase", url.Values{"etag": {etagOf(t, e, page)}})
	if code != http.StatusSeeOther {
		t.Fatalf("erase: %d\n%s", code, body)
	}
	if _, body, _ := b.get(loc); !strings.Contains(body, translate(langSV, "idea.erased")) {
		t.Error("no word that the data was erased")
	}
	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	if _, body, _ := advisor.get(page); strings.Contains(body, "pia@example.se") || strings.Contains(body, "Pia Persson") {
		t.Fatal("the personal data is still shown after erasure")
	}

	second := sampleIdea()
	second.Set("request_id", "req-2")
	page2 := b.submitIdea(second)
	if code, body, _ := b.post(page2+"/withdraw", url.Values{"etag": {etagOf(t, e, page2)}}); code != http.StatusSeeOther {
		t.Fatalf("withdraw: %d\n%s", code, body)
	}
	if _, body, _ := b.get(page2); !strings.Contains(body, "Tillbakadragen") {
		t.Fatal("the idea is not shown withdrawn")
	}
}

func TestPersonalDetailsOnlyWithConsent(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.get("/ideas/new")
	form := sampleIdea()
	form.Set("email", "pia@example.se")
	code, body, _ := b.post("/ideas/new", form)
	if code != http.StatusBadRequest || !strings.Contains(body, translate(langSV, "idea.personal.noconsent")) {
		t.Fatalf("details without consent: status %d, want 400 with the reason", code)
	}
}

func TestNeedsScreeningAndLink(t *testing.T) {
	e := newEnv(t)
	patient := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	ideaPage := patient.submitIdea(sampleIdea())
	patient.get("/needs/new")
	code, body, loc := patient.post("/needs/new", url.Values{"problem": {"upptäcka fall tidigare"}, "population": {"äldre i hemtjänst"},
		"outcome": {"färre höftfrakturer"}, "reported_by": {"ORIGIN_STAFF"}, "patients_affected_per_year": {"1200"}, "request_id": {"n1"}})
	if code != http.StatusSeeOther {
		t.Fatalf("submit need: %d\n%s", code, body)
	}
	needPage, _, _ := strings.Cut(loc, "?")
	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	_, body, _ = advisor.get("/needs")
	if !strings.Contains(body, "Ett sätt att upptäcka fall tidigare hos äldre i hemtjänst för att färre höftfrakturer") {
		t.Fatalf("the needs list does not show the statement:\n%s", body)
	}
	advisor.get(needPage)
	if code, body, _ := advisor.post(needPage+"/screen", url.Values{"clinical_impact": {"5"}, "patients_affected": {"4"}, "problem_cost": {"4"}, "strategic_fit": {"5"}, "feasibility": {"3"}}); code != http.StatusSeeOther {
		t.Fatalf("screen: %d\n%s", code, body)
	}
	_, body, _ = advisor.get(needPage)
	if !strings.Contains(body, "4,2") {
		t.Errorf("priority 4,2 not shown after screening")
	}
	etag := etagRE.FindStringSubmatch(body)
	if etag == nil {
		t.Fatal("no etag on the need page")
	}
	if code, body, _ := advisor.post(needPage+"/link", url.Values{"target": {strings.TrimPrefix(ideaPage, "/")}, "etag": {etag[1]}}); code != http.StatusSeeOther {
		t.Fatalf("link: %d\n%s", code, body)
	}
	if _, body, _ = advisor.get(needPage); !strings.Contains(body, `href="`+ideaPage+`"`) {
		t.Fatal("the link is not shown")
	}
	// The other way: the idea's page shows the need, to its submitter too.
	if _, body, _ = patient.get(ideaPage); !strings.Contains(body, `href="`+needPage+`"`) || !strings.Contains(body, "Behov och delprojekt som bygger på idén") {
		t.Errorf("the idea page does not show the need that links to it:\n%s", body)
	}
}

var etagRE = regexp.MustCompile(`name="etag" value="([^"]*)"`)

// The answers a person gets for each kind of failure a service reports.
func TestFailuresInWordsAPersonUnderstands(t *testing.T) {
	for _, c := range []struct {
		code     codes.Code
		http     int
		key      string
		kind     string
		keepsMsg bool
	}{
		{codes.FailedPrecondition, http.StatusBadRequest, "err.refused", "error", true},
		{codes.Aborted, http.StatusConflict, "err.conflict", "conflict", false},
		{codes.ResourceExhausted, http.StatusServiceUnavailable, "err.retry", "retry", false},
		{codes.Unavailable, http.StatusServiceUnavailable, "err.retry", "retry", false},
		{codes.DeadlineExceeded, http.StatusServiceUnavailable, "err.retry", "retry", false},
		{codes.NotFound, http.StatusNotFound, "err.notfound", "error", false},
		{codes.PermissionDenied, http.StatusForbidden, "err.forbidden", "error", false},
		{codes.Internal, http.StatusInternalServerError, "err.internal", "error", false},
	} {
		f := explain(status.Error(c.code, "the service's words: store at 10.0.0.7 failed"), langSV)
		if f.code != c.http || f.key != c.key || f.kind != c.kind {
			t.Errorf("%v: got %d %s %s, want %d %s %s", c.code, f.code, f.key, f.kind, c.http, c.key, c.kind)
		}
		if (f.message != "") != c.keepsMsg {
			t.Errorf("%v: message %q shown = %v, want %v (only refusals quote the service)", c.code, f.message, f.message != "", c.keepsMsg)
		}
	}
}

func TestBusyServiceGetsACalmRetryMessageAndKeepsTheForm(t *testing.T) {
	// Nothing listens where the idea service should be: every call is
	// UNAVAILABLE, as when the service is overloaded or restarting.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	conn, err := rpc.Dial(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e := newEnv(t, func(c *Config) { c.Ideas = ideav1.NewIdeaServiceClient(conn) })
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.get("/ideas/new")
	form := sampleIdea()
	form.Set("title", "Min idé som inte får försvinna")
	code, body, _ := b.post("/ideas/new", form)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("service down: status %d, want 503", code)
	}
	if !strings.Contains(body, translate(langSV, "err.retry")) || !strings.Contains(body, "Min idé som inte får försvinna") {
		t.Fatalf("no calm retry message with the form kept:\n%s", body)
	}
	if strings.Contains(body, addr) || strings.Contains(body, "connection refused") {
		t.Fatal("internal details reach the page")
	}
}

func TestDuplicateHint(t *testing.T) {
	e := newEnv(t)
	b := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	b.submitIdea(sampleIdea())
	other := e.signIn(t, "submitter", "vasterbotten", "Per Person")
	other.get("/ideas/new")
	_, body, _ := other.post("/ideas/similar", url.Values{"title": {"Fallsensor i golvet"}, "problem": {"Äldre faller på natten"}})
	if !strings.Contains(body, translate(langSV, "idea.similar")) || !strings.Contains(body, "Fallsensor i golvet") {
		t.Fatalf("no hint of the similar idea:\n%s", body)
	}
	if strings.Contains(body, "<html") {
		t.Fatal("the hint is a whole page, not a fragment")
	}
	// A session that ran out while typing: no hint, and no redirect that
	// would take the person away from the form.
	e.later(9 * time.Hour)
	code, body, _ := other.post("/ideas/similar", url.Values{"title": {"Fallsensor i golvet"}, "problem": {"Äldre faller på natten"}})
	if code != http.StatusOK || strings.TrimSpace(body) != "" {
		t.Fatalf("hint without a session: %d %q, want 200 and nothing", code, body)
	}
}

// TestBoardAndNeedsSearch: the board and the needs list search with a GET
// form (no script needed), keep the words in the field, find without
// accents and say so when nothing matches.
func TestBoardAndNeedsSearch(t *testing.T) {
	e := newEnv(t)
	patient := e.signIn(t, "submitter", "vasterbotten", "Pia Patient")
	fall := patient.submitIdea(sampleIdea())
	other := sampleIdea()
	other.Set("title", "Videobesök för KOL-kontroller")
	other.Set("problem", "Långa resor till kontroller som kunde ske på distans.")
	other.Set("request_id", "req-2")
	video := patient.submitIdea(other)

	advisor := e.signIn(t, "advisor", "vasterbotten", "Anna Rådgivare")
	_, body, _ := advisor.get("/board")
	if !strings.Contains(body, `<label for="f-q">Sök i titel och problem</label>`) || !strings.Contains(body, `name="q"`) {
		t.Fatalf("the board has no labelled search field:\n%s", body)
	}
	_, body, _ = advisor.get("/board?q=videobesok")
	if !strings.Contains(body, `href="`+video+`"`) || strings.Contains(body, `href="`+fall+`"`) || !strings.Contains(body, `value="videobesok"`) {
		t.Fatalf("board search for videobesok: want %s alone and the words kept in the field:\n%s", video, body)
	}
	if strings.Contains(body, translate(langSV, "board.nohits")) {
		t.Errorf("the board says no hits beside a hit")
	}
	_, body, _ = advisor.get("/board?q=dialys")
	if !strings.Contains(body, translate(langSV, "board.nohits")) || strings.Contains(body, `href="`+video+`"`) {
		t.Errorf("board search without hits does not say so:\n%s", body)
	}

	patient.get("/needs/new")
	code, body, loc := patient.post("/needs/new", url.Values{"problem": {"upptäcka fall tidigare"}, "population": {"äldre i hemtjänst"},
		"outcome": {"färre höftfrakturer"}, "reported_by": {"ORIGIN_STAFF"}, "request_id": {"n1"}})
	if code != http.StatusSeeOther {
		t.Fatalf("submit need: %d\n%s", code, body)
	}
	needPage, _, _ := strings.Cut(loc, "?")
	_, body, _ = advisor.get("/needs?q=hoftfrakturer")
	if !strings.Contains(body, `href="`+needPage+`"`) || !strings.Contains(body, `value="hoftfrakturer"`) || !strings.Contains(body, `<label for="f-q">Sök bland behoven</label>`) {
		t.Fatalf("needs search for hoftfrakturer: want %s and the words kept in the labelled field:\n%s", needPage, body)
	}
	_, body, _ = advisor.get("/needs?q=dialys")
	if !strings.Contains(body, translate(langSV, "needs.nohits")) || strings.Contains(body, `href="`+needPage+`"`) {
		t.Errorf("needs search without hits does not say so:\n%s", body)
	}
}
