package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// OIDCConfig is the identity provider the portal signs people in with.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is this portal's /signin/callback as the provider knows it.
	RedirectURL string
	// Scopes beyond openid (default: profile).
	Scopes []string
	// HTTPClient reaches the provider (tests); nil means the default.
	HTTPClient *http.Client
}

type oidcClient struct {
	cfg      OIDCConfig
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newOIDCClient(ctx context.Context, cfg OIDCConfig) (*oidcClient, error) {
	if cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, cfg.HTTPClient)
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc.NewProvider: %w", err)
	}
	scopes := append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	if len(cfg.Scopes) == 0 {
		scopes = append(scopes, "profile")
	}
	return &oidcClient{
		cfg: cfg,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: provider.Endpoint(), Scopes: scopes,
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}),
	}, nil
}

func (c *oidcClient) context(ctx context.Context) context.Context {
	if c.cfg.HTTPClient != nil {
		return oidc.ClientContext(ctx, c.cfg.HTTPClient)
	}
	return ctx
}

// oidcState is what the portal remembers between sending the person to
// the provider and their coming back: in a short-lived sealed cookie.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x"`
}

type signinData struct {
	Next    string
	Expired bool
	Regions []string
	Failed  bool
}

func (p *Portal) signinPage(w http.ResponseWriter, r *http.Request) {
	d := signinData{Next: safeNext(r.URL.Query().Get("next")), Expired: r.URL.Query().Get("expired") != "", Regions: p.cfg.Regions}
	v := &view{Title: "signin.title", Data: d}
	if len(p.cfg.Regions) > 0 {
		v.Form = map[string][]string{"region": {p.cfg.Regions[0]}, "role": {string(auth.Submitter)}}
	}
	p.render(w, r, http.StatusOK, "signin", v)
}

// signinDev signs a token with the dev key for whoever the person says
// they are. It exists only in dev mode.
func (p *Portal) signinDev(w http.ResponseWriter, r *http.Request) {
	if p.cfg.DevSigner == nil {
		p.notFound(w, r)
		return
	}
	role := auth.Role(r.PostFormValue("role"))
	region := r.PostFormValue("region")
	name := strings.TrimSpace(r.PostFormValue("name"))
	next := safeNext(r.PostFormValue("next"))
	roles := []auth.Role{auth.Submitter}
	partner := ""
	switch role {
	case auth.Submitter:
	case auth.Advisor, auth.RegionAdmin:
		roles = append(roles, role)
	case auth.Partner:
		// A company user belongs to one partner of the region, named by
		// its id (the region admin's partner page shows it).
		roles = []auth.Role{auth.Partner}
		if id := strings.TrimSpace(r.PostFormValue("partner")); id != "" && slug(id) == id {
			partner = "regions/" + region + "/partners/" + id
		} else {
			role = ""
		}
	case auth.Coordinator:
		roles, region = []auth.Role{auth.Coordinator}, auth.NationalRegion
	default:
		role = ""
	}
	if role == "" || !slices.Contains(p.cfg.Regions, region) && region != auth.NationalRegion || name == "" || len(name) > 100 {
		v := &view{Title: "signin.title", Data: signinData{Next: next, Regions: p.cfg.Regions}, Form: r.PostForm, AlertKind: "error"}
		v.Alert = translate(chooseLang(r), "signin.badinput")
		p.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	sub := "dev-" + string(role) + "-" + region + "-" + slug(name)
	tok, err := p.cfg.DevSigner.Sign(auth.Claims{Subject: sub, Name: name, Region: region, Roles: roles, Partner: partner}, p.cfg.SessionTTL)
	if err != nil {
		p.logger.Error("portal: signing a dev token", "error", err)
		p.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	p.startSession(w, r, &session{Token: tok, Subject: sub, Name: name, Region: region, Roles: roles, Partner: partner, Expires: p.now().Add(p.cfg.SessionTTL)}, next)
}

// slug makes a subject id out of a name, so the same name signs in as the
// same person again (their ideas stay theirs across sign-ins).
func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == 'å' || r == 'ä':
			b.WriteRune('a')
		case r == 'ö':
			b.WriteRune('o')
		case r == ' ' || r == '-':
			b.WriteRune('-')
		}
	}
	return b.String()
}

