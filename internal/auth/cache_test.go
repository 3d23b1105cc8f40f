package auth

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

func TestVerify_CachedTokenHonoursExpiryAndKeyRemoval(t *testing.T) {
	clk := newClock()
	k1 := newTestKey(t, "ES256", "k1")
	k2 := newTestKey(t, "ES256", "k2")
	file := writeJWKS(t, k1, k2)
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: file, Now: clk.now})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	tok1 := mint(t, k1, hdrFor(k1), goodClaims(clk.now()))
	tok2 := mint(t, k2, hdrFor(k2), goodClaims(clk.now()))
	for i := range 2 {
		id, err := v.Verify(t.Context(), tok1)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if id.Subject != "user-1" || !id.Has(Advisor) || id.Token != tok1 {
			t.Fatalf("call %d: identity %+v", i, id)
		}
		// A caller changing its copy must not change the next caller's.
		id.Roles[0] = Coordinator
		id.Deployment = "elsewhere"
	}
	if id, _ := v.Verify(t.Context(), tok1); id.Has(Coordinator) || id.Deployment != "" {
		t.Fatalf("cached identity changed by an earlier caller: %+v", id)
	}
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Fatalf("k2: %v", err)
	}
	if n := len(v.cache.entries); n != 2 {
		t.Errorf("%d cached tokens, want 2", n)
	}
	if v.cache.hits != 2 {
		t.Errorf("%d calls answered from the cache, want 2 (the second and third of tok1)", v.cache.hits)
	}

	// k1 leaves the key set: its cached token is refused at the next call
	// after the reload, k2's still passes.
	if err := os.WriteFile(file, jwksOf(k2), 0o600); err != nil {
		t.Fatal(err)
	}
	v.reload(t.Context())
	if _, err := v.Verify(t.Context(), tok1); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("cached token of a withdrawn key: error %v, want ErrUnknownKey", err)
	}
	hits := v.cache.hits
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Errorf("cached token of a kept key after the reload: %v", err)
	}
	if v.cache.hits != hits+1 {
		t.Errorf("a token of a key the reload kept was verified again, want it answered from the cache")
	}

	// Past exp and the leeway a cached token is refused like any other.
	clk.advance(time.Hour + v.leeway + time.Second)
	if _, err := v.Verify(t.Context(), tok2); !errors.Is(err, ErrExpired) {
		t.Errorf("cached token after expiry: error %v, want ErrExpired", err)
	}
}

func TestTokenCache_Bounded(t *testing.T) {
	clk := newClock()
	k := newTestKey(t, "ES256", "k")
	v, err := NewVerifier(t.Context(), Config{Issuer: testIssuer, Audience: testAudience, JWKSFile: writeJWKS(t, k), Now: clk.now})
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	v.cache.max = 8
	for i := range 20 {
		tok := mint(t, k, hdrFor(k), with(goodClaims(clk.now()), "sub", fmt.Sprintf("user-%d", i)))
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if n := len(v.cache.entries); n > 8 {
			t.Fatalf("after %d tokens the cache holds %d, want at most 8", i+1, n)
		}
	}
}
