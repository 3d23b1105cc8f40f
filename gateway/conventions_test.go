package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// raw is a client that leaves Accept-Encoding and decompression to the
// test.
var raw = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// conv is the gateway in front of a real idea service, with its spans
// recorded.
type conv struct {
	e     *stack.Env
	tok   string
	tel   *telemetry.Telemetry
	spans *tracetest.SpanRecorder
}

func startConventions(t *testing.T) *conv {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), telemetry.Options{Service: "motor-test", Target: "test"})
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	tel.TracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	served, _ := config.ParseServed("vasterbotten")
	st := stack.Backends()[0].Open(t)
	e := stack.StartWith(t, st, tel, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
	})
	return &conv{e: e, tok: e.As(t, auth.Advisor, "vasterbotten").Token, tel: tel, spans: spans}
}

func (c *conv) call(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	return do(t, c.e.HTTP.URL, method, path, body, "Bearer "+c.tok, hdr)
}

func do(t *testing.T, base, method, path, body, authz string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (c *conv) create(t *testing.T, title string) map[string]any {
	t.Helper()
	resp, b := c.call(t, "POST", "/v1/regions/vasterbotten/ideas",
		`{"title":"`+title+`","problem":"Patienter vet inte hur länge de får vänta","origin":"ORIGIN_STAFF"}`, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// errorReasons decodes a google.rpc.Status body and returns the ErrorInfo
// reason and the BadRequest fields.
func errorReasons(t *testing.T, b []byte) (string, []string) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type            string `json:"@type"`
			Reason          string `json:"reason"`
			Domain          string `json:"domain"`
			FieldViolations []struct {
				Field string `json:"field"`
			} `json:"fieldViolations"`
		} `json:"details"`
	}
	if err := json.Unmarshal(b, &st); err != nil || st.Code == 0 {
		t.Fatalf("not a google.rpc.Status: %s (%v)", b, err)
	}
	reason := ""
	var fields []string
	for _, d := range st.Details {
		switch {
		case strings.HasSuffix(d.Type, "ErrorInfo"):
			reason = d.Reason
			if d.Domain == "" {
				t.Errorf("ErrorInfo without a domain: %s", b)
			}
		case strings.HasSuffix(d.Type, "BadRequest"):
			for _, f := range d.FieldViolations {
				fields = append(fields, f.Field)
			}
		}
	}
	return reason, fields
}

func TestRequestID(t *testing.T) {
	c := startConventions(t)
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, tc := range []struct {
		name, sent string
		echoed     bool
	}{
		{"none sent", "", false},
		{"well-formed", "portal-4711.a:b/c=", true},
		{"spaces", "not an id", false},
		{"too long", strings.Repeat("a", 129), false},
		{"control character", "a\tb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.sent != "" {
				hdr["X-Request-Id"] = tc.sent
			}
			resp, _ := c.call(t, "GET", "/v1/regions/vasterbotten/ideas", "", hdr)
			got := resp.Header.Get("X-Request-Id")
			if tc.echoed && got != tc.sent {
				t.Errorf("X-Request-Id %q, want %q echoed", got, tc.sent)
			}
			if !tc.echoed && !generated.MatchString(got) {
				t.Errorf("X-Request-Id %q, want a generated id", got)
			}
			found := false
			for _, s := range c.spans.Ended() {
				for _, a := range s.Attributes() {
					found = found || (a.Key == gateway.AttrRequestID && a.Value.AsString() == got)
				}
			}
			if !found {
				t.Errorf("no span carries %s=%q", gateway.AttrRequestID, got)
			}
		})
	}
}

