package idea_test

import (
	"testing"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

func TestFindSimilar(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		mk := func(title, problem string) string {
			in := sampleIdea()
			in.Title, in.Problem = title, problem
			return e.mustCreate(t, adv, "vasterbotten", in).GetName()
		}
		kol := mk("Videobesök för KOL-kontroller i inlandet", "Patienter med KOL reser långt till kontroller.")
		mk("Fallsensor i golvet", "Fall nattetid upptäcks sent på särskilt boende.")
		for i := range 12 {
			mk("Videobesök för KOL-kontroller variant "+string(rune('a'+i)), "Patienter med KOL reser långt till kontroller.")
		}

		// A patient drafting an idea is warned of the duplicate.
		patient := e.As(t, auth.Submitter, "vasterbotten", "drafting-patient")
		resp, err := e.client.FindSimilarIdeas(patient.Ctx(t), &ideav1.FindSimilarIdeasRequest{
			Parent: "regions/vasterbotten", Title: "Videobesök KOL-kontroller inlandet", Problem: "Långa resor till KOL-kontroller",
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(resp.GetResults()); n != 10 {
			t.Fatalf("%d results, want the top 10", n)
		}
		if resp.GetResults()[0].GetIdea().GetName() != kol {
			t.Errorf("best match %v, want %s", resp.GetResults()[0], kol)
		}
		for i, r := range resp.GetResults() {
			if r.GetSimilarity() < 0.25 || (i > 0 && r.GetSimilarity() > resp.GetResults()[i-1].GetSimilarity()) {
				t.Errorf("result %d similarity %v: below threshold or out of order", i, r.GetSimilarity())
			}
			if r.GetIdea().GetSubmitter() != nil || r.GetIdea().GetProblem() != "" {
				t.Errorf("result %d shows more than name and title to a submitter: %v", i, r.GetIdea())
			}
		}

		// Unrelated text finds nothing; a new idea is found at once.
		resp, err = e.client.FindSimilarIdeas(patient.Ctx(t), &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten", Title: "Robotdammsugare för väntrummet"})
		if err != nil || len(resp.GetResults()) != 0 {
			t.Fatalf("unrelated draft: %v %v, want nothing", resp, err)
		}
		robot := mk("Robotdammsugare i väntrummet", "Väntrummet städas för sällan.")
		resp, err = e.client.FindSimilarIdeas(patient.Ctx(t), &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten", Title: "Robotdammsugare för väntrummet"})
		if err != nil || len(resp.GetResults()) != 1 || resp.GetResults()[0].GetIdea().GetName() != robot {
			t.Fatalf("after creating a matching idea: %v %v", resp, err)
		}

		if _, err := e.client.FindSimilarIdeas(patient.Ctx(t), &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten"}); err == nil {
			t.Error("empty draft accepted")
		}
		if _, err := e.client.FindSimilarIdeas(e.As(t, auth.Submitter, "uppsala").Ctx(t), &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten", Title: "KOL"}); err == nil {
			t.Error("another region's submitter searched vasterbotten")
		}
	})
}

// TestFindSimilar_SeesOtherReplicas: two idea servers on one store, as two
// Kubernetes replicas on one Redis; each finds what the other wrote.
func TestFindSimilar_SeesOtherReplicas(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			served, _ := config.ParseServed("uppsala")
			st := b.Open(t)
			// Each replica has its own stack (and signing key); callers use
			// the key of the replica they call.
			replica := func() (*stack.Env, ideav1.IdeaServiceClient) {
				env := stack.Start(t, st, func(s *grpc.Server) {
					ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
				})
				return env, ideav1.NewIdeaServiceClient(env.Conn)
			}
			envA, clientA := replica()
			envB, clientB := replica()
			advA, advB := envA.As(t, auth.Advisor, "uppsala"), envB.As(t, auth.Advisor, "uppsala")

			query := &ideav1.FindSimilarIdeasRequest{Parent: "regions/uppsala", Title: "Automatisk påfyllning av förråd"}
			if resp, err := clientB.FindSimilarIdeas(advB.Ctx(t), query); err != nil || len(resp.GetResults()) != 0 {
				t.Fatalf("empty region: %v %v", resp, err) // builds B's index while empty
			}
			in := sampleIdea()
			in.Title = "Automatisk påfyllning av förråd på avdelningen"
			created, err := clientA.CreateIdea(advA.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/uppsala", Idea: in})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := clientB.FindSimilarIdeas(advB.Ctx(t), query)
			if err != nil || len(resp.GetResults()) != 1 || resp.GetResults()[0].GetIdea().GetName() != created.GetName() {
				t.Fatalf("replica B after A wrote: %v %v", resp, err)
			}
		})
	}
}
