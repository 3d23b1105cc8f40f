package partner

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// Limits keep input to what a portal form holds.
const (
	maxName         = 200
	maxText         = 5000
	maxShort        = 200
	maxTags         = 30
	maxTag          = 50
	maxContacts     = 20
	maxReason       = 2000
	dateLayout      = "2006-01-02"
	maxAgreementYrs = 50
)

func checkTags(v *errs.Violations, field string, tags []string) {
	if len(tags) > maxTags {
		v.Add(field, "has %d tags; at most %d are allowed", len(tags), maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case strings.TrimSpace(t) == "":
			v.Add(field, "a tag is empty")
		case !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0:
			v.Add(field, "tag %q holds invalid characters", t)
		case utf8.RuneCountInString(t) > maxTag:
			v.Add(field, "tag %q is longer than %d characters", t, maxTag)
		case seen[fold(t)]:
			v.Add(field, "tag %q is given twice", t)
		}
		seen[fold(t)] = true
	}
}

// validatePartner checks every input field of a partner and reports all
// problems at once. Output-only fields are ignored, as AIP-203 asks.
func validatePartner(v *errs.Violations, prefix string, p *partnerv1.Partner) {
	resource.CheckText(v, prefix+"display_name", p.GetDisplayName(), maxName, true)
	if p.GetOrgNumber() == "" {
		v.Add(prefix+"org_number", "is required: the Swedish organisation number, NNNNNN-NNNN")
	} else if _, err := normaliseOrgNumber(p.GetOrgNumber()); err != nil {
		v.Add(prefix+"org_number", "%v", err)
	}
	kind := p.GetKind()
	switch {
	case kind == partnerv1.PartnerKind_PARTNER_KIND_UNSPECIFIED:
		v.Add(prefix+"kind", "is required: PARTNER_KIND_COMPANY, PARTNER_KIND_ACADEMIA, …")
	case partnerv1.PartnerKind_name[int32(kind)] == "":
		v.Add(prefix+"kind", "%d is not a partner kind", kind)
	}
	size := p.GetSize()
	switch {
	case partnerv1.CompanySize_name[int32(size)] == "":
		v.Add(prefix+"size", "%d is not a company size", size)
	case kind == partnerv1.PartnerKind_PARTNER_KIND_COMPANY && size == partnerv1.CompanySize_COMPANY_SIZE_UNSPECIFIED:
		v.Add(prefix+"size", "is required for a company: COMPANY_SIZE_MICRO, _SMALL, _MEDIUM or _LARGE")
	case kind != partnerv1.PartnerKind_PARTNER_KIND_COMPANY && kind != partnerv1.PartnerKind_PARTNER_KIND_UNSPECIFIED &&
		size != partnerv1.CompanySize_COMPANY_SIZE_UNSPECIFIED:
		v.Add(prefix+"size", "is for companies only; a partner of kind %s has none", kind)
	}
	checkTags(v, prefix+"capabilities", p.GetCapabilities())
	checkContacts(v, prefix+"contacts", p.GetContacts())
}

func checkContacts(v *errs.Violations, field string, contacts []*partnerv1.Contact) {
	if len(contacts) > maxContacts {
		v.Add(field, "has %d contacts; at most %d are allowed", len(contacts), maxContacts)
	}
	for _, c := range contacts {
		resource.CheckText(v, field+".name", c.GetName(), maxShort, true)
		resource.CheckText(v, field+".role", c.GetRole(), maxShort, false)
		if e := c.GetEmail(); e != "" {
			if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
				v.Add(field+".email", "%q is not an e-mail address", e)
			}
		}
		if p := c.GetPhone(); p != "" && !resource.ValidPhone(p) {
			v.Add(field+".phone", "%q is not a phone number (digits, spaces, +, - and parentheses; 6 to 15 digits)", p)
		}
		if c.GetEmail() == "" && c.GetPhone() == "" {
			v.Add(field+".email", "a contact needs an e-mail address or a phone number")
		}
	}
}

