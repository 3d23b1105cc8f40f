package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/config"
)

// certValidity is how long dev certificates last: long enough for a
// project, short enough that nobody mistakes them for production material.
const certValidity = 365 * 24 * time.Hour

// certs writes a dev CA and one certificate per deployment, for mTLS
// between local deployments. An existing CA in the folder is reused, so
// adding a deployment later keeps the others' certificates valid.
func certs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder for ca.pem, ca-key.pem and NAME.pem, NAME-key.pem per deployment")
	list := fs.String("regions", "", "comma list of deployment names: region ids and national (e.g. vasterbotten,uppsala,national)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if *out == "" {
		problems = append(problems, "-out is required (e.g. -out certs)")
	}
	var names []string
	for _, n := range strings.Split(*list, ",") {
		if n = strings.TrimSpace(n); n == "" || slices.Contains(names, n) {
			continue
		}
		if !config.ValidName(n) {
			problems = append(problems, fmt.Sprintf("-regions: %q is not a deployment name (a region id, national, or another DNS label)", n))
			continue
		}
		names = append(names, n)
	}
	if len(names) == 0 && *list == "" {
		problems = append(problems, "-regions is required (e.g. -regions vasterbotten,uppsala,national)")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return fmt.Errorf("certs folder: %w", err)
	}
	now := time.Now()
	ca, caKey, reused, err := loadOrCreateCA(*out, now)
	if err != nil {
		return err
	}
	if reused {
		fmt.Fprintf(stdout, "motor: reusing the CA in %s\n", filepath.Join(*out, "ca.pem"))
	} else {
		fmt.Fprintf(stdout, "motor: new dev CA %s\n", filepath.Join(*out, "ca.pem"))
	}
	for _, name := range names {
		if err := issue(*out, name, ca, caKey, now); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "motor: %s: %s, %s\n", name, filepath.Join(*out, name+".pem"), filepath.Join(*out, name+"-key.pem"))
	}
	return nil
}

func serialNumber() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n, nil
}

// loadOrCreateCA returns the CA in dir, or makes one. Half a CA (one of the
// two files) is an error rather than silently replaced: the other
// deployments' certificates may depend on it.
func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, crypto.Signer, bool, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		cert, key, err := parseCA(certPEM, keyPEM)
		if err != nil {
			return nil, nil, false, fmt.Errorf("existing CA in %s: %w", dir, err)
		}
		return cert, key, true, nil
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, nil, false, fmt.Errorf("CA: %w", certErr)
	case keyErr != nil && !errors.Is(keyErr, fs.ErrNotExist):
		return nil, nil, false, fmt.Errorf("CA key: %w", keyErr)
	default:
		return nil, nil, false, fmt.Errorf("%s has only one of ca.pem and ca-key.pem: restore the other or remove both", dir)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, false, fmt.Errorf("ecdsa.GenerateKey: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Motor dev CA", Organization: []string{"Motor (dev)"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clocks a little behind
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("x509.CreateCertificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, fmt.Errorf("x509.ParseCertificate: %w", err)
	}
	// The key first: a ca.pem without its key would block the next run.
	if err := writeKey(keyPath, key); err != nil {
		return nil, nil, false, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, false, err
	}
	return cert, key, false, nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("ca.pem holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("x509.ParseCertificate: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, errors.New("ca.pem is not a CA certificate")
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("ca-key.pem holds no PEM key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("x509.ParsePKCS8PrivateKey: %w", err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("ca-key.pem: %T cannot sign", parsed)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, nil, errors.New("ca-key.pem is not the key of ca.pem")
	}
	return cert, key, nil
}

// issue writes NAME.pem and NAME-key.pem: a certificate for both ends of a
// connection (a deployment serves its peers and calls them), naming the
// deployment and this machine's loopback so local runs verify.
func issue(dir, name string, ca *x509.Certificate, caKey crypto.Signer, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("ecdsa.GenerateKey: %w", err)
	}
	serial, err := serialNumber()
	if err != nil {
		return err
	}
	notAfter := now.Add(certValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter // a reused CA may expire first
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name, Organization: []string{"Motor (dev)"}},
		DNSNames:     []string{name, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("x509.CreateCertificate %s: %w", name, err)
	}
	if err := writeKey(filepath.Join(dir, name+"-key.pem"), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("x509.MarshalPKCS8PrivateKey: %w", err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM replaces path through a temporary file, so a crash never leaves
// half a key, and a key file is never readable by others, not even briefly.
func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".motor-cert-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("os.CreateTemp: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: kind, Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("os.Rename: %w", err)
	}
	return nil
}
