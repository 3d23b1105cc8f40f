package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Deployments authenticate each other with certificates of one CA (mTLS):
// a server takes only clients with a certificate of that CA, and a client
// checks that the server's certificate names the deployment it meant to
// reach. TLS 1.3 only: every peer is Motor, so there is nothing older to
// stay compatible with.

// ServerTLS returns the TLS config of a gRPC listener that requires and
// verifies a client certificate signed by the CA in caFile.
func ServerTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	pool, pair, err := loadTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rpc.ServerTLS: %w", err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return pair.current(), nil },
		ClientCAs:      pool,
		ClientAuth:     tls.RequireAndVerifyClientCert,
	}, nil
}

// ClientTLS returns the TLS config of a connection to the deployment named
// serverName, presenting this deployment's certificate. An empty serverName
// is allowed for a template that is cloned per peer with its ServerName set.
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pool, pair, err := loadTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rpc.ClientTLS: %w", err)
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair.current(), nil },
		RootCAs:              pool,
		ServerName:           serverName,
	}, nil
}

// WithTLS is the Dial option for an mTLS connection; it replaces Dial's
// default of plain text.
func WithTLS(cfg *tls.Config) grpc.DialOption {
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

// loadTLS reads the CA once (a new CA means a new trust decision, made by
// restarting) and the certificate and key as a keyPair that follows the
// files.
func loadTLS(caFile, certFile, keyFile string) (*x509.CertPool, *keyPair, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, nil, fmt.Errorf("CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("CA: no PEM certificate in %s", caFile)
	}
	pair := &keyPair{certFile: certFile, keyFile: keyFile}
	if err := pair.load(); err != nil {
		return nil, nil, err
	}
	return pool, pair, nil
}

// keyPair is this deployment's certificate and key as the files hold them
// now. cert-manager renews a certificate before it expires by rewriting its
// Secret, and the kubelet swaps the mounted files; a process that read them
// once would present the old certificate until it expired and then be
// refused by every peer. So each handshake looks at the files' size and
// modification time and reads them again when either changed. A pair that
// does not load (the key written, the certificate not yet) leaves the last
// good one in use and is tried again at the next handshake.
type keyPair struct {
	certFile, keyFile string

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp string
}

func (k *keyPair) load() error {
	stamp := fileStamp(k.certFile, k.keyFile)
	cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
	if err != nil {
		return fmt.Errorf("tls.LoadX509KeyPair: %w", err)
	}
	k.mu.Lock()
	k.cert, k.stamp = &cert, stamp
	k.mu.Unlock()
	return nil
}

func (k *keyPair) current() *tls.Certificate {
	k.mu.Lock()
	unchanged := fileStamp(k.certFile, k.keyFile) == k.stamp
	cert := k.cert
	k.mu.Unlock()
	if !unchanged {
		_ = k.load() // on failure the last good pair stays
		k.mu.Lock()
		cert = k.cert
		k.mu.Unlock()
	}
	return cert
}

// fileStamp identifies the files' contents cheaply: a changed size or
// modification time of either means they were rewritten.
func fileStamp(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			b.WriteString("missing;")
			continue
		}
		fmt.Fprintf(&b, "%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}
