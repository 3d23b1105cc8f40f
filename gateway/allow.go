package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
)

// headAndAllow answers HEAD on every GET route of the REST table (the
// server sends the GET's headers and drops its body) and a method a path
// does not take with 405 and an Allow header listing those it does. Paths
// outside the table pass through.
func headAndAllow(routes []queryRoute) func(http.Handler) http.Handler {
	groups := allowIndex(allowGroups(routes))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			allowed := allowedMethods(groups, r.URL.Path)
			if r.Method == http.MethodHead && slices.Contains(allowed, http.MethodGet) {
				get := r.Clone(r.Context())
				get.Method = http.MethodGet
				next.ServeHTTP(w, get)
				return
			}
			if len(allowed) == 0 || slices.Contains(allowed, r.Method) {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			writeStatus(w, http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED",
				fmt.Sprintf("method %s is not allowed on %s (it takes %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		})
	}
}

// allowGroup is one path template and the methods its routes take, with
// HEAD beside GET, sorted: worked out once, not on every request.
type allowGroup struct {
	path    pathMatcher
	methods []string
}

func allowGroups(routes []queryRoute) []allowGroup {
	var groups []allowGroup
	at := map[string]int{}
	for _, rt := range routes {
		key := rt.path.re.String()
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, allowGroup{path: rt.path})
		}
		groups[i].methods = withHead(append(groups[i].methods, rt.method))
	}
	return groups
}

// withHead sorts methods, each once, with HEAD beside GET.
func withHead(methods []string) []string {
	if slices.Contains(methods, http.MethodGet) {
		methods = append(methods, http.MethodHead)
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

// allowTable is the groups by how many segments their paths have, so a
// request is held against the templates it can match, not all of them;
// those that keep a regexp are held against every path.
type allowTable struct {
	bySegments map[int][]allowGroup
	regexps    []allowGroup
}

func allowIndex(groups []allowGroup) allowTable {
	t := allowTable{bySegments: map[int][]allowGroup{}}
	for _, g := range groups {
		if g.path.segs == nil {
			t.regexps = append(t.regexps, g)
			continue
		}
		n := len(g.path.segs)
		t.bySegments[n] = append(t.bySegments[n], g)
	}
	return t
}

// allowedMethods lists the methods of the routes matching path, with HEAD
// beside GET, sorted. The list may be a group's own: callers do not change
// it.
func allowedMethods(t allowTable, path string) []string {
	out := matchingMethods(nil, t.bySegments[strings.Count(path, "/")+1], path)
	return matchingMethods(out, t.regexps, path)
}

// matchingMethods adds to out the methods of the groups matching path.
func matchingMethods(out []string, groups []allowGroup, path string) []string {
	shared := out != nil
	for _, g := range groups {
		if !g.path.MatchString(path) {
			continue
		}
		switch {
		case out == nil:
			out, shared = g.methods, true
		case shared:
			out, shared = withHead(append(slices.Clone(out), g.methods...)), false
		default:
			out = withHead(append(out, g.methods...))
		}
	}
	return out
}
