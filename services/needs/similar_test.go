package needs_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

func TestFindSimilar(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		fall := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		nearly := sampleNeed()
		nearly.Problem, nearly.Published = "upptäcka fall på natten", true
		fallAtNight := e.mustCreate(t, advisor, "vasterbotten", nearly)
		other := sampleNeed()
		other.Problem, other.Population, other.Outcome = "boka tolk", "patienter som inte talar svenska", "få rätt information vid besöket"
		e.mustCreate(t, advisor, "vasterbotten", other)
		// Another region's identical need is not this region's duplicate.
		e.mustCreate(t, e.As(t, auth.Advisor, "uppsala"), "uppsala", sampleNeed())

		draft := &needsv1.FindSimilarNeedsRequest{Parent: "regions/vasterbotten", Problem: "upptäcka fall nattetid", Population: "boende på särskilda boenden", Outcome: "korta tiden en person ligger på golvet"}
		resp, err := e.client.FindSimilarNeeds(advisor.Ctx(t), draft)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range resp.GetResults() {
			got = append(got, r.GetNeed().GetName())
			if r.GetSimilarity() < 0.25 || r.GetSimilarity() > 1 {
				t.Errorf("%s: similarity %v outside [0.25, 1]", r.GetNeed().GetName(), r.GetSimilarity())
			}
		}
		if diff := cmp.Diff([]string{fall.GetName(), fallAtNight.GetName()}, got); diff != "" {
			t.Errorf("similar needs (-want +got):\n%s", diff)
		}
		if s := resp.GetResults()[0].GetSimilarity(); s != 1 {
			t.Errorf("identical statement: similarity %v, want 1", s)
		}

		// Free text, and a rendered statement pasted as free text.
		for _, text := range []string{"fall nattetid på särskilda boenden, personen ligger länge på golvet", fall.GetStatement()} {
			resp, err = e.client.FindSimilarNeeds(advisor.Ctx(t), &needsv1.FindSimilarNeedsRequest{Parent: "regions/vasterbotten", Text: text})
			if err != nil || len(resp.GetResults()) == 0 || resp.GetResults()[0].GetNeed().GetName() != fall.GetName() {
				t.Errorf("text %q: %v %v, want %s first", text, resp.GetResults(), err, fall.GetName())
			}
		}

		// Partners only find published needs, without evidence.
		resp, err = e.client.FindSimilarNeeds(e.As(t, auth.Partner, "vasterbotten").Ctx(t), draft)
		if err != nil || len(resp.GetResults()) != 1 || resp.GetResults()[0].GetNeed().GetName() != fallAtNight.GetName() || resp.GetResults()[0].GetNeed().GetEvidence() != "" {
			t.Errorf("partner: %v %v, want only the published need, redacted", resp.GetResults(), err)
		}

		// Unrelated text finds nothing.
		resp, err = e.client.FindSimilarNeeds(advisor.Ctx(t), &needsv1.FindSimilarNeedsRequest{Parent: "regions/vasterbotten", Text: "parkeringsautomat"})
		if err != nil || len(resp.GetResults()) != 0 {
			t.Errorf("unrelated: %v %v, want none", resp.GetResults(), err)
		}

		for _, req := range []*needsv1.FindSimilarNeedsRequest{
			{Parent: "regions/vasterbotten"},
			{Parent: "regions/vasterbotten", Text: " ... "},
			{Parent: "regions/vasterbotten", Text: strings.Repeat("a", 5001)},
		} {
			_, err := e.client.FindSimilarNeeds(advisor.Ctx(t), req)
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "text") {
				t.Errorf("draft %q: %v, want InvalidArgument naming text", req.GetText(), err)
			}
		}
	})
}

func TestFindSimilar_AtMostTen(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "uppsala")
		for range 13 {
			e.mustCreate(t, advisor, "uppsala", sampleNeed())
		}
		resp, err := e.client.FindSimilarNeeds(advisor.Ctx(t), &needsv1.FindSimilarNeedsRequest{Parent: "regions/uppsala", Text: "upptäcka fall nattetid"})
		if err != nil || len(resp.GetResults()) != 10 {
			t.Errorf("%d results (err %v), want 10", len(resp.GetResults()), err)
		}
	})
}

// TestFindSimilar_FollowsChanges: the search's index, built on the first
// query, follows later creates, edits and publishing.
func TestFindSimilar_FollowsChanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		partner := e.As(t, auth.Partner, "vasterbotten")
		draft := &needsv1.FindSimilarNeedsRequest{Parent: "regions/vasterbotten", Text: "upptäcka fall nattetid boende på särskilda boenden"}
		names := func(c stack.Caller) []string {
			t.Helper()
			resp, err := e.client.FindSimilarNeeds(c.Ctx(t), draft)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range resp.GetResults() {
				out = append(out, r.GetNeed().GetName())
			}
			return out
		}
		first := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		if got := names(advisor); len(got) != 1 || got[0] != first.GetName() {
			t.Fatalf("first query: %v", got)
		}

		second := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		if got := names(advisor); len(got) != 2 {
			t.Errorf("after a create: %v, want both needs", got)
		}
		if got := names(partner); len(got) != 0 {
			t.Errorf("partner before publishing: %v, want none", got)
		}
		if _, err := e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{
			Need:       &needsv1.Need{Name: second.GetName(), Published: true, Etag: second.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"published"}},
		}); err != nil {
			t.Fatal(err)
		}
		if got := names(partner); len(got) != 1 || got[0] != second.GetName() {
			t.Errorf("partner after publishing: %v, want %s", got, second.GetName())
		}
		if _, err := e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{
			Need:       &needsv1.Need{Name: first.GetName(), Problem: "boka tolk", Population: "patienter som inte talar svenska", Etag: first.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"problem", "population"}},
		}); err != nil {
			t.Fatal(err)
		}
		if got := names(advisor); len(got) != 1 || got[0] != second.GetName() {
			t.Errorf("after rewording the first need: %v, want only %s", got, second.GetName())
		}
	})
}
