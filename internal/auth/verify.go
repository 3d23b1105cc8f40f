package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

const (
	// refetchInterval bounds how often a token naming an unknown kid may
	// make the verifier reload its key set, so random kids cannot be used to
	// hammer the identity provider.
	refetchInterval = 30 * time.Second
	// defaultRefresh is how often the key set is reloaded even when no token
	// names an unknown kid, so a key the identity provider withdrew stops
	// being trusted within minutes.
	defaultRefresh = 5 * time.Minute
	defaultLeeway  = 30 * time.Second
	fetchTimeout   = 10 * time.Second
	maxJWKSBytes   = 1 << 20
	// maxTokenBytes is far above any real token and keeps a hostile header
	// from costing more than a few decodes.
	maxTokenBytes = 16 << 10
	// latestDate bounds numeric dates to year 9999 so conversions to
	// time.Time cannot overflow.
	latestDate = 253402300799
)

// Config says which tokens a Verifier accepts.
type Config struct {
	Issuer     string
	Audience   string
	Algorithms []string // allow-list; default {"RS256","ES256","EdDSA"}; "none" and HS* are never accepted
	// Where the signing keys come from: a JWKS file, a JWKS URL, or, with
	// neither, the jwks_uri of the issuer's OpenID Connect discovery document
	// (Issuer + "/.well-known/openid-configuration").
	JWKSFile string
	JWKSURL  string
	// RefreshInterval is how often the key set is reloaded in the background
	// (default 5 minutes); a file is also reloaded within a second of
	// changing. A token naming an unknown kid reloads it at once, at most
	// once per 30s.
	RefreshInterval time.Duration
	Leeway          time.Duration // clock skew allowance, default 30s
	HTTPClient      *http.Client
	Logger          *slog.Logger     // for reloads that fail; default slog.Default()
	Now             func() time.Time // for tests; default time.Now
}

// Verifier validates bearer tokens against one issuer, audience and key set.
// It is safe for concurrent use.
//
// Signature, issuer, audience and expiry are verified by go-oidc with
// go-jose underneath. Around it this package enforces what a bearer token
// of a public API needs and an ID-token library leaves open: one spelling
// per token, an algorithm allow-list checked against the named key's type
// before any cryptography, no kid-less tokens against several keys, a
// clock-skew leeway that is the same for exp, nbf and iat, and the claims
// Motor's roles rest on.
type Verifier struct {
	issuer   string
	audience string
	algs     []string
	leeway   time.Duration
	refresh  time.Duration
	now      func() time.Time
	logger   *slog.Logger
	source   keySource // nil: a fixed key set (dev mode)
	oidc     *oidc.IDTokenVerifier

	keys atomic.Pointer[keySet]
	// cache holds tokens already verified (cache.go).
	cache *tokenCache
	// asked counts the tokens Verify was given, answered from the cache or
	// not: what a call's path costs in token checks (Verifications).
	asked atomic.Uint64

	// refetchMu serialises reloads and guards the two fields after it. A
	// mutex is enough because waiting callers re-check the key set after
	// acquiring it, and a reload is bounded by fetchTimeout.
	refetchMu      sync.Mutex
	lastRefetch    time.Time
	lastRefetchErr error
}

