package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/boltstore"
	"github.com/innovationsmotorer/motor/internal/store/redisstore"
	"github.com/innovationsmotorer/motor/internal/telemetry"
)

// serveConfig is the parsed command line of `motor serve`.
type serveConfig struct {
	targets []string
	// target is -target as given ("all", "idea"): it names the telemetry.
	target   string
	admin    string
	httpAddr string
	grpcAddr string
	data     string
	store    string
	regions  config.Served
	demo     bool
	upstream string
	// health is the plain-text, health-only listener for probes ("" none).
	health string
	// upstreams overrides upstream per service.
	upstreams map[string]string
	drain     time.Duration
	reconcile reconcileTiming
	oidc      auth.Config
	logLevel  slog.Level

	// name is the deployment's name (config file or -name; else taken from
	// its certificate). Peers check it against the certificate.
	name string
	// national: this deployment holds the programme ledger that region
	// deployments reserve from.
	national      bool
	tls           config.TLSFiles
	insecurePeers bool
	peers         []config.Peer
	// devKey is the folder of the dev signing key; empty means -data.
	devKey string
	// weights are the served regions' scorecard weights (config file).
	weights map[string]config.RegionWeights
	// portal is the portal's own flags (portal.go); explicitPortal: -target
	// named it rather than "all".
	portal         portalOptions
	explicitPortal bool
	// notify is the deployment file's notification settings.
	notify config.Notify
	// limits are the admission limits (config file, defaults filled in).
	limits config.Limits
	cors   config.CORS
}

