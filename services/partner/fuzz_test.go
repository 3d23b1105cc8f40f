package partner

import (
	"strings"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// FuzzOrgNumber: whatever is accepted is ten digits with a valid check
// digit, and its written form normalises back to it.
func FuzzOrgNumber(f *testing.F) {
	for _, seed := range []string{"2120000142", "212000-0142", "2120000143", "8112189876", "", "-", "55600000-01", "５５６０００００００"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := normaliseOrgNumber(in)
		if err != nil {
			return
		}
		if len(got) != 10 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("%q accepted as %q: not ten digits", in, got)
		}
		if luhnDigit(got[:9]) != got[9] || got[2] < '2' {
			t.Errorf("%q accepted as %q: check digit or third digit wrong", in, got)
		}
		if again, err := normaliseOrgNumber(formatOrgNumber(got)); err != nil || again != got {
			t.Errorf("written form %q of %q normalises to %q, %v", formatOrgNumber(got), got, again, err)
		}
	})
}

// FuzzCreatePartnerRequest decodes request bodies the way the gateway does
// and validates them: nothing may panic, and what validation lets through
// must be a partner that keeps the rules of docs/architecture.md ("Domain rules").
func FuzzCreatePartnerRequest(f *testing.F) {
	for _, seed := range []string{
		`{"partner":{"displayName":"Norrsken AB","orgNumber":"212000-0142","kind":"PARTNER_KIND_COMPANY","size":"COMPANY_SIZE_SMALL"}}`,
		`{"partner":{"displayName":"Uni","orgNumber":"2120000142","kind":"PARTNER_KIND_ACADEMIA","size":"COMPANY_SIZE_LARGE"}}`,
		`{"partner":{"displayName":" ","orgNumber":"1","kind":99,"capabilities":["a","A",""],"contacts":[{"email":"x"}]}}`,
		`{"partner":{"displayName":"P","orgNumber":"2120000142","kind":"PARTNER_KIND_OTHER","contacts":[{"name":"N","phone":"070-1234567"}]},"requestId":"a/b"}`,
		`{}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req partnerv1.CreatePartnerRequest
		if err := protojson.Unmarshal([]byte(body), &req); err != nil || req.GetPartner() == nil {
			return
		}
		var v errs.Violations
		resource.CheckRequestID(&v, req.GetRequestId())
		validatePartner(&v, "partner.", req.GetPartner())
		if v.Len() > 0 {
			return
		}
		p := cleanPartner(req.GetPartner())
		if len(p.GetOrgNumber()) != 10 || strings.TrimSpace(p.GetDisplayName()) == "" {
			t.Errorf("accepted %q as %v", body, p)
		}
		isCompany := p.GetKind() == partnerv1.PartnerKind_PARTNER_KIND_COMPANY
		if hasSize := p.GetSize() != partnerv1.CompanySize_COMPANY_SIZE_UNSPECIFIED; isCompany != hasSize {
			t.Errorf("accepted kind %v with size %v: %q", p.GetKind(), p.GetSize(), body)
		}
		for _, c := range p.GetContacts() {
			if c.GetName() == "" || c.GetEmail() == "" && c.GetPhone() == "" {
				t.Errorf("accepted a contact nobody can reach: %q", body)
			}
		}
	})
}

// FuzzOfferAndAgreement: offers and agreements come from company portals.
func FuzzOfferAndAgreement(f *testing.F) {
	f.Add(`{"title":"t","description":"d","capabilities":["AI"]}`, `{"kind":"AGREEMENT_KIND_NDA","subject":"regions/uppsala/ideas/x","validFrom":"2026-01-01","validTo":"2026-12-31"}`)
	f.Add(`{"title":"","partner":"regions/vasterbotten/partners/p"}`, `{"validFrom":"2026-02-30","validTo":"x"}`)
	f.Add(`{"title":"\u0000"}`, `{"subject":"regions/uppsala/subprojects/","validFrom":"2026-01-01","validTo":"2026-01-01"}`)
	f.Fuzz(func(t *testing.T, offerJSON, agreementJSON string) {
		var o partnerv1.Offer
		if protojson.Unmarshal([]byte(offerJSON), &o) == nil {
			var v errs.Violations
			validateOffer(&v, "uppsala", &o, true)
			if v.Len() == 0 && (strings.TrimSpace(o.GetTitle()) == "" || !strings.HasPrefix(o.GetPartner(), "regions/uppsala/partners/")) {
				t.Errorf("accepted offer %q", offerJSON)
			}
		}
		var a partnerv1.Agreement
		if protojson.Unmarshal([]byte(agreementJSON), &a) == nil {
			var v errs.Violations
			validateAgreement(&v, "uppsala", &a, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
			if v.Len() == 0 {
				from, ok1 := parseDate(a.GetValidFrom())
				to, ok2 := parseDate(a.GetValidTo())
				if !ok1 || !ok2 || !to.After(from) {
					t.Errorf("accepted agreement dates %q", agreementJSON)
				}
			}
		}
	})
}

// FuzzListParams: filters and page tokens come straight from query strings.
func FuzzListParams(f *testing.F) {
	f.Add("kind = PARTNER_KIND_COMPANY AND capability = \"AI\"", "")
	f.Add("status=OFFER_STATUS_NEW AND partner = regions/uppsala/partners/p", "eyJhIjoieCIsInEiOiJ5In0")
	f.Add(" AND ", "!!")
	f.Add("state = AGREEMENT_STATE_ACTIVE", resource.EncodeToken("a", "q"))
	f.Fuzz(func(t *testing.T, text, token string) {
		_, _ = filter.Compile(text, store.Query{Index: "partners"}, partnerFilter())
		_, _ = filter.Compile(text, store.Query{Index: "agreements"}, agreementFilter())
		plan, err := filter.Compile(text, store.Query{Index: "offers"}, offerFilter("uppsala"))
		if id := strings.TrimSuffix(plan.Query.Prefix, "/"); err == nil && plan.Query.Index == "offer_partner" && resource.CheckSegment(id) != nil {
			t.Errorf("filter %q yields partner id %q", text, id)
		}
		var v errs.Violations
		after := resource.DecodeToken(&v, token, "q")
		if v.Len() == 0 && token != "" && after == "" {
			t.Errorf("token %q accepted with no position", token)
		}
	})
}
