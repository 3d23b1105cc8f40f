package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestVerify_RoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			key := newTestKey(t, alg, "key-"+alg)
			v, err := NewVerifier(t.Context(), Config{
				Issuer: testIssuer, Audience: testAudience,
				JWKSFile: writeJWKS(t, key), Now: clk.now,
			})
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			tok := mint(t, key, hdrFor(key), with(goodClaims(clk.now()),
				"aud", []string{"other-api", testAudience},
				"roles", []string{"advisor", "region_admin", "advisor"},
			))
			got, err := v.Verify(t.Context(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := &Identity{
				Subject: "user-1", Name: "Anna Andersson", Region: "vasterbotten",
				Roles: []Role{Advisor, RegionAdmin}, Token: tok,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerify_Accepts(t *testing.T) {
	clk := newClock()
	es := newTestKey(t, "ES256", "es")
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, JWKSFile: writeJWKS(t, es), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.now()
	good := goodClaims(now)
	tests := []struct {
		name   string
		token  string
		wantFn func(*Identity) string
	}{
		{"expired within leeway", mint(t, es, hdrFor(es), with(good, "iat", now.Add(-time.Hour).Unix(), "exp", now.Add(-10*time.Second).Unix())), nil},
		{"nbf within leeway", mint(t, es, hdrFor(es), with(good, "nbf", now.Add(10*time.Second).Unix())), nil},
		{"fractional dates", mint(t, es, hdrFor(es), with(good, "exp", float64(now.Add(time.Hour).Unix())+0.5)), nil},
		{"no kid, single key", mint(t, es, map[string]any{"alg": "ES256"}, good), nil},
		{"no roles means submitter", mint(t, es, hdrFor(es), without(good, "roles")), func(id *Identity) string {
			return cmp.Diff([]Role{Submitter}, id.Roles)
		}},
		{"coordinator of national", mint(t, es, hdrFor(es), with(good, "region", NationalRegion, "roles", []string{"coordinator"})), nil},
		{"partner with partner claim", mint(t, es, hdrFor(es), with(good, "roles", []string{"partner"}, "partner", "partners/acme")), func(id *Identity) string {
			return cmp.Diff("partners/acme", id.Partner)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.wantFn != nil {
				if diff := tt.wantFn(id); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestVerify_Rejects(t *testing.T) {
	clk := newClock()
	es := newTestKey(t, "ES256", "es")
	rs := newTestKey(t, "RS256", "rs")
	ed := newTestKey(t, "EdDSA", "ed")
	es384 := newTestKey(t, "ES384", "es384")
	other := newTestKey(t, "ES256", "es") // same kid, different key: a forger
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience,
		JWKSFile: writeJWKS(t, es, rs, ed, es384), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	now := clk.now()
	good := goodClaims(now)
	valid := mint(t, es, hdrFor(es), good)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + enc([]byte(strings.Replace(
		`{"iss":"`+testIssuer+`","aud":"`+testAudience+`","sub":"user-1","region":"vasterbotten","roles":["advisor"],"exp":`+
			fmt.Sprint(now.Add(time.Hour).Unix())+`}`, "vasterbotten", "uppsala", 1))) + "." + parts[2]
	rsValid := mint(t, rs, hdrFor(rs), good)

	tests := []struct {
		name    string
		token   string
		wantErr error
		wantMsg string
	}{
		{"expired", mint(t, es, hdrFor(es), with(good, "exp", now.Add(-time.Hour).Unix())), ErrExpired, "token expired at 2026-03-10T08:00:00Z"},
		{"not yet valid", mint(t, es, hdrFor(es), with(good, "nbf", now.Add(time.Hour).Unix())), ErrNotYetValid, "token not valid before 2026-03-10T10:00:00Z"},
		{"issued in the future", mint(t, es, hdrFor(es), with(good, "iat", now.Add(time.Hour).Unix())), ErrNotYetValid, "issued in the future"},
		{"wrong issuer", mint(t, es, hdrFor(es), with(good, "iss", "https://evil.example")), ErrClaims, `issuer "https://evil.example" not accepted`},
		{"wrong audience", mint(t, es, hdrFor(es), with(good, "aud", "other-api")), ErrClaims, `audience "other-api" not accepted`},
		{"wrong audience array", mint(t, es, hdrFor(es), with(good, "aud", []string{"a", "b"})), ErrClaims, `audience "a,b" not accepted`},
		{"no audience", mint(t, es, hdrFor(es), without(good, "aud")), ErrClaims, "no audience"},
		{"alg none", enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".", ErrAlgorithm, `"none" (unsigned token) is never accepted`},
		{"alg NONE", enc([]byte(`{"alg":"NONE","kid":"es"}`)) + "." + parts[1] + ".", ErrAlgorithm, "never accepted"},
		{"HS256 with the public key as secret", mintHMAC(t, "rs", []byte(rs.jwk["n"]), good), ErrAlgorithm, "HS256 (shared-secret HMAC) is never accepted"},
		{"alg not in allow-list", mint(t, es384, hdrFor(es384), good), ErrAlgorithm, "algorithm ES384 is not in the allow-list [RS256 ES256 EdDSA]"},
		{"RS256 header on EC key", mint(t, rs, map[string]any{"alg": "RS256", "kid": "es"}, good), ErrAlgorithm, `key "es" is an EC P-256 key, token alg RS256 needs an RSA key`},
		{"ES256 header on Ed25519 key", mint(t, es, map[string]any{"alg": "ES256", "kid": "ed"}, good), ErrAlgorithm, "needs an EC P-256 key"},
		{"EdDSA header on RSA key", mint(t, ed, map[string]any{"alg": "EdDSA", "kid": "rs"}, good), ErrAlgorithm, "needs an OKP Ed25519 key"},
		{"bad signature", mint(t, other, hdrFor(other), good), ErrSignature, `signature does not verify with key "es"`},
		{"RSA bad signature", rsValid[:len(rsValid)-4] + "AAAA", ErrSignature, "signature does not verify"},
		{"tampered payload", tampered, ErrSignature, "signature does not verify"},
		{"truncated ECDSA signature", parts[0] + "." + parts[1] + "." + parts[2][:20], ErrSignature, "signature does not verify"},
		{"unknown kid", mint(t, es, map[string]any{"alg": "ES256", "kid": "nope"}, good), ErrUnknownKey, `unknown kid "nope"`},
		{"no kid with several keys", mint(t, es, map[string]any{"alg": "ES256"}, good), ErrUnknownKey, "names no kid and the key set holds 4 keys"},
		{"missing sub", mint(t, es, hdrFor(es), without(good, "sub")), ErrClaims, "no sub claim"},
		{"missing exp", mint(t, es, hdrFor(es), without(good, "exp")), ErrClaims, "no exp claim"},
		{"missing region", mint(t, es, hdrFor(es), without(good, "region")), ErrClaims, "no region claim"},
		{"unknown role", mint(t, es, hdrFor(es), with(good, "roles", []string{"advisor", "superuser"})), ErrClaims, `unknown role "superuser"`},
		{"coordinator outside national", mint(t, es, hdrFor(es), with(good, "roles", []string{"coordinator"})), ErrClaims, `role coordinator requires region "national"`},
		{"partner without partner claim", mint(t, es, hdrFor(es), with(good, "roles", []string{"partner"})), ErrClaims, "requires a partner claim"},
		{"roles not an array", mint(t, es, hdrFor(es), with(good, "roles", "advisor")), ErrMalformed, "claims are not a valid JSON object"},
		{"exp not a number", mint(t, es, hdrFor(es), with(good, "exp", "tomorrow")), ErrMalformed, "claims are not a valid JSON object"},
		{"exp out of range", mint(t, es, hdrFor(es), with(good, "exp", 1e300)), ErrMalformed, "out of range"},
		{"payload not JSON", mintRawPayload(t, es, "not json"), ErrMalformed, "claims are not a valid JSON object"},
		{"empty", "", ErrMalformed, "malformed token: empty"},
		{"one part", "abc", ErrMalformed, "1 dot-separated parts, want 3"},
		{"two parts", "abc.def", ErrMalformed, "2 dot-separated parts"},
		{"four parts", valid + ".x", ErrMalformed, "4 dot-separated parts"},
		{"JWE", "a.b.c.d.e", ErrMalformed, "encrypted tokens (JWE) are not accepted"},
		{"not base64url", "a+b.c.d", ErrMalformed, `character '+' at offset 1`},
		{"line break", parts[0] + ".\n" + parts[1] + "." + parts[2], ErrMalformed, "is not base64url"},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed, "is not base64url"},
		{"header not JSON", enc([]byte("{")) + "." + parts[1] + "." + parts[2], ErrMalformed, "header is not a JSON object"},
		{"header without alg", enc([]byte(`{"kid":"es"}`)) + "." + parts[1] + "." + parts[2], ErrMalformed, "header has no alg"},
		{"alg with a line break", enc([]byte(`{"alg":"ES256\nforged","kid":"es"}`)) + "." + parts[1] + "." + parts[2], ErrMalformed, "header alg is not an algorithm name"},
		{"huge kid", enc([]byte(`{"alg":"ES256","kid":"`+strings.Repeat("k", 300)+`"}`)) + "." + parts[1] + "." + parts[2], ErrMalformed, "header kid is longer than 256 bytes"},
		{"crit header", mint(t, es, map[string]any{"alg": "ES256", "kid": "es", "crit": []string{"exp"}, "exp": 1}, good), ErrMalformed, "critical header extensions"},
		{"oversized", strings.Repeat("a", maxTokenBytes+1), ErrMalformed, "more than the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(t.Context(), tt.token)
			if err == nil {
				t.Fatalf("Verify accepted the token: %+v", id)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify error %q is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// mintRawPayload signs a payload that is not JSON, so the failure is in the
// claims and not in the signature.
func mintRawPayload(t testing.TB, k testKey, payload string) string {
	t.Helper()
	input := enc([]byte(`{"alg":"`+k.alg+`","kid":"`+k.kid+`"}`)) + "." + enc([]byte(payload))
	return input + "." + enc(k.sign(t, k.alg, []byte(input)))
}

func TestNewVerifier_RefusesBadConfig(t *testing.T) {
	key := newTestKey(t, "ES256", "k")
	file := writeJWKS(t, key)
	tests := []struct {
		name    string
		cfg     Config
		wantMsg string
	}{
		{"no issuer", Config{Audience: "a", JWKSFile: file}, "issuer required"},
		{"no audience", Config{Issuer: "i", JWKSFile: file}, "audience required"},
		{"none allowed", Config{Issuer: "i", Audience: "a", JWKSFile: file, Algorithms: []string{"ES256", "none"}}, "never accepted"},
		{"HS256 allowed", Config{Issuer: "i", Audience: "a", JWKSFile: file, Algorithms: []string{"HS256"}}, "never accepted"},
		{"unknown alg", Config{Issuer: "i", Audience: "a", JWKSFile: file, Algorithms: []string{"XS999"}}, `"XS999" is not supported`},
		{"no key set", Config{Issuer: "i", Audience: "a"}, "set JWKSFile or JWKSURL"},
		{"both key sets", Config{Issuer: "i", Audience: "a", JWKSFile: file, JWKSURL: "https://x"}, "not both"},
		{"missing file", Config{Issuer: "i", Audience: "a", JWKSFile: file + ".missing"}, "no such file"},
		{"bad URL scheme", Config{Issuer: "i", Audience: "a", JWKSURL: "file:///etc/passwd"}, "not an http(s) URL"},
		{"negative leeway", Config{Issuer: "i", Audience: "a", JWKSFile: file, Leeway: -time.Second}, "negative leeway"},
		{"negative refresh interval", Config{Issuer: "i", Audience: "a", JWKSFile: file, RefreshInterval: -time.Minute}, "negative refresh interval"},
		{"issuer that is no URL and no key set", Config{Issuer: "motor-idp", Audience: "a"}, "set JWKSFile or JWKSURL, or an issuer URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(t.Context(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("NewVerifier error %v, want one saying %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	ed := newTestKey(t, "EdDSA", "ed")
	tests := []struct {
		name     string
		jwks     string
		wantKeys int
		wantMsg  string
	}{
		{"not JSON", "{", 0, "parseJWKS"},
		{"empty", `{"keys":[]}`, 0, "holds no keys"},
		{"only an encryption key", `{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`, 0, `use "enc" is not for signatures`},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, 0, `kty "oct" is not supported`},
		{"weak RSA", `{"keys":[{"kty":"RSA","kid":"weak","n":"` + enc(weakModulus()) + `","e":"AQAB"}]}`, 0, "too weak"},
		{"EC point off the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + enc(make([]byte, 32)) + `","y":"` + enc(make([]byte, 32)) + `"}]}`, 0, "not on declared curve"},
		{"short Ed25519", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}`, 0, "wrong length for x"},
		{"low-order Ed25519 point", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + enc(make([]byte, 32)) + `"}]}`, 0, "low-order point"},
		{"HS alg on key", `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"HS256","x":"` + enc(make([]byte, 32)) + `"}]}`, 0, "never accepted"},
		{"alg not fitting key", `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"RS256","x":"` + ed.jwk["x"] + `"}]}`, 0, "does not fit"},
		{"usable key next to unusable", `{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"OKP","crv":"Ed25519","kid":"x","x":"` + ed.jwk["x"] + `"}]}`, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := parseJWKS([]byte(tt.jwks))
			if tt.wantMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("parseJWKS error %v, want one saying %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJWKS: %v", err)
			}
			if len(set.all) != tt.wantKeys {
				t.Errorf("parseJWKS kept %d keys, want %d", len(set.all), tt.wantKeys)
			}
		})
	}
}

func TestVerify_UnusableKeyNamed(t *testing.T) {
	clk := newClock()
	es := newTestKey(t, "ES256", "es")
	weak := map[string]string{"kty": "RSA", "kid": "weak", "n": enc(weakModulus()), "e": "AQAB"}
	jwks, err := json.Marshal(map[string]any{"keys": []any{es.jwk, weak}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: path, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	rs := newTestKey(t, "RS256", "weak")
	_, err = v.Verify(t.Context(), mint(t, rs, hdrFor(rs), goodClaims(clk.now())))
	if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "RSA key of 1024 bits is too weak") {
		t.Fatalf("Verify error %v, want ErrUnknownKey saying the key is too weak", err)
	}
}

// weakModulus is 1024 bits long; only its length matters here.
func weakModulus() []byte { return append([]byte{0x80}, make([]byte, 127)...) }

// jwksServer is an identity provider's JWKS endpoint on loopback whose keys
// the test rotates.
type jwksServer struct {
	*httptest.Server
	body    atomic.Pointer[[]byte]
	failing atomic.Bool
	fetches atomic.Int32
}

func newJWKSServer(t testing.TB, keys ...testKey) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.serve(keys...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(*s.body.Load())
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(keys ...testKey) {
	b := jwksOf(keys...)
	s.body.Store(&b)
}

func TestVerify_JWKSURLRotation(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "RS256", "k2")
	k3 := newTestKey(t, "EdDSA", "k3")
	srv := newJWKSServer(t, k1)
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL + "/jwks",
		HTTPClient: srv.Client(), Now: clk.now,
	})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	verify := func(k testKey) error {
		_, err := v.Verify(t.Context(), mint(t, k, hdrFor(k), goodClaims(clk.now())))
		return err
	}
	step := func(name string, k testKey, wantErr error, wantFetches int32) {
		t.Helper()
		err := verify(k)
		if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
			t.Fatalf("%s: Verify error %v, want %v", name, err, wantErr)
		}
		if got := srv.fetches.Load(); got != wantFetches {
			t.Fatalf("%s: %d JWKS fetches, want %d", name, got, wantFetches)
		}
	}

	step("initial key", k1, nil, 1)
	srv.serve(k2)
	step("rotated key triggers a refetch", k2, nil, 2)
	step("known key needs no fetch", k2, nil, 2)
	step("retired key is refused without refetch within 30s", k1, ErrUnknownKey, 2)
	srv.serve(k2, k3)
	step("new key within 30s of the last refetch", k3, ErrUnknownKey, 2)

	// Unknown kids arriving at once must not make a fetch each.
	var junk []string
	for i := range 16 {
		k := newTestKey(t, "EdDSA", fmt.Sprintf("junk-%d", i))
		junk = append(junk, mint(t, k, hdrFor(k), goodClaims(clk.now())))
	}
	var wg sync.WaitGroup
	for _, tok := range junk {
		wg.Go(func() {
			if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("junk kid: Verify error %v, want ErrUnknownKey", err)
			}
		})
	}
	wg.Wait()
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("burst of unknown kids: %d fetches, want 2", got)
	}

	clk.advance(31 * time.Second)
	step("new key after 30s", k3, nil, 3)

	clk.advance(31 * time.Second)
	srv.failing.Store(true)
	k4 := newTestKey(t, "ES256", "k4")
	step("identity provider down", k4, ErrKeysUnavailable, 4)
	step("still down within 30s, no new fetch", k4, ErrKeysUnavailable, 4)
	step("known keys keep working while it is down", k3, nil, 4)
}

func TestNewVerifier_JWKSURLDown(t *testing.T) {
	srv := newJWKSServer(t, newTestKey(t, "ES256", "k"))
	srv.failing.Store(true)
	_, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL})
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("NewVerifier error %v, want one naming the 503", err)
	}
}

