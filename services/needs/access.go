package needs

import (
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// readers may call Get, List and FindSimilar; what each of them sees is
// narrowed by mayRead and redact.
func readers() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
}

// reporters may report a need: anyone signed in to the region's portal.
// Partners bring offers, not needs, and other deployments have no reason to.
func reporters() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin}
}

// staffRoles run the needs process: they edit, screen, move and link needs.
func staffRoles() []auth.Role { return []auth.Role{auth.Advisor, auth.RegionAdmin} }

// insiders may read a need's screenings and history: the region's staff and
// national callers. The reporter of a need is added for the history, where
// the reason for a decision is their answer.
func insiders() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service}
}

// isStaff: the region's advisors and admins see every need of their region
// in full.
func isStaff(who *auth.Identity, region string) bool {
	return who.Region == region && (who.Has(auth.Advisor) || who.Has(auth.RegionAdmin))
}

// isNational: the coordinator and other deployments read every need, the
// coordinator to find needs common to several regions.
func isNational(who *auth.Identity) bool {
	return who.Has(auth.Coordinator) || who.Has(auth.Service)
}

// mayRead: staff and national callers read every need of a region; anyone
// else of the region (submitters, partners) the needs they reported and the
// published ones.
func mayRead(who *auth.Identity, region, owner string, need *needsv1.Need) bool {
	if isStaff(who, region) || isNational(who) {
		return true
	}
	return who.Region == region && (need.GetPublished() || (owner != "" && who.Subject == owner))
}

// mayReadHistory: the decisions on a need are for the region's staff,
// national callers and the person who reported it.
func mayReadHistory(who *auth.Identity, region, owner string) bool {
	return isStaff(who, region) || isNational(who) || (who.Region == region && owner != "" && who.Subject == owner)
}

// redact hides what only insiders may see. Evidence is free text in which
// patients and staff are easily described, so it counts as personal data
// and is shown only to the reporter and the region's advisors and admins
// (docs/architecture.md, "Identity and access"). Links are hidden from partners and other submitters: they name
// other companies' offers and the region's internal ideas.
func redact(who *auth.Identity, region, owner string, need *needsv1.Need) *needsv1.Need {
	seesEvidence := auth.CanSeePersonalData(who, region, owner)
	seesLinks := isStaff(who, region) || isNational(who) || (owner != "" && who.Subject == owner)
	if (seesEvidence || need.GetEvidence() == "") && (seesLinks || len(need.GetLinks()) == 0) {
		return need
	}
	out := proto.Clone(need).(*needsv1.Need)
	if !seesEvidence {
		out.Evidence = ""
	}
	if !seesLinks {
		out.Links = nil
	}
	return out
}

// redactPeople hides who decided or screened from everyone but the region's
// staff: subjects and names of staff are personal data too.
func redactPeople(who *auth.Identity, region string) bool {
	return !auth.CanSeePersonalData(who, region, "")
}
