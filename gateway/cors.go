package gateway

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
)

// CORS is which other origins' pages may call the gateway from a browser.
// No origin is allowed unless listed.
type CORS struct {
	// AllowedOrigins are origins ("https://portal.example.se") or "*".
	AllowedOrigins []string
	// AllowCredentials lets pages send cookies and Authorization
	// (Access-Control-Allow-Credentials); it cannot go with "*".
	AllowCredentials bool
	// MaxAgeSeconds is how long a browser may keep a preflight's answer
	// (600 when zero).
	MaxAgeSeconds int
}

// ErrCORSWildcardCredentials refuses "*" among the allowed origins when
// credentials are allowed: any site could then call as the signed-in user.
var ErrCORSWildcardCredentials = errors.New(`cors: allowedOrigins "*" cannot be combined with allowCredentials`)

var (
	corsMethods = "GET, HEAD, POST, PATCH, PUT, DELETE"
	corsHeaders = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match, X-Request-Id, Grpc-Timeout"
	corsExpose  = "ETag, Retry-After, X-Request-Id, WWW-Authenticate, RateLimit, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy"
)

func (c CORS) validate() error {
	if c.AllowCredentials && slices.Contains(c.AllowedOrigins, "*") {
		return ErrCORSWildcardCredentials
	}
	return nil
}

// withCORS answers preflights (204) and marks responses to allowed origins.
func withCORS(c CORS) func(http.Handler) http.Handler {
	maxAge := c.MaxAgeSeconds
	if maxAge <= 0 {
		maxAge = 600
	}
	any := slices.Contains(c.AllowedOrigins, "*")
	return func(next http.Handler) http.Handler {
		if len(c.AllowedOrigins) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			origin := r.Header.Get("Origin")
			if origin == "" || !(any || slices.Contains(c.AllowedOrigins, origin)) {
				next.ServeHTTP(w, r)
				return
			}
			if any && !c.AllowCredentials {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			if c.AllowCredentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsHeaders)
				h.Set("Access-Control-Max-Age", strconv.Itoa(maxAge))
				w.WriteHeader(http.StatusNoContent)
				return
			}
			h.Set("Access-Control-Expose-Headers", corsExpose)
			next.ServeHTTP(w, r)
		})
	}
}
