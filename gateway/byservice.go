package gateway

import (
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// grpc-gateway's mux finds a request's handler by trying every route of
// the method in turn, and each try that fails allocates: with all services
// on one mux a GET tried dozens of routes (a good part of a REST call's
// allocations). byService hands a request to the mux of the one service
// whose route the REST table says it matches, which holds only that
// service's routes; anything else (no route, or more than one, a path with
// escapes the table reads differently, a method override) goes to the mux
// of all routes, as every request did before.

// routeUpstreams names, for each gRPC service of the OpenAPI document (its
// operations' tag), the upstream whose routes() registers it.
var routeUpstreams = map[string]string{
	"IdeaService":         "idea",
	"NeedsService":        "needs",
	"SubprojectService":   "funding",
	"ProgrammeService":    "funding",
	"PartnerService":      "partner",
	"CoordinatorService":  "coordinator",
	"NotificationService": "notify",
	"ReportService":       "reports",
	"PersonService":       "person",
}

type byService struct {
	all      *runtime.ServeMux
	services map[string]*runtime.ServeMux // by upstream name
	routes   routeTable
}

// routeTable is the REST table's routes by how many segments their paths
// have; those that keep a regexp are held against every path.
type routeTable struct {
	bySegments map[int][]queryRoute
	regexps    []queryRoute
}

func routeIndex(routes []queryRoute) routeTable {
	t := routeTable{bySegments: map[int][]queryRoute{}}
	for _, rt := range routes {
		if rt.path.segs == nil {
			t.regexps = append(t.regexps, rt)
			continue
		}
		n := len(rt.path.segs)
		t.bySegments[n] = append(t.bySegments[n], rt)
	}
	return t
}

// service is the upstream of the one route matching method and path, or
// "" when none or several do.
func (t routeTable) service(method, path string) string {
	found, n := "", 0
	for _, group := range [][]queryRoute{t.bySegments[strings.Count(path, "/")+1], t.regexps} {
		for _, rt := range group {
			if rt.method == method && rt.path.MatchString(path) {
				found, n = rt.service, n+1
			}
		}
	}
	if n != 1 {
		return ""
	}
	return routeUpstreams[found]
}

func (b byService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The mux matches the escaped path when the request has one (RawPath);
	// the table reads the unescaped one. The override changes the method
	// inside the mux.
	if r.URL.RawPath == "" && r.Header.Get("X-HTTP-Method-Override") == "" {
		if mux := b.services[b.routes.service(r.Method, r.URL.Path)]; mux != nil {
			mux.ServeHTTP(w, r)
			return
		}
	}
	b.all.ServeHTTP(w, r)
}