func TestErrors_StatusWithErrorInfo(t *testing.T) {
	c := startConventions(t)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		reason                   string
		fields                   []string
	}{
		{"bad json", "POST", "/v1/regions/vasterbotten/ideas", `{"bad json`, 400, "MALFORMED_REQUEST", nil},
		{"unknown body field", "POST", "/v1/regions/vasterbotten/ideas", `{"nope":1}`, 400, "MALFORMED_REQUEST", []string{"nope"}},
		{"wrong type", "POST", "/v1/regions/vasterbotten/ideas", `{"title":5}`, 400, "MALFORMED_REQUEST", nil},
		{"unknown route", "GET", "/v1/regions/vasterbotten/nowhere", "", 404, "ROUTE_NOT_FOUND", nil},
		{"method not allowed", "DELETE", "/v1/regions/vasterbotten/ideas", "", 405, "METHOD_NOT_ALLOWED", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := c.call(t, tc.method, tc.path, tc.body, nil)
			if resp.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.code)
			}
			reason, fields := errorReasons(t, b)
			if reason != tc.reason {
				t.Errorf("reason %q, want %q (%s)", reason, tc.reason, b)
			}
			if fmt.Sprint(fields) != fmt.Sprint(tc.fields) && tc.fields != nil {
				t.Errorf("bad fields %v, want %v", fields, tc.fields)
			}
		})
	}
}

func TestNoGRPCMetadataHeaders(t *testing.T) {
	c := startConventions(t)
	created := c.create(t, "Metadata")
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/v1/" + created["name"].(string), ""},
		{"GET", "/v1/regions/vasterbotten/ideas", ""},
		{"POST", "/v1/regions/vasterbotten/ideas", `{"nope":1}`},
	} {
		resp, _ := c.call(t, tc.method, tc.path, tc.body, map[string]string{"Grpc-Metadata-Motor-Caller": "forged"})
		for k := range resp.Header {
			if strings.HasPrefix(k, "Grpc-Metadata-") {
				t.Errorf("%s %s: response header %s: %v", tc.method, tc.path, k, resp.Header[k])
			}
		}
	}
}

func TestETagAndConditionals(t *testing.T) {
	c := startConventions(t)
	created := c.create(t, "Villkor")
	name, etag := created["name"].(string), created["etag"].(string)
	quoted := `"` + etag + `"`

	resp, _ := c.call(t, "GET", "/v1/"+name, "", nil)
	if resp.Header.Get("ETag") != quoted {
		t.Fatalf("GET ETag %q, want %q", resp.Header.Get("ETag"), quoted)
	}
	for _, tc := range []struct {
		name, inm string
		code      int
	}{
		{"matching", quoted, 304},
		{"weak matching", "W/" + quoted, 304},
		{"in a list", `"zz", ` + quoted, 304},
		{"star", "*", 304},
		{"other", `"zz"`, 200},
	} {
		t.Run("If-None-Match "+tc.name, func(t *testing.T) {
			resp, b := c.call(t, "GET", "/v1/"+name, "", map[string]string{"If-None-Match": tc.inm})
			if resp.StatusCode != tc.code {
				t.Fatalf("%d, want %d", resp.StatusCode, tc.code)
			}
			if tc.code == 304 && len(b) != 0 {
				t.Errorf("304 with a body: %q", b)
			}
			if resp.Header.Get("ETag") != quoted {
				t.Errorf("ETag %q, want %q", resp.Header.Get("ETag"), quoted)
			}
		})
	}

	// If-Match: the header is the etag; a stale one is 412 only when the
	// header said it.
	resp, b := c.call(t, "PATCH", "/v1/"+name+"?updateMask=title", `{"title":"Villkor 2","etag":"99"}`, nil)
	if resp.StatusCode != 409 {
		t.Errorf("stale etag in the body: %d %s, want 409", resp.StatusCode, b)
	}
	resp, b = c.call(t, "PATCH", "/v1/"+name+"?updateMask=title", `{"title":"Villkor 2"}`, map[string]string{"If-Match": `"99"`})
	if resp.StatusCode != 412 {
		t.Errorf("stale If-Match: %d %s, want 412", resp.StatusCode, b)
	} else if reason, _ := errorReasons(t, b); reason == "" {
		t.Errorf("412 without ErrorInfo: %s", b)
	}
	resp, b = c.call(t, "PATCH", "/v1/"+name+"?updateMask=title", `{"title":"Villkor 2"}`, map[string]string{"If-Match": quoted})
	if resp.StatusCode != 200 {
		t.Fatalf("If-Match current: %d %s", resp.StatusCode, b)
	}
	var updated map[string]any
	_ = json.Unmarshal(b, &updated)
	if updated["title"] != "Villkor 2" || resp.Header.Get("ETag") != `"`+updated["etag"].(string)+`"` {
		t.Errorf("PATCH answered %v with ETag %q", updated, resp.Header.Get("ETag"))
	}
	if resp, _ := c.call(t, "GET", "/v1/"+name, "", map[string]string{"If-None-Match": quoted}); resp.StatusCode != 200 {
		t.Errorf("If-None-Match with the old etag after an update: %d, want 200", resp.StatusCode)
	}
}

