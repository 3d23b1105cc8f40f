package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitRefused verifies tok until it is refused, for at most ten seconds
// (far above any refresh interval used here), and returns the error.
func waitRefused(t *testing.T, v *Verifier, tok string) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Verify(t.Context(), tok)
		if err != nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// spendRefetch makes the verifier use its one reload for an unknown kid, so
// that for the next 30s of clk only the periodic refresh can change its keys.
func spendRefetch(t *testing.T, v *Verifier, clk *clock) {
	t.Helper()
	junk := newTestKey(t, "ES256", "junk")
	if _, err := v.Verify(t.Context(), mint(t, junk, hdrFor(junk), goodClaims(clk.now()))); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("junk kid: Verify error %v, want ErrUnknownKey", err)
	}
}

func TestVerify_RemovedKeyStopsBeingTrusted(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "RS256", "k2")
	srv := newJWKSServer(t, k1, k2)
	var log syncBuffer
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL + "/jwks",
		HTTPClient: srv.Client(), Now: clk.now, RefreshInterval: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	tok1 := mint(t, k1, hdrFor(k1), goodClaims(clk.now()))
	tok2 := mint(t, k2, hdrFor(k2), goodClaims(clk.now()))
	if _, err := v.Verify(t.Context(), tok1); err != nil {
		t.Fatalf("k1 before its removal: %v", err)
	}
	spendRefetch(t, v, clk)
	before := srv.fetches.Load()

	srv.serve(k2) // the identity provider withdraws k1
	err = waitRefused(t, v, tok1)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("token of the withdrawn key: Verify error %v, want ErrUnknownKey", err)
	}
	if got := srv.fetches.Load(); got <= before {
		t.Errorf("%d JWKS fetches after the removal, want more than %d", got, before)
	}
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Errorf("k2, still published: %v", err)
	}

	// A failing identity provider leaves the keys last loaded in place.
	srv.failing.Store(true)
	failed := srv.fetches.Load()
	for deadline := time.Now().Add(10 * time.Second); srv.fetches.Load() < failed+2; {
		if time.Now().After(deadline) {
			t.Fatal("no refresh attempted while the identity provider was down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Errorf("k2 while the identity provider is down: %v", err)
	}
	if got := log.String(); !strings.Contains(got, "reloading the signing keys failed") || !strings.Contains(got, "503") {
		t.Errorf("log %q does not say the reload failed with 503", got)
	}
}

// syncBuffer is a log destination the refresher writes while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestVerify_KeysKeptUntilRefreshIsDue(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	srv := newJWKSServer(t, k1)
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL,
		HTTPClient: srv.Client(), Now: clk.now, RefreshInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.serve(newTestKey(t, "ES256", "k2"))
	// Known keys are not fetched for: a withdrawn key stays trusted until
	// the refresh interval is over, which is why it is minutes, not hours.
	if _, err := v.Verify(t.Context(), mint(t, k1, hdrFor(k1), goodClaims(clk.now()))); err != nil {
		t.Fatalf("k1 within the refresh interval: %v", err)
	}
	if got := srv.fetches.Load(); got != 1 {
		t.Errorf("%d JWKS fetches, want 1", got)
	}
}

func TestVerify_JWKSFileReloadedOnChange(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "EdDSA", "k2")
	path := writeJWKS(t, k1)
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, JWKSFile: path, Now: clk.now,
		RefreshInterval: time.Hour, // only the change can reload it in time
	})
	if err != nil {
		t.Fatal(err)
	}
	tok1 := mint(t, k1, hdrFor(k1), goodClaims(clk.now()))
	tok2 := mint(t, k2, hdrFor(k2), goodClaims(clk.now()))
	if _, err := v.Verify(t.Context(), tok1); err != nil {
		t.Fatalf("k1: %v", err)
	}
	spendRefetch(t, v, clk)

	// Replace the file the way a deployment tool does: write and rename.
	tmp := filepath.Join(filepath.Dir(path), "jwks.json.new")
	if err := os.WriteFile(tmp, jwksOf(k2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if err := waitRefused(t, v, tok1); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("k1 after the file dropped it: Verify error %v, want ErrUnknownKey", err)
	}
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Errorf("k2 from the new file: %v", err)
	}
}

