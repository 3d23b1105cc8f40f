package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
)

// pki is a dev CA in a folder: ca.pem and NAME.pem / NAME-key.pem, the
// layout `motor certs` writes.
type pki struct {
	dir  string
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	serN int64
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{dir: t.TempDir(), ca: ca, key: key, serN: 1}
	writePEM(t, filepath.Join(p.dir, "ca.pem"), "CERTIFICATE", der)
	return p
}

// issue writes a certificate for deployment name and returns its cert and
// key paths.
func (p *pki) issue(t testing.TB, name string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serN++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serN), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name, "localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyPath := filepath.Join(p.dir, name+".pem"), filepath.Join(p.dir, name+"-key.pem")
	writePEM(t, cert, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", kder)
	return cert, keyPath
}

func (p *pki) caFile() string { return filepath.Join(p.dir, "ca.pem") }

// whoService answers UnaryCall with the identity the interceptors saw.
type whoService struct {
	testpb.UnimplementedTestServiceServer
}

func (whoService) UnaryCall(ctx context.Context, _ *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	id, ok := auth.FromContext(ctx)
	if !ok {
		return &testpb.SimpleResponse{Username: "anonymous"}, nil
	}
	return &testpb.SimpleResponse{Username: fmt.Sprintf("%s@%s via %s %v", id.Subject, id.Region, id.Deployment, id.Roles)}, nil
}

// mtlsServer is the national deployment's gRPC server on a real loopback
// listener, requiring client certificates of p's CA.
type mtlsServer struct {
	addr   string
	signer *auth.Signer
	pki    *pki
}

func startMTLS(t *testing.T, self string, peers map[string]auth.Peer) *mtlsServer {
	return startMTLSRules(t, self, peers, testRules(auth.RegionReadsLedger))
}

