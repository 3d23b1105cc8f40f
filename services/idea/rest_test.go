package idea_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
)

// restCall sends one JSON request through the gateway and decodes the answer.
func restCall(t *testing.T, e *regionEnv, c stack.Caller, method, path, body string) (int, map[string]any) {
	t.Helper()
	return e.REST(t, c, method, path, body)
}

const ideaJSON = `{"title":"Fallsensor i golvet","problem":"Fall nattetid upptäcks sent.","origin":"ORIGIN_STAFF",
 "submitter":{"displayName":"Jonas Berg","email":"jonas@example.se"},"consent":{"contact":true,"storePersonalData":true}}`

func TestREST_CreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		staff := e.As(t, auth.Submitter, "vasterbotten", "staff-1")
		code, created := restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/ideas?requestId=r-1", ideaJSON)
		if code != http.StatusOK {
			t.Fatalf("create: %d %v", code, created)
		}
		name, _ := created["name"].(string)
		if created["stage"] != "STAGE_SUBMITTED" || !strings.HasPrefix(name, "regions/vasterbotten/ideas/") {
			t.Fatalf("created %v", created)
		}
		code, got := restCall(t, e, staff, "GET", "/v1/"+name, "")
		if code != http.StatusOK || got["name"] != name || got["submitter"] == nil {
			t.Errorf("get: %d %v", code, got)
		}
		code, list := restCall(t, e, e.As(t, auth.Advisor, "vasterbotten"), "GET", "/v1/regions/vasterbotten/ideas?pageSize=10", "")
		if ideas, _ := list["ideas"].([]any); code != http.StatusOK || len(ideas) != 1 {
			t.Errorf("list: %d %v", code, list)
		}
		code, again := restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/ideas?requestId=r-1", ideaJSON)
		if code != http.StatusOK || again["name"] != name {
			t.Errorf("replay: %d %v, want the first idea %s", code, again, name)
		}
		code, _ = restCall(t, e, staff, "POST", "/v1/regions/vasterbotten/ideas?requestId=r-1", strings.Replace(ideaJSON, "Fallsensor", "Annat", 1))
		if code != http.StatusConflict {
			t.Errorf("same requestId, other body: %d, want 409", code)
		}
	})
}

func TestREST_BadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		vb := e.As(t, auth.Advisor, "vasterbotten")
		for _, tc := range []struct {
			name       string
			caller     stack.Caller
			method     string
			path, body string
			want       int
			mention    string // the message must name the problem
		}{
			{"missing title", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"problem":"p","origin":"ORIGIN_STAFF"}`, 400, "idea.title"},
			{"every bad field at once", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"origin":"ORIGIN_STAFF","submitter":{"email":"x"}}`, 400, "idea.problem"},
			{"unknown field", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"title":"t","problem":"p","origin":"ORIGIN_STAFF","colour":"red"}`, 400, "colour"},
			{"unknown enum", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"title":"t","problem":"p","origin":"ORIGIN_ALIEN"}`, 400, "ORIGIN_ALIEN"},
			{"not JSON", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"title":`, 400, ""},
			{"oversized body", vb, "POST", "/v1/regions/vasterbotten/ideas", `{"title":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "bytes"},
			{"bad page token", vb, "GET", "/v1/regions/vasterbotten/ideas?pageToken=nonsense", "", 400, "page_token"},
			{"bad filter", vb, "GET", "/v1/regions/vasterbotten/ideas?filter=colour%3DRED", "", 400, "filter"},
			{"region not served", vb, "GET", "/v1/regions/stockholm/ideas", "", 404, "stockholm"},
			{"no such region", vb, "GET", "/v1/regions/narnia/ideas", "", 404, "narnia"},
			{"no such idea", vb, "GET", "/v1/regions/vasterbotten/ideas/nothere", "", 404, "nothere"},
			{"no token", stack.Caller{}, "GET", "/v1/regions/vasterbotten/ideas", "", 401, "token"},
			{"token of another region", e.As(t, auth.Advisor, "uppsala"), "GET", "/v1/regions/vasterbotten/ideas", "", 403, "uppsala"},
			{"role that may not read", e.As(t, auth.Partner, "vasterbotten"), "GET", "/v1/regions/vasterbotten/ideas/x1/assessments", "", 403, "role"},
			{"another region's submitter creates", e.As(t, auth.Submitter, "uppsala"), "POST", "/v1/regions/vasterbotten/ideas", ideaJSON, 403, "vasterbotten"},
			{"unknown route", vb, "GET", "/v1/regions/vasterbotten/unicorns", "", 404, "no route"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, body := restCall(t, e, tc.caller, tc.method, tc.path, tc.body)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				msg, _ := body["message"].(string)
				if _, ok := body["code"]; !ok || (tc.mention != "" && !strings.Contains(msg, tc.mention)) {
					t.Errorf("error body %v: want a google.rpc.Status whose message mentions %q", body, tc.mention)
				}
			})
		}
	})
}
