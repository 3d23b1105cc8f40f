package gateway

import (
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// Headers named Grpc-Metadata-* are how grpc-gateway passes metadata
// between HTTP and gRPC. None goes out on a response (the gRPC response's
// content-type would otherwise surface as Grpc-Metadata-Content-Type), and
// a caller cannot set Motor's own metadata (motor-*) through one.

const incomingMotorMetadata = "Grpc-Metadata-Motor-"

// forwardedHTTPHeaders are the standard HTTP headers a service reads from a
// REST call's metadata (as grpcgateway-<name>): the language of the
// needs service's texts. The token goes as authorization whatever the
// matcher says. grpc-gateway's default matcher forwarded every standard
// header (the token a second time as grpcgateway-authorization, the user
// agent, Accept, …), which each call then encoded, sent and decoded for
// nobody.
var forwardedHTTPHeaders = map[string]bool{"Accept-Language": true}

// incomingMetadata is the mux's incoming header matcher: the default's
// Grpc-Metadata-* headers, and of the standard ones only
// forwardedHTTPHeaders.
func incomingMetadata(key string) (string, bool) {
	md, ok := runtime.DefaultHeaderMatcher(key)
	if ok && strings.HasPrefix(md, runtime.MetadataPrefix) && !forwardedHTTPHeaders[strings.TrimPrefix(md, runtime.MetadataPrefix)] {
		return "", false
	}
	return md, ok
}

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
