package funding_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestSubproject_LinksBothWays: the ideas and needs a subproject builds on
// show it, another served region's need included, and stop showing it when
// the subproject drops them.
func TestSubproject_LinksBothWays(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newRefEnv(t, b)
			admin := e.As(t, auth.RegionAdmin, vb)
			upAdvisor := e.As(t, auth.Advisor, up)
			coord := e.As(t, auth.Coordinator, auth.NationalRegion)
			p, err := fundingv1.NewProgrammeServiceClient(e.Conn).CreateProgramme(coord.Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: "p",
				Programme: &fundingv1.Programme{Title: "P", BudgetOre: 10_000_000, StartDate: "2026-01-01", EndDate: "2028-12-31"}})
			if err != nil {
				t.Fatal(err)
			}
			i, err := e.ideas.CreateIdea(admin.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
				Title: "Videobesök", Problem: "Långa resor", Origin: ideav1.Origin_ORIGIN_STAFF}})
			if err != nil {
				t.Fatal(err)
			}
			n, err := e.needs.CreateNeed(e.As(t, auth.RegionAdmin, up).Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/uppsala", Need: &needsv1.Need{
				Problem: "ta INR-prov hemma", Population: "patienter med waran", Outcome: "slippa resor", ReportedBy: ideav1.Origin_ORIGIN_STAFF}})
			if err != nil {
				t.Fatal(err)
			}
			sp := sampleSubproject(p.GetName(), 100_000)
			sp.Ideas, sp.Needs, sp.Partners = []string{i.GetName()}, []string{n.GetName()}, nil
			req := &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: sp, RequestId: "sp-1"}
			created, err := e.subs.CreateSubproject(admin.Ctx(t), req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.subs.CreateSubproject(admin.Ctx(t), req); err != nil {
				t.Fatalf("retried create: %v", err)
			}
			want := []string{created.GetName()}
			idea := func() *ideav1.Idea {
				t.Helper()
				got, err := e.ideas.GetIdea(admin.Ctx(t), &ideav1.GetIdeaRequest{Name: i.GetName()})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			if got := idea().GetLinkedFrom(); !slices.Equal(got, want) {
				t.Errorf("idea linked from %v, want %v", got, want)
			}
			// Uppsala's advisor sees the Västerbotten subproject's name on
			// Uppsala's need; Västerbotten's admin does not read that need.
			got, err := e.needs.GetNeed(upAdvisor.Ctx(t), &needsv1.GetNeedRequest{Name: n.GetName()})
			if err != nil || !slices.Equal(got.GetReferencedBy(), want) {
				t.Errorf("need referenced by %v (%v), want %v", got.GetReferencedBy(), err, want)
			}
			if _, err := e.needs.GetNeed(admin.Ctx(t), &needsv1.GetNeedRequest{Name: n.GetName()}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("another region's admin reads the need: %v, want PermissionDenied", err)
			}

			// Dropping the idea takes the subproject off it; the need keeps it.
			if _, err := e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
				Subproject: &fundingv1.Subproject{Name: created.GetName(), Etag: created.GetEtag()},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ideas"}}}); err != nil {
				t.Fatal(err)
			}
			if got := idea().GetLinkedFrom(); len(got) != 0 {
				t.Errorf("after the update the idea is linked from %v", got)
			}
			got, err = e.needs.GetNeed(upAdvisor.Ctx(t), &needsv1.GetNeedRequest{Name: n.GetName()})
			if err != nil || !slices.Equal(got.GetReferencedBy(), want) {
				t.Errorf("need referenced by %v (%v), want %v", got.GetReferencedBy(), err, want)
			}
		})
	}
}
