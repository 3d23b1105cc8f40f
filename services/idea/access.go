package idea

import (
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// readers may call Get and List. Partners (company users) are not among them:
// ideas are the region's internal pipeline; companies see published needs.
func readers() []auth.Role {
	return []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Coordinator, auth.Service}
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

// redact removes the submitter's personal data for everyone but the
// submitter and the region's advisors and admins (docs/architecture.md, "Identity and access").
func redact(who *auth.Identity, region, owner string, idea *ideav1.Idea) *ideav1.Idea {
	if auth.CanSeePersonalData(who, region, owner) || idea.GetSubmitter() == nil {
		return idea
	}
	out := proto.Clone(idea).(*ideav1.Idea)
	out.Submitter = nil
	return out
}
