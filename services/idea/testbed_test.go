package idea_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// approvedPlan registers a test bed, plans a test of the idea there and
// approves it, and returns the idea as it is then.
func approvedPlan(t *testing.T, env *stack.Env, c ideav1.IdeaServiceClient, idea string) *ideav1.Idea {
	t.Helper()
	adv := env.As(t, auth.Advisor, "vasterbotten").Ctx(t)
	bed, err := c.CreateTestBed(adv, &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{
		DisplayName: "Innovationsklinik NUS", Unit: "Norrlands universitetssjukhus", Kind: ideav1.TestBedKind_TEST_BED_KIND_INNOVATION_CLINIC, Capacity: 5}})
	if err != nil {
		t.Fatalf("CreateTestBed: %v", err)
	}
	plan, err := c.CreateTestPlan(adv, &ideav1.CreateTestPlanRequest{Parent: idea, TestPlan: &ideav1.TestPlan{
		TestBed: bed.GetName(), StartDate: "2026-05-01", EndDate: "2026-08-31", Protocol: "Tjugo patienter, enkät före och efter."}})
	if err != nil {
		t.Fatalf("CreateTestPlan: %v", err)
	}
	if _, err := c.ApproveTestPlan(adv, &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); err != nil {
		t.Fatalf("ApproveTestPlan: %v", err)
	}
	got, err := c.GetIdea(adv, &ideav1.GetIdeaRequest{Name: idea})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTestBeds_PlanGatesTesting: a registry of test beds, test plans that
