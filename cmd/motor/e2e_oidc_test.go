package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// identityProvider is an OpenID Connect provider on loopback: a discovery
// document, the JWKS it points at, and the keys that sign its tokens.
type identityProvider struct {
	*httptest.Server
	jwks atomic.Pointer[[]byte]
	file string // the same key set as a file, for -jwks
}

func (p *identityProvider) issuer() string { return p.URL + "/realms/motor" }

func newIdentityProvider(t *testing.T) *identityProvider {
	t.Helper()
	p := &identityProvider{file: filepath.Join(t.TempDir(), "jwks.json")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /realms/motor/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.issuer(),
			"authorization_endpoint":                p.issuer() + "/protocol/openid-connect/auth",
			"token_endpoint":                        p.issuer() + "/protocol/openid-connect/token",
			"jwks_uri":                              p.issuer() + "/protocol/openid-connect/certs",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /realms/motor/protocol/openid-connect/certs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*p.jwks.Load())
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// publish makes keys the provider's key set, served and in its file.
func (p *identityProvider) publish(t *testing.T, keys ...jose.JSONWebKey) {
	t.Helper()
	set := jose.JSONWebKeySet{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.Public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	p.jwks.Store(&b)
	// Write and rename, so the server never reads half a file.
	tmp := p.file + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p.file); err != nil {
		t.Fatal(err)
	}
}

func newRSAKey(t *testing.T, kid string) jose.JSONWebKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
}

// token is what the provider would issue an advisor of Västerbotten.
func (p *identityProvider) token(t *testing.T, key jose.JSONWebKey) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Signed(signer).Claims(map[string]any{
		"iss": p.issuer(), "aud": "motor", "sub": "advisor-1", "name": "Anna Andersson",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"region": "vasterbotten", "roles": []string{"advisor"},
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestServe_IdentityProvider runs the binary against an identity provider:
// given by its issuer alone (the keys come from discovery), or with its
// JWKS as a URL or a file. A key the provider withdraws stops being
// accepted once -jwks-refresh has passed, or for a file once it changes.
func TestServe_IdentityProvider(t *testing.T) {
	bin := buildMotor(t)
	tests := []struct {
		name string
		jwks func(*identityProvider) string // the -jwks flag, "" for none
	}{
		{"issuer alone", func(*identityProvider) string { return "" }},
		{"JWKS URL", func(p *identityProvider) string { return p.issuer() + "/protocol/openid-connect/certs" }},
		{"JWKS file", func(p *identityProvider) string { return p.file }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp := newIdentityProvider(t)
			k1, k2 := newRSAKey(t, "k1"), newRSAKey(t, "k2")
			idp.publish(t, k1, k2)
			args := []string{"-data", t.TempDir(), "-demo=false", "-oidc-issuer", idp.issuer(), "-jwks-refresh", "200ms"}
			if jwks := tt.jwks(idp); jwks != "" {
				args = append(args, "-jwks", jwks)
			}
			p := startMotor(t, bin, args...)
			defer p.stop(t)
			ideas := p.url + "/v1/regions/vasterbotten/ideas"

			tok1, tok2 := idp.token(t, k1), idp.token(t, k2)
			if code, body := call(t, "GET", ideas, tok1, ""); code != http.StatusOK {
				t.Fatalf("token of the provider's key: %d %v", code, body)
			}
			if code, _ := call(t, "GET", ideas, "", ""); code != http.StatusUnauthorized {
				t.Errorf("no token: %d, want 401", code)
			}

			idp.publish(t, k2) // the provider withdraws k1
			deadline := time.Now().Add(15 * time.Second)
			for {
				code, body := call(t, "GET", ideas, tok1, "")
				if code == http.StatusUnauthorized {
					break
				}
				if code != http.StatusOK || time.Now().After(deadline) {
					t.Fatalf("token of the withdrawn key: %d %v, want 401 once the keys are reloaded", code, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if code, body := call(t, "GET", ideas, tok2, ""); code != http.StatusOK {
				t.Errorf("token of the key still published: %d %v", code, body)
			}
		})
	}
}
