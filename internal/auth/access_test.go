package auth_test

import (
	"slices"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// TestTable_SystemCalls pins down what a deployment may do as itself,
// independently of the table: the national deployment reads the regions'
// figures (the dashboard's Get…Stats, the common needs' ListNeeds); a
// region's funding service reads the ledger and moves money only for a
// subproject it names; a region's idea service adopts an idea only naming
// its source. Nothing else takes a deployment's own identity.
func TestTable_SystemCalls(t *testing.T) {
	type sys struct {
		peer     auth.Relationship
		field    string
		internal bool
		noUser   bool // no user token at all
		relay    bool
	}
	want := map[string]sys{
		"/innovation.idea.v1.IdeaService/GetIdeaStats":   {peer: auth.NationalReadsRegion, internal: true},
		"/innovation.needs.v1.NeedsService/GetNeedStats": {peer: auth.NationalReadsRegion, internal: true},
		"/innovation.needs.v1.NeedsService/ListNeeds":    {peer: auth.NationalReadsRegion},
		// A region's figures are gathered in one call; the funding process
		// reads the four stats as itself.
		"/innovation.coordinator.v1.RegionFiguresService/GetRegionFigures": {peer: auth.NationalReadsRegion},
		"/innovation.partner.v1.PartnerService/GetPartnerStats":            {peer: auth.NationalReadsRegion, internal: true},
		"/innovation.funding.v1.SubprojectService/GetSubprojectStats":      {peer: auth.NationalReadsRegion, internal: true},
		"/innovation.funding.v1.ProgrammeService/GetProgramme":             {peer: auth.RegionReadsLedger, internal: true},
		"/innovation.funding.v1.ProgrammeService/ListProgrammes":           {peer: auth.RegionReadsLedger, internal: true},
		"/innovation.funding.v1.ProgrammeService/ListAllocations":          {peer: auth.RegionReadsLedger, internal: true},
		"/innovation.funding.v1.ProgrammeService/ReserveFunds":             {peer: auth.RegionFundsOnLedger, field: "subproject", internal: true, noUser: true},
		"/innovation.funding.v1.ProgrammeService/RecordPayment":            {peer: auth.RegionFundsOnLedger, field: "subproject", internal: true, noUser: true},
		"/innovation.funding.v1.ProgrammeService/ReleaseFunds":             {peer: auth.RegionFundsOnLedger, field: "subproject", internal: true, noUser: true},
		// The reports service keeps its figures, and the funding service
		// checks a subproject's references, as themselves.
		"/innovation.idea.v1.IdeaService/GetIdea":           {internal: true},
		"/innovation.idea.v1.IdeaService/ListIdeaHistory":   {internal: true},
		"/innovation.needs.v1.NeedsService/GetNeed":         {internal: true},
		"/innovation.needs.v1.NeedsService/ListNeedHistory": {internal: true},
		"/innovation.partner.v1.PartnerService/GetOffer":    {internal: true},
		"/innovation.idea.v1.IdeaService/AdoptIdea":         {peer: auth.RegionSpreadsIdea, field: "spread_from", internal: true, noUser: true, relay: true},
		"/innovation.partner.v1.PartnerService/GetPartner":  {internal: true},
		// The needs, partner and funding services tell the idea and needs
		// services of links to their resources, as themselves, and no one
		// else does.
		"/innovation.idea.v1.IdeaService/SetBacklink":   {internal: true, noUser: true},
		"/innovation.needs.v1.NeedsService/SetBacklink": {internal: true, noUser: true},
		// The idea service's DEVELOPMENT gate reads an idea's agreements.
		"/innovation.partner.v1.PartnerService/ListAgreements": {internal: true},
	}
	// The person service gathers and erases a person's data in every
	// service as this process, never a token or another deployment.
	for _, svc := range []string{"idea.v1.IdeaService", "needs.v1.NeedsService", "partner.v1.PartnerService",
		"funding.v1.SubprojectService", "notify.v1.NotificationService", "reports.v1.ReportService"} {
		for _, m := range []string{"ExportPersonData", "ErasePersonData"} {
			want["/innovation."+svc+"/"+m] = sys{internal: true, noUser: true}
		}
	}
	for method, r := range auth.Table() {
		w, ok := want[method]
		got := sys{peer: r.Peer, field: r.Field, internal: r.Internal, noUser: len(r.Roles) == 0, relay: r.Relay}
		if !ok {
			if r.Peer != auth.NoPeer || r.Internal || len(r.Roles) == 0 {
				t.Errorf("%s: %+v; want a call for people only, which no deployment makes as itself", method, r)
			}
			continue
		}
		if got != w {
			t.Errorf("%s: %+v, want %+v", method, got, w)
		}
	}
	for method := range want {
		if _, ok := auth.Table()[method]; !ok {
			t.Errorf("%s has no row", method)
		}
	}
}

// TestTable_RolesAreKnown: every row names only roles a token can carry.
func TestTable_RolesAreKnown(t *testing.T) {
	known := []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator, auth.Service}
	for method, r := range auth.Table() {
		for _, role := range r.Roles {
			if !slices.Contains(known, role) {
				t.Errorf("%s names unknown role %q", method, role)
			}
		}
	}
}
