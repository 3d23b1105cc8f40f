package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Every operation of the REST table has a service whose mux holds it.
func TestRouteUpstreamsCoverTheTable(t *testing.T) {
	routes, err := queryRoutes(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range routes {
		up, ok := routeUpstreams[rt.service]
		if !ok {
			t.Errorf("%s %s: service %q has no upstream in routeUpstreams", rt.method, rt.path.re, rt.service)
			continue
		}
		if !slices.Contains(Services(), up) {
			t.Errorf("%s: upstream %q is not one routes() registers", rt.service, up)
		}
	}
}

// A request reaches the same gRPC method whether the service's own mux or
// the mux of all routes takes it, for every route of the table and for
// paths near them; and the service's mux takes every route of the table.
func TestByServiceAgreesWithTheMuxOfAllRoutes(t *testing.T) {
	var (
		mu     sync.Mutex
		called string
	)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		m, _ := grpc.MethodFromServerStream(ss)
		mu.Lock()
		called = m
		mu.Unlock()
		return status.Error(codes.Unimplemented, "recorded")
	}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	routes, err := queryRoutes(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	api, err := restMux(context.Background(), AllOn(conn), slog.New(slog.DiscardHandler), routes)
	if err != nil {
		t.Fatal(err)
	}
	reach := func(h http.Handler, method, target string) (int, string) {
		mu.Lock()
		called = ""
		mu.Unlock()
		rec := httptest.NewRecorder()
		body := strings.NewReader("{}")
		req := httptest.NewRequest(method, target, body)
		h.ServeHTTP(rec, req)
		mu.Lock()
		defer mu.Unlock()
		return rec.Code, called
	}
	for _, rt := range routes {
		tmpl := strings.TrimSuffix(strings.TrimPrefix(rt.path.re.String(), "^"), "$")
		tmpl = strings.ReplaceAll(strings.ReplaceAll(tmpl, `\.`, "."), "(?:[^/]+)", "vasterbotten")
		for _, target := range []string{tmpl, tmpl + "/", tmpl + ":x", tmpl + "/x", strings.Replace(tmpl, "vasterbotten", "a%2Fb", 1)} {
			for _, method := range []string{rt.method, http.MethodGet, http.MethodPost} {
				wantCode, want := reach(api.all, method, target)
				gotCode, got := reach(api, method, target)
				if got != want || gotCode != wantCode {
					t.Errorf("%s %s: %d %q, the mux of all routes: %d %q", method, target, gotCode, got, wantCode, want)
				}
			}
		}
		if api.routes.service(rt.method, tmpl) != "" {
			continue
		}
		// Only a path two routes of the table match goes to the mux of all.
		matching := 0
		for _, other := range routes {
			if other.method == rt.method && other.path.MatchString(tmpl) {
				matching++
			}
		}
		if matching < 2 {
			t.Errorf("%s %s does not go to its service's own mux", rt.method, tmpl)
		}
	}
}
