// Package portal owns Motor's own web pages: server-rendered HTML for the
// people who submit ideas and needs and for the region's innovation
// advisors. It is a client like any other: every page calls the services
// over gRPC with the signed-in person's bearer token, so every access rule
// the services enforce holds here with no second copy of it.
//
// Pages work with JavaScript off; htmx (vendored, embedded) only adds the
// duplicate hint while typing. The session is an encrypted cookie; sign-in
// is OpenID Connect (authorization code with PKCE) or, in dev mode, a page
// that signs tokens with the deployment's dev key.
package portal

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/innovationsmotorer/motor/internal/auth"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config is what the portal is built from.
type Config struct {
	Ideas    ideav1.IdeaServiceClient
	Needs    needsv1.NeedsServiceClient
	Partners partnerv1.PartnerServiceClient
	// Subprojects is this deployment's funding service (region admins'
	// pages); nil where the deployment runs none.
	Subprojects fundingv1.SubprojectServiceClient
	// Programmes is the programme ledger (the national deployment's).
	Programmes fundingv1.ProgrammeServiceClient
	// Reports are the region's reports over time (nil: no reports page).
	Reports reportsv1.ReportServiceClient
	// Exports serves the gateway's export routes
	// (/regions/{region}/exports/{file}) for the portal's downloads; nil:
	// none offered.
	Exports http.Handler
	// Coordinator is the national coordinator; nil on a region.
	Coordinator coordinatorv1.CoordinatorServiceClient
	// Persons gathers the signed-in person's own data ("Mina uppgifter");
	// nil: the page is not offered.
	Persons personv1.PersonServiceClient
	// RegionFunding reaches the funding service of a region this
	// deployment does not serve itself, for the coordinator's approvals;
	// nil: only Subprojects.
	RegionFunding func(region string) (fundingv1.SubprojectServiceClient, error)
	// Regions are the regions people may sign in to in dev mode.
	Regions []string
	// DevSigner signs dev-mode tokens; nil when an identity provider is
	// configured (then OIDC must be set).
	DevSigner *auth.Signer
	OIDC      *OIDCConfig
	// SessionKey encrypts the cookies (at least 32 bytes). Replicas share it.
	SessionKey []byte
	// InsecureCookies drops the Secure attribute, for a dev portal on plain
	// http over loopback only: browsers keep Secure cookies of
	// http://127.0.0.1 but not of other plain-http hosts.
	InsecureCookies bool
	Logger          *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a dev sign-in lasts (default 8h).
	SessionTTL time.Duration
}

// Portal serves the pages.
type Portal struct {
	cfg     Config
	cookies *cookies
	pages   map[string]*template.Template
	oidc    *oidcClient
	logger  *slog.Logger
	now     func() time.Time
}

// New builds the portal's HTTP handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	p, err := newPortal(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return p.Handler(), nil
}

func newPortal(ctx context.Context, cfg Config) (*Portal, error) {
	if cfg.Ideas == nil || cfg.Needs == nil || cfg.Partners == nil {
		return nil, errors.New("portal.New: the idea, needs and partner clients are required")
	}
	if cfg.DevSigner == nil && cfg.OIDC == nil {
		return nil, errors.New("portal.New: neither a dev signer nor an identity provider is configured")
	}
	s, err := newSealer(cfg.SessionKey)
	if err != nil {
		return nil, fmt.Errorf("portal.New: %w", err)
	}
	p := &Portal{cfg: cfg, cookies: &cookies{sealer: s, insecure: cfg.InsecureCookies}, logger: cfg.Logger, now: cfg.Now}
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.cfg.SessionTTL <= 0 {
		p.cfg.SessionTTL = 8 * time.Hour
	}
	if p.pages, err = parsePages(); err != nil {
		return nil, fmt.Errorf("portal.New: %w", err)
	}
	if cfg.OIDC != nil {
		if p.oidc, err = newOIDCClient(ctx, *cfg.OIDC); err != nil {
			return nil, fmt.Errorf("portal.New: %w", err)
		}
	}
	return p, nil
}

// parsePages parses every page with the shared layout.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"add2":  func(a, b any) float64 { return toFloat(a) + toFloat(b) },
		"half":  func(f float64) float64 { return f / 2 },
		"list":  func(v ...any) []any { return v },
		"lower": strings.ToLower,
		"chart": func(v *view, c funnelChart, id, title string) funnelView {
			return funnelView{V: v, Chart: c, ID: id, Title: title}
		},
	}).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		pages[page] = t
	}
	return pages, nil
}