// oidcProvider is an OpenID Connect provider on loopback TLS: a discovery
// document and the JWKS it points at.
type oidcProvider struct {
	*httptest.Server
	issuer    atomic.Pointer[string] // what the discovery document claims
	noJWKSURI atomic.Bool
	keys      *jwksServer
}

func newOIDCProvider(t *testing.T, keys ...testKey) *oidcProvider {
	t.Helper()
	p := &oidcProvider{keys: newJWKSServer(t, keys...)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/motor/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := map[string]any{
			"issuer":                                *p.issuer.Load(),
			"authorization_endpoint":                p.URL + "/realms/motor/auth",
			"token_endpoint":                        p.URL + "/realms/motor/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		}
		if !p.noJWKSURI.Load() {
			doc["jwks_uri"] = p.URL + "/realms/motor/certs"
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	})
	mux.HandleFunc("GET /realms/motor/certs", p.keys.Config.Handler.ServeHTTP)
	p.Server = httptest.NewTLSServer(mux)
	t.Cleanup(p.Close)
	iss := p.issuerURL()
	p.issuer.Store(&iss)
	return p
}

func (p *oidcProvider) issuerURL() string { return p.URL + "/realms/motor" }

func TestNewVerifier_Discovery(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "RS256", "k1")
	k2 := newTestKey(t, "ES256", "k2")
	idp := newOIDCProvider(t, k1)
	v, err := NewVerifier(t.Context(), Config{
		Issuer: idp.issuerURL(), Audience: testAudience, HTTPClient: idp.Client(), Now: clk.now,
	})
	if err != nil {
		t.Fatalf("NewVerifier with only an issuer: %v", err)
	}
	claims := with(goodClaims(clk.now()), "iss", idp.issuerURL())
	id, err := v.Verify(t.Context(), mint(t, k1, hdrFor(k1), claims))
	if err != nil {
		t.Fatalf("token of the provider's key: %v", err)
	}
	if id.Subject != "user-1" || id.Region != "vasterbotten" {
		t.Errorf("identity %+v, want user-1 of vasterbotten", id)
	}
	if _, err := v.Verify(t.Context(), mint(t, k1, hdrFor(k1), goodClaims(clk.now()))); !errors.Is(err, ErrClaims) {
		t.Errorf("token of another issuer: Verify error %v, want ErrClaims", err)
	}
	idp.keys.serve(k1, k2) // rotation arrives through the discovered jwks_uri
	if _, err := v.Verify(t.Context(), mint(t, k2, hdrFor(k2), claims)); err != nil {
		t.Errorf("token of a key added later: %v", err)
	}
	if got := idp.keys.fetches.Load(); got != 2 {
		t.Errorf("%d JWKS fetches, want 2", got)
	}
}

func TestNewVerifier_DiscoveryRefused(t *testing.T) {
	k := newTestKey(t, "RS256", "k")
	tests := []struct {
		name    string
		setup   func(*oidcProvider)
		issuer  func(*oidcProvider) string
		wantMsg string
	}{
		{"document names another issuer", func(p *oidcProvider) {
			evil := "https://evil.example/realms/motor"
			p.issuer.Store(&evil)
		}, (*oidcProvider).issuerURL, "evil.example"},
		{"no jwks_uri", func(p *oidcProvider) { p.noJWKSURI.Store(true) }, (*oidcProvider).issuerURL, "no jwks_uri"},
		{"no discovery document", func(*oidcProvider) {}, func(p *oidcProvider) string { return p.URL + "/elsewhere" }, "404"},
		{"JWKS down", func(p *oidcProvider) { p.keys.failing.Store(true) }, (*oidcProvider).issuerURL, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newOIDCProvider(t, k)
			tt.setup(idp)
			_, err := NewVerifier(t.Context(), Config{Issuer: tt.issuer(idp), Audience: testAudience, HTTPClient: idp.Client()})
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("NewVerifier error %v, want one saying %q", err, tt.wantMsg)
			}
		})
	}
}