// NewVerifier checks cfg and loads the key set once, so a deployment with a
// wrong JWKS location or issuer fails at start-up instead of on its first
// request. Until ctx is done the key set is then reloaded every
// RefreshInterval.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	v, err := newVerifier(cfg)
	if err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	jwksURL := cfg.JWKSURL
	switch {
	case cfg.JWKSFile != "" && cfg.JWKSURL != "":
		return nil, errors.New("auth.NewVerifier: set JWKSFile or JWKSURL, not both")
	case cfg.JWKSFile != "":
		v.source = fileSource(cfg.JWKSFile)
	case cfg.JWKSURL == "":
		if !isHTTPURL(cfg.Issuer) {
			return nil, fmt.Errorf("auth.NewVerifier: no key set: set JWKSFile or JWKSURL, or an issuer URL that serves OpenID Connect discovery (issuer %q is not one)", cfg.Issuer)
		}
		if jwksURL, err = discoverJWKS(ctx, cfg.Issuer, client); err != nil {
			return nil, fmt.Errorf("auth.NewVerifier: %w", err)
		}
	}
	if jwksURL != "" {
		if !isHTTPURL(jwksURL) {
			return nil, fmt.Errorf("auth.NewVerifier: JWKS URL %q is not an http(s) URL", jwksURL)
		}
		v.source = urlSource{url: jwksURL, client: client}
	}
	// The file's version is taken before it is read, here and not in the
	// goroutine (which may start late): a change from then on reloads it.
	var seen string
	if f, ok := v.source.(fileSource); ok {
		seen = f.version()
	}
	set, err := loadKeySet(ctx, v.source)
	if err != nil {
		return nil, fmt.Errorf("auth.NewVerifier: %w", err)
	}
	v.keys.Store(set)
	go v.keepFresh(ctx, seen)
	return v, nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// discoverJWKS reads the jwks_uri of issuer's discovery document. go-oidc
// also checks that the document names issuer as its issuer, so a
// misconfigured or impersonated provider fails here.
func discoverJWKS(ctx context.Context, issuer string, client *http.Client) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, client), issuer)
	if err != nil {
		return "", fmt.Errorf("OpenID Connect discovery of %s: %w", issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil {
		return "", fmt.Errorf("OpenID Connect discovery of %s: %w", issuer, err)
	}
	if meta.JWKSURI == "" {
		return "", fmt.Errorf("OpenID Connect discovery of %s: the document has no jwks_uri", issuer)
	}
	return meta.JWKSURI, nil
}

// newVerifier applies defaults and checks everything in cfg but the key set.
func newVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("issuer required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("audience required")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256", "ES256", "EdDSA"}
	}
	for _, a := range algs {
		if why := forbiddenAlgorithm(a); why != "" {
			return nil, errors.New(why)
		}
		if _, ok := algorithmByName(a); !ok {
			return nil, fmt.Errorf("algorithm %q is not supported", a)
		}
	}
	leeway := cfg.Leeway
	switch {
	case leeway < 0:
		return nil, fmt.Errorf("negative leeway %v", leeway)
	case leeway == 0:
		leeway = defaultLeeway
	}
	refresh := cfg.RefreshInterval
	switch {
	case refresh < 0:
		return nil, fmt.Errorf("negative refresh interval %v", refresh)
	case refresh == 0:
		refresh = defaultRefresh
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	v := &Verifier{
		logger:   logger,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		algs:     slices.Clone(algs),
		leeway:   leeway,
		refresh:  refresh,
		now:      now,
		cache:    newTokenCache(defaultCacheSize),
	}
	v.oidc = oidc.NewVerifier(cfg.Issuer, chosenKey{}, &oidc.Config{
		ClientID:             cfg.Audience,
		SupportedSigningAlgs: v.algs,
		// go-oidc allows no skew on exp; moving its clock back by the
		// leeway gives exp the same allowance as nbf and iat below.
		Now: func() time.Time { return v.now().Add(-v.leeway) },
	})
	return v, nil
}

// header is the JOSE header members this package reads.
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// claims is the token payload. Unknown members are ignored.
type claims struct {
	Issuer    string       `json:"iss"`
	Subject   string       `json:"sub"`
	Audience  audience     `json:"aud"`
	ExpiresAt *numericDate `json:"exp"`
	NotBefore *numericDate `json:"nbf"`
	IssuedAt  *numericDate `json:"iat"`
	Name      string       `json:"name"`
	Region    string       `json:"region"`
	Roles     []string     `json:"roles"`
	Partner   string       `json:"partner"`
}

