package partner_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

func TestREST_PartnersAgreementsOffers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.setClock(stockholm(t, "2026-04-01 09:00")) // Wednesday before Easter
		n := e.needsOf(t, "vasterbotten")
		staff := e.As(t, auth.Advisor, "vasterbotten")
		org := orgNumber("556123987")
		body := fmt.Sprintf(`{"displayName":"Norrsken Sensorteknik AB","orgNumber":%q,"kind":"PARTNER_KIND_COMPANY","size":"COMPANY_SIZE_SMALL",
			"capabilities":["sensorer","fallprevention"],"contacts":[{"name":"Lena Ek","email":"lena.ek@example.se","role":"VD"}]}`, hyphenated(org))
		code, p := restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/partners?requestId=p-1", body)
		if code != http.StatusOK || p["orgNumber"] != org || p["kind"] != "PARTNER_KIND_COMPANY" {
			t.Fatalf("create partner: %d %v", code, p)
		}
		name := p["name"].(string)
		if code, again := restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/partners?requestId=p-1", body); code != 200 || again["name"] != name {
			t.Errorf("replay: %d %v", code, again)
		}
		if code, dup := restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/partners", body); code != http.StatusConflict || !strings.Contains(fmt.Sprint(dup["message"]), name) {
			t.Errorf("second partner with the number: %d %v, want 409 naming %s", code, dup, name)
		}
		if code, list := restCall(t, e, staff, "GET", "/v1/regions/vasterbotten/partners?filter=capability%3Dsensorer", ""); code != 200 || len(list["partners"].([]any)) != 1 {
			t.Errorf("list by capability: %d %v", code, list)
		}
		code, patched := restCall(t, e, staff, "PATCH", "/v1/"+name, `{"displayName":"Norrsken Sensor AB","etag":"1"}`)
		if code != 200 || patched["displayName"] != "Norrsken Sensor AB" {
			t.Errorf("patch: %d %v", code, patched)
		}
		if code, _ := restCall(t, e, staff, "PATCH", "/v1/"+name, `{"displayName":"Igen","etag":"1"}`); code != http.StatusConflict {
			t.Errorf("patch with a stale etag: %d, want 409", code)
		}

		code, a := restCall(t, e, staff, "POST", "/v1/"+name+"/agreements",
			`{"kind":"AGREEMENT_KIND_TESTBED","subject":"regions/vasterbotten/subprojects/fall","validFrom":"2026-03-01","validTo":"2027-02-28","signedTime":"2026-02-20T10:00:00Z"}`)
		if code != 200 || a["state"] != "AGREEMENT_STATE_ACTIVE" {
			t.Errorf("create agreement: %d %v", code, a)
		}
		if code, list := restCall(t, e, staff, "GET", "/v1/"+name+"/agreements", ""); code != 200 || len(list["agreements"].([]any)) != 1 {
			t.Errorf("list agreements: %d %v", code, list)
		}
		if code, got := restCall(t, e, staff, "GET", "/v1/"+fmt.Sprint(a["name"]), ""); code != 200 || got["kind"] != "AGREEMENT_KIND_TESTBED" {
			t.Errorf("get agreement: %d %v", code, got)
		}

		company := e.companyUser(t, "vasterbotten", name, "lena")
		code, o := restCall(t, e, company, "POST", "/v1/regions/vasterbotten/offers",
			`{"title":"Golvsensor som larmar vid fall","description":"Trycksensorer under golvmattan.","capabilities":["sensorer"]}`)
		matched, _ := o["matchedNeeds"].([]any)
		// Ten working days from Wednesday 1 April 2026 skip Good Friday and
		// Easter Monday (3 and 6 April).
		if code != 200 || o["status"] != "OFFER_STATUS_NEW" || o["partner"] != name || o["respondBy"] != "2026-04-17" ||
			len(matched) != 1 || matched[0] != n.fall.GetName() {
			t.Fatalf("create offer: %d %v", code, o)
		}
		offer := o["name"].(string)
		if code, _ := restCall(t, e, staff, "POST", "/v1/"+offer+":route", fmt.Sprintf(`{"need":%q,"etag":"7"}`, n.fall.GetName())); code != http.StatusConflict {
			t.Errorf("route with a stale etag: %d, want 409", code)
		}
		if code, body := restCall(t, e, staff, "POST", "/v1/"+offer+":route", fmt.Sprintf(`{"need":%q,"etag":%q}`, n.internal.GetName(), o["etag"])); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["message"]), n.internal.GetName()) {
			t.Errorf("route to an unpublished need: %d %v, want 400 naming it", code, body)
		}
		code, routed := restCall(t, e, staff, "POST", "/v1/"+offer+":route", fmt.Sprintf(`{"need":%q,"etag":%q}`, n.fall.GetName(), o["etag"]))
		if code != 200 || routed["status"] != "OFFER_STATUS_ROUTED" || routed["routedTo"] != n.fall.GetName() {
			t.Errorf("route: %d %v", code, routed)
		}
		code, moved := restCall(t, e, staff, "POST", "/v1/"+offer+":transition", fmt.Sprintf(`{"status":"OFFER_STATUS_IN_DIALOGUE","etag":%q}`, routed["etag"]))
		if code != 200 || moved["status"] != "OFFER_STATUS_IN_DIALOGUE" {
			t.Errorf("transition: %d %v", code, moved)
		}
		if code, list := restCall(t, e, company, "GET", "/v1/regions/vasterbotten/offers?pageSize=5", ""); code != 200 || len(list["offers"].([]any)) != 1 {
			t.Errorf("company lists its offers: %d %v", code, list)
		}
		if code, got := restCall(t, e, company, "GET", "/v1/"+offer, ""); code != 200 || got["status"] != "OFFER_STATUS_IN_DIALOGUE" {
			t.Errorf("company reads its offer: %d %v", code, got)
		}
	})
}

