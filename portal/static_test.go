package portal

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// Vendored files are what their npm packages shipped, byte for byte. To
// update one: `npm pack htmx.org@VERSION` in a temporary folder, copy
// package/dist/htmx.min.js and package/LICENSE, and change the pin here.
var vendored = []struct {
	path, pkg, sha256 string
	fs                func() fs.FS
}{
	{"static/vendor/htmx.min.js", "htmx.org@2.0.11", "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717", func() fs.FS { return staticFS }},
	// axe-core runs only in the browser tests; it is not embedded.
	{"testdata/axe.min.js", "axe-core@4.14.1", "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c", func() fs.FS { return os.DirFS(".") }},
}

func TestVendoredFilesMatchTheirPins(t *testing.T) {
	for _, v := range vendored {
		data, err := fs.ReadFile(v.fs(), v.path)
		if err != nil {
			t.Fatalf("%s (%s): %v", v.path, v.pkg, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != v.sha256 {
			t.Errorf("%s: SHA-256 %s, want %s (the file of %s)", v.path, got, v.sha256, v.pkg)
		}
	}
	for _, lic := range []string{"static/vendor/htmx.LICENSE", "testdata/axe.LICENSE"} {
		if _, err := os.Stat(lic); err != nil {
			t.Errorf("licence %s: %v", lic, err)
		}
	}
}

// Every label a template asks for is in both languages.
func TestEveryLabelInBothLanguages(t *testing.T) {
	keyRE := regexp.MustCompile(`\.T "([^"]+)"|\(\.Field "[^"]+" "([^"]+)" "([^"]*)"`)
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, f := range files {
		data, err := fs.ReadFile(templateFS, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(data), -1) {
			for _, k := range m[1:] {
				if k != "" {
					used[k] = true
				}
			}
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in the templates: the pattern is broken", len(used))
	}
	for k := range used {
		m, ok := lookup(k)
		if !ok {
			t.Errorf("label %q is used but has no translation", k)
			continue
		}
		if strings.TrimSpace(m[0]) == "" || strings.TrimSpace(m[1]) == "" {
			t.Errorf("label %q lacks its Swedish or English text", k)
		}
	}
	byCode := []string{"gate.need.assessment", "gate.need.ipowner", "err.conflict", "err.retry",
		"budget.err.amount", "dash.funnel.done", "org.err.length", "org.err.digits", "org.err.luhn", "org.ok", "region.national"}
	for _, done := range []string{"saved", "submitted", "closed", "reported", "reportsubmitted", "registered", "agreed", "offered", "approved", "certified"} {
		byCode = append(byCode, doneKey(done))
	}
	for _, st := range []regionState{stateUp, statePartial, stateUnreachable, stateTimedOut} {
		byCode = append(byCode, "dash.state."+string(st))
	}
	// Every value of the enums the new pages show by name (Enum).
	for _, names := range []map[int32]string{fundingv1.SubprojectStatus_name, fundingv1.CostReportStatus_name, fundingv1.CostCategory_name,
		fundingv1.ContributionKind_name, partnerv1.PartnerKind_name, partnerv1.CompanySize_name, partnerv1.AgreementKind_name, partnerv1.AgreementState_name} {
		for i, n := range names {
			if i != 0 || strings.HasPrefix(n, "SUBPROJECT_STATUS") || strings.HasPrefix(n, "AGREEMENT_STATE") || strings.HasPrefix(n, "COMPANY_SIZE") {
				byCode = append(byCode, strings.ToLower(n))
			}
		}
	}
	for _, k := range byCode {
		if _, ok := lookup(k); !ok {
			t.Errorf("label %q used by the code is missing", k)
		}
	}
}

func TestKronor(t *testing.T) {
	for _, c := range []struct {
		ore  int64
		want string
	}{
		{123456789, "1 234 567,89 kr"}, {0, "0,00 kr"}, {5, "0,05 kr"}, {100000, "1 000,00 kr"}, {-250, "−2,50 kr"}, {99999, "999,99 kr"},
	} {
		got := strings.ReplaceAll(formatKronor(c.ore), nbsp, " ")
		if got != c.want {
			t.Errorf("formatKronor(%d) = %q, want %q", c.ore, got, c.want)
		}
	}
}

func TestSwedishDates(t *testing.T) {
	d := time.Date(2026, time.December, 1, 22, 30, 0, 0, time.UTC) // 23.30 in Stockholm
	if got := formatDate(d, langSV); got != "1 december 2026" {
		t.Errorf("formatDate sv = %q", got)
	}
	if got := formatDateTime(d, langSV); got != "1 december 2026 kl. 23.30" {
		t.Errorf("formatDateTime sv = %q", got)
	}
	if got := formatDate(d, langEN); got != "1 December 2026" {
		t.Errorf("formatDate en = %q", got)
	}
	// Midnight UTC on 31 May is already 1 June in Sweden (summer time).
	if got := formatDate(time.Date(2026, time.May, 31, 23, 0, 0, 0, time.UTC), langSV); got != "1 juni 2026" {
		t.Errorf("formatDate across midnight = %q", got)
	}
}

func TestStaticFilesServedWithoutListings(t *testing.T) {
	e := newEnv(t)
	b := e.browser(t)
	for path, want := range map[string]int{
		"/static/motor.css": http.StatusOK, "/static/vendor/htmx.min.js": http.StatusOK,
		"/static/": http.StatusNotFound, "/static/vendor/": http.StatusNotFound,
	} {
		if code, _, _ := b.get(path); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
}