// Handler is the portal's routes behind its security headers and
// cross-origin protection.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", p.home)
	mux.HandleFunc("GET /signin", p.signinPage)
	mux.HandleFunc("POST /signin", p.signinDev)
	mux.HandleFunc("GET /signin/oidc", p.oidcStart)
	mux.HandleFunc("GET /signin/callback", p.oidcCallback)
	mux.HandleFunc("POST /signout", p.signout)
	mux.HandleFunc("POST /lang", p.setLang)

	mux.HandleFunc("GET /ideas/new", p.signedIn(p.newIdeaPage))
	mux.HandleFunc("POST /ideas/new", p.signedIn(p.createIdea))
	mux.HandleFunc("POST /ideas/similar", p.similarIdeas)
	mux.HandleFunc("GET /ideas/mine", p.signedIn(p.myIdeas))
	mux.HandleFunc("GET /regions/{region}/ideas/{idea}", p.signedIn(p.ideaPage))
	mux.HandleFunc("POST /regions/{region}/ideas/{idea}/withdraw", p.signedIn(p.withdrawIdea))
	mux.HandleFunc("POST /regions/{region}/ideas/{idea}/erase", p.signedIn(p.eraseIdea))
	mux.HandleFunc("POST /regions/{region}/ideas/{idea}/transition", p.signedIn(p.transitionIdea))
	mux.HandleFunc("POST /regions/{region}/ideas/{idea}/assess", p.signedIn(p.assessIdea))
	mux.HandleFunc("POST /regions/{region}/ideas/{idea}/edit", p.signedIn(p.editIdea))
	mux.HandleFunc("GET /board", p.signedIn(p.board))

	mux.HandleFunc("GET /needs", p.signedIn(p.needsList))
	mux.HandleFunc("GET /needs/new", p.signedIn(p.newNeedPage))
	mux.HandleFunc("POST /needs/new", p.signedIn(p.createNeed))
	mux.HandleFunc("GET /regions/{region}/needs/{need}", p.signedIn(p.needPage))
	mux.HandleFunc("POST /regions/{region}/needs/{need}/screen", p.signedIn(p.screenNeed))
	mux.HandleFunc("POST /regions/{region}/needs/{need}/link", p.signedIn(p.linkNeed))

	mux.HandleFunc("GET /offers", p.signedIn(p.offers))
	mux.HandleFunc("POST /regions/{region}/offers/{offer}/route", p.signedIn(p.routeOffer))
	p.workRoutes(mux)
	mux.HandleFunc("GET /reports", p.signedIn(p.reportsPage))
	mux.HandleFunc("GET /regions/{region}/exports/{file}", p.signedIn(p.export))
	p.personRoutes(mux)

	mux.HandleFunc("/", p.notFound)

	cop := http.NewCrossOriginProtection()
	return securityHeaders(cop.Handler(p.checkCSRF(mux)))
}

// csp allows no inline script and no framing: every script is a file of
// ours, every style our one stylesheet.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// cacheStatic serves the embedded files (no folder listings) with an
// hour's caching.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// checkCSRF: on top of the browser's Sec-Fetch-Site/Origin check, a form
// posted in a session must carry that session's token. A post without a
// live session is let through: the handlers only keep its form for after
// sign-in and act on nothing.
func (p *Portal) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
			if s := p.cookies.session(r, p.now()); s != nil && r.PostFormValue("csrf") != s.CSRF {
				p.fail(w, r, http.StatusForbidden, "err.csrf")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// signedIn runs h for a signed-in person. Without a live session a GET
// goes to sign-in and comes back; a POST keeps its form in the stash so the
// page after sign-in shows what they had typed.
func (p *Portal) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.cookies.session(r, p.now())
		if s == nil {
			p.toSignin(w, r)
			return
		}
		h(w, r, s)
	}
}

// toSignin sends the person to sign in, keeping a posted form.
func (p *Portal) toSignin(w http.ResponseWriter, r *http.Request) {
	back := r.URL.Path
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err == nil {
			form := r.PostForm
			form.Del("csrf")
			back = formPage(r.URL.Path)
			if err := p.cookies.set(w, stashCookie, stash{Path: back, Form: form}, time.Hour); err != nil {
				p.logger.Warn("portal: form too large to keep over sign-in", "path", r.URL.Path, "error", err)
			}
		}
	}
	p.cookies.clear(w, sessionCookie)
	http.Redirect(w, r, "/signin?next="+urlQueryEscape(back)+"&expired=1", http.StatusSeeOther)
}

// formPage is the page whose form posts to path: the page to return to
// after sign-in.
func formPage(path string) string {
	switch {
	case path == "/ideas/new" || path == "/needs/new":
		return path
	case strings.Contains(path, "/offers/"):
		return "/offers"
	case strings.HasPrefix(path, "/regions/"):
		if i := strings.LastIndex(path, "/"); i > 0 {
			return path[:i]
		}
	}
	return "/"
}

// restore returns the stashed form for the page at path, once.
func (p *Portal) restore(w http.ResponseWriter, r *http.Request) map[string][]string {
	var st stash
	if !p.cookies.get(r, stashCookie, &st) || st.Path != r.URL.Path {
		return nil
	}
	p.cookies.clear(w, stashCookie)
	return st.Form
}

// withToken puts the person's token on the outgoing gRPC call.
func withToken(ctx context.Context, s *session) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Token)
}

func (p *Portal) rpcContext(r *http.Request, s *session) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	return withToken(ctx, s), cancel
}

// render writes page with the layout. Rendering into a buffer first means
// a template error is a clean 500, never half a page.
func (p *Portal) render(w http.ResponseWriter, r *http.Request, code int, page string, v *view) {
	t, ok := p.pages[page]
	if !ok {
		p.logger.Error("portal: no such page template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v.prepare(r, p)
	var buf bytes.Buffer
	name := "layout.html"
	if v.Fragment != "" {
		name = v.Fragment
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		p.logger.Error("portal: rendering page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
