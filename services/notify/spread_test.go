package notify_test

import (
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestRules_SubmitterHearsOfSpread: an implemented idea adopted by another
// region tells its submitter which region took it up.
func TestRules_SubmitterHearsOfSpread(t *testing.T) {
	e := start(t, stack.Backends()[0], nil)
	greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
	anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
	i, err := e.ideas.CreateIdea(greta.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
	if err != nil {
		t.Fatal(err)
	}
	i = e.transition(t, anna, i, ideav1.Stage_STAGE_SCREENING, "")
	if _, err := e.ideas.CreateAssessment(anna.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: i.GetName(), Assessment: &ideav1.Assessment{
		PatientBenefit: 4, CareBenefit: 4, Feasibility: 4, Novelty: 4, MarketPotential: 4, Risk: 4}}); err != nil {
		t.Fatal(err)
	}
	if i, err = e.ideas.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: i.GetName()}); err != nil {
		t.Fatal(err)
	}
	i = e.transition(t, anna, i, ideav1.Stage_STAGE_SELECTED, "")
	i.IpOwner, i.AgreementsInPlace, i.TestEnvironment = ideav1.IpOwner_IP_OWNER_REGION, true, "Innovationsklinik NUS"
	if i, err = e.ideas.UpdateIdea(anna.Ctx(t), &ideav1.UpdateIdeaRequest{Idea: i, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ip_owner", "agreements_in_place", "test_environment"}}}); err != nil {
		t.Fatal(err)
	}
	i = e.transition(t, anna, i, ideav1.Stage_STAGE_DEVELOPMENT, "")
	// TESTING needs an approved test plan in a registered test bed.
	bed, err := e.ideas.CreateTestBed(anna.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{
		DisplayName: "Innovationsklinik NUS", Unit: "Norrlands universitetssjukhus", Kind: ideav1.TestBedKind_TEST_BED_KIND_INNOVATION_CLINIC, Capacity: 5}})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := e.ideas.CreateTestPlan(anna.Ctx(t), &ideav1.CreateTestPlanRequest{Parent: i.GetName(), TestPlan: &ideav1.TestPlan{
		TestBed: bed.GetName(), StartDate: "2026-05-01", EndDate: "2026-08-31", Protocol: "Tjugo patienter, enkät före och efter."}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ideas.ApproveTestPlan(anna.Ctx(t), &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if i, err = e.ideas.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: i.GetName()}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []ideav1.Stage{ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_IMPLEMENTED} {
		i = e.transition(t, anna, i, st, "")
	}
	if _, err := e.ideas.SpreadIdea(anna.Ctx(t), &ideav1.SpreadIdeaRequest{Name: i.GetName(), TargetRegion: "uppsala", Etag: i.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	e.pump(t, e.notify)
	var spread []string
	for _, n := range e.inbox(t, greta, "regions/vasterbotten").GetNotifications() {
		if n.GetType() == notify.TypeIdeaSpread {
			spread = append(spread, n.GetDetails()["spreadTo"])
		}
	}
	if len(spread) != 1 || spread[0] != "uppsala" {
		t.Errorf("spread notifications: %v, want one naming uppsala", spread)
	}
}