// audience is "aud", which RFC 7519 allows as a string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*a = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud must be a string or an array of strings")
	}
	*a = many
	return nil
}

// numericDate is seconds since the epoch; RFC 7519 allows fractions.
type numericDate struct{ time.Time }

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("not a number of seconds since the epoch")
	}
	if math.IsNaN(f) || f < 0 || f > latestDate {
		return fmt.Errorf("%v is out of range", f)
	}
	sec, frac := math.Modf(f)
	d.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

func fail(kind error, format string, args ...any) error {
	return &tokenError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// stamp formats times in messages; seconds are what tokens carry.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Verifications is how many tokens this verifier has been asked to check
// since it was made, those answered from its cache included.
func (v *Verifier) Verifications() uint64 { return v.asked.Load() }

// Verify checks raw and returns the identity it carries. The signature is
// checked before any claim, so nothing an attacker wrote drives the outcome
// of the later checks.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Identity, error) {
	v.asked.Add(1)
	var h [sha256.Size]byte
	if len(raw) <= maxTokenBytes {
		h = sha256.Sum256([]byte(raw))
		if id := v.cache.get(h, v.keys.Load(), v.now()); id != nil {
			return id, nil
		}
	}
	hdr, err := parseHeader(raw)
	if err != nil {
		return nil, err
	}
	alg, err := v.algorithm(hdr.Alg)
	if err != nil {
		return nil, err
	}
	key, err := v.key(ctx, hdr.Kid, alg)
	if err != nil {
		return nil, err
	}
	sel := &selection{key: key, alg: alg}
	_, oidcErr := v.oidc.Verify(context.WithValue(ctx, selectionKey{}, sel), raw)
	if !sel.verified {
		// Refused before or at the signature: nothing in the payload counts.
		if sel.err != nil {
			return nil, sel.err
		}
		return nil, fail(ErrMalformed, "malformed token: %v", oidcErr)
	}
	// The signature holds. The claims are checked here whether or not
	// go-oidc accepted them: these checks are stricter, and their messages
	// say exactly what is wrong.
	var c claims
	if err := json.Unmarshal(sel.payload, &c); err != nil {
		return nil, fail(ErrMalformed, "malformed token: claims are not a valid JSON object: %v", err)
	}
	if err := v.checkClaims(&c); err != nil {
		return nil, err
	}
	if oidcErr != nil {
		return nil, fail(ErrClaims, "claims not accepted: %v", oidcErr)
	}
	id, err := identityFrom(&c, raw)
	if err != nil {
		return nil, err
	}
	// No set yet: the first hit checks the key against the set of the
	// moment, in case a reload withdrew it while this call verified.
	e := &cachedToken{id: id, kid: hdr.Kid, pub: key.pub, expires: c.ExpiresAt.Add(v.leeway)}
	if c.NotBefore != nil {
		e.notBefore = c.NotBefore.Add(-v.leeway)
	}
	if c.IssuedAt != nil && (e.notBefore.IsZero() || c.IssuedAt.Add(-v.leeway).After(e.notBefore)) {
		e.notBefore = c.IssuedAt.Add(-v.leeway)
	}
	v.cache.put(h, e, v.now())
	cp := *id
	cp.Roles = append([]Role(nil), id.Roles...)
	return &cp, nil
}

