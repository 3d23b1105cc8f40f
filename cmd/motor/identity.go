package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
)

// identity returns the token verifier: the configured identity provider, or
// in dev mode the key in the data folder (created on first start), whose
// signer it returns too (nil with an identity provider).
func identity(ctx context.Context, c serveConfig) (*auth.Verifier, *auth.Signer, error) {
	if c.oidc.Issuer != "" {
		v, err := auth.NewVerifier(ctx, c.oidc)
		if err != nil {
			return nil, nil, fmt.Errorf("auth.NewVerifier: %w", err)
		}
		return v, nil, nil
	}
	signer, err := auth.LoadOrCreateDevKey(c.keyDir())
	if err != nil {
		return nil, nil, fmt.Errorf("auth.LoadOrCreateDevKey: %w", err)
	}
	return signer.Verifier(), signer, nil
}

// mtlsConfig is this deployment's TLS material, loaded once at start-up.
// Both configs are nil without TLS: plain text, as a single deployment
// on one machine runs.
type mtlsConfig struct {
	server *tls.Config
	// client is the template of every connection this process makes; each
	// connection gets a clone whose ServerName is the deployment it means
	// to reach.
	client *tls.Config
	self   string
}

func loadMTLS(c serveConfig) (mtlsConfig, error) {
	m := mtlsConfig{self: c.name}
	if !c.tls.Enabled() {
		if m.self == "" {
			m.self = defaultName(c)
		}
		return m, nil
	}
	var err error
	if m.server, err = rpc.ServerTLS(c.tls.CA, c.tls.Cert, c.tls.Key); err != nil {
		return m, err
	}
	if m.client, err = rpc.ClientTLS(c.tls.CA, c.tls.Cert, c.tls.Key, ""); err != nil {
		return m, err
	}
	cert, err := m.client.GetClientCertificate(&tls.CertificateRequestInfo{})
	if err != nil {
		return m, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return m, fmt.Errorf("x509.ParseCertificate %s: %w", c.tls.Cert, err)
		}
	}
	certName := auth.CertDeployment(leaf)
	switch {
	case certName == "":
		return m, fmt.Errorf("-tls-cert: %s names no deployment (no common name or DNS name)", c.tls.Cert)
	case m.self == "":
		m.self = certName
	case m.self != certName:
		return m, fmt.Errorf("-name is %q but the certificate %s is for %q", m.self, c.tls.Cert, certName)
	}
	return m, nil
}

// defaultName names a deployment that did not say: national, or the one
// region it serves.
func defaultName(c serveConfig) string {
	if c.national {
		return config.NationalName
	}
	if ids := c.regions.IDs(); len(ids) == 1 {
		return ids[0]
	}
	return ""
}