// serviceTargets are the services `-target` may name; "gateway" and "all"
// complete the list.
func serviceTargets() []string {
	var out []string
	for _, s := range allServices() {
		out = append(out, s.name)
	}
	return out
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "deployment config file (JSON, see the README); flags given on the command line override it")
	target := fs.String("target", "all", "what to run: all, or a comma list of "+strings.Join(append(serviceTargets(), "gateway", "portal", "national"), ", "))
	httpAddr := fs.String("http", "127.0.0.1:8080", "gateway listen address")
	grpcAddr := fs.String("grpc", "127.0.0.1:9090", "gRPC listen address of the services")
	adminAddr := fs.String("admin", "127.0.0.1:9464", "admin listen address: Prometheus /metrics and /debug/pprof (keep it private; \"\" turns it off)")
	data := fs.String("data", "./data", "data folder: embedded store file and dev signing key")
	storeURL := fs.String("store", "bbolt", "bbolt (embedded file in -data) or a redis://host:port[/db] URL")
	regions := fs.String("regions", "vasterbotten,uppsala", "comma list of the regions this deployment serves")
	demo := fs.Bool("demo", true, "seed demo content into regions that have none")
	upstream := fs.String("upstream", "", "gRPC address of services this process does not run (default: the -grpc address)")
	upstreams := fs.String("upstreams", "", "per-service gRPC addresses of services this process does not run: idea=host:port,needs=host:port")
	healthAddr := fs.String("health", "", "also serve grpc.health.v1 alone, in plain text, on this address (for probes when -grpc requires mTLS)")
	drain := fs.Duration("drain", 15*time.Second, "how long SIGTERM waits for calls in flight")
	var reconcile reconcileTiming
	reconcile.flags(fs)
	issuer := fs.String("oidc-issuer", "", "token issuer; unset means dev mode (tokens from `motor token`)")
	audience := fs.String("oidc-audience", "motor", "token audience")
	jwks := fs.String("jwks", "", "JWKS file path or http(s) URL of the identity provider (default: the jwks_uri of -oidc-issuer's OpenID Connect discovery document)")
	jwksRefresh := fs.Duration("jwks-refresh", 5*time.Minute, "how often the identity provider's keys are reloaded, so a key it withdrew stops being trusted")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	name := fs.String("name", "", "this deployment's name, as its certificate says (default: from -tls-cert)")
	national := fs.Bool("national", false, "this is the national deployment: it holds the programme ledger regions reserve from")
	tlsCA := fs.String("tls-ca", "", "PEM file of the CA of every deployment's certificate (mTLS between deployments)")
	tlsCert := fs.String("tls-cert", "", "PEM file of this deployment's certificate")
	tlsKey := fs.String("tls-key", "", "PEM file of this deployment's private key")
	insecurePeers := fs.Bool("insecure-peers", false, "dev only: allow peers over plain text when no TLS is configured")
	portalFlags := addPortalFlags(fs)
	devKey := fs.String("dev-key", "", "dev mode: folder of the signing key (default: -data), shared so local deployments accept each other's tokens")
	if err := fs.Parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var problems []string
	var dep config.Deployment
	if *configFile != "" {
		var err error
		dep, err = config.LoadDeployment(*configFile)
		var pe *config.ProblemsError
		switch {
		case errors.As(err, &pe):
			problems = append(problems, pe.Error())
		case err != nil:
			problems = append(problems, "-config: "+err.Error())
		}
		// The file fills in what the command line left unset. Its regions
		// and store are already checked; merge them only when fine, so a
		// bad one is not reported twice.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		fill := func(flagName, value string, dst *string) {
			if value != "" && !set[flagName] {
				*dst = value
			}
		}
		fill("target", strings.Join(dep.Targets, ","), target)
		fill("http", dep.HTTP, httpAddr)
		fill("grpc", dep.GRPC, grpcAddr)
		fill("admin", dep.Admin, adminAddr)
		fill("data", dep.Data, data)
		fill("name", dep.Name, name)
		fill("tls-ca", dep.TLS.CA, tlsCA)
		fill("tls-cert", dep.TLS.Cert, tlsCert)
		fill("tls-key", dep.TLS.Key, tlsKey)
		fill("dev-key", dep.DevKey, devKey)
		if pe == nil {
			fill("regions", strings.Join(dep.Regions, ","), regions)
			fill("store", dep.Store, storeURL)
		}
		if !set["national"] {
			*national = *national || dep.National
		}
		if !set["insecure-peers"] {
			*insecurePeers = *insecurePeers || dep.InsecurePeers
		}
	}
	c := serveConfig{target: *target, admin: *adminAddr, httpAddr: *httpAddr, grpcAddr: *grpcAddr, data: *data, store: *storeURL, demo: *demo, upstream: *upstream, health: *healthAddr, drain: *drain, reconcile: reconcile, upstreams: map[string]string{},
		name: *name, national: *national, tls: config.TLSFiles{CA: *tlsCA, Cert: *tlsCert, Key: *tlsKey},
		insecurePeers: *insecurePeers, peers: dep.Peers, devKey: *devKey, weights: dep.Weights, portal: portalFlags.options(),
		notify: dep.Notify, limits: dep.Limits.WithDefaults(), cors: dep.CORS}
	for _, kv := range strings.Split(*upstreams, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, addr, ok := strings.Cut(kv, "=")
		if !ok || addr == "" || !slices.Contains(serviceTargets(), name) {
			problems = append(problems, fmt.Sprintf("-upstreams: %q is not service=host:port with a service of %s", kv, strings.Join(serviceTargets(), ", ")))
			continue
		}
		c.upstreams[name] = addr
	}
	for _, t := range strings.Split(*target, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "all":
			c.targets = append(c.targets, append(serviceTargets(), "gateway", "portal")...)
		case t == "national":
			// The national parts: the programme ledger, hosted by the
			// funding service, and the coordinator. Running them makes this
			// the national deployment.
			c.targets = append(c.targets, "funding", "coordinator", "reports")
			c.national = true
		case t == "gateway" || t == "portal" || slices.Contains(serviceTargets(), t):
			c.targets = append(c.targets, t)
			c.explicitPortal = c.explicitPortal || t == "portal"
		default:
			problems = append(problems, fmt.Sprintf("-target: %q is not a target (all, %s, gateway, portal, national)", t, strings.Join(serviceTargets(), ", ")))
		}
	}
	slices.Sort(c.targets)
	c.targets = slices.Compact(c.targets)
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if c.national && !explicit["regions"] && (dep.Regions == nil || len(dep.Regions) == 0) {
		// The national deployment holds the programme and the coordinator;
		// it serves no region unless told to.
		*regions = ""
	}
	served, err := config.ParseServed(*regions)
	if err == nil && len(served.IDs()) == 0 && !c.national {
		err = errors.New("no region to serve (only the national deployment serves none)")
	}
	if err != nil {
		problems = append(problems, "-regions: "+err.Error())
	}
	c.regions = served
	for _, region := range slices.Sorted(maps.Keys(c.weights)) {
		if err == nil && !served.Has(region) {
			problems = append(problems, fmt.Sprintf("weights.%s: this deployment does not serve %s (it serves %s)", region, region, served))
		}
	}
	if c.store != "bbolt" && !strings.HasPrefix(c.store, "redis://") && !strings.HasPrefix(c.store, "rediss://") {
		problems = append(problems, fmt.Sprintf("-store: %q is neither bbolt nor a redis:// URL", c.store))
	}
	if *jwksRefresh <= 0 {
		problems = append(problems, fmt.Sprintf("-jwks-refresh: %v is not a positive duration", *jwksRefresh))
	}
	c.oidc = auth.Config{Issuer: *issuer, Audience: *audience, RefreshInterval: *jwksRefresh}
	if strings.HasPrefix(*jwks, "http://") || strings.HasPrefix(*jwks, "https://") {
		c.oidc.JWKSURL = *jwks
	} else {
		c.oidc.JWKSFile = *jwks
	}
	if err := c.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		problems = append(problems, "-log-level: "+err.Error())
	}
	if c.name != "" && !config.ValidName(c.name) {
		problems = append(problems, fmt.Sprintf("-name: %q is not a deployment name (lower-case letters, digits, '-')", c.name))
	}
	if c.tls.Enabled() && (c.tls.CA == "" || c.tls.Cert == "" || c.tls.Key == "") {
		problems = append(problems, "-tls-ca, -tls-cert and -tls-key go together: give all three or none")
	}
	if len(c.peers) > 0 && !c.tls.Enabled() && !c.insecurePeers {
		problems = append(problems, "peers are configured without TLS: give -tls-ca, -tls-cert and -tls-key (or tls in the config file), or -insecure-peers for dev on one machine")
	}
	if np, ok := config.NationalPeer(c.peers); ok && c.national {
		problems = append(problems, fmt.Sprintf("-national: this deployment is the national one, yet peer %s is national too", np.Name))
	}
	// A gateway in front of another deployment's services would carry
	// anonymous REST callers there under this deployment's certificate, which
	// the peer takes for this deployment's own system calls.
	for _, p := range c.peers {
		peerAddrs := append([]string{p.Address}, slices.Collect(maps.Values(p.Services))...)
		if slices.Contains(peerAddrs, c.upstream) {
			problems = append(problems, fmt.Sprintf("-upstream %s is peer %s: a gateway fronts only its own deployment's services", c.upstream, p.Name))
		}
		for _, name := range slices.Sorted(maps.Keys(c.upstreams)) {
			if addr := c.upstreams[name]; slices.Contains(peerAddrs, addr) {
				problems = append(problems, fmt.Sprintf("-upstreams %s=%s is peer %s: a gateway fronts only its own deployment's services", name, addr, p.Name))
			}
		}
	}
	if len(problems) > 0 {
		return serveConfig{}, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

func (c serveConfig) runs(target string) bool { return slices.Contains(c.targets, target) }

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	logger := telemetry.NewLogger(stderr, c.logLevel)
	tel, err := setupTelemetry(ctx, c)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.Shutdown(ctx)
	}()

	c.oidc.Logger = logger
	verifier, devSigner, err := identity(ctx, c)
	if err != nil {
		return err
	}
	devMode := devSigner != nil
	mtls, err := loadMTLS(c)
	if err != nil {
		return err
	}

	refused := newShedCounter(tel, logger)
	var running []service
	for _, svc := range allServices() {
		if c.runs(svc.name) {
			running = append(running, svc)
		}
	}
	var st store.Store
	if len(running) > 0 {
		st, err = openStore(ctx, c)
		if err != nil {
			return err
		}
		defer st.Close()
		if st, err = store.Instrument(st, storeBackend(c), tel.MeterProvider); err != nil {
			return fmt.Errorf("store.Instrument: %w", err)
		}
	}

	// Every piece's errors land here; the first one stops the process.
	errc := make(chan error, 4)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var waits []<-chan struct{}
	if c.admin != "" {
		done, err := serveAdmin(runCtx, c.admin, tel, logger, stdout)
		if err != nil {
			return err
		}
		waits = append(waits, done)
	}

	// Drain order on SIGTERM: HTTP stops taking requests and finishes the
	// ones in flight (a body still arriving included), then gRPC does the
	// same, all within -drain.
	var drainStart time.Time // written once, before draining is closed
	draining := make(chan struct{})
	drainLeft := func() time.Duration { return max(c.drain-time.Since(drainStart), 0) }
	httpDrained := make(chan struct{})
	httpServes := false // whether an HTTP server started, to close httpDrained
	grpcCtx, grpcCancel := context.WithCancel(context.Background())
	defer grpcCancel()
	go func() {
		<-draining
		<-httpDrained
		grpcCancel()
	}()

	var lis net.Listener
	grpcAddr := c.grpcAddr
	if len(running) > 0 {
		lis, err = net.Listen("tcp", c.grpcAddr)
		if err != nil {
			return fmt.Errorf("listen gRPC: %w", err)
		}
		grpcAddr = lis.Addr().String()
	}
	conns := newConnPool(c, grpcAddr, tel, mtls)
	defer conns.close()

	if len(running) > 0 {
		peers := map[string]auth.Peer{}
		for _, p := range c.peers {
			peers[p.Name] = auth.Peer{Regions: p.ServedRegions(), National: p.National}
		}
		cred, err := auth.NewServiceCredential(mtls.self)
		if err != nil {
			return err
		}
		srv := rpc.NewServer(rpc.ServerConfig{Logger: logger, Verifier: verifier, Telemetry: tel, TLS: mtls.server, Self: mtls.self, Peers: peers, Credential: cred,
			Admission: grpcAdmission(c.limits, refused)})
		d := deps{store: st, regions: c.regions, logger: logger, tel: tel, conn: conns.get, regionConn: conns.regionConn, directory: conns.directory, devSigner: devSigner, weights: c.weights, credential: cred,
			ctx: runCtx, reconcile: c.reconcile,
			notify: c.notify, dataDir: c.data, devMode: devMode, background: func(f func(context.Context) error) {
				done := make(chan struct{})
				waits = append(waits, done)
				go func() {
					defer close(done)
					if err := f(runCtx); err != nil {
						errc <- err
					}
				}()
			}}
		if np, ok := c.ledgerPeer(); ok {
			d.nationalLedger = fmt.Sprintf("%s (%s)", np.Name, np.AddressOf("funding"))
		}
		var seeds []func(context.Context) error
		var names, healthNames []string
		for _, svc := range running {
			seed, err := svc.register(srv.GRPC, d)
			if err != nil {
				return fmt.Errorf("start %s: %w", svc.name, err)
			}
			if seed != nil {
				seeds = append(seeds, seed)
			}
			names = append(names, svc.name)
		}
		healthNames = servingAll(srv)
		go watchStore(runCtx, st, srv.Health, logger, storeWatch{}, healthNames...)
		go func() {
			<-draining
			srv.Health.Shutdown() // probes and peers look elsewhere while we drain
		}()
		if c.health != "" {
			hl, err := net.Listen("tcp", c.health)
			if err != nil {
				return fmt.Errorf("listen health: %w", err)
			}
			hdone := make(chan struct{})
			waits = append(waits, hdone)
			go func() {
				defer close(hdone)
				if err := srv.ServeHealth(runCtx, hl); err != nil {
					errc <- err
				}
			}()
			fmt.Fprintf(stdout, "motor: health (plain text, grpc.health.v1 only) on %s\n", hl.Addr())
		}
		done := make(chan struct{})
		waits = append(waits, done)
		go func() {
			defer close(done)
			// gRPC drains after HTTP: the gateway's calls in flight need
			// the services until their last answer is written.
			if err := srv.ServeDrain(grpcCtx, lis, drainLeft); err != nil {
				errc <- err
			}
		}()
		if c.demo {
			for _, seed := range seeds {
				if err := seed(ctx); err != nil {
					return fmt.Errorf("seed demo content: %w", err)
				}
			}
		}
		fmt.Fprintf(stdout, "motor: gRPC services %s on %s (regions %s, store %s)\n", strings.Join(names, ","), grpcAddr, c.regions, storeName(c))
	}

	var httpURL string
	if c.runs("gateway") || c.runs("portal") {
		upstreams := gateway.Upstreams{}
		for _, name := range gateway.Services() {
			if !c.runs(name) && c.upstreams[name] == "" && c.upstream == "" {
				// Neither here nor anywhere we were told of: no routes,
				// rather than routes that answer Unimplemented.
				continue
			}
			conn, err := conns.get(name)
			if err != nil {
				return err
			}
			upstreams[name] = conn
		}
		h, err := gateway.New(ctx, gateway.Config{
			Upstreams:      upstreams,
			Telemetry:      tel,
			Logger:         logger,
			Ready:          readiness(st, upstreams, logger),
			DefaultTimeout: time.Duration(c.limits.DefaultTimeout),
			CORS:           gateway.CORS(c.cors),
		})
		if err != nil {
			return fmt.Errorf("gateway.New: %w", err)
		}
		lis, err := net.Listen("tcp", c.httpAddr)
		if err != nil {
			return fmt.Errorf("listen HTTP: %w", err)
		}
		httpURL = "http://" + lis.Addr().String()
		if h, err = withPortal(ctx, c, h, conns, devSigner, logger, httpURL, stdout); err != nil {
			return fmt.Errorf("portal: %w", err)
		}
		hs := &http.Server{
			Handler:           httpAdmission(h, c.limits, refused),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		served := make(chan struct{})
		httpServes = true
		go func() {
			defer close(served)
			if err := hs.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http.Serve: %w", err)
			}
		}()
		go func() {
			defer close(httpDrained)
			<-draining
			drainHTTP(hs, drainLeft(), logger)
			<-served
		}()
		fmt.Fprintf(stdout, "motor: gateway %s (try %s/healthz)\n", httpURL, httpURL)
	}
	if mtls.server != nil {
		fmt.Fprintf(stdout, "motor: mTLS as deployment %s (CA %s)\n", mtls.self, c.tls.CA)
	}
	if np, ok := c.ledgerPeer(); ok {
		fmt.Fprintf(stdout, "motor: programme ledger at the national deployment %s (%s)\n", np.Name, np.AddressOf("funding"))
	}
	if devMode {
		keyDir := c.keyDir()
		hint := "-role coordinator"
		if ids := c.regions.IDs(); len(ids) > 0 {
			hint = "-role advisor -region " + ids[0]
		}
		fmt.Fprintf(stdout, "motor: dev mode: tokens are signed with the key in %s; get one with\n  go run ./cmd/motor token -data %s %s\n",
			keyDir, keyDir, hint)
	}
	fmt.Fprintln(stdout, "motor: ready")
	logger.Info("motor started", "targets", c.targets, "regions", c.regions.String(), "grpc", grpcAddr, "http", httpURL, "dev_mode", devMode,
		"deployment", mtls.self, "national", c.national, "mtls", mtls.server != nil)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down: draining calls in flight", "drain", c.drain.String())
	case runErr = <-errc:
		logger.Error("stopping after failure", "error", runErr)
	}
	drainStart = time.Now()
	close(draining)
	if !httpServes {
		close(httpDrained)
	}
	cancel()
	<-httpDrained
	for _, w := range waits {
		<-w
	}
	logger.Info("motor stopped")
	return runErr
}

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

