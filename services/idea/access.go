package idea

import (
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// readers may call Get and List. A partner (a company user) may submit an
// idea and reads the ideas they submitted, as any submitter does; the rest of
// the region's pipeline stays internal (companies see published needs).
func readers() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
}

// isStaff: the region's advisors and admins see every idea of their region
// in full and set the working fields.
func isStaff(who *auth.Identity, region string) bool {
	return who.Region == region && (who.Has(auth.Advisor) || who.Has(auth.RegionAdmin))
}

// national callers (the coordinator, other deployments) read every idea,
// without personal data.
func isNational(who *auth.Identity) bool {
	return who.Has(auth.Coordinator) || who.Has(auth.Service)
}

// mayRead: staff and national callers read all ideas of a region; anyone else
// only the ideas they submitted.
func mayRead(who *auth.Identity, region, owner string) bool {
	return isStaff(who, region) || isNational(who) || (who.Region == region && who.Subject == owner)
}

// readableBy: mayRead for the idea's submitter or a co-submitter (the
// submitter of a duplicate merged into it).
func readableBy(r *record, who *auth.Identity, region string) bool {
	return mayRead(who, region, r.Owner) || who.Region == region && slices.Contains(side(r).GetCoOwners(), who.Subject)
}

// redact removes the submitter's personal data for everyone but the
// submitter and the region's advisors and admins (docs/architecture.md, "Identity and access").
// Co-submitters are other people: only the region's staff see them.
func redact(who *auth.Identity, region, owner string, idea *ideav1.Idea) *ideav1.Idea {
	hideSubmitter := !auth.CanSeePersonalData(who, region, owner) && idea.GetSubmitter() != nil
	hideCo := !isStaff(who, region) && len(idea.GetCoSubmitters()) > 0
	if !hideSubmitter && !hideCo {
		return idea
	}
	out := proto.Clone(idea).(*ideav1.Idea)
	if hideSubmitter {
		out.Submitter = nil
	}
	if hideCo {
		out.CoSubmitters = nil
	}
	return out
}
