package gateway

import (
	"net/http"
	"strings"
)

// Headers named Grpc-Metadata-* are how grpc-gateway passes metadata
// between HTTP and gRPC. None goes out on a response (the gRPC response's
// content-type would otherwise surface as Grpc-Metadata-Content-Type), and
// a caller cannot set Motor's own metadata (motor-*) through one.

const incomingMotorMetadata = "Grpc-Metadata-Motor-"

// noOutgoingMetadata is the mux's outgoing header matcher: no gRPC
// response metadata becomes an HTTP header.
func noOutgoingMetadata(string) (string, bool) { return "", false }

// stripMotorMetadata drops incoming Grpc-Metadata-Motor-* headers.
func stripMotorMetadata(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.Header {
			if strings.HasPrefix(http.CanonicalHeaderKey(k), incomingMotorMetadata) {
				r.Header.Del(k)
			}
		}
		next.ServeHTTP(w, r)
	})
}