// parseHeader checks the token's shape and reads its header. The checks are
// stricter than go-jose's parser: only the JWS compact alphabet (base64
// decoders skip line breaks, which would give one signature many
// spellings), canonical base64url in every part, and no critical header
// extensions.
func parseHeader(raw string) (header, error) {
	var hdr header
	if raw == "" {
		return hdr, fail(ErrMalformed, "malformed token: empty")
	}
	if len(raw) > maxTokenBytes {
		return hdr, fail(ErrMalformed, "malformed token: %d bytes, more than the %d accepted", len(raw), maxTokenBytes)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return hdr, fail(ErrMalformed, "malformed token: character %q at offset %d is not base64url", c, i)
		}
	}
	parts := strings.Split(raw, ".")
	switch len(parts) {
	case 3:
	case 5:
		return hdr, fail(ErrMalformed, "malformed token: encrypted tokens (JWE) are not accepted")
	default:
		return hdr, fail(ErrMalformed, "malformed token: %d dot-separated parts, want 3 (header.payload.signature)", len(parts))
	}
	hdrJSON, err := decodeB64(parts[0])
	if err != nil {
		return hdr, fail(ErrMalformed, "malformed token: header is not base64url: %v", err)
	}
	for i, name := range []string{"payload", "signature"} {
		if _, err := decodeB64(parts[i+1]); err != nil {
			return hdr, fail(ErrMalformed, "malformed token: %s is not base64url: %v", name, err)
		}
	}
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return hdr, fail(ErrMalformed, "malformed token: header is not a JSON object: %v", err)
	}
	if hdr.Crit != nil {
		// RFC 7515 §4.1.11: extensions the recipient does not understand
		// must make it reject the token, and this package knows none.
		return hdr, fail(ErrMalformed, "malformed token: critical header extensions %s are not supported", hdr.Crit)
	}
	// Header values end up in error messages sent back to the caller; keep
	// them short and printable.
	if len(hdr.Alg) > 32 || !printable(hdr.Alg) {
		return hdr, fail(ErrMalformed, "malformed token: header alg is not an algorithm name")
	}
	if len(hdr.Kid) > 256 || !printable(hdr.Kid) {
		return hdr, fail(ErrMalformed, "malformed token: header kid is longer than 256 bytes or not printable ASCII")
	}
	return hdr, nil
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func (v *Verifier) algorithm(name string) (algorithm, error) {
	if name == "" {
		return algorithm{}, fail(ErrMalformed, "malformed token: header has no alg")
	}
	if why := forbiddenAlgorithm(name); why != "" {
		return algorithm{}, fail(ErrAlgorithm, "%s", why)
	}
	if !slices.Contains(v.algs, name) {
		return algorithm{}, fail(ErrAlgorithm, "algorithm %s is not in the allow-list %v", name, v.algs)
	}
	a, ok := algorithmByName(name)
	if !ok { // newVerifier only lets known names into the allow-list
		return algorithm{}, fail(ErrAlgorithm, "algorithm %s is not supported", name)
	}
	return a, nil
}

