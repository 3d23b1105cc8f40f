package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRejectUnknownQuery(t *testing.T) {
	routes, err := queryRoutes(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 50 {
		t.Fatalf("read %d routes from the OpenAPI document", len(routes))
	}
	reached := 0
	h := rejectUnknownQuery(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached++ }))
	for _, tc := range []struct {
		method, target string
		want           int
		mention        []string
	}{
		{"GET", "/v1/regions/vasterbotten/ideas?search=dialys", 400, []string{`"search"`, "UNKNOWN_QUERY_PARAMETER", "filter", "pageSize", "q"}},
		{"GET", "/v1/regions/vasterbotten/ideas?q=dialys", 200, nil},
		{"GET", "/v1/regions/vasterbotten/needs?q=dialys&pageSize=5", 200, nil},
		{"GET", "/v1/regions/vasterbotten/ideas?pageSize=10&filter=stage%3DSTAGE_SCREENING", 200, nil},
		{"GET", "/v1/regions/vasterbotten/ideas?page_size=10&page_token=x", 200, nil},
		{"GET", "/v1/regions/vasterbotten/ideas/x1?view=full&colour=red", 400, []string{"colour", "view", "no query parameters"}},
		{"POST", "/v1/regions/vasterbotten/ideas?requestId=r1", 200, nil},
		{"POST", "/v1/regions/vasterbotten/ideas:findSimilar?title=x", 400, []string{"title"}},
		{"PATCH", "/v1/regions/vasterbotten/ideas/x1?updateMask=title", 200, nil},
		{"PATCH", "/v1/regions/vasterbotten/ideas/x1?update_mask=title", 200, nil},
		{"GET", "/v1/regions/vasterbotten/testBeds/b1/testPlans?pageSize=5", 200, nil},
		{"GET", "/v1/regions/vasterbotten/unicorns?q=1", 200, nil}, // no route: the mux answers
		{"GET", "/healthz?x=1", 200, nil},
	} {
		before := reached
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.target, rec.Code, rec.Body, tc.want)
		}
		if (rec.Code == 200) != (reached > before) {
			t.Errorf("%s %s: passed on = %v, want %v", tc.method, tc.target, reached > before, rec.Code == 200)
		}
		for _, m := range tc.mention {
			if !strings.Contains(rec.Body.String(), m) {
				t.Errorf("%s %s: answer %s does not mention %s", tc.method, tc.target, rec.Body, m)
			}
		}
	}
}
