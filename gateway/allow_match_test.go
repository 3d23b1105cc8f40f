package gateway

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The routes match request paths segment by segment; the regexps each
// template compiles to are the definition, so both must agree on every
// path, for every route.
func TestPathMatcherAgreesWithRegexp(t *testing.T) {
	routes, err := queryRoutes(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\(\?:\[\^/\]\+\)`)
	values := []string{"x", "vasterbotten", "a:b", "a.b", "ä", "%2F", "", "a/b", ":submit", "x:approve"}
	var paths []string
	segmented := 0
	for _, rt := range routes {
		if rt.path.segs != nil {
			segmented++
		}
		// The template back from its regexp: ^/v1/regions/(?:[^/]+)/ideas$.
		tmpl := strings.TrimSuffix(strings.TrimPrefix(rt.path.re.String(), "^"), "$")
		tmpl = strings.ReplaceAll(tmpl, `\.`, ".")
		for _, v := range values {
			p := param.ReplaceAllLiteralString(tmpl, v)
			paths = append(paths, p, p+"/", strings.TrimPrefix(p, "/"), p+":x", "/"+p, strings.ReplaceAll(p, "/", "//"))
		}
	}
	paths = append(paths, "", "/", "/v1", "/v1/", "/healthz", "/v1/regions", "/v1/regions/", "/v1/regions//ideas")
	if segmented < len(routes) {
		t.Errorf("%d of %d routes match segment by segment; the others run a regexp per request", segmented, len(routes))
	}
	for _, rt := range routes {
		for _, p := range paths {
			if got, want := rt.path.MatchString(p), rt.path.re.MatchString(p); got != want {
				t.Errorf("%s %s: matches %q = %v, the regexp says %v", rt.method, rt.path.re, p, got, want)
			}
		}
	}
	// allowedMethods against the list worked out from every route's regexp.
	groups := allowIndex(allowGroups(routes))
	for _, p := range paths {
		var want []string
		for _, rt := range routes {
			if rt.path.re.MatchString(p) {
				want = append(want, rt.method)
				if rt.method == http.MethodGet {
					want = append(want, http.MethodHead)
				}
			}
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got := allowedMethods(groups, p); !slices.Equal(got, want) {
			t.Errorf("allowed on %q: %v, want %v", p, got, want)
		}
	}
}
