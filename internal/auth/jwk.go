package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // registers SHA-384/512 for crypto.Hash.New (RS384, ES512, ...)
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// minRSABits is the smallest RSA modulus accepted in a key set; shorter keys
// are within reach of factoring and no identity provider should publish them.
const minRSABits = 2048

// decodeB64 reads the JWS encoding: base64url without padding. Strict
// refuses non-canonical encodings so one token has exactly one spelling.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.Strict().DecodeString(s)
}

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// keyFamily is the kind of public key an algorithm needs.
type keyFamily int

const (
	familyRSA keyFamily = iota
	familyEC
	familyEd25519
)

// algorithm is one JWS signature algorithm this package can verify.
type algorithm struct {
	name   string
	family keyFamily
	hash   crypto.Hash    // unused for EdDSA, which hashes internally
	curve  elliptic.Curve // EC only
	pss    bool           // RSA only
}

// algorithmByName lists every asymmetric algorithm of RFC 7518 plus EdDSA.
// HMAC and "none" are deliberately absent: with a public JWKS, accepting a
// shared-secret algorithm would let anyone who read the key set forge tokens.
func algorithmByName(name string) (algorithm, bool) {
	switch name {
	case "RS256":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA256}, true
	case "RS384":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA384}, true
	case "RS512":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA512}, true
	case "PS256":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA256, pss: true}, true
	case "PS384":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA384, pss: true}, true
	case "PS512":
		return algorithm{name: name, family: familyRSA, hash: crypto.SHA512, pss: true}, true
	case "ES256":
		return algorithm{name: name, family: familyEC, hash: crypto.SHA256, curve: elliptic.P256()}, true
	case "ES384":
		return algorithm{name: name, family: familyEC, hash: crypto.SHA384, curve: elliptic.P384()}, true
	case "ES512":
		return algorithm{name: name, family: familyEC, hash: crypto.SHA512, curve: elliptic.P521()}, true
	case "EdDSA", "Ed25519":
		return algorithm{name: name, family: familyEd25519}, true
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
	switch a.family {
	case familyRSA:
		return "an RSA key"
	case familyEC:
		return "an EC " + a.curve.Params().Name + " key"
	default:
		return "an OKP Ed25519 key"
	}
}

// jwk is one usable public key of a key set.
type jwk struct {
	kid  string
	alg  string // the key's "alg" member, "" when the key does not restrict it
	desc string // for messages: "EC P-256 key", "RSA key", ...
	pub  crypto.PublicKey
}

// compatible returns nil when the key may verify a signature of alg, or an
// error naming the mismatch. Checking the key's type against the token's alg
// is what stops algorithm-confusion attacks.
func (k *jwk) compatible(a algorithm) error {
	if k.alg != "" && k.alg != a.name && !(isEdDSA(k.alg) && a.family == familyEd25519) {
		return &tokenError{ErrAlgorithm, fmt.Sprintf("token alg %s does not match key %q, which is for alg %s", a.name, k.kid, k.alg)}
	}
	if !keyFits(k.pub, a) {
		return &tokenError{ErrAlgorithm, fmt.Sprintf("key %q is an %s, token alg %s needs %s", k.kid, k.desc, a.name, a.keyDescription())}
	}
	return nil
}

// keyFits reports whether pub is the kind of key a signs with.
func keyFits(pub crypto.PublicKey, a algorithm) bool {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return a.family == familyRSA
	case *ecdsa.PublicKey:
		return a.family == familyEC && pub.Curve == a.curve
	case ed25519.PublicKey:
		return a.family == familyEd25519
	}
	return false
}

func isEdDSA(alg string) bool { return alg == "EdDSA" || alg == "Ed25519" }

