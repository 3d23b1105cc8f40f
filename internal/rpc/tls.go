package rpc

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

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
	pool, cert, err := loadTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rpc.ServerTLS: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}

// ClientTLS returns the TLS config of a connection to the deployment named
// serverName, presenting this deployment's certificate. An empty serverName
// is allowed for a template that is cloned per peer with its ServerName set.
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	pool, cert, err := loadTLS(caFile, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("rpc.ClientTLS: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
	}, nil
}

// WithTLS is the Dial option for an mTLS connection; it replaces Dial's
// default of plain text.
func WithTLS(cfg *tls.Config) grpc.DialOption {
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

func loadTLS(caFile, certFile, keyFile string) (*x509.CertPool, tls.Certificate, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("CA: no PEM certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("tls.LoadX509KeyPair: %w", err)
	}
	return pool, cert, nil
}