func TestVerify_CanceledCallerDoesNotPoisonRefetch(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "ES256", "k2")
	srv := newJWKSServer(t, k1)
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSURL: srv.URL, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	srv.serve(k2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := v.Verify(ctx, mint(t, k2, hdrFor(k2), goodClaims(clk.now()))); err != nil {
		t.Fatalf("Verify with a canceled context: %v", err)
	}
}

func TestVerify_KeyAlgPinned(t *testing.T) {
	clk := newClock()
	pinned := newTestKey(t, "RS256", "pinned")
	pinned.jwk["alg"] = "RS256"
	free := newTestKey(t, "PS256", "free")
	v, err := NewVerifier(t.Context(), Config{
		Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256", "PS256"},
		JWKSFile: writeJWKS(t, pinned, free), Now: clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	good := goodClaims(clk.now())
	tests := []struct {
		name    string
		token   string
		wantMsg string // "" means accepted
	}{
		{"PS256 with a key without alg", mint(t, free, hdrFor(free), good), ""},
		{"RS256 with the RS256 key", mint(t, pinned, hdrFor(pinned), good), ""},
		{"PS256 with the RS256 key", mint(t, pinned, map[string]any{"alg": "PS256", "kid": "pinned"}, good), `token alg PS256 does not match key "pinned", which is for alg RS256`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			switch {
			case tt.wantMsg == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.wantMsg != "" && (!errors.Is(err, ErrAlgorithm) || !strings.Contains(err.Error(), tt.wantMsg)):
				t.Fatalf("Verify error %v, want ErrAlgorithm saying %q", err, tt.wantMsg)
			}
		})
	}
}