func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, s *session, next string) {
	s.CSRF = randomToken()
	if err := p.cookies.set(w, sessionCookie, s, time.Until(s.Expires)+time.Minute); err != nil {
		p.logger.Error("portal: writing the session cookie", "error", err)
		p.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	if next == "/" {
		next = homeOf(s)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func homeOf(s *session) string {
	switch {
	case s.has(auth.Coordinator):
		return "/dashboard"
	case s.has(auth.Partner):
		return "/company"
	}
	if s.staff() {
		return "/board"
	}
	return "/ideas/mine"
}

func (p *Portal) oidcStart(w http.ResponseWriter, r *http.Request) {
	if p.oidc == nil {
		p.notFound(w, r)
		return
	}
	st := oidcState{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.URL.Query().Get("next"))}
	if err := p.cookies.set(w, oidcCookie, st, 10*time.Minute); err != nil {
		p.fail(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	u := p.oidc.oauth.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	http.Redirect(w, r, u, http.StatusFound)
}

// idClaims are the claims Motor's tokens carry (docs/architecture.md, "Identity and access").
type idClaims struct {
	Name   string   `json:"name"`
	Region string   `json:"region"`
	Roles  []string `json:"roles"`
	// Partner is a company user's partner (role partner).
	Partner string `json:"partner"`
}

func (p *Portal) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if p.oidc == nil {
		p.notFound(w, r)
		return
	}
	var st oidcState
	ok := p.cookies.get(r, oidcCookie, &st)
	p.cookies.clear(w, oidcCookie)
	q := r.URL.Query()
	if !ok || q.Get("state") == "" || q.Get("state") != st.State || q.Get("code") == "" {
		p.signinFailed(w, r, errors.New("state missing or not ours"))
		return
	}
	ctx, cancel := context.WithTimeout(p.oidc.context(r.Context()), 15*time.Second)
	defer cancel()
	tok, err := p.oidc.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier))
	if err != nil {
		p.signinFailed(w, r, fmt.Errorf("oauth2.Exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		p.signinFailed(w, r, errors.New("the token response has no id_token"))
		return
	}
	idt, err := p.oidc.verifier.Verify(ctx, raw)
	if err != nil {
		p.signinFailed(w, r, fmt.Errorf("oidc.Verify: %w", err))
		return
	}
	if idt.Nonce != st.Nonce {
		p.signinFailed(w, r, errors.New("nonce does not match"))
		return
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		p.signinFailed(w, r, fmt.Errorf("id token claims: %w", err))
		return
	}
	s := &session{Token: raw, Subject: idt.Subject, Name: c.Name, Region: c.Region, Partner: c.Partner, Expires: idt.Expiry}
	for _, role := range c.Roles {
		s.Roles = append(s.Roles, auth.Role(role))
	}
	// The ID token is what the portal forwards: the services verify it
	// themselves (issuer, audience, keys), so the portal grants nothing.
	p.startSession(w, r, s, st.Next)
}

func (p *Portal) signinFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.logger.Warn("portal: sign-in failed", "error", err)
	v := &view{Title: "signin.title", Data: signinData{Next: "/", Regions: p.cfg.Regions, Failed: true}, AlertKind: "error"}
	v.Alert = translate(chooseLang(r), "signin.failed")
	p.render(w, r, http.StatusUnauthorized, "signin", v)
}

func (p *Portal) signout(w http.ResponseWriter, r *http.Request) {
	p.cookies.clear(w, sessionCookie)
	p.cookies.clear(w, stashCookie)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// setLang is the language switch: a small form, so it works without
// JavaScript; the choice is kept in a cookie.
func (p *Portal) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	if lang != langSV && lang != langEN {
		lang = langSV
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: !p.cookies.insecure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, safeNext(r.PostFormValue("back")), http.StatusSeeOther)
}

func (p *Portal) home(w http.ResponseWriter, r *http.Request) {
	if s := p.cookies.session(r, p.now()); s != nil {
		http.Redirect(w, r, homeOf(s), http.StatusSeeOther)
		return
	}
	p.render(w, r, http.StatusOK, "home", &view{Title: "home.title"})
}

func (p *Portal) notFound(w http.ResponseWriter, r *http.Request) {
	p.fail(w, r, http.StatusNotFound, "err.notfound")
}

// fail shows a page with one message.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, code int, key string) {
	v := &view{Title: "err.title", AlertKind: "error"}
	v.Alert = translate(chooseLang(r), key)
	p.render(w, r, code, "error", v)
}

// failRPC shows what a person should know about a failed call on a page
// that has no form to keep.
func (p *Portal) failRPC(w http.ResponseWriter, r *http.Request, err error) {
	f := explain(err, chooseLang(r))
	if f.signin {
		p.toSignin(w, r)
		return
	}
	if f.code >= 500 && f.kind != "retry" {
		p.logger.Error("portal: service call failed", "path", r.URL.Path, "error", err)
	}
	v := &view{Title: "err.title"}
	v.prepare(r, p)
	v.show(f)
	p.render(w, r, f.code, "error", v)
}
