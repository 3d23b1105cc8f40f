package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

const (
	testIssuer   = "https://idp.example.test/realms/motor"
	testAudience = "motor-api"
)

// testKey is a signing key of the test identity provider.
type testKey struct {
	kid  string
	alg  string // the alg this key signs with
	priv crypto.Signer
	jwk  map[string]string // public JWK
}

func newTestKey(t testing.TB, alg, kid string) testKey {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	k := testKey{kid: kid, alg: alg}
	switch alg {
	case "RS256", "RS384", "PS256":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("rsa.GenerateKey: %v", err)
		}
		k.priv = priv
		k.jwk = map[string]string{"kty": "RSA", "n": b64(priv.N.Bytes()), "e": b64(big.NewInt(int64(priv.E)).Bytes())}
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatalf("ecdsa.GenerateKey: %v", err)
		}
		k.priv = priv
		pt, err := priv.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(pt) - 1) / 2
		k.jwk = map[string]string{"kty": "EC", "crv": curve.Params().Name, "x": b64(pt[1 : 1+size]), "y": b64(pt[1+size:])}
	case "EdDSA":
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("ed25519.GenerateKey: %v", err)
		}
		k.priv = priv
		k.jwk = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(priv.Public().(ed25519.PublicKey))}
	default:
		t.Fatalf("newTestKey: no alg %s", alg)
	}
	k.jwk["kid"] = kid
	k.jwk["use"] = "sig"
	return k
}

// sign produces a JWS signature of input with the key, as alg.
func (k testKey) sign(t testing.TB, alg string, input []byte) []byte {
	t.Helper()
	hashOf := func(h crypto.Hash) []byte {
		hh := h.New()
		hh.Write(input)
		return hh.Sum(nil)
	}
	switch priv := k.priv.(type) {
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		switch alg {
		case "PS256":
			sig, err = rsa.SignPSS(rand.Reader, priv, crypto.SHA256, hashOf(crypto.SHA256), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		case "RS384":
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA384, hashOf(crypto.SHA384))
		default:
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, hashOf(crypto.SHA256))
		}
		if err != nil {
			t.Fatalf("rsa sign: %v", err)
		}
		return sig
	case *ecdsa.PrivateKey:
		h := map[string]crypto.Hash{"P-256": crypto.SHA256, "P-384": crypto.SHA384, "P-521": crypto.SHA512}[priv.Curve.Params().Name]
		r, s, err := ecdsa.Sign(rand.Reader, priv, hashOf(h))
		if err != nil {
			t.Fatalf("ecdsa.Sign: %v", err)
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, input)
	}
	t.Fatalf("sign: unknown key type %T", k.priv)
	return nil
}

// mint builds a token with exactly the given header and claims, signed by k
// as the header's alg says. Tests that need a broken token build it here.
func mint(t testing.TB, k testKey, hdr, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc(h) + "." + enc(c)
	alg, _ := hdr["alg"].(string)
	return input + "." + enc(k.sign(t, alg, []byte(input)))
}

// mintHMAC signs with HS256 using secret, the classic confusion attack when
// secret is the issuer's public key.
func mintHMAC(t testing.TB, kid string, secret []byte, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(c)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(input))
	return input + "." + enc(mac.Sum(nil))
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func hdrFor(k testKey) map[string]any {
	return map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
}

// goodClaims are claims the test verifier accepts at clock.now().
func goodClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":    testIssuer,
		"aud":    testAudience,
		"sub":    "user-1",
		"name":   "Anna Andersson",
		"region": "vasterbotten",
		"roles":  []string{"advisor"},
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(c))
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func without(c map[string]any, keys ...string) map[string]any {
	out := with(c)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func jwksOf(keys ...testKey) []byte {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk)
	}
	b, _ := json.Marshal(set)
	return b
}

func writeJWKS(t testing.TB, keys ...testKey) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksOf(keys...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clock is a settable time source shared by a verifier and its test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
