package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Dev mode: a deployment without an identity provider signs its own tokens.
const (
	DevIssuer   = "motor-dev"
	DevAudience = "motor"
	// DevKeyFile is the name of the private JWK inside the data folder.
	DevKeyFile = "dev-signing-key.jwk"
)

// Signer mints dev-mode tokens with an ES256 key. It is safe for concurrent
// use.
type Signer struct {
	key      *ecdsa.PrivateKey
	kid      string
	jwks     []byte
	verifier *Verifier
	now      func() time.Time
}

// Claims is what a dev token says about its holder.
type Claims struct {
	Subject string
	Name    string
	Region  string
	Roles   []Role
	Partner string
}

// LoadOrCreateDevKey returns the signer kept in dir, creating its key on first
// use. Every process of a deployment sharing the data folder gets the same
// key, so tokens printed by `motor token` are accepted by all of them.
func LoadOrCreateDevKey(dir string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("auth.LoadOrCreateDevKey: os.MkdirAll: %w", err)
	}
	path := filepath.Join(dir, DevKeyFile)
	s, err := readDevKey(path)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	if err := createDevKey(dir, path); err != nil {
		return nil, fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	// Re-read rather than use the key just generated: when two processes
	// start together, the file holds whichever key won, and both must use it.
	s, err = readDevKey(path)
	if err != nil {
		return nil, fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	return s, nil
}

// GenerateDevKey returns a signer with a fresh key that lives only in memory,
// for tests and single-process tools that need no shared key.
func GenerateDevKey() (*Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth.GenerateDevKey: ecdsa.GenerateKey: %w", err)
	}
	s, err := newSigner(key)
	if err != nil {
		return nil, fmt.Errorf("auth.GenerateDevKey: %w", err)
	}
	return s, nil
}

// createDevKey writes a fresh key to path without ever exposing a partial
// file: the key goes to a temporary file first and is then linked into
// place. Link, unlike rename, fails when path exists, so a concurrent creator
// that lost the race keeps the winner's key instead of replacing it.
func createDevKey(dir, path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ecdsa.GenerateKey: %w", err)
	}
	data, err := marshalPrivateJWK(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".dev-signing-key-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("os.CreateTemp: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		// Some filesystems have no hard links; rename is still atomic, it
		// only loses the create-if-absent guarantee.
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("os.Rename: %w", err)
		}
	}
	// Make the new name durable; some platforms cannot sync a directory,
	// and the key file itself is already on disk, so failure is tolerated.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// privateJWK is the on-disk form of the dev key.
type privateJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	D   string `json:"d"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

func marshalPrivateJWK(key *ecdsa.PrivateKey) ([]byte, error) {
	x, y, err := ecPoint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	d, err := key.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ecdsa.PrivateKey.Bytes: %w", err)
	}
	data, err := json.MarshalIndent(privateJWK{
		Kty: "EC", Crv: "P-256", X: encodeB64(x), Y: encodeB64(y), D: encodeB64(d),
		Kid: ecThumbprint("P-256", x, y), Alg: "ES256", Use: "sig",
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("json.MarshalIndent: %w", err)
	}
	return append(data, '\n'), nil
}

// ecPoint returns the fixed-width affine coordinates of pub.
func ecPoint(pub *ecdsa.PublicKey) (x, y []byte, err error) {
	b, err := pub.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("ecdsa.PublicKey.Bytes: %w", err)
	}
	size := (len(b) - 1) / 2
	return b[1 : 1+size], b[1+size:], nil
}

func readDevKey(path string) (*Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("os.ReadFile: %w", err)
	}
	// Anyone who can read this file can mint tokens for this deployment.
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("%s is readable by others (mode %v) and os.Chmod failed: %w", path, fi.Mode().Perm(), err)
		}
	}
	var raw privateJWK
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if raw.Kty != "EC" || raw.Crv != "P-256" {
		return nil, fmt.Errorf("parsing %s: want an EC P-256 key, got kty %q crv %q", path, raw.Kty, raw.Crv)
	}
	d, err := decodeB64(raw.D)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: d: %w", path, err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: ecdsa.ParseRawPrivateKey: %w", path, err)
	}
	x, y, err := ecPoint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if encodeB64(x) != raw.X || encodeB64(y) != raw.Y {
		return nil, fmt.Errorf("parsing %s: public point does not match the private key", path)
	}
	return newSigner(key)
}

func newSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	x, y, err := ecPoint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	kid := ecThumbprint("P-256", x, y)
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "x": encodeB64(x), "y": encodeB64(y),
		"kid": kid, "alg": "ES256", "use": "sig",
	}}})
	if err != nil {
		return nil, fmt.Errorf("json.Marshal: %w", err)
	}
	set, err := parseJWKS(jwks)
	if err != nil {
		return nil, err
	}
	v, err := newVerifier(Config{Issuer: DevIssuer, Audience: DevAudience, Algorithms: []string{"ES256"}})
	if err != nil {
		return nil, err
	}
	v.keys.Store(set)
	return &Signer{key: key, kid: kid, jwks: jwks, verifier: v, now: time.Now}, nil
}

// KeyID returns the kid of the signer's key: its RFC 7638 thumbprint.
func (s *Signer) KeyID() string { return s.kid }

// PublicJWKS returns the key set that verifies the signer's tokens, for
// peers that are given it as their JWKSFile or serve it.
func (s *Signer) PublicJWKS() []byte { return slices.Clone(s.jwks) }

// Verifier returns a verifier for the signer's own tokens.
func (s *Signer) Verifier() *Verifier { return s.verifier }

// Sign mints a token valid for ttl from now. Claims the verifier would refuse
// are refused here, so a bad `motor token` invocation fails where it is made.
func (s *Signer) Sign(c Claims, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("auth.Signer.Sign: ttl %v is not positive", ttl)
	}
	if c.Subject == "" || c.Region == "" {
		return "", errors.New("auth.Signer.Sign: subject and region are required")
	}
	roles := make([]string, len(c.Roles))
	for i, r := range c.Roles {
		roles[i] = string(r)
	}
	if _, err := identityFrom(&claims{Subject: c.Subject, Region: c.Region, Roles: roles, Partner: c.Partner}, ""); err != nil {
		return "", fmt.Errorf("auth.Signer.Sign: %w", err)
	}
	now := s.now()
	payload := struct {
		Issuer    string   `json:"iss"`
		Subject   string   `json:"sub"`
		Audience  string   `json:"aud"`
		IssuedAt  int64    `json:"iat"`
		NotBefore int64    `json:"nbf"`
		ExpiresAt int64    `json:"exp"`
		Name      string   `json:"name,omitempty"`
		Region    string   `json:"region"`
		Roles     []string `json:"roles"`
		Partner   string   `json:"partner,omitempty"`
	}{
		Issuer: DevIssuer, Subject: c.Subject, Audience: DevAudience,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		Name: c.Name, Region: c.Region, Roles: roles, Partner: c.Partner,
	}
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}{"ES256", "JWT", s.kid})
	if err != nil {
		return "", fmt.Errorf("auth.Signer.Sign: json.Marshal: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("auth.Signer.Sign: json.Marshal: %w", err)
	}
	signingInput := encodeB64(hdr) + "." + encodeB64(body)
	digest := sha256.Sum256([]byte(signingInput))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", fmt.Errorf("auth.Signer.Sign: ecdsa.Sign: %w", err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signingInput + "." + encodeB64(sig), nil
}
