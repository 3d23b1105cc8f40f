package portal

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestProgrammeShareRoundsDown(t *testing.T) {
	for _, tc := range []struct {
		eligible int64
		rate     int32
		want     int64
	}{
		{125001, 5000, 62500}, {1, 5000, 0}, {3, 5000, 1}, {0, 5000, 0}, {10000, 3333, 3333}, {9, 3333, 2},
		{9223372036854775807, 5000, 4611686018427387903}, // no overflow for any amount
	} {
		if got := programmeShare(tc.eligible, tc.rate); got != tc.want {
			t.Errorf("programmeShare(%d, %d) = %d, want %d", tc.eligible, tc.rate, got, tc.want)
		}
	}
}

func TestParseKronor(t *testing.T) {
	for in, want := range map[string]int64{"1234,56": 123456, "1 234,5": 123450, "1234.05": 123405, "12": 1200, "1\u00a0000,01 kr": 100001, "0,07": 7} {
		if got, err := parseKronor(in); err != nil || got != want {
			t.Errorf("parseKronor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "1,234", "-5", "1,2,3", "kr"} {
		if got, err := parseKronor(in); err == nil {
			t.Errorf("parseKronor(%q) = %d, want an error", in, got)
		}
	}
}

func TestOrgNumberCheck(t *testing.T) {
	for in, want := range map[string]string{
		"5591234561": "", "559123-4561": "", "559123-4562": "org.err.luhn", "55912345": "org.err.length", "55912a4561": "org.err.digits",
	} {
		if got := orgNumberProblem(in); got != want {
			t.Errorf("orgNumberProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

// site is one person's cookie jar against a running motor's portal.
type site struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var siteCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (s *site) do(method, path string, form url.Values) (int, string, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		if s.csrf != "" {
			form.Set("csrf", s.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := siteCSRF.FindSubmatch(b); m != nil {
		s.csrf = string(m[1])
	}
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

func signInAt(t *testing.T, base, role, region, name, partner string) *site {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &site{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, _, _ := s.do("POST", "/signin", url.Values{"role": {role}, "region": {region}, "name": {name}, "partner": {partner}, "next": {"/"}}); code != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d", role, code)
	}
	s.do("GET", "/", nil)
	return s
}

// mustPost posts a form and expects a redirect, returning where to.
func (s *site) mustPost(path string, form url.Values) string {
	s.t.Helper()
	code, body, loc := s.do("POST", path, form)
	if code != http.StatusSeeOther {
		s.t.Fatalf("POST %s: %d\n%s", path, code, body)
	}
	p, _, _ := strings.Cut(loc, "?")
	return p
}

// TestWorkPages runs the region admins', companies' and coordinator's
// pages on the real binary with JavaScript's part left out: the budget's
// arithmetic by the recalculate button, field errors next to their rows,
// and planted markup in every text field rendering inert on every page.
func TestWorkPages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	// The test clicks through faster than a person: the region admin's
	// calls would use up the rate limit a person never reaches.
	limits := filepath.Join(t.TempDir(), "motor.json")
	if err := os.WriteFile(limits, []byte(`{"name":"motor","regions":["vasterbotten","uppsala"],"limits":{"ratePerSecond":1000,"burst":1000}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := motorPortal(t, "-config", limits)
	tags := strings.ReplaceAll(payload, "</script> ", "</script>, ") // tags are short
	admin := signInAt(t, base, "region_admin", "vasterbotten", "Ada Admin", "")
	_, page, _ := admin.do("GET", "/subprojects/new", nil)
	prog := regexp.MustCompile(`<option value="(programmes/[^"]+)"`).FindStringSubmatch(page)
	if prog == nil {
		t.Fatalf("the editor offers no programme:\n%s", page)
	}
	budget := func(step string) url.Values {
		return url.Values{"step": {step}, "request_id": {"sp-1"}, "programme": {prog[1]}, "title": {"title " + payload}, "description": {"description " + payload},
			"line_category": {"COST_CATEGORY_STAFF", "COST_CATEGORY_TRAVEL"}, "line_description": {"line " + payload, "resa"},
			"line_amount": {"1000,01", "99"}, "line_eligible": {"yes", "no"},
			"contrib_party": {"party " + payload}, "contrib_kind": {"CONTRIBUTION_KIND_CASH"}, "contrib_amount": {"400"}}
	}
	// Without JavaScript: the recalculate button shows the arithmetic.
	code, body, _ := admin.do("POST", "/subprojects/new", budget("recalc"))
	text := strings.ReplaceAll(body, "\u00a0", " ")
	for _, want := range []string{`id="sum-eligible">1 000,01 kr`, `id="sum-share">500,00 kr`, `id="sum-own">500,01 kr`, "Medfinansieringen saknar 100,01 kr"} {
		if code != http.StatusOK || !strings.Contains(text, want) {
			t.Errorf("recalculated editor (%d) lacks %q", code, want)
		}
	}
	assertInert(t, "the editor recalculated", body)
	// An amount that cannot be read is shown on its row, and nothing is saved.
	bad := budget("save")
	bad["line_amount"] = []string{"tusen", "99"}
	if code, body, _ := admin.do("POST", "/subprojects/new", bad); code != http.StatusBadRequest || !strings.Contains(body, `id="la-0-err"`) {
		t.Errorf("an unreadable amount: %d, no error on its row", code)
	}
	sp := admin.mustPost("/subprojects/new", budget("save"))
	_, body, _ = admin.do("GET", sp, nil)
	etag := regexp.MustCompile(`name="etag" value="([^"]+)"`).FindStringSubmatch(body)
	submit := budget("submit")
	submit.Set("etag", etag[1])
	submit.Set("contrib_amount", "500,01")
	admin.mustPost(sp+"/edit", submit)

	admin.do("GET", "/partners", nil)
	admin.mustPost("/partners", url.Values{"request_id": {"p-1"}, "display_name": {"org " + payload}, "org_number": {"559123-4561"},
		"kind": {"PARTNER_KIND_COMPANY"}, "size": {"COMPANY_SIZE_SMALL"}, "capabilities": {tags}})
	_, body, _ = admin.do("GET", "/partners", nil)
	href := regexp.MustCompile(`href="(/regions/vasterbotten/partners/[^"]+)">org `).FindStringSubmatch(body)
	if href == nil {
		t.Fatalf("the new partner is not listed")
	}
	admin.do("GET", href[1], nil)
	admin.mustPost(href[1]+"/agreements", url.Values{"request_id": {"a-1"}, "kind": {"AGREEMENT_KIND_NDA"}, "subject": {sp[1:]}, "valid_from": {"2026-01-01"}, "valid_to": {"2027-01-01"}})

	company := signInAt(t, base, "partner", "vasterbotten", "Kim Företag", href[1][strings.LastIndex(href[1], "/")+1:])
	company.do("GET", "/company", nil)
	company.mustPost("/company/offers", url.Values{"request_id": {"o-1"}, "title": {"offer " + payload}, "description": {"desc " + payload}, "capabilities": {tags}})
	coord := signInAt(t, base, "coordinator", "vasterbotten", "Cora", "")
	advisor := signInAt(t, base, "advisor", "vasterbotten", "Anna", "")

	// The coordinator approves on the dashboard; the admin reports costs
	// and submits them; the coordinator certifies them there.
	etagIn := func(body, action string) string {
		t.Helper()
		m := regexp.MustCompile(`action="` + regexp.QuoteMeta(action) + `">\s*<input type="hidden" name="csrf" value="[^"]*"><input type="hidden" name="etag" value="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no form posting to %s", action)
		}
		return m[1]
	}
	// The region admin signs the agreement and then terminates it, with
	// the buttons of the partner page.
	_, body, _ = admin.do("GET", href[1], nil)
	agreement := regexp.MustCompile(`action="(/regions/vasterbotten/partners/[^"/]+/agreements/[^"/]+)/sign"`).FindStringSubmatch(body)
	if agreement == nil {
		t.Fatalf("no sign button on the partner page for the region admin")
	}
	admin.mustPost(agreement[1]+"/sign", url.Values{"etag": {etagIn(body, agreement[1]+"/sign")}})
	_, body, _ = admin.do("GET", href[1], nil)
	if strings.Contains(body, agreement[1]+"/sign") {
		t.Errorf("a signed agreement still offers the sign button")
	}
	admin.mustPost(agreement[1]+"/terminate", url.Values{"etag": {etagIn(body, agreement[1]+"/terminate")}, "reason": {"avslutat " + payload}})
	_, body, _ = admin.do("GET", href[1], nil)
	if strings.Contains(body, agreement[1]+"/terminate") {
		t.Errorf("a terminated agreement still offers the terminate button")
	}
	assertInert(t, "the partner page", body)
	_, body, _ = coord.do("GET", "/dashboard", nil)
	assertInert(t, "the dashboard", body)
	coord.mustPost(sp+"/approve", url.Values{"etag": {etagIn(body, sp+"/approve")}})
	_, body, _ = admin.do("GET", sp+"?view=1", nil)
	if !strings.Contains(body, "Beviljat") || !strings.Contains(body, "Ny kostnadsrapport") {
		t.Fatalf("the approved subproject offers no cost report form")
	}
	admin.mustPost(sp+"/costReports", url.Values{"request_id": {"cr-1"}, "period_start": {"2026-01-01"}, "period_end": {"2026-03-31"},
		"report_category": {"COST_CATEGORY_STAFF"}, "report_description": {"report " + payload}, "report_amount": {"300,01"}})
	_, body, _ = admin.do("GET", sp+"?view=1", nil)
	report := regexp.MustCompile(`action="(/` + regexp.QuoteMeta(sp[1:]) + `/costReports/[^"/]+)/submit"`).FindStringSubmatch(body)
	if report == nil {
		t.Fatalf("the draft cost report cannot be submitted:\n%s", body)
	}
	admin.mustPost(report[1]+"/submit", url.Values{"etag": {etagIn(body, report[1]+"/submit")}})
	// Staff costs above their budget line of 1 000,01 kr: the coordinator
	// is warned on the dashboard before certifying.
	admin.mustPost(sp+"/costReports", url.Values{"request_id": {"cr-2"}, "period_start": {"2026-04-01"}, "period_end": {"2026-06-30"},
		"report_category": {"COST_CATEGORY_STAFF"}, "report_description": {"övertid"}, "report_amount": {"1200"}})
	_, body, _ = admin.do("GET", sp+"?view=1", nil)
	over := regexp.MustCompile(`action="(/` + regexp.QuoteMeta(sp[1:]) + `/costReports/[^"/]+)/submit"`).FindStringSubmatch(body)
	if over == nil {
		t.Fatalf("the second cost report cannot be submitted")
	}
	admin.mustPost(over[1]+"/submit", url.Values{"etag": {etagIn(body, over[1]+"/submit")}})
	_, body, _ = coord.do("GET", "/dashboard", nil)
	// Granted, paid and what :close released are three columns apart.
	if !regexp.MustCompile(`Beviljat</th><th scope="col" class="num">Utbetalt</th><th scope="col" class="num">Återfört</th>`).MatchString(body) {
		t.Errorf("the dashboard's region table does not show granted, paid and released apart")
	}
	if !strings.Contains(body, "Över budget") || !strings.Contains(body, "COST_CATEGORY_STAFF: 120000 öre reported, 19999 öre above the budget line of 100001 öre") {
		t.Errorf("the dashboard does not warn of the staff costs above their budget line")
	}
	// ⌊30001 × 5000 / 10000⌋ = 15000 öre.
	if !strings.Contains(strings.ReplaceAll(body, "\u00a0", " "), "betalar ut 150,00 kr") {
		t.Errorf("the dashboard does not say what certifying pays")
	}
	coord.mustPost(report[1]+"/certify", url.Values{"etag": {etagIn(body, report[1]+"/certify")}})
	if _, body, _ = admin.do("GET", sp+"?view=1", nil); !strings.Contains(body, "Attesterad") {
		t.Errorf("the certified cost report is not shown certified")
	}

	for _, p := range []struct {
		who  *site
		path string
	}{
		{admin, "/subprojects"}, {admin, sp + "?view=1"}, {admin, "/partners"}, {admin, href[1]}, {admin, "/audit?service=funding"},
		{company, "/company"}, {advisor, "/offers"},
	} {
		code, body, _ := p.who.do("GET", p.path, nil)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p.path, code, body)
			continue
		}
		if p.path == "/audit?service=funding" {
			if !strings.Contains(body, "CreateSubproject") {
				t.Errorf("the audit log lacks the subproject")
			}
			continue // the audit log holds no text fields, only names and actions
		}
		assertInert(t, p.path, body)
	}
	// The coordinator's dashboard and the English labels.
	coord.do("POST", "/lang", url.Values{"lang": {"en"}, "back": {"/dashboard"}})
	if _, body, _ := coord.do("GET", "/dashboard", nil); !strings.Contains(body, "National dashboard") || !strings.Contains(body, "Subprojects to approve") {
		t.Errorf("the dashboard in English lacks its labels")
	}
}