// cleanPartner is the partner to store from validated input: input fields
// only, trimmed, the organisation number as ten digits.
func cleanPartner(in *partnerv1.Partner) *partnerv1.Partner {
	org, _ := normaliseOrgNumber(in.GetOrgNumber())
	out := &partnerv1.Partner{
		DisplayName:  strings.TrimSpace(in.GetDisplayName()),
		OrgNumber:    org,
		Kind:         in.GetKind(),
		Size:         in.GetSize(),
		Capabilities: trimTags(in.GetCapabilities()),
	}
	for _, c := range in.GetContacts() {
		out.Contacts = append(out.Contacts, &partnerv1.Contact{
			Name: strings.TrimSpace(c.GetName()), Email: strings.TrimSpace(c.GetEmail()),
			Phone: strings.TrimSpace(c.GetPhone()), Role: strings.TrimSpace(c.GetRole()),
		})
	}
	return out
}

func trimTags(tags []string) []string {
	var out []string
	for _, t := range tags {
		out = append(out, strings.TrimSpace(t))
	}
	return out
}

// parseDate reads a YYYY-MM-DD day.
func parseDate(s string) (time.Time, bool) {
	d, err := time.Parse(dateLayout, s)
	return d, err == nil && d.Format(dateLayout) == s
}

// validateAgreement checks an agreement of a partner in region, at time now.
func validateAgreement(v *errs.Violations, region string, a *partnerv1.Agreement, now time.Time) {
	switch k := a.GetKind(); {
	case k == partnerv1.AgreementKind_AGREEMENT_KIND_UNSPECIFIED:
		v.Add("agreement.kind", "is required: AGREEMENT_KIND_COLLABORATION, _NDA, _IP, _TESTBED or _CO_FINANCING")
	case partnerv1.AgreementKind_name[int32(k)] == "":
		v.Add("agreement.kind", "%d is not an agreement kind", k)
	}
	// No subject: a framework agreement with the partner as a whole.
	if a.GetSubject() != "" {
		if n, err := parseResource(a.GetSubject(), "subprojects", "ideas"); err != nil {
			v.Add("agreement.subject", "%v", err)
		} else if n.Region != region {
			v.Add("agreement.subject", "%s is in region %s; an agreement of %s is about its own region's work", a.GetSubject(), n.Region, region)
		}
	}
	from, fromOK := parseDate(a.GetValidFrom())
	to, toOK := parseDate(a.GetValidTo())
	if !fromOK {
		v.Add("agreement.valid_from", "%q is not a date: want YYYY-MM-DD", a.GetValidFrom())
	}
	if !toOK {
		v.Add("agreement.valid_to", "%q is not a date: want YYYY-MM-DD", a.GetValidTo())
	}
	if fromOK && toOK {
		switch {
		case !to.After(from):
			v.Add("agreement.valid_to", "%s is not after valid_from %s", a.GetValidTo(), a.GetValidFrom())
		case to.After(from.AddDate(maxAgreementYrs, 0, 0)):
			v.Add("agreement.valid_to", "an agreement runs at most %d years", maxAgreementYrs)
		}
	}
	// A few minutes of grace for clocks that run ahead of ours.
	if st := a.GetSignedTime(); st != nil && !st.IsValid() {
		v.Add("agreement.signed_time", "is not a valid time")
	} else if st != nil && st.AsTime().After(now.Add(5*time.Minute)) {
		v.Add("agreement.signed_time", "%s is in the future: record the agreement once it is signed, or leave signed_time unset", st.AsTime().Format(time.RFC3339))
	}
}

// validateOffer checks an offer's input fields; staff must name the partner.
func validateOffer(v *errs.Violations, region string, o *partnerv1.Offer, staff bool) {
	resource.CheckText(v, "offer.title", o.GetTitle(), maxName, true)
	resource.CheckText(v, "offer.description", o.GetDescription(), maxText, true)
	checkTags(v, "offer.capabilities", o.GetCapabilities())
	switch p := o.GetPartner(); {
	case p == "" && staff:
		v.Add("offer.partner", "is required when the region registers an offer: the partner it comes from")
	case p != "":
		if n, err := parsePartnerName(p); err != nil {
			v.Add("offer.partner", "%v", err)
		} else if n.Region != region {
			v.Add("offer.partner", "%s is a partner of region %s, not of %s", p, n.Region, region)
		}
	}
}
