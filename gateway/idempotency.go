package gateway

import (
	"fmt"
	"net/http"
	"slices"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
)

// IdempotencyKeyHeader is an alias of a create's requestId query
// parameter: the same call sent twice with the same key creates once.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotencyKey moves the header into requestId on POST routes that take
// one; both given and different is a 400 naming them.
func idempotencyKey(routes []queryRoute) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(IdempotencyKeyHeader)
			if key == "" || r.Method != http.MethodPost || !takesRequestID(routes, r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			q := r.URL.Query()
			for _, name := range []string{"requestId", "request_id"} {
				if v := q.Get(name); v != "" && v != key {
					msg := fmt.Sprintf("the %s header and the %s query parameter differ; send one, or the same value in both", IdempotencyKeyHeader, name)
					writeStatus(w, http.StatusBadRequest, codes.InvalidArgument, "IDEMPOTENCY_KEY_MISMATCH", msg, &errdetails.BadRequest{
						FieldViolations: []*errdetails.BadRequest_FieldViolation{
							{Field: IdempotencyKeyHeader, Description: "differs from the " + name + " query parameter"},
							{Field: name, Description: "differs from the " + IdempotencyKeyHeader + " header"},
						},
					})
					return
				}
			}
			if q.Get("requestId") == "" && q.Get("request_id") == "" {
				q.Set("requestId", key)
				r.URL.RawQuery = q.Encode()
			}
			next.ServeHTTP(w, r)
		})
	}
}

func takesRequestID(routes []queryRoute, path string) bool {
	for _, rt := range routes {
		if rt.method == http.MethodPost && rt.path.MatchString(path) && slices.Contains(rt.params, "requestId") {
			return true
		}
	}
	return false
}
