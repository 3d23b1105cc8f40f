package portal

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
)

// TestReportsPage: on the real binary with its demo data, an advisor sees
// the region's reports as charts with their tables and downloads an export
// with exactly what the API gives them; a period the service does not
// understand is named at its field with the form kept; people outside the
// region's staff are refused.
func TestReportsPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	base := motorPortal(t)
	advisor := signInAt(t, base, "advisor", "vasterbotten", "Anna Rådgivare", "")
	code, body, _ := advisor.do("GET", "/reports", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /reports: %d\n%s", code, body)
	}
	for _, want := range []string{"Inlämnade idéer", `role="img"`, "<title id=\"submitted-t\">", "Tratten", "Dagar i varje steg", "Besvarade i tid",
		`href="/regions/vasterbotten/exports/ideas.xlsx"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the reports page lacks %q", want)
		}
	}

	code, body, _ = advisor.do("GET", "/reports?period=2026-13&interval=month", nil)
	if code != http.StatusBadRequest || !strings.Contains(body, `id="period-error"`) || !strings.Contains(body, `value="2026-13"`) {
		t.Errorf("a bad period: %d, want 400 with the error at the field and the value kept\n%s", code, body)
	}

	req, err := http.NewRequest("GET", base+"/regions/vasterbotten/exports/ideas.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := advisor.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || err != nil || len(rows) < 2 {
		t.Fatalf("ideas.csv: %d %s, %d rows (%v)", resp.StatusCode, resp.Header.Get("Content-Type"), len(rows), err)
	}
	// Another region's export is the service's refusal, not a file.
	resp, err = advisor.c.Get(base + "/regions/uppsala/exports/ideas.csv")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Errorf("another region's export: %d, want 403 or 404", resp.StatusCode)
	}

	for _, role := range []string{"submitter", "partner"} {
		s := signInAt(t, base, role, "vasterbotten", "Kim", "acme")
		if code, _, _ := s.do("GET", "/reports", nil); code != http.StatusForbidden {
			t.Errorf("%s on /reports: %d, want 403", role, code)
		}
	}
}
