package auth

import (
	"crypto"
	"crypto/sha256"
	"sync"
	"time"
)

// defaultCacheSize bounds the verified tokens a Verifier remembers. A token
// is a few hundred bytes and an entry about as much again, so the cache
// stays under a few MiB however many people call.
const defaultCacheSize = 4096

// publicKey is what the crypto/* public key types have in common.
type publicKey interface {
	Equal(x crypto.PublicKey) bool
}

// tokenCache remembers tokens whose signature and claims were verified, until
// they expire, so that a client calling many times with one token pays for
// the signature check (about half the CPU of a small call) once. An entry is
// keyed by the token's SHA-256, never by the token, and holds the key that
// verified it: a key set reloaded without that key makes the entry void, so
// a key withdrawn from the JWKS stops its tokens as soon as the reload lands.
type tokenCache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]*cachedToken
	// hits counts the calls answered from the cache, for tests.
	hits int
}

type cachedToken struct {
	id *Identity
	// set is the key set the token was last found valid against, kid and
	// pub the key that signed it.
	set *keySet
	kid string
	pub any
	// notBefore and expires bound when the token is valid, leeway included.
	notBefore, expires time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[sha256.Size]byte]*cachedToken)}
}

// get returns a copy of the identity of a cached token still valid at now
// against set, or nil.
func (c *tokenCache) get(h [sha256.Size]byte, set *keySet, now time.Time) *Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[h]
	if e == nil {
		return nil
	}
	if now.Before(e.notBefore) || now.After(e.expires) {
		delete(c.entries, h)
		return nil
	}
	if e.set != set {
		if !set.holds(e.kid, e.pub) {
			delete(c.entries, h)
			return nil
		}
		e.set = set
	}
	c.hits++
	id := *e.id
	id.Roles = append([]Role(nil), e.id.Roles...)
	return &id
}

// put remembers a verified token. When the cache is full it first drops
// expired entries, then an arbitrary one.
func (c *tokenCache) put(h [sha256.Size]byte, e *cachedToken, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		for k, old := range c.entries {
			if now.After(old.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[h] = e
}

// holds reports whether the set still has the key kid with public key pub.
func (s *keySet) holds(kid string, pub any) bool {
	candidates := s.byKID[kid]
	if kid == "" && len(s.all) == 1 {
		// Verify accepts a kid-less token only against a one-key set.
		candidates = s.all
	}
	for _, k := range candidates {
		if p, ok := k.pub.(publicKey); ok && p.Equal(pub) {
			return true
		}
	}
	return false
}
