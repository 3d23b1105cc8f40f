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
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			allowed := allowedMethods(routes, r.URL.Path)
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

// allowedMethods lists the methods of the routes matching path, with HEAD
// beside GET, sorted.
func allowedMethods(routes []queryRoute, path string) []string {
	var out []string
	for _, rt := range routes {
		if rt.path.MatchString(path) {
			out = append(out, rt.method)
			if rt.method == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
