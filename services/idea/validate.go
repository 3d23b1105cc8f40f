package idea

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Limits keep a submission to what a person writes in a portal form.
const (
	maxTitle = 200
	maxText  = 5000
	maxShort = 200
	maxTags  = 20
	maxTag   = 50
)

// validateCreate checks every input field and reports all problems at once.
// Output-only fields (name, stage, times, etag, assessment summary, spread
// links) are ignored, as AIP-203 asks.
func validateCreate(req *ideav1.CreateIdeaRequest, staff bool) *errs.Violations {
	v := &errs.Violations{}
	resource.CheckRequestID(v, req.GetRequestId())
	idea := req.GetIdea()
	if idea == nil {
		v.Add("idea", "is required")
		return v
	}
	resource.CheckText(v, "idea.title", idea.GetTitle(), maxTitle, true)
	resource.CheckText(v, "idea.problem", idea.GetProblem(), maxText, true)
	resource.CheckText(v, "idea.proposal", idea.GetProposal(), maxText, false)
	resource.CheckText(v, "idea.care_area", idea.GetCareArea(), maxShort, false)
	switch o := idea.GetOrigin(); {
	case o == ideav1.Origin_ORIGIN_UNSPECIFIED:
		v.Add("idea.origin", "is required: who had the idea (ORIGIN_PATIENT, ORIGIN_STAFF, …)")
	case ideav1.Origin_name[int32(o)] == "":
		v.Add("idea.origin", "%d is not a known origin", o)
	}

	// Working fields belong to the region's advisors and focus groups.
	working := map[string]bool{
		"idea.tags":             len(idea.GetTags()) > 0,
		"idea.ip_owner":         idea.GetIpOwner() != ideav1.IpOwner_IP_OWNER_UNSPECIFIED && idea.GetIpOwner() != ideav1.IpOwner_IP_OWNER_UNKNOWN,
		"idea.test_environment": idea.GetTestEnvironment() != "",
		"idea.partner":          idea.GetPartner() != "",
	}
	for _, f := range []string{"idea.tags", "idea.ip_owner", "idea.test_environment", "idea.partner"} {
		if working[f] && !staff {
			v.Add(f, "is set by the region's advisors, not on submission")
		}
	}
	if staff {
		checkTags(v, idea.GetTags())
		if ideav1.IpOwner_name[int32(idea.GetIpOwner())] == "" {
			v.Add("idea.ip_owner", "%d is not a known IP owner", idea.GetIpOwner())
		}
		resource.CheckText(v, "idea.test_environment", idea.GetTestEnvironment(), maxShort, false)
		resource.CheckText(v, "idea.partner", idea.GetPartner(), maxShort, false)
	}

	sub, consent := idea.GetSubmitter(), idea.GetConsent()
	resource.CheckText(v, "idea.submitter.display_name", sub.GetDisplayName(), maxShort, false)
	resource.CheckText(v, "idea.submitter.workplace", sub.GetWorkplace(), maxShort, false)
	if e := sub.GetEmail(); e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 254 {
			v.Add("idea.submitter.email", "%q is not an e-mail address", e)
		}
	}
	if p := sub.GetPhone(); p != "" && !resource.ValidPhone(p) {
		v.Add("idea.submitter.phone", "%q is not a phone number (digits, spaces, +, - and parentheses; 6 to 15 digits)", p)
	}
	if hasPersonalData(sub) && !consent.GetStorePersonalData() {
		// Dropping the details silently would leave the person believing the
		// region can reach them.
		v.Add("idea.consent.store_personal_data", "must be true (consent.storePersonalData) to submit submitter details; leave submitter out to submit without them")
	}
	if consent.GetContact() {
		if !consent.GetStorePersonalData() {
			v.Add("idea.consent.store_personal_data", "must be true when consent.contact is: the region cannot contact you without keeping your contact details")
		}
		if sub.GetEmail() == "" && sub.GetPhone() == "" {
			v.Add("idea.submitter.email", "an e-mail address or a phone number is needed when consent.contact is true")
		}
	}
	return v
}

func checkTags(v *errs.Violations, tags []string) {
	if len(tags) > maxTags {
		v.Add("idea.tags", "has %d tags; at most %d are allowed", len(tags), maxTags)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case strings.TrimSpace(t) == "":
			v.Add("idea.tags", "a tag is empty")
		case utf8.RuneCountInString(t) > maxTag:
			v.Add("idea.tags", "tag %q is longer than %d characters", t, maxTag)
		case seen[strings.ToLower(t)]:
			v.Add("idea.tags", "tag %q is given twice", t)
		}
		seen[strings.ToLower(t)] = true
	}
}

// newIdea builds the idea to store from a validated submission: input fields
// only, trimmed, and the submitter's personal data only with consent to keep it.
func newIdea(in *ideav1.Idea, staff bool) *ideav1.Idea {
	out := &ideav1.Idea{
		Title:    strings.TrimSpace(in.GetTitle()),
		Problem:  strings.TrimSpace(in.GetProblem()),
		Proposal: strings.TrimSpace(in.GetProposal()),
		Origin:   in.GetOrigin(),
		CareArea: strings.TrimSpace(in.GetCareArea()),
		Consent:  &ideav1.Consent{Contact: in.GetConsent().GetContact(), StorePersonalData: in.GetConsent().GetStorePersonalData()},
		Stage:    ideav1.Stage_STAGE_SUBMITTED,
		IpOwner:  ideav1.IpOwner_IP_OWNER_UNKNOWN,
	}
	if in.GetConsent().GetStorePersonalData() && in.GetSubmitter() != nil {
		out.Submitter = proto.Clone(in.GetSubmitter()).(*ideav1.Submitter)
	}
	if staff {
		out.Tags = append([]string(nil), in.GetTags()...)
		if in.GetIpOwner() != ideav1.IpOwner_IP_OWNER_UNSPECIFIED {
			out.IpOwner = in.GetIpOwner()
		}
		// agreements_in_place is output only (agreements.go): ignored.
		out.TestEnvironment = strings.TrimSpace(in.GetTestEnvironment())
		out.Partner = strings.TrimSpace(in.GetPartner())
	}
	return out
}

// hasPersonalData reports whether any of the submitter's details is given.
func hasPersonalData(sub *ideav1.Submitter) bool {
	return strings.TrimSpace(sub.GetDisplayName()+sub.GetEmail()+sub.GetPhone()+sub.GetWorkplace()) != ""
}
