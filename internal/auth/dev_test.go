package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoadOrCreateDevKey_SameKeyTwice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("first LoadOrCreateDevKey: %v", err)
	}
	second, err := LoadOrCreateDevKey(dir)
	if err != nil {
		t.Fatalf("second LoadOrCreateDevKey: %v", err)
	}
	if first.KeyID() != second.KeyID() || !first.key.Equal(second.key) {
		t.Errorf("second load gave kid %s, first %s: want the same key", second.KeyID(), first.KeyID())
	}
	if diff := cmp.Diff(string(first.PublicJWKS()), string(second.PublicJWKS())); diff != "" {
		t.Errorf("PublicJWKS (-first +second):\n%s", diff)
	}
	assertMode(t, filepath.Join(dir, DevKeyFile), 0o600)
	assertMode(t, dir, 0o700)

	// A token from one process's signer is accepted by the other's verifier.
	tok, err := first.Sign(Claims{Subject: "u", Region: "uppsala", Roles: []Role{Advisor}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Verifier().Verify(t.Context(), tok); err != nil {
		t.Errorf("second signer's verifier refused the first's token: %v", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestLoadOrCreateDevKey_ConcurrentCreation(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	kids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := LoadOrCreateDevKey(dir)
			errs[i] = err
			if err == nil {
				kids[i] = s.KeyID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreateDevKey %d: %v", i, errs[i])
		}
		if kids[i] != kids[0] {
			t.Errorf("loader %d got kid %s, loader 0 got %s", i, kids[i], kids[0])
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != DevKeyFile {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want only %s (no temporary files left)", names, DevKeyFile)
	}
}

// TestLoadOrCreateDevKey_ConcurrentProcesses starts several copies of the
// test binary that create the key in one folder at the same moment, as
// `motor serve` and `motor token` may.
func TestLoadOrCreateDevKey_ConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("AUTH_TEST_DEVKEY_DIR"); dir != "" {
		s, err := LoadOrCreateDevKey(dir)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("kid=" + s.KeyID() + "\n")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skipf("os.Executable: %v", err)
	}
	dir := t.TempDir()
	const n = 4
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestLoadOrCreateDevKey_ConcurrentProcesses$", "-test.count=1")
			cmd.Env = append(os.Environ(), "AUTH_TEST_DEVKEY_DIR="+dir)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	var kids []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		_, rest, ok := strings.Cut(outs[i], "kid=")
		if !ok {
			t.Fatalf("process %d printed no kid:\n%s", i, outs[i])
		}
		kid, _, _ := strings.Cut(rest, "\n")
		kids = append(kids, kid)
	}
	for i, kid := range kids {
		if kid != kids[0] {
			t.Errorf("process %d got kid %s, process 0 got %s", i, kid, kids[0])
		}
	}
}

func TestLoadOrCreateDevKey_TightensLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateDevKey(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DevKeyFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateDevKey(dir); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
}

func TestLoadOrCreateDevKey_RefusesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DevKeyFile)
	if err := os.WriteFile(path, []byte(`{"kty":"EC",`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateDevKey(dir); err == nil || !strings.Contains(err.Error(), "parsing") {
		t.Fatalf("LoadOrCreateDevKey error %v, want a parse error", err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != `{"kty":"EC",` {
		t.Errorf("corrupt key file was replaced: %q, %v", got, err)
	}
}

func TestSigner_SignAndVerify(t *testing.T) {
	s, err := LoadOrCreateDevKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := Claims{Subject: "partner-user-7", Name: "Bo", Region: "skane", Roles: []Role{Partner}, Partner: "partners/medtech-ab"}
	tok, err := s.Sign(c, time.Hour)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	want := &Identity{Subject: "partner-user-7", Name: "Bo", Region: "skane", Roles: []Role{Partner}, Partner: "partners/medtech-ab", Token: tok}

	t.Run("own verifier", func(t *testing.T) {
		got, err := s.Verifier().Verify(t.Context(), tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("identity (-want +got):\n%s", diff)
		}
	})
	t.Run("peer verifier from PublicJWKS", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "jwks.json")
		if err := os.WriteFile(path, s.PublicJWKS(), 0o600); err != nil {
			t.Fatal(err)
		}
		v, err := NewVerifier(t.Context(), Config{Issuer: DevIssuer, Audience: DevAudience, JWKSFile: path})
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		got, err := v.Verify(t.Context(), tok)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("identity (-want +got):\n%s", diff)
		}
	})
	t.Run("other dev key refuses it", func(t *testing.T) {
		other, err := GenerateDevKey()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Verifier().Verify(t.Context(), tok); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Verify with another dev key: %v, want ErrUnknownKey", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		s.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
		defer func() { s.now = time.Now }()
		old, err := s.Sign(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Verifier().Verify(t.Context(), old); !errors.Is(err, ErrExpired) {
			t.Errorf("Verify of an expired dev token: %v, want ErrExpired", err)
		}
	})
}

func TestSigner_RefusesBadClaims(t *testing.T) {
	s, err := GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claims  Claims
		ttl     time.Duration
		wantMsg string
	}{
		{"zero ttl", Claims{Subject: "u", Region: "uppsala"}, 0, "not positive"},
		{"no subject", Claims{Region: "uppsala"}, time.Hour, "subject and region are required"},
		{"no region", Claims{Subject: "u"}, time.Hour, "subject and region are required"},
		{"unknown role", Claims{Subject: "u", Region: "uppsala", Roles: []Role{"admin"}}, time.Hour, `unknown role "admin"`},
		{"regional coordinator", Claims{Subject: "u", Region: "uppsala", Roles: []Role{Coordinator}}, time.Hour, "requires region"},
		{"partner without partner", Claims{Subject: "u", Region: "uppsala", Roles: []Role{Partner}}, time.Hour, "partner claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Sign(tt.claims, tt.ttl); err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Sign error %v, want one saying %q", err, tt.wantMsg)
			}
		})
	}
}

// TestLoadOrCreateDevKey_ReadsKeyFiles reads key files as earlier versions
// wrote them (members in another order, no go-jose involved), so a
// deployment's dev key, and the tokens printed with it, survive an upgrade;
// and it refuses a file whose public point is not the private key's.
func TestLoadOrCreateDevKey_ReadsKeyFiles(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	point := func(k *ecdsa.PrivateKey) (x, y string) {
		b, err := k.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return enc(b[1:33]), enc(b[33:])
	}
	d, err := key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	x, y := point(key)
	// RFC 7638: the thumbprint of the required members in lexicographic order.
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	kid := enc(sum[:])
	ox, oy := point(other)

	tests := []struct {
		name    string
		file    string
		wantMsg string // "" means loaded with kid
	}{
		{"earlier format", `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `","d":"` + enc(d) + `","kid":"` + kid + `","alg":"ES256","use":"sig"}`, ""},
		{"public point of another key", `{"kty":"EC","crv":"P-256","x":"` + ox + `","y":"` + oy + `","d":"` + enc(d) + `"}`, "public point does not match the private key"},
		{"public key only", `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}`, "want an EC P-256 private key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, DevKeyFile), []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := LoadOrCreateDevKey(dir)
			if tt.wantMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("LoadOrCreateDevKey error %v, want one saying %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadOrCreateDevKey: %v", err)
			}
			if s.KeyID() != kid || !s.key.Equal(key) {
				t.Errorf("loaded kid %s, want %s and the same key", s.KeyID(), kid)
			}
		})
	}
}