// ledgerPeer is the national deployment whose programme ledger this
// deployment uses, when it is a region with a national peer.
func (c serveConfig) ledgerPeer() (config.Peer, bool) {
	if c.national {
		return config.Peer{}, false
	}
	return config.NationalPeer(c.peers)
}

// keyDir is where the dev signing key lives.
func (c serveConfig) keyDir() string {
	if c.devKey != "" {
		return c.devKey
	}
	return c.data
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

func storeName(c serveConfig) string {
	if c.store == "bbolt" {
		return "bbolt " + filepath.Join(c.data, "motor.db")
	}
	return "redis"
}

func openStore(ctx context.Context, c serveConfig) (store.Store, error) {
	if c.store == "bbolt" {
		if err := os.MkdirAll(c.data, 0o700); err != nil {
			return nil, fmt.Errorf("data folder: %w", err)
		}
		st, err := boltstore.Open(filepath.Join(c.data, "motor.db"))
		if err != nil {
			return nil, fmt.Errorf("boltstore.Open: %w", err)
		}
		return st, nil
	}
	st, err := redisstore.Open(ctx, c.store)
	if err != nil {
		return nil, fmt.Errorf("redisstore.Open: %w", err)
	}
	return st, nil
}

// storeWatch is how often watchStore pings the store: rarely while it
// answers, often while it does not, so the services report SERVING again
// soon after the store is back.
type storeWatch struct {
	healthy, unhealthy, timeout time.Duration
}

func (w storeWatch) withDefaults() storeWatch {
	if w.healthy <= 0 {
		w.healthy = 5 * time.Second
	}
	if w.unhealthy <= 0 {
		w.unhealthy = 250 * time.Millisecond
	}
	if w.timeout <= 0 {
		w.timeout = 2 * time.Second
	}
	return w
}

// watchStore reports the services NOT_SERVING over grpc.health.v1 while the
// store does not answer, so a gateway or probe in another process sees it.
func watchStore(ctx context.Context, st store.Store, h *health.Server, logger *slog.Logger, every storeWatch, services ...string) {
	every = every.withDefaults()
	healthy := true
	for {
		wait := every.healthy
		if !healthy {
			wait = every.unhealthy
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		pctx, cancel := context.WithTimeout(ctx, every.timeout)
		err := st.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if (err == nil) == healthy {
			continue
		}
		healthy = err == nil
		state := healthpb.HealthCheckResponse_SERVING
		if !healthy {
			state = healthpb.HealthCheckResponse_NOT_SERVING
			logger.Warn("store unreachable: reporting NOT_SERVING", "error", err)
		} else {
			logger.Info("store reachable again: reporting SERVING")
		}
		for _, s := range services {
			h.SetServingStatus(s, state)
		}
	}
}

// readiness: ready when the store answers (if this process has one) and
// every service behind the gateway reports SERVING. /readyz is public, so
// the error names what is down and never where it is; the detail goes to
// the log.
func readiness(st store.Store, upstreams gateway.Upstreams, logger *slog.Logger) func(context.Context) error {
	healthName := map[string]string{}
	for _, svc := range allServices() {
		healthName[svc.name] = svc.healthName
	}
	return func(ctx context.Context) error {
		if st != nil {
			if err := st.Ping(ctx); err != nil {
				logger.DebugContext(ctx, "not ready: store", "error", err)
				return errors.New("store unreachable")
			}
		}
		for _, name := range slices.Sorted(maps.Keys(upstreams)) {
			resp, err := healthpb.NewHealthClient(upstreams[name]).Check(ctx, &healthpb.HealthCheckRequest{Service: healthName[name]})
			if err != nil {
				logger.DebugContext(ctx, "not ready: service", "service", name, "error", err)
				return fmt.Errorf("%s service unreachable", name)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("%s service %s", name, resp.GetStatus())
			}
		}
		return nil
	}
}

// connPool hands out one client connection per address, so services that
// share an address share a connection.
type connPool struct {
	c        serveConfig
	own      string
	tel      *telemetry.Telemetry
	mtls     mtlsConfig
	mu       sync.Mutex
	byTarget map[string]*grpc.ClientConn
}

func newConnPool(c serveConfig, own string, tel *telemetry.Telemetry, mtls mtlsConfig) *connPool {
	return &connPool{c: c, own: own, tel: tel, mtls: mtls, byTarget: map[string]*grpc.ClientConn{}}
}

// route says where service name is and which deployment answers there.
// "ledger" is the programme ledger: the national deployment's when this one
// is a region with a national peer, else the funding service's address.
// Other names are services: this process when it runs the service, else its
// -upstreams entry, else -upstream, else this process; all of them this
// deployment.
func (p *connPool) route(name string) (target, deployment string) {
	if name == "ledger" {
		if np, ok := p.c.ledgerPeer(); ok {
			return np.AddressOf("funding"), np.Name
		}
		name = "funding"
	}
	switch {
	case p.c.runs(name):
	case p.c.upstreams[name] != "":
		return p.c.upstreams[name], p.mtls.self
	case p.c.upstream != "":
		return p.c.upstream, p.mtls.self
	}
	return p.own, p.mtls.self
}

// get returns a connection to service name (see route). With TLS, the
// connection presents this deployment's certificate and accepts only the
// certificate of the deployment it means to reach.
func (p *connPool) get(name string) (*grpc.ClientConn, error) {
	target, deployment := p.route(name)
	return p.dial(target, deployment)
}

func (p *connPool) dial(target, deployment string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if conn, ok := p.byTarget[target]; ok {
		return conn, nil
	}
	opts := []grpc.DialOption{rpc.RoundRobin()}
	if target == p.own {
		opts = []grpc.DialOption{rpc.Own()}
	}
	if p.mtls.client != nil {
		cfg := p.mtls.client.Clone()
		cfg.ServerName = deployment
		opts = append(opts, rpc.WithTLS(cfg))
	}
	conn, err := rpc.Dial(target, p.tel, opts...)
	if err != nil {
		return nil, err
	}
	p.byTarget[target] = conn
	return conn, nil
}

// regionConn returns a connection to service name for region: this
// deployment's when it serves the region, else the peer deployment that
// does, at the peer's address for that service. A region nobody is
// configured for is an error that names it.
func (p *connPool) regionConn(name, region string) (*grpc.ClientConn, string, error) {
	if p.c.regions.Has(region) {
		conn, err := p.get(name)
		return conn, p.mtls.self, err
	}
	for _, peer := range p.c.peers {
		if slices.Contains(peer.ServedRegions(), region) {
			conn, err := p.dial(peer.AddressOf(name), peer.Name)
			return conn, peer.Name, err
		}
	}
	return nil, "", fmt.Errorf("region %s is served neither by this deployment nor by a configured peer", region)
}

// directory lists every region this deployment can reach: its own, then
// its peers', each once.
func (p *connPool) directory() []string {
	out := p.c.regions.IDs()
	for _, peer := range p.c.peers {
		for _, r := range peer.ServedRegions() {
			if !slices.Contains(out, r) && config.KnownRegion(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, conn := range p.byTarget {
		_ = conn.Close()
	}
}

// drainHTTP stops hs taking requests and waits up to drain for those in
// flight (Shutdown waits for every active connection, one whose request
// body is still arriving too), then cuts what is left.
func drainHTTP(hs *http.Server, drain time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		logger.Warn("http drain incomplete: closing the connections left", "drain", drain.String(), "error", err)
		_ = hs.Close()
	}
}
