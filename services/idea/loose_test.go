package idea_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestFindSimilar_TitleAlone: a draft's title alone finds the idea with a
// title like it, and an exact title scores high, however long the stored
// problem is.
func TestFindSimilar_TitleAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		kol := e.mustCreate(t, adv, "vasterbotten", sampleIdea()) // "Videobesök för KOL-kontroller"
		in := sampleIdea()
		in.Title, in.Problem = "Fallsensor i golvet", "Fall nattetid upptäcks sent på särskilt boende."
		e.mustCreate(t, adv, "vasterbotten", in)

		find := func(title string) []*ideav1.SimilarIdea {
			resp, err := e.client.FindSimilarIdeas(adv.Ctx(t), &ideav1.FindSimilarIdeasRequest{Parent: "regions/vasterbotten", Title: title})
			if err != nil {
				t.Fatal(err)
			}
			return resp.GetResults()
		}
		if got := find("Videobesök"); len(got) != 1 || got[0].GetIdea().GetName() != kol.GetName() {
			t.Errorf(`{"title":"Videobesök"} found %v, want %s`, got, kol.GetName())
		}
		if got := find(kol.GetTitle()); len(got) == 0 || got[0].GetIdea().GetName() != kol.GetName() || got[0].GetSimilarity() < 0.99 {
			t.Errorf("the exact title found %v, want %s with similarity 1", got, kol.GetName())
		}
		code, body := e.REST(t, adv, "POST", "/v1/regions/vasterbotten/ideas:findSimilar", `{"title":"Videobesök"}`)
		if rs, _ := body["results"].([]any); code != http.StatusOK || len(rs) != 1 {
			t.Errorf("findSimilar over REST: %d %v", code, body)
		}
	})
}

// TestPartner_ReadsOwnIdeas: a company user who submits an idea reads it,
// finds it in their list, and sees no one else's.
func TestPartner_ReadsOwnIdeas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		company := e.As(t, auth.Partner, "vasterbotten", "company-user")
		mine := e.mustCreate(t, company, "vasterbotten", sampleIdea())
		other := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", sampleIdea())

		got, err := e.client.GetIdea(company.Ctx(t), &ideav1.GetIdeaRequest{Name: mine.GetName()})
		if err != nil || got.GetSubmitter().GetEmail() == "" {
			t.Errorf("the partner reads their idea: %v %v, want it with their own details", got, err)
		}
		if _, err := e.client.GetIdea(company.Ctx(t), &ideav1.GetIdeaRequest{Name: other.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("the partner reads someone else's idea: %v, want NOT_FOUND", err)
		}
		list, err := e.client.ListIdeas(company.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetIdeas()) != 1 || list.GetIdeas()[0].GetName() != mine.GetName() {
			t.Errorf("the partner's list: %v %v, want their idea only", list, err)
		}
		if _, err := e.client.ListIdeaHistory(company.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: mine.GetName()}); err != nil {
			t.Errorf("the partner reads their idea's history: %v", err)
		}
		code, body := e.REST(t, company, "GET", "/v1/"+mine.GetName(), "")
		if code != http.StatusOK {
			t.Errorf("GET over REST: %d %v", code, body)
		}
		code, _ = e.REST(t, e.As(t, auth.Partner, "uppsala", "company-user"), "GET", "/v1/"+mine.GetName(), "")
		if code != http.StatusForbidden {
			t.Errorf("the same subject with an uppsala token: %d, want 403", code)
		}
	})
}

// TestUpdate_SubmitterWithoutConsentRefused: details added by an update
// without consent are refused, not dropped.
func TestUpdate_SubmitterWithoutConsentRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		in := sampleIdea()
		in.Submitter, in.Consent = nil, nil
		idea := e.mustCreate(t, sub, "vasterbotten", in)
		code, body := e.REST(t, sub, "PATCH", "/v1/"+idea.GetName(), `{"submitter":{"email":"x@example.se"},"etag":"`+idea.GetEtag()+`"}`)
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "consent.storePersonalData") {
			t.Errorf("details without consent by PATCH: %d %v, want 400 naming consent.storePersonalData", code, body)
		}
	})
}

// TestREST_UnknownQueryParameter: `?search=dialys` is not a search that
// found everything: the gateway names the parameter (the list searches
// with q).
func TestREST_UnknownQueryParameter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		e.mustCreate(t, adv, "vasterbotten", sampleIdea())
		code, body := e.REST(t, adv, "GET", "/v1/regions/vasterbotten/ideas?search=dialys", "")
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "search") || !strings.Contains(msg, "filter") {
			t.Errorf("?search=dialys: %d %v, want 400 naming search and the parameters the list takes", code, body)
		}
		code, body = e.REST(t, adv, "GET", "/v1/regions/vasterbotten/ideas?pageSize=1&filter=stage%3DSTAGE_SUBMITTED", "")
		if ideas, _ := body["ideas"].([]any); code != http.StatusOK || len(ideas) != 1 {
			t.Errorf("known parameters: %d %v", code, body)
		}
	})
}
