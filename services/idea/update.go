package idea

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// Who may change which field (issue text of the idea service): the submitter
// edits their own words while the idea waits in SUBMITTED; the region's
// advisors and admins edit the working fields at any non-final stage.
func submitterFields() []string {
	return []string{"title", "problem", "proposal", "origin", "care_area", "submitter", "consent"}
}

func workingFields() []string {
	return []string{"tags", "care_area", "ip_owner", "test_environment", "partner"}
}

// outputOnly are fields the server owns, with how they change. An update
// mask that names one is not refused: the field is ignored (AIP-203), so a
// client may send back the idea it read.
func outputOnly() map[string]string {
	return map[string]string{
		"agreements_in_place": "is derived from the partner service's agreements",
		"stage":               "changes only through :transition",
		"assessment_summary":  "is computed from the assessments", "spread_from": "is set by :spread",
		"spread_to": "is set by :spread", "create_time": "is set by the server",
		"update_time": "is set by the server",
		"merged_into": "is set by :merge", "merged_from": "is set by :merge", "co_submitters": "is set by :merge",
		"test_plans":  "lists the approved test plans (:approve)",
		"linked_from": "is kept by the linking services", "stage_time": "follows the stage's decisions",
	}
}

// UpdateIdea changes the fields in update_mask, checked against the stored
// idea's etag.
func (s *Server) UpdateIdea(ctx context.Context, req *ideav1.UpdateIdeaRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolve(ctx, req.GetIdea().GetName(), "idea.name", auth.Submitter, auth.Advisor, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	staff := isStaff(who, name.Region)
	paths, v := checkMask(req, staff)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if staff && slices.Contains(paths, "tags") {
		tags, err := s.vocabularyTags(ctx, name.Region, "idea.tags", req.GetIdea().GetTags())
		if err != nil {
			return nil, err
		}
		in := proto.Clone(req.GetIdea()).(*ideav1.Idea)
		in.Tags = tags
		req = &ideav1.UpdateIdeaRequest{Idea: in, UpdateMask: req.GetUpdateMask()}
	}
	r, err := s.commit(ctx, who, name, mutation{
		action: "UpdateIdea",
		etag:   req.GetIdea().GetEtag(),
		apply: func(r *record) ([]store.Put, error) {
			own := r.Owner != "" && r.Owner == who.Subject
			var v errs.Violations
			for _, path := range paths {
				p := topField(path)
				switch {
				case staff && slices.Contains(workingFields(), p):
					if final(r.Msg.GetStage()) {
						return nil, domain.FailedPrecondition("IDEA_FINAL", "idea %s is %s, a final stage: its working fields no longer change", name, r.Msg.GetStage())
					}
				case own && slices.Contains(submitterFields(), p):
					if r.Msg.GetStage() != ideav1.Stage_STAGE_SUBMITTED {
						return nil, domain.FailedPrecondition("IDEA_NOT_EDITABLE",
							"idea %s is %s: a submitter edits an idea only while it is STAGE_SUBMITTED", name, r.Msg.GetStage())
					}
				case slices.Contains(workingFields(), p):
					v.Add("update_mask", "%s is set by the region's advisors", p)
				default:
					v.Add("update_mask", "%s is the submitter's own text; only they may change it", p)
				}
			}
			probe := proto.Clone(r.Msg).(*ideav1.Idea)
			for _, p := range paths {
				setField(probe, req.GetIdea(), p)
			}
			if slices.ContainsFunc(paths, func(p string) bool { return topField(p) == "submitter" }) &&
				hasPersonalData(probe.GetSubmitter()) && !probe.GetConsent().GetStorePersonalData() {
				v.Add("idea.consent.store_personal_data", "must be true (consent.storePersonalData) to keep submitter details")
			}
			if err := v.Err(domain); err != nil {
				return nil, err
			}
			apply(r, req.GetIdea(), paths)
			return nil, nil
		},
	})
	if err != nil {
		return nil, err
	}
	return redact(who, name.Region, r.Owner, r.Msg), nil
}

// checkMask validates the mask and the values of the fields it names; it
// needs no stored state, so every such problem is reported at once.
func checkMask(req *ideav1.UpdateIdeaRequest, staff bool) ([]string, *errs.Violations) {
	v := &errs.Violations{}
	in := req.GetIdea()
	if in.GetEtag() == "" {
		v.Add("idea.etag", "is required: send the etag of the idea as you read it")
	}
	paths, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(req.GetUpdateMask().GetPaths()), func(f string) bool { _, ok := outputOnly()[f]; return ok })
	if len(paths) == 0 {
		v.Add("update_mask", "name at least one field to change%s", resource.IgnoredNote(ignored, outputOnly()))
	}
	var out []string
	for _, p := range paths {
		if top := topField(p); top != p && !slices.Contains(nestedFields(), p) ||
			!slices.Contains(submitterFields(), top) && !slices.Contains(workingFields(), top) {
			v.Add("update_mask", "%q is not a field of an idea", p)
			continue
		}
		out = append(out, p)
	}
	// Reuse the create rules on the fields being set: a changed field must be
	// as valid as a new one.
	probe := &ideav1.CreateIdeaRequest{Idea: &ideav1.Idea{
		Title: "x", Problem: "x", Origin: ideav1.Origin_ORIGIN_OTHER, Consent: &ideav1.Consent{StorePersonalData: true},
	}}
	for _, p := range out {
		setField(probe.Idea, in, p)
	}
	create := validateCreate(probe, true)
	for _, f := range create.Fields() {
		field := strings.TrimPrefix(f, "idea.")
		if slices.ContainsFunc(out, func(p string) bool { return p == field || p == topField(field) || topField(p) == field }) {
			v.Add(f, "%s", create.Description(f))
		}
	}
	return out, v
}