func startMTLSRules(t *testing.T, self string, peers map[string]auth.Peer, rules map[string]auth.Rule) *mtlsServer {
	t.Helper()
	p := newPKI(t)
	cert, key := p.issue(t, self)
	serverTLS, err := rpc.ServerTLS(p.caFile(), cert, key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := auth.GenerateDevKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(rpc.ServerConfig{Verifier: signer.Verifier(), TLS: serverTLS, Self: self, Peers: peers, Rules: rules})
	testpb.RegisterTestServiceServer(srv.GRPC, whoService{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, lis, 5*time.Second) }()
	t.Cleanup(func() { cancel(); <-done })
	return &mtlsServer{addr: lis.Addr().String(), signer: signer, pki: p}
}

// client dials s as deployment name with a certificate of p (nil: s's CA),
// expecting the server to be serverName.
func (s *mtlsServer) client(t *testing.T, p *pki, name, serverName string) testpb.TestServiceClient {
	t.Helper()
	if p == nil {
		p = s.pki
	}
	cert, key := p.issue(t, name)
	cfg, err := rpc.ClientTLS(s.pki.caFile(), cert, key, serverName)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rpc.Dial(s.addr, nil, rpc.WithTLS(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return testpb.NewTestServiceClient(conn)
}

func (s *mtlsServer) token(t *testing.T, region string, roles ...auth.Role) string {
	t.Helper()
	tok, err := s.signer.Sign(auth.Claims{Subject: "user-" + region, Region: region, Roles: roles}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func whoami(t *testing.T, c testpb.TestServiceClient, token string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = auth.WithBearer(ctx, token)
	}
	resp, err := c.UnaryCall(ctx, &testpb.SimpleRequest{})
	return resp.GetUsername(), err
}

func TestMTLS_Identity(t *testing.T) {
	s := startMTLS(t, "national", map[string]auth.Peer{"norr": {Regions: []string{"vasterbotten", "norrbotten"}}, "uppsala": {}})
	uppsala := s.client(t, nil, "uppsala", "national")
	stockholm := s.client(t, nil, "stockholm", "national")
	for _, tc := range []struct {
		name   string
		client testpb.TestServiceClient
		token  string
		want   string
		code   codes.Code
	}{
		{"peer system call gets the service identity", uppsala, "", "deployment:uppsala@uppsala via uppsala [service]", codes.OK},
		{"peer with a token of its own region", uppsala, s.token(t, "uppsala", auth.RegionAdmin), "user-uppsala@uppsala via uppsala [region_admin]", codes.OK},
		{"peer with a coordinator token", uppsala, s.token(t, "national", auth.Coordinator), "user-national@national via uppsala [coordinator]", codes.OK},
		{"peer with another region's advisor token", uppsala, s.token(t, "vasterbotten", auth.Advisor), "", codes.PermissionDenied},
		{"another region's roles are dropped, cross-region ones kept", uppsala, s.token(t, "national", auth.Advisor, auth.Coordinator), "user-national@national via uppsala [coordinator]", codes.OK},
		{"configured peer serving several regions", s.client(t, nil, "norr", "national"), s.token(t, "norrbotten", auth.Advisor), "user-norrbotten@norrbotten via norr [advisor]", codes.OK},
		{"own certificate without token is not a service", s.client(t, nil, "national", "national"), "", "", codes.Unauthenticated},
		{"own certificate passes tokens through as plain text does", s.client(t, nil, "national", "national"), s.token(t, "vasterbotten", auth.Advisor), "user-vasterbotten@vasterbotten via national [advisor]", codes.OK},
		{"bad token with a good certificate", uppsala, "not-a-jwt", "", codes.Unauthenticated},
		{"a deployment the CA knows but peers do not list", stockholm, "", "", codes.PermissionDenied},
		{"an unlisted deployment carrying its region's token", stockholm, s.token(t, "stockholm", auth.Advisor), "", codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := whoami(t, tc.client, tc.token)
			if status.Code(err) != tc.code {
				t.Fatalf("code %v (%v), want %v", status.Code(err), err, tc.code)
			}
			if got != tc.want {
				t.Errorf("identity %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMTLS_DeniedNamesBoth(t *testing.T) {
	s := startMTLS(t, "national", map[string]auth.Peer{"uppsala": {}})
	_, err := whoami(t, s.client(t, nil, "uppsala", "national"), s.token(t, "vasterbotten", auth.Advisor))
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "uppsala") || !strings.Contains(err.Error(), "vasterbotten") {
		t.Errorf("uppsala certificate with a vasterbotten token: %v, want PermissionDenied naming both", err)
	}
}

func TestMTLS_NationalPeerIdentity(t *testing.T) {
	s := startMTLSRules(t, "uppsala", map[string]auth.Peer{"riks": {National: true}, "national": {National: true}}, testRules(auth.NationalReadsRegion))
	for name, want := range map[string]string{
		"national": "deployment:national@national via national [service]",
		"riks":     "deployment:riks@national via riks [service]",
	} {
		got, err := whoami(t, s.client(t, nil, name, "uppsala"), "")
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
}

// TestMTLS_Refused: only clients with a certificate of the CA get a
// connection at all, and a client talks only to the deployment it meant.
func TestMTLS_Refused(t *testing.T) {
	s := startMTLS(t, "national", nil)
	tok := s.token(t, "national", auth.Coordinator)
	other := newPKI(t)
	otherCert, otherKey := other.issue(t, "uppsala")

	plain, err := rpc.Dial(s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Close() })
	noCert, err := rpc.Dial(s.addr, nil, rpc.WithTLS(&tls.Config{MinVersion: tls.VersionTLS13, RootCAs: mustPool(t, s.pki.caFile()), ServerName: "national"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = noCert.Close() })
	// A certificate of another CA, trusting the right CA for the server.
	foreignCfg, err := rpc.ClientTLS(s.pki.caFile(), otherCert, otherKey, "national")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := rpc.Dial(s.addr, nil, rpc.WithTLS(foreignCfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = foreign.Close() })

	for name, c := range map[string]testpb.TestServiceClient{
		"plain text":                testpb.NewTestServiceClient(plain),
		"no client certificate":     testpb.NewTestServiceClient(noCert),
		"certificate of another CA": testpb.NewTestServiceClient(foreign),
		"server is not who we want": s.client(t, nil, "uppsala", "vasterbotten"),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := whoami(t, c, tok)
			if err == nil {
				t.Fatalf("accepted as %q, want refused", got)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func mustPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no CA in " + caFile)
	}
	return pool
}

func TestTLSFiles_Errors(t *testing.T) {
	p := newPKI(t)
	cert, key := p.issue(t, "uppsala")
	missing := filepath.Join(t.TempDir(), "none.pem")
	for name, f := range map[string]func() error{
		"missing CA":     func() error { _, err := rpc.ServerTLS(missing, cert, key); return err },
		"CA is not PEM":  func() error { _, err := rpc.ClientTLS(key+"x", cert, key, ""); return err },
		"key not cert's": func() error { _, err := rpc.ServerTLS(p.caFile(), cert, p.caFile()); return err },
	} {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestMTLS_RenewedCertificate: a certificate renewed on disk (what
// cert-manager does before expiry) is presented at the next handshake,
// by the server and by the client, without a restart; a pair caught
// half-written leaves the last good one in use.
func TestMTLS_RenewedCertificate(t *testing.T) {
	s := startMTLS(t, "national", nil)
	cert, key := s.pki.issue(t, "uppsala")
	client, err := rpc.ClientTLS(s.pki.caFile(), cert, key, "national")
	if err != nil {
		t.Fatal(err)
	}
	serverSerial := func() int64 {
		t.Helper()
		conn, err := tls.Dial("tcp", s.addr, client)
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	clientSerial := func() int64 {
		t.Helper()
		c, err := client.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.Int64()
	}
	// Renewal keeps the file names; a later modification time marks it even
	// on a file system with coarse timestamps.
	touch := func(paths ...string) {
		t.Helper()
		later := time.Now().Add(time.Minute)
		for _, p := range paths {
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
		}
	}

	server0, client0 := serverSerial(), clientSerial()
	sc, sk := s.pki.issue(t, "national")
	cc, ck := s.pki.issue(t, "uppsala")
	touch(sc, sk, cc, ck)
	server1, client1 := serverSerial(), clientSerial()
	if server1 == server0 || client1 == client0 {
		t.Fatalf("after renewal the server presents serial %d (was %d) and the client %d (was %d), want the new ones", server1, server0, client1, client0)
	}

	if err := os.WriteFile(sk, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ck, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := serverSerial(); got != server1 {
		t.Errorf("server with a broken key on disk presents serial %d, want the last good %d", got, server1)
	}
	if got := clientSerial(); got != client1 {
		t.Errorf("client with a broken key on disk presents serial %d, want the last good %d", got, client1)
	}
}