// link an idea to one for a period, the TESTING gate asking for an approved
// plan, capacity, outcomes, and the test bed's list of what it tested.
func TestTestBeds_PlanGatesTesting(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		c := e.client

		bed, err := c.CreateTestBed(adv.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{
			DisplayName: "Hälsocentralen Ersboda", Unit: "Primärvård Umeå", Kind: ideav1.TestBedKind_TEST_BED_KIND_PRIMARY_CARE_CENTRE,
			Contact: "innovation.ersboda@example.se", Capacity: 1}})
		if err != nil {
			t.Fatalf("CreateTestBed: %v", err)
		}

		// An idea in DEVELOPMENT, with free text in test_environment only.
		idea := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		move := func(st ideav1.Stage) error {
			t.Helper()
			cur, err := c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			idea, err = c.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{Name: cur.GetName(), Stage: st, Etag: cur.GetEtag()})
			if err != nil {
				idea = cur
			}
			return err
		}
		if err := move(ideav1.Stage_STAGE_SCREENING); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateAssessment(adv.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: scorecard(4, 4, 4, 4, 4, 4)}); err != nil {
			t.Fatal(err)
		}
		if err := move(ideav1.Stage_STAGE_SELECTED); err != nil {
			t.Fatal(err)
		}
		idea.IpOwner, idea.AgreementsInPlace, idea.TestEnvironment = ideav1.IpOwner_IP_OWNER_REGION, true, "Hälsocentralen Ersboda"
		if idea, err = c.UpdateIdea(adv.Ctx(t), &ideav1.UpdateIdeaRequest{Idea: idea, UpdateMask: mask("ip_owner", "agreements_in_place", "test_environment")}); err != nil {
			t.Fatal(err)
		}
		if err := move(ideav1.Stage_STAGE_DEVELOPMENT); err != nil {
			t.Fatal(err)
		}
		err = move(ideav1.Stage_STAGE_TESTING)
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "approved test plan") {
			t.Errorf("TESTING with free text but no test plan: %v, want FAILED_PRECONDITION naming an approved test plan", err)
		}

		// Every bad field of a plan at once.
		_, err = c.CreateTestPlan(adv.Ctx(t), &ideav1.CreateTestPlanRequest{Parent: idea.GetName(), TestPlan: &ideav1.TestPlan{
			TestBed: "regions/uppsala/testBeds/x1", StartDate: "2026-09-01", EndDate: "2026-08-01"}})
		if f := fieldViolations(err); !slices.Equal(f, []string{"test_plan.test_bed", "test_plan.end_date", "test_plan.protocol"}) {
			t.Errorf("bad plan: fields %v (%v)", f, err)
		}

		plan, err := c.CreateTestPlan(adv.Ctx(t), &ideav1.CreateTestPlanRequest{Parent: idea.GetName(), TestPlan: &ideav1.TestPlan{
			TestBed: bed.GetName(), StartDate: "2026-05-01", EndDate: "2026-06-30", Protocol: "Trettio patienter med KOL, mätning av resor och nöjdhet."}})
		if err != nil {
			t.Fatalf("CreateTestPlan: %v", err)
		}
		if plan.GetState() != ideav1.TestPlanState_TEST_PLAN_STATE_DRAFT || plan.GetIdeaTitle() != idea.GetTitle() {
			t.Errorf("new plan %v: want a draft carrying the idea's title", plan)
		}
		if err := move(ideav1.Stage_STAGE_TESTING); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("TESTING with a draft plan: %v, want FAILED_PRECONDITION", err)
		}
		if _, err := c.ApproveTestPlan(e.As(t, auth.Advisor, "uppsala").Ctx(t), &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("another region approves: %v, want PERMISSION_DENIED", err)
		}
		if _, err := c.ApproveTestPlan(adv.Ctx(t), &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: "99"}); status.Code(err) != codes.Aborted || !strings.Contains(status.Convert(err).Message(), plan.GetEtag()) {
			t.Errorf("approve with a stale etag: %v, want ABORTED naming etag %s", err, plan.GetEtag())
		}
		approved, err := c.ApproveTestPlan(adv.Ctx(t), &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()})
		if err != nil || approved.GetState() != ideav1.TestPlanState_TEST_PLAN_STATE_APPROVED || approved.GetApprovedBy() != adv.Sub {
			t.Fatalf("ApproveTestPlan: %v %v", approved, err)
		}
		if err := move(ideav1.Stage_STAGE_TESTING); err != nil {
			t.Fatalf("TESTING with an approved plan: %v", err)
		}
		if !slices.Equal(idea.GetTestPlans(), []string{plan.GetName()}) {
			t.Errorf("idea's test plans %v, want [%s]", idea.GetTestPlans(), plan.GetName())
		}

		// The bed runs one test at a time: an overlapping plan is refused, a later one not.
		other := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		for _, tc := range []struct {
			start, end string
			want       codes.Code
		}{{"2026-06-01", "2026-07-31", codes.FailedPrecondition}, {"2026-07-01", "2026-07-31", codes.OK}} {
			p, err := c.CreateTestPlan(adv.Ctx(t), &ideav1.CreateTestPlanRequest{Parent: other.GetName(), TestPlan: &ideav1.TestPlan{
				TestBed: bed.GetName(), StartDate: tc.start, EndDate: tc.end, Protocol: "p"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ApproveTestPlan(adv.Ctx(t), &ideav1.ApproveTestPlanRequest{Name: p.GetName(), Etag: p.GetEtag()})
			if status.Code(err) != tc.want {
				t.Errorf("approve %s–%s in a bed of capacity 1: %v, want %v", tc.start, tc.end, err, tc.want)
			}
		}

		// The outcome and what was learned.
		if _, err := c.RecordTestOutcome(adv.Ctx(t), &ideav1.RecordTestOutcomeRequest{Name: plan.GetName(), Etag: approved.GetEtag()}); !slices.Equal(fieldViolations(err), []string{"outcome", "learned"}) {
			t.Errorf("outcome without outcome and learned: %v", err)
		}
		done, err := c.RecordTestOutcome(adv.Ctx(t), &ideav1.RecordTestOutcomeRequest{Name: plan.GetName(), Etag: approved.GetEtag(),
			Outcome: ideav1.TestOutcome_TEST_OUTCOME_SCALED_UP, Learned: "Halverade resor; sköterskorna vill ha det på fler enheter."})
		if err != nil || done.GetState() != ideav1.TestPlanState_TEST_PLAN_STATE_COMPLETED {
			t.Fatalf("RecordTestOutcome: %v %v", done, err)
		}

		// The test bed lists the ideas it tested and their outcomes.
		list, err := c.ListTestPlans(adv.Ctx(t), &ideav1.ListTestPlansRequest{Parent: bed.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, p := range list.GetTestPlans() {
			rows = append(rows, fmt.Sprintf("%s %s %s", strings.Split(p.GetName(), "/testPlans/")[0], p.GetState(), p.GetOutcome()))
		}
		slices.Sort(rows)
		want := []string{
			idea.GetName() + " TEST_PLAN_STATE_COMPLETED TEST_OUTCOME_SCALED_UP",
			other.GetName() + " TEST_PLAN_STATE_APPROVED TEST_OUTCOME_UNSPECIFIED",
			other.GetName() + " TEST_PLAN_STATE_DRAFT TEST_OUTCOME_UNSPECIFIED",
		}
		slices.Sort(want)
		if !slices.Equal(rows, want) {
			t.Errorf("the bed's plans\n got %v\nwant %v", rows, want)
		}

		// Over REST: the registry and a test bed's page.
		code, body := e.REST(t, adv, "GET", "/v1/regions/vasterbotten/testBeds", "")
		if bs, _ := body["testBeds"].([]any); code != http.StatusOK || len(bs) != 1 {
			t.Errorf("list test beds: %d %v", code, body)
		}
		code, body = e.REST(t, adv, "GET", "/v1/"+bed.GetName()+"/testPlans", "")
		if ps, _ := body["testPlans"].([]any); code != http.StatusOK || len(ps) != 3 {
			t.Errorf("a test bed's plans over REST: %d %v", code, body)
		}
		code, body = e.REST(t, adv, "POST", "/v1/regions/vasterbotten/testBeds", `{"displayName":"Labb"}`)
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "test_bed.kind") || !strings.Contains(msg, "test_bed.capacity") {
			t.Errorf("a test bed without kind and capacity: %d %v", code, body)
		}
		code, _ = e.REST(t, sub, "GET", "/v1/regions/vasterbotten/testBeds", "")
		if code != http.StatusForbidden {
			t.Errorf("a submitter lists test beds: %d, want 403", code)
		}
	})
}

// TestKeptCreates_RequestIDReplay: a retried create of a workshop or a test
// bed returns the first; the same request_id with another body is
// ALREADY_EXISTS.
func TestKeptCreates_RequestIDReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		bed := &ideav1.TestBed{DisplayName: "Labb", Kind: ideav1.TestBedKind_TEST_BED_KIND_LAB, Capacity: 1}
		first, err := e.client.CreateTestBed(adv.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: bed, RequestId: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.client.CreateTestBed(adv.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: bed, RequestId: "r1"})
		if err != nil || again.GetName() != first.GetName() {
			t.Errorf("replay: %v %v, want %s", again.GetName(), err, first.GetName())
		}
		bed.Capacity = 2
		if _, err := e.client.CreateTestBed(adv.Ctx(t), &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: bed, RequestId: "r1"}); status.Code(err) != codes.AlreadyExists {
			t.Errorf("same request_id, other body: %v, want ALREADY_EXISTS", err)
		}

		idea := e.mustCreate(t, adv, "vasterbotten", sampleIdea())
		w := &ideav1.Workshop{Title: "W", Date: "2026-05-05", Participants: []string{adv.Sub}, Agenda: []string{idea.GetName()}}
		w1, err := e.client.CreateWorkshop(adv.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: w, RequestId: "w1"})
		if err != nil {
			t.Fatal(err)
		}
		w2, err := e.client.CreateWorkshop(adv.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: w, RequestId: "w1"})
		if err != nil || w2.GetName() != w1.GetName() || w2.GetEtag() != w1.GetEtag() {
			t.Errorf("workshop replay: %v %v, want %v", w2, err, w1)
		}
		list, err := e.client.ListWorkshops(adv.Ctx(t), &ideav1.ListWorkshopsRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetWorkshops()) != 1 {
			t.Errorf("workshops after a replay: %v %v, want one", list, err)
		}
	})
}
