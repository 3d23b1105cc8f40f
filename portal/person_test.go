package portal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMyData: a signed-in patient's "Mina uppgifter" page lists the idea
// they sent with their contact details, and the download is the same data
// as a JSON attachment; signed out, the page sends them to sign in.
func TestMyData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	base := motorPortal(t)
	patient := signInAt(t, base, "submitter", "vasterbotten", "Sigrid Portalsson", "")
	patient.do("GET", "/ideas/new", nil)
	form := url.Values{"title": {"Väntrum med kö-sms"}, "problem": {"Man vet inte när det är ens tur."}, "origin": {"ORIGIN_PATIENT"},
		"submitter_name": {"Sigrid Portalsson"}, "submitter_email": {"sigrid@example.se"}, "consent_store": {"on"}, "request_id": {"mine-1"}}
	if code, body, _ := patient.do("POST", "/ideas/new", form); code != http.StatusSeeOther {
		t.Fatalf("submit idea: %d\n%s", code, body)
	}
	code, page, _ := patient.do("GET", "/me/data", nil)
	for _, want := range []string{"<h1>Mina uppgifter</h1>", "Väntrum med kö-sms", `href="/me/data.json"`, `aria-current="page"`} {
		if code != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("my data page (%d) lacks %q", code, want)
		}
	}
	req, _ := http.NewRequest("GET", base+"/me/data.json", nil)
	resp, err := patient.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Subject string `json:"subject"`
		Idea    struct {
			Ideas []struct {
				Title string `json:"title"`
			} `json:"ideas"`
		} `json:"idea"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download headers: %v", resp.Header)
	}
	if len(doc.Idea.Ideas) != 1 || doc.Idea.Ideas[0].Title != "Väntrum med kö-sms" || doc.Subject == "" {
		t.Errorf("downloaded data: %+v", doc)
	}
	anon := &site{t: t, base: base, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, _, loc := anon.do("GET", "/me/data.json", nil); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
		t.Errorf("signed out: %d to %q, want a redirect to sign in", code, loc)
	}
}
