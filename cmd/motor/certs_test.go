package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := run(t.Context(), []string{"certs", "-out", dir, "-regions", "vasterbotten, uppsala,national"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("motor certs: %v", err)
	}
	ca := readCert(t, filepath.Join(dir, "ca.pem"))
	if !ca.IsCA {
		t.Fatal("ca.pem is not a CA")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, name := range []string{"vasterbotten", "uppsala", "national"} {
		c := readCert(t, filepath.Join(dir, name+".pem"))
		if !slices.Equal(c.DNSNames, []string{name, "localhost"}) || c.Subject.CommonName != name {
			t.Errorf("%s: DNS names %v, CN %q", name, c.DNSNames, c.Subject.CommonName)
		}
		if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
			t.Errorf("%s: IP SANs %v", name, c.IPAddresses)
		}
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s: does not verify for %v: %v", name, usage, err)
			}
		}
		if life := c.NotAfter.Sub(time.Now()); life < 360*24*time.Hour || life > 366*24*time.Hour {
			t.Errorf("%s: valid for %v, want about a year", name, life)
		}
		st, err := os.Stat(filepath.Join(dir, name+"-key.pem"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s-key.pem: %v, mode %v, want 0600", name, err, st.Mode().Perm())
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem: %v, want mode 0600", err)
	}

	// A second run adds a deployment under the same CA.
	var out bytes.Buffer
	if err := run(t.Context(), []string{"certs", "-out", dir, "-regions", "skane"}, &out, io.Discard); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(out.String(), "reusing the CA") {
		t.Errorf("second run says %q, want it to reuse the CA", out.String())
	}
	if again := readCert(t, filepath.Join(dir, "ca.pem")); !again.Equal(ca) {
		t.Error("second run replaced the CA")
	}
	if _, err := readCert(t, filepath.Join(dir, "skane.pem")).Verify(x509.VerifyOptions{Roots: roots, DNSName: "skane", KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("skane under the reused CA: %v", err)
	}

	// Half a CA is not silently replaced.
	if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"certs", "-out", dir, "-regions", "skane"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "only one of") {
		t.Errorf("CA without its key: %v, want refused", err)
	}
}

func TestCerts_BadFlags(t *testing.T) {
	err := run(t.Context(), []string{"certs", "-regions", "Upp Sala"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-out") || !strings.Contains(err.Error(), "-regions") {
		t.Errorf("certs without -out and with a bad name: %v, want both named", err)
	}
}
