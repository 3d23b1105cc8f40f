package needs_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	"github.com/innovationsmotorer/motor/services/needs"
)

// restCall sends one JSON request through the gateway and decodes the answer.
func restCall(t *testing.T, e *env, c stack.Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	return e.REST(t, c, method, path, body)
}

func mustREST(t *testing.T, e *env, c stack.Caller, method, path, body string) map[string]any {
	t.Helper()
	code, out := restCall(t, e, c, method, path, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %v", method, path, code, out)
	}
	return out
}

const needJSON = `{"problem":"upptäcka fall nattetid","population":"boende på särskilda boenden","outcome":"korta tiden på golvet",
 "careUnit":"Äldreomsorg Umeå","reportedBy":"ORIGIN_STAFF","evidence":"41 fall 2024","patientsAffectedPerYear":900}`

// TestREST_Lifecycle walks a need through every route with the wire names
// of docs/architecture.md ("Domain rules").
func TestREST_Lifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		created := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs?requestId=r-1", needJSON)
		name, _ := created["name"].(string)
		if created["status"] != "NEED_STATUS_IDENTIFIED" || created["reportedBy"] != "ORIGIN_STAFF" || created["careUnit"] != "Äldreomsorg Umeå" ||
			created["statement"] != "Ett sätt att upptäcka fall nattetid hos boende på särskilda boenden för att korta tiden på golvet" ||
			created["patientsAffectedPerYear"] != float64(900) || created["etag"] != "1" || !strings.HasPrefix(name, "regions/vasterbotten/needs/") {
			t.Fatalf("created %v", created)
		}
		if again := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs?requestId=r-1", needJSON); again["name"] != name {
			t.Errorf("replay returned %v, want %s", again["name"], name)
		}
		if code, _ := restCall(t, e, adv, "POST", "/v1/regions/vasterbotten/needs?requestId=r-1", strings.Replace(needJSON, "nattetid", "dagtid", 1)); code != http.StatusConflict {
			t.Errorf("same requestId, other body: %d, want 409", code)
		}

		// PATCH without updateMask: the body's fields are the mask.
		patched := mustREST(t, e, adv, "PATCH", "/v1/"+name, `{"outcome":"larma inom fem minuter","published":true,"etag":"1"}`)
		if patched["published"] != true || patched["etag"] != "2" || !strings.HasSuffix(patched["statement"].(string), "för att larma inom fem minuter") {
			t.Errorf("patched %v", patched)
		}
		if code, body := restCall(t, e, adv, "PATCH", "/v1/"+name, `{"careUnit":"x","etag":"1"}`); code != http.StatusConflict {
			t.Errorf("PATCH with a stale etag: %d %v, want 409", code, body)
		}
		if code, body := restCall(t, e, adv, "PATCH", "/v1/"+name+"?updateMask=status", `{"status":"NEED_STATUS_MATCHED"}`); code != http.StatusBadRequest {
			t.Errorf("PATCH of the status: %d %v, want 400", code, body)
		}

		moved := mustREST(t, e, adv, "POST", "/v1/"+name+":transition", `{"status":"NEED_STATUS_VALIDATED","reason":"bekräftat","etag":"2"}`)
		if moved["status"] != "NEED_STATUS_VALIDATED" {
			t.Errorf("transition: %v", moved)
		}
		code, refused := restCall(t, e, adv, "POST", "/v1/"+name+":transition", `{"status":"NEED_STATUS_PRIORITISED","etag":"3"}`)
		if msg, _ := refused["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "screening") {
			t.Errorf("PRIORITISED without screening: %d %v, want 400 naming the screening", code, refused)
		}

		sc := mustREST(t, e, adv, "POST", "/v1/"+name+"/screenings",
			`{"clinicalImpact":5,"patientsAffected":4,"problemCost":4,"strategicFit":5,"feasibility":2,"comment":"workshop"}`)
		if sc["weightedScore"] != 4.0 || sc["name"] != name+"/screenings/1" {
			t.Errorf("screening %v", sc)
		}
		list := mustREST(t, e, adv, "GET", "/v1/"+name+"/screenings", "")
		if got, _ := list["screenings"].([]any); len(got) != 1 {
			t.Errorf("screenings %v", list)
		}
		got := mustREST(t, e, adv, "GET", "/v1/"+name, "")
		if got["priorityScore"] != 4.0 {
			t.Errorf("priorityScore %v, want 4", got["priorityScore"])
		}
		mustREST(t, e, adv, "POST", "/v1/"+name+":transition", `{"status":"NEED_STATUS_PRIORITISED"}`)

		idea := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/ideas", `{"title":"Golvsensor","problem":"Fall upptäcks sent.","origin":"ORIGIN_STAFF"}`)
		linked := mustREST(t, e, adv, "POST", "/v1/"+name+":link", `{"target":"`+idea["name"].(string)+`"}`)
		if links, _ := linked["links"].([]any); len(links) != 1 || links[0] != idea["name"] {
			t.Errorf("links %v", linked["links"])
		}
		code, missing := restCall(t, e, adv, "POST", "/v1/"+name+":link", `{"target":"regions/vasterbotten/ideas/gone"}`)
		if msg, _ := missing["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "target") {
			t.Errorf("link to a missing idea: %d %v, want 400 naming target", code, missing)
		}

		hist := mustREST(t, e, adv, "GET", "/v1/"+name+"/history?pageSize=10", "")
		entries, _ := hist["entries"].([]any)
		if len(entries) != 2 {
			t.Fatalf("history %v", hist)
		}
		if first, _ := entries[0].(map[string]any); first["fromStatus"] != "NEED_STATUS_IDENTIFIED" || first["toStatus"] != "NEED_STATUS_VALIDATED" || first["reason"] != "bekräftat" || first["actor"] != "advisor-vasterbotten" {
			t.Errorf("first decision %v", first)
		}

		similar := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs:findSimilar", `{"text":"fall nattetid på boenden"}`)
		if results, _ := similar["results"].([]any); len(results) != 1 {
			t.Errorf("findSimilar %v", similar)
		} else if r := results[0].(map[string]any); r["need"].(map[string]any)["name"] != name || r["similarity"].(float64) < 0.25 {
			t.Errorf("findSimilar result %v", r)
		}
	})
}

