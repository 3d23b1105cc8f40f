package auth

import (
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary strings to Verify: whatever arrives in an
// authorization header must be refused or accepted, never crash a service.
func FuzzVerify(f *testing.F) {
	clk := newClock()
	es := newTestKey(f, "ES256", "es")
	rs := newTestKey(f, "RS256", "rs")
	ed := newTestKey(f, "EdDSA", "ed")
	v, err := NewVerifier(f.Context(), Config{
		Issuer: testIssuer, Audience: testAudience,
		Algorithms: []string{"RS256", "PS256", "ES256", "ES384", "EdDSA"},
		JWKSFile:   writeJWKS(f, es, rs, ed), Now: clk.now,
	})
	if err != nil {
		f.Fatal(err)
	}
	good := goodClaims(clk.now())
	for _, k := range []testKey{es, rs, ed} {
		tok := mint(f, k, hdrFor(k), good)
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + ".." + parts[2])
		f.Add(tok[:len(tok)-1])
	}
	f.Add(mint(f, es, map[string]any{"alg": "RS256", "kid": "es"}, good))
	f.Add(mint(f, ed, map[string]any{"alg": "EdDSA", "kid": "ed"}, with(good, "aud", []any{1, nil}, "exp", -1)))
	f.Add(mint(f, es, hdrFor(es), with(good, "roles", []any{nil}, "iat", 1e308)))
	f.Add(mintHMAC(f, "rs", []byte("secret"), good))
	f.Add(enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{}`)) + ".")
	f.Add(enc([]byte(`{"alg":"ES256","kid":"es","crit":null}`)) + ".e30.AAAA")
	f.Add(enc([]byte(`{"alg":"ES256","kid":7}`)) + ".e30.AAAA")
	f.Add(enc([]byte(`[]`)) + ".e30.")
	f.Add("")
	f.Add(".")
	f.Add("..")
	f.Add("....")
	f.Add("a.b.c")
	f.Add("e30.e30.e30")

	f.Fuzz(func(t *testing.T, raw string) {
		id, err := v.Verify(t.Context(), raw)
		if err == nil && (id == nil || id.Subject == "" || id.Region == "" || len(id.Roles) == 0) {
			t.Fatalf("Verify accepted %q with identity %+v", raw, id)
		}
		if err != nil && id != nil {
			t.Fatalf("Verify returned both an identity and %v", err)
		}
	})
}