// apply copies the masked fields from in to r and keeps the personal-data
// rule: without consent to store personal data, none is kept.
func apply(r *record, in *ideav1.Idea, paths []string) {
	for _, p := range paths {
		setField(r.Msg, in, p)
	}
	n := newIdea(r.Msg, true) // trims and drops personal data without consent
	r.Msg.Title, r.Msg.Problem, r.Msg.Proposal, r.Msg.CareArea = n.Title, n.Problem, n.Proposal, n.CareArea
	r.Msg.TestEnvironment, r.Msg.Partner, r.Msg.Submitter = n.TestEnvironment, n.Partner, n.Submitter
	if r.Msg.GetIpOwner() == ideav1.IpOwner_IP_OWNER_UNSPECIFIED {
		r.Msg.IpOwner = ideav1.IpOwner_IP_OWNER_UNKNOWN
	}
}

// topField is the idea field a (possibly nested) path belongs to.
func topField(path string) string { return strings.SplitN(path, ".", 2)[0] }

// nestedFields are the paths inside submitter and consent that a mask may
// name on their own, changing that one value.
func nestedFields() []string {
	return []string{"submitter.display_name", "submitter.email", "submitter.phone", "submitter.workplace", "consent.contact", "consent.store_personal_data"}
}

func setField(dst, src *ideav1.Idea, path string) {
	if strings.HasPrefix(path, "submitter.") && dst.Submitter == nil {
		dst.Submitter = &ideav1.Submitter{}
	}
	if strings.HasPrefix(path, "consent.") && dst.Consent == nil {
		dst.Consent = &ideav1.Consent{}
	}
	switch path {
	case "submitter.display_name":
		dst.Submitter.DisplayName = src.GetSubmitter().GetDisplayName()
	case "submitter.email":
		dst.Submitter.Email = src.GetSubmitter().GetEmail()
	case "submitter.phone":
		dst.Submitter.Phone = src.GetSubmitter().GetPhone()
	case "submitter.workplace":
		dst.Submitter.Workplace = src.GetSubmitter().GetWorkplace()
	case "consent.contact":
		dst.Consent.Contact = src.GetConsent().GetContact()
	case "consent.store_personal_data":
		dst.Consent.StorePersonalData = src.GetConsent().GetStorePersonalData()
	case "title":
		dst.Title = src.GetTitle()
	case "problem":
		dst.Problem = src.GetProblem()
	case "proposal":
		dst.Proposal = src.GetProposal()
	case "origin":
		dst.Origin = src.GetOrigin()
	case "care_area":
		dst.CareArea = src.GetCareArea()
	case "submitter":
		dst.Submitter = proto.Clone(src.GetSubmitter()).(*ideav1.Submitter)
		if src.GetSubmitter() == nil {
			dst.Submitter = nil
		}
	case "consent":
		dst.Consent = &ideav1.Consent{Contact: src.GetConsent().GetContact(), StorePersonalData: src.GetConsent().GetStorePersonalData()}
	case "tags":
		dst.Tags = slices.Clone(src.GetTags())
	case "ip_owner":
		dst.IpOwner = src.GetIpOwner()
	case "agreements_in_place":
		dst.AgreementsInPlace = src.GetAgreementsInPlace()
	case "test_environment":
		dst.TestEnvironment = src.GetTestEnvironment()
	case "partner":
		dst.Partner = src.GetPartner()
	default:
		panic(fmt.Sprintf("setField: unchecked path %q", path))
	}
}