// verify checks sig over signingInput with k, which must be compatible with a.
func (k *jwk) verify(a algorithm, signingInput, sig []byte) bool {
	if a.family == familyEd25519 {
		pub, ok := k.pub.(ed25519.PublicKey)
		return ok && ed25519.Verify(pub, signingInput, sig)
	}
	h := a.hash.New()
	h.Write(signingInput)
	digest := h.Sum(nil)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		if a.pss {
			return rsa.VerifyPSS(pub, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, a.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		// JWS carries ECDSA signatures as fixed-width R||S, not ASN.1.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

// keySet is an immutable snapshot of a JWKS; a refetch replaces it whole.
type keySet struct {
	byKID map[string][]*jwk
	all   []*jwk
	// rejected names keys that were in the set but cannot be used, so a token
	// naming one gets the real reason instead of "unknown kid".
	rejected map[string]string
}

// rawJWK holds the members of RFC 7517/7518/8037 this package reads.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	D      string   `json:"d"`
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
	for i, rawKey := range doc.Keys {
		var raw rawJWK
		if err := json.Unmarshal(rawKey, &raw); err != nil {
			problems = append(problems, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		k, err := parsePublicJWK(raw)
		if err != nil {
			problems = append(problems, fmt.Sprintf("key %d (kid %q): %v", i, raw.Kid, err))
			if raw.Kid != "" {
				set.rejected[raw.Kid] = err.Error()
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

// parsePublicJWK turns one JWK into a verification key. Private members, if
// present, are ignored: only the public half is ever needed here.
func parsePublicJWK(raw rawJWK) (*jwk, error) {
	if raw.Use != "" && raw.Use != "sig" {
		return nil, fmt.Errorf("use %q is not for signatures", raw.Use)
	}
	if len(raw.KeyOps) > 0 && !slices.Contains(raw.KeyOps, "verify") {
		return nil, fmt.Errorf("key_ops %v does not allow verify", raw.KeyOps)
	}
	if raw.Alg != "" {
		if why := forbiddenAlgorithm(raw.Alg); why != "" {
			return nil, errors.New(why)
		}
		if _, ok := algorithmByName(raw.Alg); !ok {
			return nil, fmt.Errorf("alg %q is not supported", raw.Alg)
		}
	}
	k := &jwk{kid: raw.Kid, alg: raw.Alg}
	switch raw.Kty {
	case "RSA":
		pub, err := parseRSA(raw)
		if err != nil {
			return nil, err
		}
		k.pub, k.desc = pub, fmt.Sprintf("RSA key (%d bits)", pub.N.BitLen())
	case "EC":
		pub, err := parseEC(raw)
		if err != nil {
			return nil, err
		}
		k.pub, k.desc = pub, "EC "+raw.Crv+" key"
	case "OKP":
		if raw.Crv != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %q is not supported", raw.Crv)
		}
		x, err := decodeB64(raw.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			// ed25519.Verify panics on a wrong-sized key, so the size is checked here.
			return nil, fmt.Errorf("x is not a %d-byte base64url Ed25519 public key", ed25519.PublicKeySize)
		}
		k.pub, k.desc = ed25519.PublicKey(x), "OKP Ed25519 key"
	case "":
		return nil, errors.New("kty missing")
	default:
		return nil, fmt.Errorf("kty %q is not supported", raw.Kty)
	}
	if k.alg != "" {
		if a, _ := algorithmByName(k.alg); !keyFits(k.pub, a) {
			return nil, fmt.Errorf("alg %s does not fit the %s", raw.Alg, k.desc)
		}
	}
	return k, nil
}

func parseRSA(raw rawJWK) (*rsa.PublicKey, error) {
	n, err := decodeB64(raw.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("n is not base64url")
	}
	e, err := decodeB64(raw.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("e is not a base64url integer of at most 32 bits")
	}
	var exp int64
	for _, b := range e {
		exp = exp<<8 | int64(b)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, fmt.Errorf("exponent %d is not valid", exp)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	if bits := pub.N.BitLen(); bits < minRSABits {
		return nil, fmt.Errorf("RSA key of %d bits is too weak (minimum %d)", bits, minRSABits)
	}
	return pub, nil
}

func curveByName(name string) (elliptic.Curve, bool) {
	switch name {
	case "P-256":
		return elliptic.P256(), true
	case "P-384":
		return elliptic.P384(), true
	case "P-521":
		return elliptic.P521(), true
	}
	return nil, false
}

func parseEC(raw rawJWK) (*ecdsa.PublicKey, error) {
	curve, ok := curveByName(raw.Crv)
	if !ok {
		return nil, fmt.Errorf("EC curve %q is not supported", raw.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, errX := decodeB64(raw.X)
	y, errY := decodeB64(raw.Y)
	if errX != nil || errY != nil || len(x) != size || len(y) != size {
		return nil, fmt.Errorf("x and y must be %d-byte base64url coordinates", size)
	}
	// ParseUncompressedPublicKey also rejects points off the curve, which
	// would otherwise open invalid-curve attacks.
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return nil, fmt.Errorf("ecdsa.ParseUncompressedPublicKey: %w", err)
	}
	return pub, nil
}

// ecThumbprint is the RFC 7638 thumbprint of an EC public key, used as the
// dev key's kid so that the same key always has the same kid.
func ecThumbprint(crv string, x, y []byte) string {
	// Members in lexicographic order, no whitespace, as RFC 7638 requires.
	canonical := fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, crv, encodeB64(x), encodeB64(y))
	sum := sha256.Sum256([]byte(canonical))
	return encodeB64(sum[:])
}
