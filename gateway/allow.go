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
	groups := allowGroups(routes)
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

// allowedMethods lists the methods of the routes matching path, with HEAD
// beside GET, sorted. The list may be a group's own: callers do not change
// it.
func allowedMethods(groups []allowGroup, path string) []string {
	var out []string
	shared := false
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
