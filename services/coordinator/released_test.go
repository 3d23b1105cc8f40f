package coordinator_test

import (
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// TestDashboard_ClosedSubprojectReleased: money :close released is no
// longer granted; it is shown apart, and granted agrees with what the
// ledger still holds reserved.
func TestDashboard_ClosedSubprojectReleased(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		seed(t, e)
		subs := fundingv1.NewSubprojectServiceClient(e.Conn)
		admin := e.As(t, auth.RegionAdmin, up)
		list, err := subs.ListSubprojects(admin.Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/" + up})
		if err != nil || len(list.GetSubprojects()) != 1 {
			t.Fatalf("ListSubprojects: %v %v", list, err)
		}
		sp := list.GetSubprojects()[0]
		if _, err := subs.CloseSubproject(admin.Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
			t.Fatalf("CloseSubproject: %v", err)
		}

		d := e.dashboard(t, e.coordinator(t).Ctx(t))
		f := byRegion(d)[up]
		if f.GetGrantedOre() != 0 || f.GetPaidOre() != 0 || f.GetReleasedOre() != 50_000_00 {
			t.Errorf("uppsala granted/paid/released %d/%d/%d, want 0/0/5000000", f.GetGrantedOre(), f.GetPaidOre(), f.GetReleasedOre())
		}
		if tot := d.GetTotals(); tot.GetGrantedOre() != 0 || tot.GetReleasedOre() != 50_000_00 {
			t.Errorf("totals granted/released %d/%d, want 0/5000000", tot.GetGrantedOre(), tot.GetReleasedOre())
		}
		p, err := fundingv1.NewProgrammeServiceClient(e.Conn).GetProgramme(e.coordinator(t).Ctx(t), &fundingv1.GetProgrammeRequest{Name: "programmes/innovationsmotorer"})
		if err != nil {
			t.Fatal(err)
		}
		if r := p.GetBalance().GetReservedOre(); r != d.GetTotals().GetGrantedOre() {
			t.Errorf("the ledger holds %d öre reserved, the dashboard shows %d granted", r, d.GetTotals().GetGrantedOre())
		}
	})
}
