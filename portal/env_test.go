package portal

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
)

// lateConn lets a service built before the server's connection exists
// call through it once it does.
type lateConn struct{ conn *grpc.ClientConn }

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.conn.Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.conn.NewStream(ctx, desc, method, opts...)
}

// lateServiceConn is lateConn for calls a service makes as itself.
type lateServiceConn struct{ conn grpc.ClientConnInterface }

func (l *lateServiceConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.conn.Invoke(ctx, method, args, reply, opts...)
}

func (l *lateServiceConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.conn.NewStream(ctx, desc, method, opts...)
}

// env is the real idea, needs and partner services behind their full
// gRPC interceptor chain on loopback, and the portal over httptest.
type env struct {
	stack  *stack.Env
	portal *Portal
	srv    *httptest.Server
	ideas  ideav1.IdeaServiceClient
	// offset is how far the portal's clock is ahead of the machine's.
	offset *atomic.Int64
	needs  needsv1.NeedsServiceClient
}

type envOption func(*Config)

// later moves the portal's clock on by d.
func (e *env) later(d time.Duration) { e.offset.Add(int64(d)) }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	late := &lateConn{}
	// Ideas are told of the needs linked to them as this deployment.
	lateService := &lateServiceConn{}
	se := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		ns, err := needs.New(needs.Config{Store: st, Regions: served, Ideas: ideav1.NewIdeaServiceClient(late), IdeaBacklinks: ideav1.NewIdeaServiceClient(lateService)})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, ns)
		ps, err := partner.New(partner.Config{Store: st, Regions: served, Needs: needsv1.NewNeedsServiceClient(late)})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
	})
	late.conn = se.Conn
	lateService.conn = auth.AsService(se.Conn, se.Credential)
	offset := &atomic.Int64{}
	cfg := Config{
		Now:   func() time.Time { return time.Now().Add(time.Duration(offset.Load())) },
		Ideas: ideav1.NewIdeaServiceClient(se.Conn), Needs: needsv1.NewNeedsServiceClient(se.Conn),
		Partners: partnerv1.NewPartnerServiceClient(se.Conn), Regions: served.IDs(), DevSigner: se.Signer,
		SessionKey: []byte(strings.Repeat("k", 32)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := newPortal(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(p.Handler())
	t.Cleanup(hs.Close)
	return &env{stack: se, portal: p, srv: hs, ideas: cfg.Ideas, needs: cfg.Needs, offset: offset}
}

// browser is one person's cookie jar against the portal.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A client of its own: the server's shared one would share the jar.
	c := &http.Client{Transport: e.srv.Client().Transport, Jar: jar}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, e: e, c: c}
}

// signIn signs in on the dev page and returns the browser.
func (e *env) signIn(t testing.TB, role, region, name string) *browser {
	t.Helper()
	b := e.browser(t)
	code, _, loc := b.post("/signin", url.Values{"role": {role}, "region": {region}, "name": {name}, "next": {"/"}})
	if code != http.StatusSeeOther {
		t.Fatalf("sign in as %s of %s: status %d, want 303", role, region, code)
	}
	if _, body, _ := b.get(loc); !strings.Contains(body, name) {
		t.Fatalf("after sign-in, %s does not name %q", loc, name)
	}
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (b *browser) do(req *http.Request) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(body); m != nil && len(m[1]) > 0 {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

func (b *browser) get(path string) (int, string, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form with the session's CSRF token, as the page's form does.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	if b.csrf != "" && form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// submitIdea submits the idea form and returns the idea's page path.
func (b *browser) submitIdea(form url.Values) string {
	b.t.Helper()
	b.get("/ideas/new")
	code, body, loc := b.post("/ideas/new", form)
	if code != http.StatusSeeOther {
		b.t.Fatalf("submit idea: status %d, want 303\n%s", code, body)
	}
	path, _, _ := strings.Cut(loc, "?")
	return path
}

func sampleIdea() url.Values {
	return url.Values{
		"title": {"Fallsensor i golvet"}, "problem": {"Äldre faller på natten och ligger länge innan någon märker det."},
		"proposal": {"En sensor i golvet larmar personalen."}, "care_area": {"Äldreomsorg"}, "origin": {"ORIGIN_STAFF"},
		"request_id": {"req-1"},
	}
}

// token signs a token with the stack's key, for direct gRPC calls.
func (e *env) ctxAs(t testing.TB, role auth.Role, region, sub string) context.Context {
	t.Helper()
	tok := e.stack.Token(t, auth.Claims{Subject: sub, Name: sub, Region: region, Roles: []auth.Role{role}})
	return withToken(t.Context(), &session{Token: tok})
}