func TestIdempotencyKey(t *testing.T) {
	c := startConventions(t)
	body := `{"title":"Nyckel","problem":"Samma anrop två gånger","origin":"ORIGIN_STAFF"}`
	first, b1 := c.call(t, "POST", "/v1/regions/vasterbotten/ideas", body, map[string]string{"Idempotency-Key": "k-1"})
	again, b2 := c.call(t, "POST", "/v1/regions/vasterbotten/ideas?requestId=k-1", body, map[string]string{"Idempotency-Key": "k-1"})
	if first.StatusCode != 200 || again.StatusCode != 200 {
		t.Fatalf("creates: %d %s / %d %s", first.StatusCode, b1, again.StatusCode, b2)
	}
	var a, b map[string]any
	_ = json.Unmarshal(b1, &a)
	_ = json.Unmarshal(b2, &b)
	if a["name"] != b["name"] {
		t.Errorf("same key created twice: %v and %v", a["name"], b["name"])
	}
	_, b3 := c.call(t, "POST", "/v1/regions/vasterbotten/ideas", body, map[string]string{"Idempotency-Key": "k-2"})
	var other map[string]any
	_ = json.Unmarshal(b3, &other)
	if other["name"] == a["name"] {
		t.Errorf("another key answered the first create: %v", other["name"])
	}
	for _, q := range []string{"requestId", "request_id"} {
		resp, b := c.call(t, "POST", "/v1/regions/vasterbotten/ideas?"+q+"=k-3", body, map[string]string{"Idempotency-Key": "k-1"})
		if resp.StatusCode != 400 {
			t.Fatalf("%s differing: %d %s, want 400", q, resp.StatusCode, b)
		}
		if _, fields := errorReasons(t, b); fmt.Sprint(fields) != fmt.Sprint([]string{"Idempotency-Key", q}) {
			t.Errorf("%s differing names %v", q, fields)
		}
	}
}

func TestGzip(t *testing.T) {
	c := startConventions(t)
	for i := range 8 {
		c.create(t, fmt.Sprintf("Komprimerad idé nummer %d med en lång titel", i))
	}
	_, plain := c.call(t, "GET", "/v1/regions/vasterbotten/ideas", "", nil)
	if len(plain) <= 1024 {
		t.Fatalf("list is %d bytes; the test needs more than 1 KiB", len(plain))
	}
	for _, tc := range []struct {
		name, path, accept string
		gzipped            bool
	}{
		{"large, accepted", "/v1/regions/vasterbotten/ideas", "gzip, deflate", true},
		{"large, not accepted", "/v1/regions/vasterbotten/ideas", "", false},
		{"large, refused", "/v1/regions/vasterbotten/ideas", "gzip;q=0", false},
		{"small", "/healthz", "gzip", false},
		{"openapi", "/openapi.json", "gzip", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.accept != "" {
				hdr["Accept-Encoding"] = tc.accept
			}
			resp, b := c.call(t, "GET", tc.path, "", hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("no Vary: Accept-Encoding: %v", resp.Header)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("gzipped %v, want %v", got, tc.gzipped)
			}
			if !tc.gzipped {
				return
			}
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) >= len(out) || !json.Valid(out) {
				t.Errorf("gzip %d bytes of %d, valid JSON %v", len(b), len(out), json.Valid(out))
			}
			if tc.path == "/v1/regions/vasterbotten/ideas" && !bytes.Equal(out, plain) {
				t.Errorf("decompressed body differs from the plain one")
			}
		})
	}
}

