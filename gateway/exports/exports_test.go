package exports_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/deployment"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// get fetches an export through the real gateway as c.
func get(t *testing.T, e *deployment.Env, c stack.Caller, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.HTTP.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func parseCSV(t *testing.T, body []byte, sep rune) (header []string, rows []map[string]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = sep
	all, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	for _, rec := range all[1:] {
		m := map[string]string{}
		for i, h := range all[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return all[0], rows
}

func submit(t *testing.T, e *deployment.Env, c stack.Caller, title string) *ideav1.Idea {
	t.Helper()
	got, err := e.Ideas.CreateIdea(c.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
		Title: title, Problem: "Långa resor till kontroller.", Proposal: "Videobesök.", Origin: ideav1.Origin_ORIGIN_PATIENT,
		CareArea:  "Lungmedicin",
		Submitter: &ideav1.Submitter{DisplayName: "Greta Lindqvist", Email: "greta@example.se", Phone: "070-123 45 67"},
		Consent:   &ideav1.Consent{Contact: true, StorePersonalData: true},
	}})
	if err != nil {
		t.Fatalf("CreateIdea: %v", err)
	}
	return got
}

// TestExportIdeas: each caller's export holds exactly what the API shows
// them — their region's ideas or their own, personal data only where they
// may see it — in each format, and is audited.
func TestExportIdeas(t *testing.T) {
	e := deployment.Start(t, stack.Backends()[0])
	greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
	other := e.As(t, auth.Submitter, "vasterbotten", "olle")
	submit(t, e, greta, "Videobesök för KOL-kontroller")
	submit(t, e, greta, `=HYPERLINK("http://example.com","klicka")`)
	submit(t, e, other, "Sensorgolv, med \"citat\" och\nradbrytning")

	advisor := e.As(t, auth.Advisor, "vasterbotten")
	code, h, body := get(t, e, advisor, "/v1/regions/vasterbotten/exports/ideas.csv")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("advisor ideas.csv: %d %s %s", code, h.Get("Content-Type"), body)
	}
	if !bytes.Contains(body, []byte("\r\n")) {
		t.Errorf("ideas.csv lines do not end in CRLF (RFC 4180)")
	}
	header, rows := parseCSV(t, body, ',')
	for _, col := range []string{"name", "title", "origin", "submitter.email", "stage", "createTime"} {
		if !slices.Contains(header, col) {
			t.Errorf("header %v lacks %q", header, col)
		}
	}
	if len(rows) != 3 {
		t.Fatalf("advisor export has %d rows, want 3", len(rows))
	}
	titles := []string{}
	for _, r := range rows {
		titles = append(titles, r["title"])
		if r["submitter.email"] != "greta@example.se" && r["submitter.email"] != "" {
			t.Errorf("submitter.email %q", r["submitter.email"])
		}
		if r["stage"] != "STAGE_SUBMITTED" || r["origin"] != "ORIGIN_PATIENT" {
			t.Errorf("stage %q origin %q, want enum names", r["stage"], r["origin"])
		}
	}
	if !slices.Contains(titles, "Sensorgolv, med \"citat\" och\nradbrytning") {
		t.Errorf("a title with a comma, quotes and a line break did not survive: %q", titles)
	}
	if rows[0]["submitter.email"] == "" && rows[1]["submitter.email"] == "" && rows[2]["submitter.email"] == "" {
		t.Errorf("the region's advisor sees no submitter's e-mail")
	}

	// The coordinator sees every idea without personal data; Greta only hers.
	_, _, body = get(t, e, e.As(t, auth.Coordinator, auth.NationalRegion), "/v1/regions/vasterbotten/exports/ideas.csv")
	_, rows = parseCSV(t, body, ',')
	if len(rows) != 3 {
		t.Errorf("coordinator export has %d rows, want 3", len(rows))
	}
	for _, r := range rows {
		if r["submitter.email"] != "" || r["submitter.phone"] != "" || r["submitter.displayName"] != "" {
			t.Errorf("coordinator export shows personal data: %v", r)
		}
	}
	_, _, body = get(t, e, greta, "/v1/regions/vasterbotten/exports/ideas.csv")
	_, rows = parseCSV(t, body, ',')
	if len(rows) != 2 {
		t.Errorf("Greta's export has %d rows, want her 2", len(rows))
	}

	// Swedish Excel: BOM, semicolons, formulas defused.
	code, _, body = get(t, e, advisor, "/v1/regions/vasterbotten/exports/ideas.excel.csv")
	if code != http.StatusOK || !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
		t.Fatalf("excel.csv: %d, starts %q; want 200 and a byte order mark", code, body[:min(8, len(body))])
	}
	_, rows = parseCSV(t, bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")), ';')
	found := false
	for _, r := range rows {
		if r["title"] == `'=HYPERLINK("http://example.com","klicka")` {
			found = true
		}
		if strings.HasPrefix(r["title"], "=") {
			t.Errorf("a formula reaches Excel: %q", r["title"])
		}
	}
	if !found || len(rows) != 3 {
		t.Errorf("excel.csv rows %v; want 3 with the formula title prefixed by an apostrophe", rows)
	}

	// XLSX: the same rows.
	code, h, body = get(t, e, advisor, "/v1/regions/vasterbotten/exports/ideas.xlsx")
	if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), "spreadsheetml") {
		t.Fatalf("ideas.xlsx: %d %s", code, h.Get("Content-Type"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("not XLSX: %v", err)
	}
	sheet, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(sheet) != 4 || !slices.Equal(sheet[0][:3], header[:3]) {
		t.Errorf("xlsx has %d rows, header %v; want 4 rows and header %v", len(sheet), sheet[0], header[:3])
	}

	// Every export above is in the region's audit log, with who made it.
	resp, err := e.Reports.ListAuditEvents(e.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &reportsv1.ListAuditEventsRequest{Parent: "regions/vasterbotten"})
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	for _, ev := range resp.GetEvents() {
		logged = append(logged, ev.GetActor()+" "+ev.GetResource())
	}
	want := []string{
		"advisor-vasterbotten regions/vasterbotten/exports/ideas.csv",
		"coordinator-national regions/vasterbotten/exports/ideas.csv",
		"greta regions/vasterbotten/exports/ideas.csv",
		"advisor-vasterbotten regions/vasterbotten/exports/ideas.excel.csv",
		"advisor-vasterbotten regions/vasterbotten/exports/ideas.xlsx",
	}
	if !slices.Equal(logged, want) {
		t.Errorf("audit log %v, want %v", logged, want)
	}
}

// TestExport_Refusals: a bad format or collection is one 400 naming it; the
// wrong region or no token is refused before anything is read or recorded.
func TestExport_Refusals(t *testing.T) {
	e := deployment.Start(t, stack.Backends()[0])
	advisor := e.As(t, auth.Advisor, "vasterbotten")
	for _, tc := range []struct {
		caller stack.Caller
		path   string
		code   int
		names  string
	}{
		{advisor, "/v1/regions/vasterbotten/exports/ideas.pdf", http.StatusBadRequest, "format"},
		{advisor, "/v1/regions/vasterbotten/exports/ideas", http.StatusBadRequest, "format"},
		{advisor, "/v1/regions/vasterbotten/exports/secrets.csv", http.StatusBadRequest, "collection"},
		{e.As(t, auth.Advisor, "uppsala"), "/v1/regions/vasterbotten/exports/ideas.csv", http.StatusForbidden, ""},
		// A company user reads the ideas it submitted, but no subprojects.
		{e.As(t, auth.Partner, "vasterbotten"), "/v1/regions/vasterbotten/exports/subprojects.csv", http.StatusForbidden, ""},
		{stack.Caller{}, "/v1/regions/vasterbotten/exports/ideas.csv", http.StatusUnauthorized, ""},
		{advisor, "/v1/regions/skane/exports/ideas.csv", http.StatusNotFound, ""},
	} {
		code, _, body := get(t, e, tc.caller, tc.path)
		if code != tc.code || !strings.Contains(string(body), tc.names) {
			t.Errorf("%s as %q: %d %s; want %d naming %q", tc.path, tc.caller.Sub, code, body, tc.code, tc.names)
		}
	}
	resp, err := e.Reports.ListAuditEvents(e.As(t, auth.RegionAdmin, "vasterbotten").Ctx(t), &reportsv1.ListAuditEventsRequest{Parent: "regions/vasterbotten"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEvents()) != 0 {
		t.Errorf("refused exports were recorded: %v", resp.GetEvents())
	}
}

// TestExport_EveryCollection: needs, subprojects with their budget lines
// and contributions, cost reports, partners with their agreements, and
// offers, each as its API shows it to the region's admin.
func TestExport_EveryCollection(t *testing.T) {
	e := deployment.Start(t, stack.Backends()[0])
	admin := e.As(t, auth.RegionAdmin, "vasterbotten")
	idea := submit(t, e, e.As(t, auth.Submitter, "vasterbotten"), "Videobesök")
	if _, err := e.Needs.CreateNeed(admin.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: &needsv1.Need{
		Problem: "upptäcka fall nattetid", Population: "boende", Outcome: "korta tiden på golvet", CareUnit: "Äldreomsorg",
		ReportedBy: ideav1.Origin_ORIGIN_STAFF, Published: true,
	}}); err != nil {
		t.Fatal(err)
	}
	e.CreateProgramme(t)
	sp := e.ApprovedSubproject(t, "vasterbotten", 1_000_000)
	e.CertifiedCostReport(t, sp, 300_000)
	p, err := e.Partners.CreatePartner(admin.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
		DisplayName: "Norrsken Sensorteknik AB", OrgNumber: "556677-8899", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY,
		Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Partners.CreateAgreement(admin.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
		Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, Subject: idea.GetName(), ValidFrom: "2026-01-01", ValidTo: "2026-12-31",
	}}); err != nil {
		t.Fatalf("CreateAgreement: %v", err)
	}
	if _, err := e.Partners.CreateOffer(admin.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: &partnerv1.Offer{
		Partner: p.GetName(), Title: "Golvsensor", Description: "Trycksensorer som larmar vid fall.", Capabilities: []string{"sensorer", "fall"},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		collection string
		cells      map[string]string // column → a substring of its cell in the one row
	}{
		{"needs", map[string]string{"statement": "upptäcka fall nattetid", "status": "NEED_STATUS_IDENTIFIED"}},
		{"subprojects", map[string]string{"eligibleCostOre": "1000000", "programmeShareOre": "500000", "paidOre": "150000",
			"budgetLines":   "category=COST_CATEGORY_STAFF, description=Projektledare, amountOre=1000000, eligible=true",
			"contributions": "kind=CONTRIBUTION_KIND_CASH"}},
		{"costReports", map[string]string{"name": sp.GetName() + "/costReports/", "status": "COST_REPORT_STATUS_CERTIFIED", "paidOre": "150000"}},
		{"partners", map[string]string{"orgNumber": "5566778899", "agreements": "kind=AGREEMENT_KIND_NDA, subject=" + idea.GetName()}},
		{"offers", map[string]string{"title": "Golvsensor", "capabilities": "sensorer; fall", "respondBy": "2026-"}},
	} {
		code, _, body := get(t, e, admin, "/v1/regions/vasterbotten/exports/"+tc.collection+".csv")
		if code != http.StatusOK {
			t.Errorf("%s.csv: %d %s", tc.collection, code, body)
			continue
		}
		_, rows := parseCSV(t, body, ',')
		if len(rows) != 1 {
			t.Errorf("%s.csv has %d rows, want 1:\n%s", tc.collection, len(rows), body)
			continue
		}
		for col, want := range tc.cells {
			if got, ok := rows[0][col]; !ok || !strings.Contains(got, want) {
				t.Errorf("%s.csv %s = %q, want it to hold %q", tc.collection, col, got, want)
			}
		}
	}
}