func TestREST_PriorityOrderPaged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "uppsala")
		for _, s := range []string{"2", "5", "3"} {
			n := mustREST(t, e, adv, "POST", "/v1/regions/uppsala/needs", needJSON)
			mustREST(t, e, adv, "POST", "/v1/"+n["name"].(string)+"/screenings",
				`{"clinicalImpact":`+s+`,"patientsAffected":`+s+`,"problemCost":`+s+`,"strategicFit":`+s+`,"feasibility":`+s+`}`)
		}
		var scores []float64
		path := "/v1/regions/uppsala/needs?orderBy=priority_score%20desc&pageSize=2"
		for token := ""; ; {
			page := mustREST(t, e, adv, "GET", path+"&pageToken="+token, "")
			for _, n := range page["needs"].([]any) {
				scores = append(scores, n.(map[string]any)["priorityScore"].(float64))
			}
			token, _ = page["nextPageToken"].(string)
			if token == "" {
				break
			}
		}
		if len(scores) != 3 || scores[0] != 5 || scores[1] != 3 || scores[2] != 2 {
			t.Errorf("priority order %v, want [5 3 2]", scores)
		}
	})
}

// TestREST_Errors checks the HTTP mapping of every kind of refusal, and
// authorization over REST with tokens of another region and of roles that
// may not act.
func TestREST_Errors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		pub := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs", strings.Replace(needJSON, `"evidence"`, `"published":true,"evidence"`, 1))
		hidden := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs", needJSON)
		pubName, hiddenName := pub["name"].(string), hidden["name"].(string)
		other := e.As(t, auth.Advisor, "uppsala")
		partner := e.As(t, auth.Partner, "vasterbotten")
		submitter := e.As(t, auth.Submitter, "vasterbotten")
		for _, tc := range []struct {
			name       string
			caller     stack.Caller
			method     string
			path, body string
			want       int
			mention    string
		}{
			{"missing parts", adv, "POST", "/v1/regions/vasterbotten/needs", `{"problem":"p","reportedBy":"ORIGIN_STAFF"}`, 400, "need.population"},
			{"unknown field", adv, "POST", "/v1/regions/vasterbotten/needs", `{"problem":"p","colour":"red"}`, 400, "colour"},
			{"unknown enum", adv, "POST", "/v1/regions/vasterbotten/needs", `{"problem":"p","reportedBy":"ORIGIN_ALIEN"}`, 400, "ORIGIN_ALIEN"},
			{"oversized body", adv, "POST", "/v1/regions/vasterbotten/needs", `{"problem":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "bytes"},
			{"bad order", adv, "GET", "/v1/regions/vasterbotten/needs?orderBy=title", "", 400, "order_by"},
			{"bad filter", adv, "GET", "/v1/regions/vasterbotten/needs?filter=colour%3DRED", "", 400, "filter"},
			{"bad page token", adv, "GET", "/v1/regions/vasterbotten/needs?pageToken=nonsense", "", 400, "page_token"},
			{"stale etag", adv, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_VALIDATED","etag":"7"}`, 409, "etag"},
			{"move not allowed", adv, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_ADDRESSED"}`, 400, "NEED_STATUS_VALIDATED or NEED_STATUS_CLOSED"},
			{"close without reason", adv, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_CLOSED"}`, 400, "reason"},
			{"score out of range", adv, "POST", "/v1/" + pubName + "/screenings", `{"clinicalImpact":9,"patientsAffected":1,"problemCost":1,"strategicFit":1,"feasibility":1}`, 400, "screening.clinical_impact"},
			{"link of another kind", adv, "POST", "/v1/" + pubName + ":link", `{"target":"regions/vasterbotten/partners/p"}`, 400, "target"},
			{"empty similar draft", adv, "POST", "/v1/regions/vasterbotten/needs:findSimilar", `{}`, 400, "text"},
			{"region not served", adv, "GET", "/v1/regions/stockholm/needs", "", 404, "stockholm"},
			{"no such region", adv, "GET", "/v1/regions/narnia/needs", "", 404, "narnia"},
			{"no such need", adv, "GET", "/v1/regions/vasterbotten/needs/nothere", "", 404, "nothere"},
			{"no token", stack.Caller{}, "GET", "/v1/regions/vasterbotten/needs", "", 401, "token"},
			{"another region's advisor lists", other, "GET", "/v1/regions/vasterbotten/needs", "", 403, "uppsala"},
			{"another region's advisor reads", other, "GET", "/v1/" + pubName, "", 403, "uppsala"},
			{"another region's advisor patches", other, "PATCH", "/v1/" + pubName, `{"careUnit":"x"}`, 403, "uppsala"},
			{"another region's advisor moves", other, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_VALIDATED"}`, 403, "uppsala"},
			{"another region's advisor screens", other, "POST", "/v1/" + pubName + "/screenings", `{"clinicalImpact":1}`, 403, "uppsala"},
			{"another region's advisor links", other, "POST", "/v1/" + pubName + ":link", `{"target":"regions/vasterbotten/offers/o"}`, 403, "uppsala"},
			{"another region's advisor reads history", other, "GET", "/v1/" + pubName + "/history", "", 403, "uppsala"},
			{"another region's advisor creates", other, "POST", "/v1/regions/vasterbotten/needs", needJSON, 403, "vasterbotten"},
			{"another region's advisor searches", other, "POST", "/v1/regions/vasterbotten/needs:findSimilar", `{"text":"fall"}`, 403, "uppsala"},
			{"partner reads unpublished", partner, "GET", "/v1/" + hiddenName, "", 404, "not found"},
			{"partner creates", partner, "POST", "/v1/regions/vasterbotten/needs", needJSON, 403, "role"},
			{"partner patches", partner, "PATCH", "/v1/" + pubName, `{"careUnit":"x"}`, 403, "role"},
			{"partner moves", partner, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_VALIDATED"}`, 403, "role"},
			{"partner screens", partner, "POST", "/v1/" + pubName + "/screenings", `{"clinicalImpact":1}`, 403, "role"},
			{"partner lists screenings", partner, "GET", "/v1/" + pubName + "/screenings", "", 403, "role"},
			{"partner links", partner, "POST", "/v1/" + pubName + ":link", `{"target":"regions/vasterbotten/offers/o"}`, 403, "role"},
			{"submitter moves", submitter, "POST", "/v1/" + pubName + ":transition", `{"status":"NEED_STATUS_VALIDATED"}`, 403, "role"},
			{"submitter screens", submitter, "POST", "/v1/" + pubName + "/screenings", `{"clinicalImpact":1}`, 403, "role"},
			{"submitter publishes", submitter, "POST", "/v1/regions/vasterbotten/needs", strings.Replace(needJSON, `"evidence"`, `"published":true,"evidence"`, 1), 400, "need.published"},
			{"coordinator patches", e.As(t, auth.Coordinator, auth.NationalRegion), "PATCH", "/v1/" + pubName, `{"careUnit":"x"}`, 403, "role"},
			{"unknown route", adv, "GET", "/v1/regions/vasterbotten/needs/x/unicorns", "", 404, "no route"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := restCall(t, e, tc.caller, tc.method, tc.path, tc.body)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				msg, _ := body["message"].(string)
				if _, ok := body["code"]; !ok || !strings.Contains(msg, tc.mention) {
					t.Errorf("error body %v: want a google.rpc.Status whose message mentions %q", body, tc.mention)
				}
			})
		}
		// Partners read published needs without evidence or links.
		got := mustREST(t, e, partner, "GET", "/v1/"+pubName, "")
		if _, ok := got["evidence"]; ok || got["statement"] == nil {
			t.Errorf("partner sees %v", got)
		}
	})
}

func TestREST_IdeaServiceUnreachableIs503(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *needs.Config) { c.Ideas = dialClosed(t); c.IdeaTimeout = time.Second })
			adv := e.As(t, auth.Advisor, "vasterbotten")
			n := mustREST(t, e, adv, "POST", "/v1/regions/vasterbotten/needs", needJSON)
			code, body := restCall(t, e, adv, "POST", "/v1/"+n["name"].(string)+":link", `{"target":"regions/vasterbotten/ideas/abc","etag":"1"}`)
			if code != http.StatusServiceUnavailable {
				t.Fatalf("link with the idea service down: %d %v, want 503", code, body)
			}
			if got := mustREST(t, e, adv, "GET", "/v1/"+n["name"].(string), ""); got["etag"] != "1" || got["links"] != nil {
				t.Errorf("the link was written: %v", got)
			}
		})
	}
}
