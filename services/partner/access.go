package partner

import (
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// staffRoles manage the region's partners and agreements and route offers.
func staffRoles() []auth.Role { return []auth.Role{auth.Advisor, auth.RegionAdmin} }

// readers may read partners, agreements and offers; what each sees is
// narrowed by mayRead and redact. Submitters are not among them: the partner
// register is the region's business, not the public's.
func readers() []auth.Role {
	return []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
}

// offerers may send an offer: a company user for their own partner, or the
// region's staff registering one that came in by phone or e-mail.
func offerers() []auth.Role { return []auth.Role{auth.Partner, auth.Advisor, auth.RegionAdmin} }

// isStaff: the region's advisors and admins see and manage everything of
// their region.
func isStaff(who *auth.Identity, region string) bool {
	return who.Region == region && (who.Has(auth.Advisor) || who.Has(auth.RegionAdmin))
}

// isNational: the coordinator and other deployments read every region,
// without personal data.
func isNational(who *auth.Identity) bool {
	return who.Has(auth.Coordinator) || who.Has(auth.Service)
}

// ownPartner is the partner a company user of region belongs to, or "" for
// anyone else (and for a partner claim naming another region's partner,
// which gives no rights here).
func ownPartner(who *auth.Identity, region string) string {
	if who.Region != region || !who.Has(auth.Partner) {
		return ""
	}
	p, err := parsePartnerName(who.Partner)
	if err != nil || p.Region != region {
		return ""
	}
	return p.String()
}

// mayRead: staff and national callers read every partner, agreement and
// offer of a region; a company user only what belongs to their own partner.
func mayRead(who *auth.Identity, region, partner string) bool {
	if isStaff(who, region) || isNational(who) {
		return true
	}
	own := ownPartner(who, region)
	return own != "" && own == partner
}

// seesContacts: contacts are personal data, shown to the region's advisors
// and admins and to the partner's own users (docs/architecture.md, "Identity and access").
func seesContacts(who *auth.Identity, region, partner string) bool {
	if auth.CanSeePersonalData(who, region, "") {
		return true
	}
	own := ownPartner(who, region)
	return own != "" && own == partner
}

func redactPartner(who *auth.Identity, region string, p *partnerv1.Partner) *partnerv1.Partner {
	if len(p.GetContacts()) == 0 || seesContacts(who, region, p.GetName()) {
		return p
	}
	out := proto.Clone(p).(*partnerv1.Partner)
	out.Contacts = nil
	return out
}