func TestHeadAndAllow(t *testing.T) {
	c := startConventions(t)
	created := c.create(t, "Huvud")
	name := created["name"].(string)
	for _, tc := range []struct {
		name, method, path string
		code               int
		allow              string
	}{
		{"HEAD a resource", "HEAD", "/v1/" + name, 200, ""},
		{"HEAD a list", "HEAD", "/v1/regions/vasterbotten/ideas", 200, ""},
		{"HEAD healthz", "HEAD", "/healthz", 200, ""},
		{"DELETE a list", "DELETE", "/v1/regions/vasterbotten/ideas", 405, "GET, HEAD, POST"},
		{"PUT a resource", "PUT", "/v1/" + name, 405, "GET, HEAD, PATCH"},
		{"GET a custom method", "GET", "/v1/regions/vasterbotten/ideas:findSimilar", 405, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := c.call(t, tc.method, tc.path, "", nil)
			if resp.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.code)
			}
			if tc.method == "HEAD" && len(b) != 0 {
				t.Errorf("HEAD with a body: %q", b)
			}
			if got := resp.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
	resp, _ := c.call(t, "HEAD", "/v1/"+name, "", nil)
	if resp.Header.Get("ETag") != `"`+created["etag"].(string)+`"` {
		t.Errorf("HEAD ETag %q", resp.Header.Get("ETag"))
	}
}

func TestCORS(t *testing.T) {
	c := startConventions(t)
	h, err := gateway.New(t.Context(), gateway.Config{
		Upstreams: gateway.AllOn(c.e.Conn),
		CORS:      gateway.CORS{AllowedOrigins: []string{"https://portal.example.se"}, AllowCredentials: true, MaxAgeSeconds: 120},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	preflight := map[string]string{"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization, if-match"}
	with := func(origin string, m map[string]string) map[string]string {
		out := map[string]string{"Origin": origin}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		allowOrigin        string
	}{
		{"preflight, allowed", "OPTIONS", "/v1/regions/vasterbotten/ideas/x", with("https://portal.example.se", preflight), 204, "https://portal.example.se"},
		{"preflight, other origin", "OPTIONS", "/v1/regions/vasterbotten/ideas/x", with("https://evil.example", preflight), 405, ""},
		{"GET, allowed", "GET", "/v1/regions/vasterbotten/ideas", with("https://portal.example.se", nil), 200, "https://portal.example.se"},
		{"GET, other origin", "GET", "/v1/regions/vasterbotten/ideas", with("https://evil.example", nil), 200, ""},
		{"openapi, allowed", "GET", "/openapi.json", with("https://portal.example.se", nil), 200, "https://portal.example.se"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, hs.URL, tc.method, tc.path, "", "Bearer "+c.tok, tc.hdr)
			if resp.StatusCode != tc.code {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tc.code)
			}
			if tc.code == 405 && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Errorf("Allow-Origin %q, want %q", got, tc.allowOrigin)
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("no Vary: Origin")
			}
			if tc.allowOrigin == "" {
				return
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
				t.Errorf("no Allow-Credentials")
			}
			if tc.method == "OPTIONS" {
				for _, want := range []struct{ h, v string }{
					{"Access-Control-Allow-Methods", "PATCH"},
					{"Access-Control-Allow-Headers", "If-Match"},
					{"Access-Control-Allow-Headers", "Authorization"},
					{"Access-Control-Max-Age", "120"},
				} {
					if !strings.Contains(resp.Header.Get(want.h), want.v) {
						t.Errorf("%s %q lacks %s", want.h, resp.Header.Get(want.h), want.v)
					}
				}
				return
			}
			for _, e := range []string{"ETag", "Retry-After", "X-Request-Id", "RateLimit-Remaining"} {
				if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), e) {
					t.Errorf("Expose-Headers %q lacks %s", resp.Header.Get("Access-Control-Expose-Headers"), e)
				}
			}
		})
	}
	_, err = gateway.New(t.Context(), gateway.Config{CORS: gateway.CORS{AllowedOrigins: []string{"*"}, AllowCredentials: true}})
	if !errors.Is(err, gateway.ErrCORSWildcardCredentials) {
		t.Errorf("* with credentials: %v, want ErrCORSWildcardCredentials", err)
	}
	if _, err := gateway.New(t.Context(), gateway.Config{CORS: gateway.CORS{AllowedOrigins: []string{"*"}}}); err != nil {
		t.Errorf("* without credentials: %v", err)
	}
}
