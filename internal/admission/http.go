package admission

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Error reasons of the answers admission gives, in ErrorInfo.
const (
	Domain            = "admission.motor"
	ReasonRateLimited = "RATE_LIMITED"
	ReasonOverloaded  = "OVERLOADED"
)

// HTTPConfig is what HTTP admits.
type HTTPConfig struct {
	Limiter  *Limiter
	Rates    Rates
	InFlight *InFlight
	// Exempt paths are never refused: probes and metrics must answer
	// however busy the process is.
	Exempt []string
	// OnShed, when set, is told of every refusal (for metrics and logs).
	OnShed func(r *http.Request, reason string)
	// Caller, when set, names the caller of a request that carries no
	// Authorization header (a portal's session, say); "" falls back to the
	// remote address, which behind an ingress is the ingress for everyone.
	Caller func(r *http.Request) string
}

// HTTP wraps a whole HTTP server's handler: the in-flight cap first (503
// with Retry-After, before any work is done for the request), then the
// caller's token bucket (429 with Retry-After). The caller is who the
// Authorization header says (hashed: the services verify it; a made-up
// token buys a bucket that the services then refuse), else the remote
// address.
func HTTP(next http.Handler, cfg HTTPConfig) http.Handler {
	budget := newBudgetHeaders(cfg.Rates)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range cfg.Exempt {
			if r.URL.Path == p {
				next.ServeHTTP(w, r)
				return
			}
		}
		if !cfg.InFlight.Acquire() {
			if cfg.OnShed != nil {
				cfg.OnShed(r, ReasonOverloaded)
			}
			writeRefusal(w, http.StatusServiceUnavailable, codes.Unavailable, ReasonOverloaded, time.Second,
				"the server is at capacity; retry after a second")
			return
		}
		defer cfg.InFlight.Release()
		if cfg.Limiter != nil {
			q := cfg.Limiter.Take(httpCaller(r, cfg.Caller), cfg.Rates)
			budget.set(w.Header(), q)
			if !q.OK {
				if cfg.OnShed != nil {
					cfg.OnShed(r, ReasonRateLimited)
				}
				writeRefusal(w, http.StatusTooManyRequests, codes.ResourceExhausted, ReasonRateLimited, q.RetryAfter,
					"too many requests from this caller; slow down and retry later")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// budgetHeaders tell a client its budget before it runs out, in the
// fields of the IETF httpapi draft "RateLimit header fields for HTTP"
// (RateLimit-Limit, -Remaining and -Reset in seconds) and the policy as
// burst;w=seconds to refill it, so a client can pace itself instead of
// meeting a 429. The limit and the policy are the configuration's, so
// they are written out once.
type budgetHeaders struct {
	on            bool
	limit, policy string
}

func newBudgetHeaders(r Rates) budgetHeaders {
	if r.PerSecond <= 0 {
		return budgetHeaders{}
	}
	burst := max(r.Burst, 1)
	return budgetHeaders{on: true, limit: strconv.Itoa(burst),
		policy: fmt.Sprintf("%d;w=%d", burst, int(math.Ceil(float64(burst)/r.PerSecond)))}
}

func (b budgetHeaders) set(h http.Header, q Quota) {
	if !b.on || q.Remaining < 0 {
		return
	}
	h.Set("RateLimit-Limit", b.limit)
	h.Set("RateLimit-Remaining", strconv.Itoa(q.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(q.Reset.Seconds()))))
	h.Set("RateLimit-Policy", b.policy)
}

// httpCaller names the caller of r for its token bucket.
func httpCaller(r *http.Request, caller func(*http.Request) string) string {
	if a := strings.TrimSpace(r.Header.Get("Authorization")); a != "" {
		sum := sha256.Sum256([]byte(a))
		return "token:" + hex.EncodeToString(sum[:12])
	}
	if caller != nil {
		if c := caller(r); c != "" {
			return "caller:" + c
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// writeRefusal answers in the google.rpc.Status JSON every other error of
// the API has, with RetryInfo and a Retry-After header saying when to come
// back.
func writeRefusal(w http.ResponseWriter, httpStatus int, code codes.Code, reason string, after time.Duration, msg string) {
	st, err := status.New(code, msg).WithDetails(
		&errdetails.ErrorInfo{Reason: reason, Domain: Domain},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(after)},
	)
	if err != nil {
		st = status.New(code, msg)
	}
	b, _ := protojson.Marshal(st.Proto())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(after)))
	w.WriteHeader(httpStatus)
	_, _ = w.Write(b)
}

// RetryDelay returns the RetryInfo delay an error status carries.
func RetryDelay(st *status.Status) (time.Duration, bool) {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}
