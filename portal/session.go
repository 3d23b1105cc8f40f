package portal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// SessionCookie is the name of the cookie that holds a signed-in person's
// session: the HTTP server's admission control tells portal users apart by
// it.
const SessionCookie = "motor_session"

// Cookie names. The session holds the bearer token the portal forwards to
// the services; it never reaches a URL, a page or script (HttpOnly).
const (
	sessionCookie = SessionCookie
	stashCookie   = "motor_stash"
	oidcCookie    = "motor_oidc"
	langCookie    = "motor_lang"
)

// session is who is signed in. It travels encrypted and authenticated in a
// cookie, so the portal keeps no server-side state and any replica sharing
// the key can serve the next request.
type session struct {
	Token   string      `json:"t"`
	Subject string      `json:"s"`
	Name    string      `json:"n"`
	Region  string      `json:"r"`
	Roles   []auth.Role `json:"o"`
	// Partner is the partner a company user belongs to (role partner).
	Partner string    `json:"p,omitempty"`
	Expires time.Time `json:"e"`
	// CSRF is the token every form of this session carries.
	CSRF string `json:"c"`
}

func (s *session) has(r auth.Role) bool {
	if s == nil {
		return false
	}
	for _, x := range s.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// staff: advisors and region admins work the region's queue.
func (s *session) staff() bool { return s.has(auth.Advisor) || s.has(auth.RegionAdmin) }

// stash is a form a person was filling in when their session ran out: kept
// (encrypted, like the session) until they are signed in again and the page
// is shown with it.
type stash struct {
	Path string     `json:"p"`
	Form url.Values `json:"f"`
}

// sealer encrypts cookie values with AES-256-GCM. The cookie's name is the
// additional data, so one cookie's value cannot be replayed as another.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("session key: %d bytes, want at least 32", len(key))
	}
	k := sha256.Sum256(key)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("aes.NewCipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cipher.NewGCM: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("json.Marshal: %w", err)
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("rand.Read: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, plain, []byte(name))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

var errBadCookie = errors.New("cookie does not decrypt")

func (s *sealer) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return errBadCookie
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(name))
	if err != nil {
		return errBadCookie
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return errBadCookie
	}
	return nil
}

// cookies writes and reads the portal's sealed cookies.
type cookies struct {
	sealer *sealer
	// insecure drops the Secure attribute: only for a dev portal on plain
	// http over loopback, where browsers would otherwise not send it back.
	insecure bool
}

func (c *cookies) set(w http.ResponseWriter, name string, v any, maxAge time.Duration) error {
	value, err := c.sealer.seal(name, v)
	if err != nil {
		return err
	}
	if len(value) > 3800 {
		return fmt.Errorf("cookie %s: %d bytes is more than a browser keeps", name, len(value))
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: !c.insecure, SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (c *cookies) get(r *http.Request, name string, v any) bool {
	ck, err := r.Cookie(name)
	if err != nil {
		return false
	}
	return c.sealer.open(name, ck.Value, v) == nil
}

func (c *cookies) clear(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: !c.insecure, SameSite: http.SameSiteLaxMode,
	})
}

// session returns the signed-in person, or nil when nobody is or the
// session has run out.
func (c *cookies) session(r *http.Request, now time.Time) *session {
	var s session
	if !c.get(r, sessionCookie, &s) || s.Token == "" || !now.Before(s.Expires) {
		return nil
	}
	return &s
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}
