package gateway

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// The HTTP span and the HTTP metrics of a call are named by the route it
// matched ("POST /v1/{parent=regions/*}/ideas"), never by its path, which
// carries ids: one series per route, one span name per route. otelhttp takes
// the route from the request's Pattern once the handler returns; the
// grpc-gateway mux matches on a copy of the request, so withRoute hands it a
// place to leave the template in and sets Pattern from it afterwards.

type routeKey struct{}

type matchedRoute struct{ pattern string }

// withRoute sits between otelhttp and the gateway's handlers.
func withRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := &matchedRoute{}
		inner := r.WithContext(context.WithValue(r.Context(), routeKey{}, m))
		next.ServeHTTP(w, inner)
		route := m.pattern
		if route == "" {
			// No route matched: a 404 or 405 keeps the bare method as its
			// name rather than a path someone typed.
			r.Pattern = ""
			return
		}
		r.Pattern = r.Method + " " + route
		// otelhttp puts http.route on the span only when it starts.
		trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRoute(route))
	})
}

// muxRoute records the route of the operational mux (/healthz,
// /openapi.json) a request matched; the middlewares between withRoute and
// the mux hand it copies of the request.
func muxRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if m, ok := r.Context().Value(routeKey{}).(*matchedRoute); ok && m.pattern == "" && r.Pattern != "/" {
			_, m.pattern, _ = strings.Cut(r.Pattern, " ")
		}
	})
}

// routeMiddleware runs inside the grpc-gateway mux once a route matched: it
// records the route's template and puts the region the path names on the
// span.
func routeMiddleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			if m, ok := r.Context().Value(routeKey{}).(*matchedRoute); ok {
				m.pattern = p.String()
			}
		}
		if region := paramsRegion(params); region != "" {
			trace.SpanFromContext(r.Context()).SetAttributes(telemetry.AttrRegion.String(region))
		}
		next(w, r, params)
	}
}

// paramsRegion is the region of the first path parameter, by name, that
// names one. The resource name is one path parameter: name, parent, or the
// resource of an update (idea.name); with one, the usual case, there is
// nothing to sort.
func paramsRegion(params map[string]string) string {
	if len(params) == 1 {
		for _, v := range params {
			return telemetry.RegionOfName(v)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if region := telemetry.RegionOfName(params[k]); region != "" {
			return region
		}
	}
	return ""
}

// spanName names a span by the route otelhttp found on the request, or by
// the method alone before (or without) one.
func spanName(_ string, r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method
}