// key finds the key for kid that fits alg, reloading the key set once when
// kid is unknown: that is how an identity provider's key rotation arrives.
func (v *Verifier) key(ctx context.Context, kid string, alg algorithm) (*jwk, error) {
	set := v.keys.Load()
	if kid != "" && set.byKID[kid] == nil && v.source != nil {
		var err error
		if set, err = v.refetch(ctx, kid); err != nil {
			return nil, err
		}
	}
	var candidates []*jwk
	if kid == "" {
		// Tokens without kid are only unambiguous against a single-key set.
		if len(set.all) != 1 {
			return nil, fail(ErrUnknownKey, "token names no kid and the key set holds %d keys", len(set.all))
		}
		candidates = set.all
	} else {
		candidates = set.byKID[kid]
	}
	if len(candidates) == 0 {
		if why, ok := set.rejected[kid]; ok {
			return nil, fail(ErrUnknownKey, "key %q of the key set is unusable: %s", kid, why)
		}
		return nil, fail(ErrUnknownKey, "unknown kid %q", kid)
	}
	var firstErr error
	for _, k := range candidates {
		err := k.compatible(alg)
		if err == nil {
			return k, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// selection carries the key Verify chose from the token's header to the key
// set go-oidc calls back, and the verified payload (or the reason there is
// none) back to Verify.
type selection struct {
	key      *jwk
	alg      algorithm
	verified bool
	payload  []byte
	err      error
}

type selectionKey struct{}

// chosenKey is the oidc.KeySet of every Verifier: it checks the signature
// with exactly the key Verify chose, which has already been matched to the
// token's kid and alg.
type chosenKey struct{}

func (chosenKey) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	sel, ok := ctx.Value(selectionKey{}).(*selection)
	if !ok {
		return nil, errors.New("auth: no key chosen for the token")
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{sel.alg.name})
	if err != nil {
		sel.err = fail(ErrMalformed, "malformed token: %v", err)
		return nil, sel.err
	}
	payload, err := jws.Verify(sel.key.pub)
	if err != nil {
		sel.err = fail(ErrSignature, "signature does not verify with key %q (%s)", sel.key.kid, sel.alg.name)
		return nil, sel.err
	}
	sel.verified, sel.payload = true, payload
	return payload, nil
}

func (v *Verifier) checkClaims(c *claims) error {
	now := v.now()
	if c.Issuer != v.issuer {
		return fail(ErrClaims, "issuer %q not accepted (want %q)", c.Issuer, v.issuer)
	}
	if !slices.Contains(c.Audience, v.audience) {
		if len(c.Audience) == 0 {
			return fail(ErrClaims, "token has no audience (want %q)", v.audience)
		}
		return fail(ErrClaims, "audience %q not accepted (want %q)", strings.Join(c.Audience, ","), v.audience)
	}
	if c.ExpiresAt == nil {
		return fail(ErrClaims, "token has no exp claim")
	}
	if now.After(c.ExpiresAt.Add(v.leeway)) {
		return fail(ErrExpired, "token expired at %s (now %s, leeway %v)", stamp(c.ExpiresAt.Time), stamp(now), v.leeway)
	}
	if c.NotBefore != nil && now.Add(v.leeway).Before(c.NotBefore.Time) {
		return fail(ErrNotYetValid, "token not valid before %s (now %s, leeway %v)", stamp(c.NotBefore.Time), stamp(now), v.leeway)
	}
	if c.IssuedAt != nil {
		if now.Add(v.leeway).Before(c.IssuedAt.Time) {
			return fail(ErrNotYetValid, "token issued in the future at %s (now %s, leeway %v)", stamp(c.IssuedAt.Time), stamp(now), v.leeway)
		}
		if c.IssuedAt.After(c.ExpiresAt.Time) {
			return fail(ErrClaims, "token issued at %s, after it expires at %s", stamp(c.IssuedAt.Time), stamp(c.ExpiresAt.Time))
		}
	}
	if c.Subject == "" {
		return fail(ErrClaims, "token has no sub claim")
	}
	if c.Region == "" {
		return fail(ErrClaims, "token has no region claim")
	}
	return nil
}

// identityFrom builds the Identity and enforces the rules that tie roles to
// other claims, so handlers can rely on them.
func identityFrom(c *claims, raw string) (*Identity, error) {
	id := &Identity{
		Subject: c.Subject,
		Name:    c.Name,
		Region:  c.Region,
		Partner: c.Partner,
		Token:   raw,
	}
	for _, r := range c.Roles {
		role := Role(r)
		if !knownRole(role) {
			return nil, fail(ErrClaims, "unknown role %q", r)
		}
		if !slices.Contains(id.Roles, role) {
			id.Roles = append(id.Roles, role)
		}
	}
	if len(id.Roles) == 0 {
		// A person signed in through the identity provider without any
		// grant is still someone who may submit ideas and needs.
		id.Roles = []Role{Submitter}
	}
	if id.Has(Coordinator) && id.Region != NationalRegion {
		return nil, fail(ErrClaims, "role coordinator requires region %q, token has region %q", NationalRegion, id.Region)
	}
	if id.Has(Partner) && id.Partner == "" {
		return nil, fail(ErrClaims, "role partner requires a partner claim")
	}
	return id, nil
}
