package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/gateway/exports"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/portal"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// portalOptions are the portal's own flags of `motor serve`.
type portalOptions struct {
	// sessionKey is the file of the key that encrypts the portal's cookies;
	// replicas of one portal share it. Empty: one in the dev-key folder.
	sessionKey string
	// clientID and clientSecret are the portal's client at the identity
	// provider (-oidc-issuer); the secret comes from the environment.
	clientID     string
	clientSecret string
	// publicURL is where people reach the portal (for the OIDC redirect).
	publicURL string
}

type portalFlags struct{ sessionKey, clientID, publicURL *string }

func addPortalFlags(fs *flag.FlagSet) portalFlags {
	return portalFlags{
		sessionKey: fs.String("portal-session-key", "", "portal: file holding the key (32+ bytes) that encrypts session cookies, shared by replicas (default: created in the dev-key folder)"),
		clientID:   fs.String("portal-oidc-client-id", "", "portal: OIDC client id at -oidc-issuer (secret from $MOTOR_PORTAL_OIDC_CLIENT_SECRET)"),
		publicURL:  fs.String("portal-url", "", "portal: its public URL, e.g. https://motor.region.se (default: http://<-http>)"),
	}
}

func (f portalFlags) options() portalOptions {
	return portalOptions{sessionKey: *f.sessionKey, clientID: *f.clientID, publicURL: strings.TrimSuffix(*f.publicURL, "/"),
		clientSecret: os.Getenv("MOTOR_PORTAL_OIDC_CLIENT_SECRET")}
}

// withPortal returns the handler of the HTTP listener: the gateway's REST
// API under /v1 (when this process runs the gateway), its health and metrics
// routes, and the portal at / (when it runs the portal). The portal reaches
// the services over gRPC like the gateway does, with the person's token.
func withPortal(ctx context.Context, c serveConfig, gw http.Handler, conns *connPool, devSigner *auth.Signer, logger *slog.Logger, httpURL string, stdout io.Writer) (http.Handler, error) {
	if !c.runs("portal") {
		return gw, nil
	}
	cfg := portal.Config{Regions: c.regions.IDs(), DevSigner: devSigner, Logger: logger}
	for _, name := range []string{"idea", "needs", "partner"} {
		conn, err := conns.get(name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "idea":
			cfg.Ideas = ideav1.NewIdeaServiceClient(conn)
		case "needs":
			cfg.Needs = needsv1.NewNeedsServiceClient(conn)
		case "partner":
			cfg.Partners = partnerv1.NewPartnerServiceClient(conn)
		}
	}
	// "Mina uppgifter": the person service, with the person's own token.
	if conn, err := conns.get("person"); err == nil {
		cfg.Persons = personv1.NewPersonServiceClient(conn)
	}
	if err := portalWork(c, conns, &cfg); err != nil {
		return nil, err
	}
	base := c.portal.publicURL
	if base == "" {
		base = httpURL
	}
	if devSigner == nil {
		if c.portal.clientID == "" {
			if c.explicitPortal {
				return nil, errors.New("-target portal with -oidc-issuer needs -portal-oidc-client-id")
			}
			fmt.Fprintln(stdout, "motor: portal not served: an identity provider is configured but no -portal-oidc-client-id")
			return gw, nil
		}
		cfg.OIDC = &portal.OIDCConfig{Issuer: c.oidc.Issuer, ClientID: c.portal.clientID, ClientSecret: c.portal.clientSecret, RedirectURL: base + "/signin/callback"}
	}
	keyFile := c.portal.sessionKey
	if keyFile == "" {
		keyFile = filepath.Join(c.keyDir(), "portal-session.key")
	}
	key, err := loadOrCreateSessionKey(keyFile)
	if err != nil {
		return nil, err
	}
	cfg.SessionKey = key
	// Browsers keep Secure cookies only over https, except on loopback
	// where Chromium and Firefox accept them over plain http too; dev mode
	// on a loopback address relaxes Secure so every browser signs in.
	cfg.InsecureCookies = devSigner != nil && strings.HasPrefix(base, "http://") && loopbackAddr(strings.TrimPrefix(httpURL, "http://"))
	h, err := portal.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/healthz", "/readyz"} {
		mux.Handle(p, gw)
	}
	if c.runs("gateway") {
		mux.Handle("/v1/", gw)
		mux.Handle("/openapi.json", gw)
		mux.Handle("/docs", gw)
		mux.Handle("/docs/", gw)
	}
	mux.Handle("/", h)
	note := ""
	if cfg.InsecureCookies {
		note = " (dev mode on loopback: session cookies without Secure, over plain http)"
	}
	fmt.Fprintf(stdout, "motor: portal %s/%s\n", base, note)
	return mux, nil
}

// portalWork connects the pages of region admins and the national
// coordinator: this deployment's funding service, the programme ledger
// (the national deployment's), the coordinator where it runs, and for the
// coordinator's decisions the funding service of every region in peers.
func portalWork(c serveConfig, conns *connPool, cfg *portal.Config) error {
	if len(c.regions.IDs()) > 0 {
		conn, err := conns.get("funding")
		if err != nil {
			return err
		}
		cfg.Subprojects = fundingv1.NewSubprojectServiceClient(conn)
		// The region's reports, and its exports through the gateway's
		// export handler (each download made with the person's token).
		byName := map[string]*grpc.ClientConn{}
		for _, name := range []string{"idea", "needs", "funding", "partner", "reports"} {
			if byName[name], err = conns.get(name); err != nil {
				return err
			}
		}
		cfg.Reports = reportsv1.NewReportServiceClient(byName["reports"])
		cfg.Exports = exports.Handler(byName, nil)
	}
	ledger, err := conns.get("ledger")
	if err != nil {
		return err
	}
	cfg.Programmes = fundingv1.NewProgrammeServiceClient(ledger)
	// The coordinator runs here, or (the national portal's own pod) at its
	// -upstreams address.
	if !c.runs("coordinator") && c.upstreams["coordinator"] == "" {
		return nil
	}
	coord, err := conns.get("coordinator")
	if err != nil {
		return err
	}
	cfg.Coordinator = coordinatorv1.NewCoordinatorServiceClient(coord)
	local := cfg.Subprojects
	cfg.RegionFunding = func(region string) (fundingv1.SubprojectServiceClient, error) {
		if c.regions.Has(region) && local != nil {
			return local, nil
		}
		for _, peer := range c.peers {
			if slices.Contains(peer.ServedRegions(), region) {
				conn, err := conns.dial(peer.AddressOf("funding"), peer.Name)
				if err != nil {
					return nil, err
				}
				return fundingv1.NewSubprojectServiceClient(conn), nil
			}
		}
		return nil, fmt.Errorf("no deployment in peers serves region %s", region)
	}
	return nil
}

func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadOrCreateSessionKey reads the cookie key, creating a random one on
// first start (mode 0600: whoever reads it can forge sessions).
func loadOrCreateSessionKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < 32 {
			return nil, fmt.Errorf("portal session key %s: %d bytes, want at least 32", path, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateSessionKey(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("portal session key: %w", err)
	}
	return key, nil
}
