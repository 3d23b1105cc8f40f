package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest RSA modulus accepted in a key set; shorter keys
// are within reach of factoring and no identity provider should publish them.
const minRSABits = 2048

// decodeB64 reads the JWS encoding: base64url without padding. Strict
// refuses non-canonical encodings so one token has exactly one spelling.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

// algorithm is one JWS signature algorithm the verifier may accept, with
// the kind of key it needs: checking the key against the token's alg before
// any cryptography runs is what stops algorithm-confusion attacks, and
// naming both in the refusal is what makes such a token easy to diagnose.
type algorithm struct {
	name  jose.SignatureAlgorithm
	kty   string // "RSA", "EC" or "OKP"
	curve string // EC: the curve the alg is defined on
}

// algorithmByName lists every asymmetric algorithm of RFC 7518 plus EdDSA.
// HMAC and "none" are deliberately absent: with a public JWKS, accepting a
// shared-secret algorithm would let anyone who read the key set forge tokens.
func algorithmByName(name string) (algorithm, bool) {
	switch name {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return algorithm{name: jose.SignatureAlgorithm(name), kty: "RSA"}, true
	case "ES256":
		return algorithm{name: jose.ES256, kty: "EC", curve: "P-256"}, true
	case "ES384":
		return algorithm{name: jose.ES384, kty: "EC", curve: "P-384"}, true
	case "ES512":
		return algorithm{name: jose.ES512, kty: "EC", curve: "P-521"}, true
	case "EdDSA":
		return algorithm{name: jose.EdDSA, kty: "OKP"}, true
	}
	return algorithm{}, false
}

// forbiddenAlgorithm explains why name can never be accepted, or returns "".
func forbiddenAlgorithm(name string) string {
	switch {
	case strings.EqualFold(name, "none"):
		return fmt.Sprintf("algorithm %q (unsigned token) is never accepted", name)
	case strings.HasPrefix(strings.ToUpper(name), "HS"):
		return fmt.Sprintf("algorithm %s (shared-secret HMAC) is never accepted", name)
	}
	return ""
}

func (a algorithm) keyDescription() string {
	switch a.kty {
	case "RSA":
		return "an RSA key"
	case "EC":
		return "an EC " + a.curve + " key"
	default:
		return "an OKP Ed25519 key"
	}
}

// jwk is one usable public key of a key set.
type jwk struct {
	kid  string
	alg  string // the key's "alg" member, "" when the key does not restrict it
	desc string // for messages: "EC P-256 key", "RSA key (2048 bits)", ...
	pub  crypto.PublicKey
}

// compatible returns nil when the key may verify a signature of alg, or an
// error naming the mismatch.
func (k *jwk) compatible(a algorithm) error {
	if k.alg != "" && k.alg != string(a.name) {
		return fail(ErrAlgorithm, "token alg %s does not match key %q, which is for alg %s", a.name, k.kid, k.alg)
	}
	if !keyFits(k.pub, a) {
		return fail(ErrAlgorithm, "key %q is an %s, token alg %s needs %s", k.kid, k.desc, a.name, a.keyDescription())
	}
	return nil
}

// keyFits reports whether pub is the kind of key a signs with.
func keyFits(pub crypto.PublicKey, a algorithm) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return a.kty == "RSA"
	case *ecdsa.PublicKey:
		return a.kty == "EC" && pub.Curve.Params().Name == a.curve
	case ed25519.PublicKey:
		return a.kty == "OKP"
	}
	return false
}

// keySet is an immutable snapshot of a JWKS; a reload replaces it whole.
type keySet struct {
	byKID map[string][]*jwk
	all   []*jwk
	// rejected names keys that were in the set but cannot be used, so a token
	// naming one gets the real reason instead of "unknown kid".
	rejected map[string]string
}

// jwkPolicy holds the members of a JWK that decide whether this package
// will use it at all, read before the key itself is parsed.
type jwkPolicy struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
}

// parseJWKS reads a JWKS document. Keys this package cannot use (encryption
// keys, symmetric keys, unknown curves, weak RSA) are left out rather than
// failing the whole set: identity providers publish such keys alongside the
// signing keys. A set without a single usable key is an error.
func parseJWKS(data []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parseJWKS: %w", err)
	}
	set := &keySet{byKID: map[string][]*jwk{}, rejected: map[string]string{}}
	var problems []string
	for i, raw := range doc.Keys {
		var p jwkPolicy
		if err := json.Unmarshal(raw, &p); err != nil {
			problems = append(problems, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		k, err := parsePublicJWK(p, raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("key %d (kid %q): %v", i, p.Kid, err))
			if p.Kid != "" {
				set.rejected[p.Kid] = err.Error()
			}
			continue
		}
		set.byKID[k.kid] = append(set.byKID[k.kid], k)
		set.all = append(set.all, k)
	}
	if len(set.all) == 0 {
		if len(problems) == 0 {
			return nil, errors.New("parseJWKS: the key set holds no keys")
		}
		return nil, fmt.Errorf("parseJWKS: no usable signing key: %s", strings.Join(problems, "; "))
	}
	return set, nil
}

// parsePublicJWK turns one JWK into a verification key: this package's
// policy first (what the key is for, which algorithms, which key types),
// then go-jose for the key material, which refuses points off the curve and
// malformed members. Private members, if present, are dropped: only the
// public half is ever needed here.
func parsePublicJWK(p jwkPolicy, raw []byte) (*jwk, error) {
	if p.Use != "" && p.Use != "sig" {
		return nil, fmt.Errorf("use %q is not for signatures", p.Use)
	}
	if len(p.KeyOps) > 0 && !slices.Contains(p.KeyOps, "verify") {
		return nil, fmt.Errorf("key_ops %v does not allow verify", p.KeyOps)
	}
	var alg algorithm
	if p.Alg != "" {
		if why := forbiddenAlgorithm(p.Alg); why != "" {
			return nil, errors.New(why)
		}
		var ok bool
		if alg, ok = algorithmByName(p.Alg); !ok {
			return nil, fmt.Errorf("alg %q is not supported", p.Alg)
		}
	}
	switch p.Kty {
	case "RSA", "EC":
	case "OKP":
		if p.Crv != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %q is not supported", p.Crv)
		}
	case "":
		return nil, errors.New("kty missing")
	default:
		return nil, fmt.Errorf("kty %q is not supported", p.Kty)
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil {
		if errors.Is(err, jose.ErrUnsupportedKeyType) {
			return nil, fmt.Errorf("%s key not supported (unknown curve, or RSA longer than %d bits)", p.Kty, jose.MaxRSAModulusBits)
		}
		return nil, err
	}
	k := &jwk{kid: p.Kid, alg: p.Alg, pub: key.Public().Key}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		bits := pub.N.BitLen()
		if bits < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too weak (minimum %d)", bits, minRSABits)
		}
		k.desc = fmt.Sprintf("RSA key (%d bits)", bits)
	case *ecdsa.PublicKey:
		k.desc = "EC " + pub.Curve.Params().Name + " key"
	case ed25519.PublicKey:
		k.desc = "OKP Ed25519 key"
	default:
		return nil, fmt.Errorf("%s key not supported", p.Kty)
	}
	if p.Alg != "" && !keyFits(k.pub, alg) {
		return nil, fmt.Errorf("alg %s does not fit the %s", p.Alg, k.desc)
	}
	return k, nil
}
