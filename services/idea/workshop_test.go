package idea_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestWorkshop_ScoreRankDecide runs a selection workshop: its participants
// score the agenda, the result ranks the ideas with the reviewers' spread,
// and the decisions taken from it name the workshop in each idea's history.
func TestWorkshop_ScoreRankDecide(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
		bo := e.As(t, auth.Advisor, "vasterbotten", "bo")
		outsider := e.As(t, auth.Advisor, "vasterbotten", "cecilia")

		var ideas []*ideav1.Idea
		for i := range 3 {
			in := sampleIdea()
			in.Title = fmt.Sprintf("Idé %d", i)
			created := e.mustCreate(t, sub, "vasterbotten", in)
			moved, err := e.client.TransitionIdea(anna.Ctx(t), &ideav1.TransitionIdeaRequest{Name: created.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: created.GetEtag()})
			if err != nil {
				t.Fatalf("to screening: %v", err)
			}
			ideas = append(ideas, moved)
		}
		offAgenda := e.mustCreate(t, sub, "vasterbotten", sampleIdea())

		w, err := e.client.CreateWorkshop(anna.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: &ideav1.Workshop{
			Title: "Urvalsworkshop vecka 12", Date: "2026-03-19", Participants: []string{"anna", "bo"},
			Agenda: []string{ideas[0].GetName(), ideas[1].GetName(), ideas[2].GetName()},
		}})
		if err != nil {
			t.Fatalf("CreateWorkshop: %v", err)
		}
		if w.GetFacilitator() != "anna" || !strings.HasPrefix(w.GetName(), "regions/vasterbotten/workshops/") {
			t.Errorf("workshop %v: want facilitator anna (the caller) and a vasterbotten name", w)
		}

		// anna 5s and bo 3s on idea 0 (mean 4, spread 1); both 4 on idea 1
		// (mean 4, no spread); nobody scores idea 2.
		for _, sc := range []struct {
			who   string
			idea  int
			score int32
		}{{"anna", 0, 5}, {"bo", 0, 3}, {"anna", 1, 4}, {"bo", 1, 4}} {
			c := anna
			if sc.who == "bo" {
				c = bo
			}
			_, err := e.client.CreateAssessment(c.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: ideas[sc.idea].GetName(),
				Assessment: &ideav1.Assessment{Workshop: w.GetName(), PatientBenefit: sc.score, CareBenefit: sc.score, Feasibility: sc.score,
					Novelty: sc.score, MarketPotential: sc.score, Risk: sc.score}})
			if err != nil {
				t.Fatalf("%s scores idea %d: %v", sc.who, sc.idea, err)
			}
		}
		_, err = e.client.CreateAssessment(outsider.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: ideas[2].GetName(),
			Assessment: &ideav1.Assessment{Workshop: w.GetName(), PatientBenefit: 1, CareBenefit: 1, Feasibility: 1, Novelty: 1, MarketPotential: 1, Risk: 1}})
		if status.Code(err) != codes.PermissionDenied || reason(err) != "NOT_A_PARTICIPANT" {
			t.Errorf("a non-participant scores: %v, want PERMISSION_DENIED NOT_A_PARTICIPANT", err)
		}
		_, err = e.client.CreateAssessment(anna.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: offAgenda.GetName(),
			Assessment: &ideav1.Assessment{Workshop: w.GetName(), PatientBenefit: 1, CareBenefit: 1, Feasibility: 1, Novelty: 1, MarketPotential: 1, Risk: 1}})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "NOT_ON_AGENDA" {
			t.Errorf("scoring an idea off the agenda: %v, want FAILED_PRECONDITION NOT_ON_AGENDA", err)
		}

		res, err := e.client.GetWorkshopResult(anna.Ctx(t), &ideav1.GetWorkshopResultRequest{Name: w.GetName()})
		if err != nil {
			t.Fatalf("GetWorkshopResult: %v", err)
		}
		type row struct {
			idea               string
			rank, reviewers    int32
			mean, lo, hi, devi float64
		}
		var got []row
		for _, ri := range res.GetIdeas() {
			got = append(got, row{ri.GetIdea(), ri.GetRank(), ri.GetReviewers(), ri.GetWeightedScore(), ri.GetMinScore(), ri.GetMaxScore(), ri.GetStddev()})
		}
		want := []row{
			{ideas[1].GetName(), 1, 2, 4, 4, 4, 0}, // same mean, reviewers agree: first
			{ideas[0].GetName(), 2, 2, 4, 3, 5, 1},
			{ideas[2].GetName(), 0, 0, 0, 0, 0, 0}, // nobody scored it: last, unranked
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("result\n got %v\nwant %v", got, want)
		}

		cur := func(i int) string {
			g, err := e.client.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: ideas[i].GetName()})
			if err != nil {
				t.Fatal(err)
			}
			return g.GetEtag()
		}
		decide := func(i int, st ideav1.Stage, why string) (*ideav1.Idea, error) {
			return e.client.DecideWorkshopIdea(bo.Ctx(t), &ideav1.DecideWorkshopIdeaRequest{Name: w.GetName(), Idea: ideas[i].GetName(), Stage: st, Rationale: why, Etag: cur(i)})
		}
		if got, err := decide(1, ideav1.Stage_STAGE_SELECTED, "Högst rankad"); err != nil || got.GetStage() != ideav1.Stage_STAGE_SELECTED {
			t.Fatalf("select idea 1: %v %v", got.GetStage(), err)
		}
		if _, err := decide(2, ideav1.Stage_STAGE_SELECTED, ""); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("select an idea nobody scored in the workshop: %v, want FAILED_PRECONDITION", err)
		}
		if _, err := decide(2, ideav1.Stage_STAGE_PARKED, ""); status.Code(err) != codes.InvalidArgument {
			t.Errorf("park without rationale: %v, want INVALID_ARGUMENT", err)
		}
		if _, err := decide(2, ideav1.Stage_STAGE_DEVELOPMENT, "x"); status.Code(err) != codes.InvalidArgument {
			t.Errorf("a decision that is not a workshop's: %v, want INVALID_ARGUMENT", err)
		}
		if _, err := decide(0, ideav1.Stage_STAGE_REJECTED, "Finns redan"); err != nil {
			t.Fatalf("reject idea 0: %v", err)
		}
		_, err = e.client.DecideWorkshopIdea(bo.Ctx(t), &ideav1.DecideWorkshopIdeaRequest{Name: w.GetName(), Idea: offAgenda.GetName(), Stage: ideav1.Stage_STAGE_PARKED, Rationale: "x", Etag: offAgenda.GetEtag()})
		if reason(err) != "NOT_ON_AGENDA" {
			t.Errorf("decide on an idea off the agenda: %v, want NOT_ON_AGENDA", err)
		}

		hist, err := e.client.ListIdeaHistory(anna.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: ideas[0].GetName()})
		if err != nil {
			t.Fatal(err)
		}
		last := hist.GetEntries()[len(hist.GetEntries())-1]
		if last.GetToStage() != ideav1.Stage_STAGE_REJECTED || last.GetWorkshop() != w.GetName() || last.GetRationale() != "Finns redan" || last.GetActor() != "bo" {
			t.Errorf("history entry %v: want REJECTED by bo naming workshop %s", last, w.GetName())
		}

		// Another region's advisor neither reads nor decides.
		other := e.As(t, auth.Advisor, "uppsala")
		if _, err := e.client.GetWorkshopResult(other.Ctx(t), &ideav1.GetWorkshopResultRequest{Name: w.GetName()}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("uppsala reads the result: %v, want PERMISSION_DENIED", err)
		}
		if _, err := e.client.CreateWorkshop(other.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: w}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("uppsala creates a vasterbotten workshop: %v, want PERMISSION_DENIED", err)
		}
		if _, err := e.client.CreateWorkshop(sub.Ctx(t), &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: w}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("a submitter creates a workshop: %v, want PERMISSION_DENIED", err)
		}

		// Over REST: the list, the result, and every bad field at once.
		code, list := e.REST(t, anna, "GET", "/v1/regions/vasterbotten/workshops", "")
		if ws, _ := list["workshops"].([]any); code != http.StatusOK || len(ws) != 1 {
			t.Errorf("list workshops: %d %v", code, list)
		}
		code, body := e.REST(t, anna, "GET", "/v1/"+w.GetName()+":result", "")
		if rows, _ := body["ideas"].([]any); code != http.StatusOK || len(rows) != 3 {
			t.Errorf("result over REST: %d %v", code, body)
		}
		code, body = e.REST(t, anna, "POST", "/v1/regions/vasterbotten/workshops", `{"date":"19 mars","agenda":["regions/uppsala/ideas/x1"]}`)
		msg, _ := body["message"].(string)
		if code != http.StatusBadRequest {
			t.Errorf("bad workshop: %d %v", code, body)
		}
		for _, f := range []string{"workshop.title", "workshop.date", "workshop.participants", "workshop.agenda[0]"} {
			if !strings.Contains(msg, f) {
				t.Errorf("bad workshop: message %q does not name %s", msg, f)
			}
		}
	})
}