func TestREST_BadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		vb := e.As(t, auth.Advisor, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556123988")))
		for _, tc := range []struct {
			name       string
			caller     stack.Caller
			method     string
			path, body string
			want       int
			mention    string
		}{
			{"bad check digit", vb, "POST", "/v1/regions/vasterbotten/partners", `{"displayName":"X","orgNumber":"556123-9870","kind":"PARTNER_KIND_OTHER"}`, 400, "partner.org_number"},
			{"every bad field", vb, "POST", "/v1/regions/vasterbotten/partners", `{"orgNumber":"1","kind":"PARTNER_KIND_COMPANY"}`, 400, "partner.display_name"},
			{"unknown field", vb, "POST", "/v1/regions/vasterbotten/partners", `{"displayName":"X","colour":"red"}`, 400, "colour"},
			{"unknown enum", vb, "POST", "/v1/regions/vasterbotten/partners", `{"displayName":"X","kind":"PARTNER_KIND_ALIEN"}`, 400, "PARTNER_KIND_ALIEN"},
			{"agreement dates", vb, "POST", "/v1/" + p.GetName() + "/agreements", `{"kind":"AGREEMENT_KIND_NDA","subject":"regions/vasterbotten/ideas/x","validFrom":"2026-05-01","validTo":"2026-04-01"}`, 400, "agreement.valid_to"},
			{"offer without title", vb, "POST", "/v1/regions/vasterbotten/offers", `{"description":"d","partner":"` + p.GetName() + `"}`, 400, "offer.title"},
			{"bad filter", vb, "GET", "/v1/regions/vasterbotten/offers?filter=colour%3DRED", "", 400, "filter"},
			{"bad page token", vb, "GET", "/v1/regions/vasterbotten/partners?pageToken=nonsense", "", 400, "page_token"},
			{"region not served", vb, "GET", "/v1/regions/stockholm/partners", "", 404, "stockholm"},
			{"no such region", vb, "GET", "/v1/regions/narnia/offers", "", 404, "narnia"},
			{"no such partner", vb, "GET", "/v1/regions/vasterbotten/partners/nothere", "", 404, "nothere"},
			{"no such offer", vb, "GET", "/v1/regions/vasterbotten/offers/nothere", "", 404, "nothere"},
			{"route without need", vb, "POST", "/v1/regions/vasterbotten/offers/x:route", `{"etag":"1"}`, 400, "need"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := restCall(t, e, tc.caller, tc.method, tc.path, tc.body)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				if msg, _ := body["message"].(string); !strings.Contains(msg, tc.mention) {
					t.Errorf("message %q does not mention %q", msg, tc.mention)
				}
			})
		}
	})
}
