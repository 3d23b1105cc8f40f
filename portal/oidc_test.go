package portal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// testProvider is an OpenID provider over httptest: discovery, JWKS, an
// authorization endpoint that signs the person in at once, and a token
// endpoint that checks the PKCE verifier and issues ES256 ID tokens.
type testProvider struct {
	t      *testing.T
	srv    *httptest.Server
	key    *ecdsa.PrivateKey
	client string
	claims map[string]any // of the person who signs in

	mu    sync.Mutex
	codes map[string]pendingCode
	// seen records what the portal sent, for the test to check.
	challengeMethod string
	verifierChecked bool
}

type pendingCode struct{ challenge, nonce, redirect string }

func newTestProvider(t *testing.T, client string, claims map[string]any) *testProvider {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{t: t, key: key, client: client, claims: claims, codes: map[string]pendingCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token",
			"jwks_uri": p.srv.URL + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("client_id") != p.client || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randomToken()
	p.mu.Lock()
	p.challengeMethod = q.Get("code_challenge_method")
	p.codes[code] = pendingCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri")}
	p.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
}

func (p *testProvider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	pc, ok := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge || r.PostFormValue("redirect_uri") != pc.redirect {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	p.mu.Lock()
	p.verifierChecked = true
	p.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.srv.URL, "aud": p.client, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": pc.nonce}
	for k, v := range p.claims {
		claims[k] = v
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "opaque-" + randomToken(), "token_type": "Bearer", "expires_in": 3600, "id_token": raw})
}

// TestOIDCSignInWithPKCE signs in through the provider and submits an
// idea: the services accept the provider's ID token the portal forwards.
func TestOIDCSignInWithPKCE(t *testing.T) {
	const client = "motor-portal"
	prov := newTestProvider(t, client, map[string]any{"sub": "person-1", "name": "Olle OIDC", "region": "vasterbotten", "roles": []string{"submitter"}})

	// The services trust the provider, as `motor serve -oidc-issuer` does.
	v, err := auth.NewVerifier(t.Context(), auth.Config{Issuer: prov.srv.URL, Audience: client, JWKSURL: prov.srv.URL + "/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	served, _ := config.ParseServed("vasterbotten")
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "motor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: v})
	ideav1.RegisterIdeaServiceServer(srv.GRPC, idea.New(idea.Config{Store: st, Regions: served}))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx, lis, time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	conn, err := rpc.Dial(lis.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	// The portal's own URL is needed for the redirect before it serves.
	portalSrv := httptest.NewUnstartedServer(nil)
	portalSrv.StartTLS()
	t.Cleanup(portalSrv.Close)
	p, err := newPortal(t.Context(), Config{
		Ideas: ideav1.NewIdeaServiceClient(conn), Needs: needsv1.NewNeedsServiceClient(conn), Partners: partnerv1.NewPartnerServiceClient(conn),
		Regions: served.IDs(), SessionKey: []byte(strings.Repeat("s", 32)),
		OIDC: &OIDCConfig{Issuer: prov.srv.URL, ClientID: client, ClientSecret: "secret", RedirectURL: portalSrv.URL + "/signin/callback"},
	})
	if err != nil {
		t.Fatal(err)
	}
	portalSrv.Config.Handler = p.Handler()
	e := &env{srv: portalSrv, portal: p}

	b := e.browser(t)
	_, body, _ := b.get("/signin")
	if strings.Contains(body, `action="/signin"`) {
		t.Fatal("the dev sign-in form is offered with an identity provider configured")
	}
	// The browser follows the redirects to the provider and back.
	b.c.CheckRedirect = nil
	resp, err := b.c.Get(portalSrv.URL + "/signin/oidc?next=/ideas/new")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ideas/new" {
		t.Fatalf("after sign-in at %s, want /ideas/new", resp.Request.URL)
	}
	if prov.challengeMethod != "S256" || !prov.verifierChecked {
		t.Fatalf("PKCE: challenge method %q, verifier checked %v; want S256 and true", prov.challengeMethod, prov.verifierChecked)
	}
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	page := b.submitIdea(sampleIdea())
	if _, body, _ := b.get(page); !strings.Contains(body, "Fallsensor i golvet") || !strings.Contains(body, "Olle OIDC") {
		t.Fatal("the idea submitted with the provider's token is not shown as the person's")
	}

	// A callback that is not the answer to our own request is refused.
	code, _, _ := b.get("/signin/callback?code=x&state=forged")
	if code != http.StatusUnauthorized {
		t.Fatalf("forged callback: status %d, want 401", code)
	}
}
