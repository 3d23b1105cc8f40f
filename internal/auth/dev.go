package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
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
	signer   jose.Signer
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

// privateJWK is the on-disk form of the dev key: a JWK with its private
// member, as go-jose writes it.
func marshalPrivateJWK(key *ecdsa.PrivateKey) ([]byte, error) {
	kid, err := thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("json.MarshalIndent: %w", err)
	}
	return append(data, '\n'), nil
}

// thumbprint is the RFC 7638 thumbprint of pub, used as the dev key's kid so
// that the same key always has the same kid.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("jose.JSONWebKey.Thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
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
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	parsed, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || parsed.Curve != elliptic.P256() {
		return nil, fmt.Errorf("parsing %s: want an EC P-256 private key, got %T", path, jwk.Key)
	}
	// go-jose takes the public point from x and y as written; derive it from
	// d instead, so a file whose halves disagree is refused, not half used.
	d, err := parsed.Bytes()
	if err != nil {
		return nil, fmt.Errorf("parsing %s: ecdsa.PrivateKey.Bytes: %w", path, err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: ecdsa.ParseRawPrivateKey: %w", path, err)
	}
	if !key.PublicKey.Equal(&parsed.PublicKey) {
		return nil, fmt.Errorf("parsing %s: public point does not match the private key", path)
	}
	return newSigner(key)
}

func newSigner(key *ecdsa.PrivateKey) (*Signer, error) {
	kid, err := thumbprint(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig",
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
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("jose.NewSigner: %w", err)
	}
	return &Signer{key: key, kid: kid, jwks: jwks, signer: signer, verifier: v, now: time.Now}, nil
}

// KeyID returns the kid of the signer's key: its RFC 7638 thumbprint.
func (s *Signer) KeyID() string { return s.kid }

// PublicJWKS returns the key set that verifies the signer's tokens, for
// peers that are given it as their JWKSFile or serve it.
func (s *Signer) PublicJWKS() []byte { return slices.Clone(s.jwks) }

// Verifier returns a verifier for the signer's own tokens.
func (s *Signer) Verifier() *Verifier { return s.verifier }

// devClaims is the payload of a dev token.
type devClaims struct {
	jwt.Claims
	Name    string   `json:"name,omitempty"`
	Region  string   `json:"region"`
	Roles   []string `json:"roles"`
	Partner string   `json:"partner,omitempty"`
}

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
	now := s.now().Truncate(time.Second)
	tok, err := jwt.Signed(s.signer).Claims(devClaims{
		Claims: jwt.Claims{
			Issuer: DevIssuer, Subject: c.Subject, Audience: jwt.Audience{DevAudience},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(ttl)),
		},
		Name: c.Name, Region: c.Region, Roles: roles, Partner: c.Partner,
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("auth.Signer.Sign: jwt.Builder.Serialize: %w", err)
	}
	return tok, nil
}
