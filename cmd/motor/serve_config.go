package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
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
	// idempotencyTTL is how long every service answers a request_id with
	// its first result.
	idempotencyTTL time.Duration
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

// serveFlags are the flags of `motor serve`. A config file is merged into
// them (mergeFile), so that what follows reads one value per setting.
type serveFlags struct {
	configFile     *string
	target         *string
	httpAddr       *string
	grpcAddr       *string
	adminAddr      *string
	data           *string
	storeURL       *string
	regions        *string
	demo           *bool
	upstream       *string
	upstreams      *string
	healthAddr     *string
	drain          *time.Duration
	reconcile      reconcileTiming
	issuer         *string
	audience       *string
	jwks           *string
	jwksRefresh    *time.Duration
	logLevel       *string
	name           *string
	national       *bool
	tlsCA          *string
	tlsCert        *string
	tlsKey         *string
	insecurePeers  *bool
	portal         portalFlags
	devKey         *string
	idempotencyTTL *time.Duration
}

func defineServeFlags(fs *flag.FlagSet) *serveFlags {
	f := &serveFlags{
		configFile: fs.String("config", "", "deployment config file (JSON, see the README); flags given on the command line override it"),
		target:     fs.String("target", "all", "what to run: all, or a comma list of "+strings.Join(append(serviceTargets(), "gateway", "portal", "national"), ", ")),
		httpAddr:   fs.String("http", "127.0.0.1:8080", "gateway listen address"),
		grpcAddr:   fs.String("grpc", "127.0.0.1:9090", "gRPC listen address of the services"),
		adminAddr:  fs.String("admin", "127.0.0.1:9464", "admin listen address: Prometheus /metrics and /debug/pprof (keep it private; \"\" turns it off)"),
		data:       fs.String("data", "./data", "data folder: embedded store file and dev signing key"),
		storeURL:   fs.String("store", "bbolt", "bbolt (embedded file in -data) or a redis://host:port[/db] URL"),
		regions:    fs.String("regions", "vasterbotten,uppsala", "comma list of the regions this deployment serves"),
		demo:       fs.Bool("demo", true, "seed demo content into regions that have none"),
		upstream:   fs.String("upstream", "", "gRPC address of services this process does not run (default: the -grpc address)"),
		upstreams:  fs.String("upstreams", "", "per-service gRPC addresses of services this process does not run: idea=host:port,needs=host:port"),
		healthAddr: fs.String("health", "", "also serve grpc.health.v1 alone, in plain text, on this address (for probes when -grpc requires mTLS)"),
		drain:      fs.Duration("drain", 15*time.Second, "how long SIGTERM waits for calls in flight"),
	}
	f.reconcile.flags(fs)
	f.issuer = fs.String("oidc-issuer", "", "token issuer; unset means dev mode (tokens from `motor token`)")
	f.audience = fs.String("oidc-audience", "motor", "token audience")
	f.jwks = fs.String("jwks", "", "JWKS file path or http(s) URL of the identity provider (default: the jwks_uri of -oidc-issuer's OpenID Connect discovery document)")
	f.jwksRefresh = fs.Duration("jwks-refresh", 5*time.Minute, "how often the identity provider's keys are reloaded, so a key it withdrew stops being trusted")
	f.logLevel = fs.String("log-level", "info", "debug, info, warn or error")
	f.name = fs.String("name", "", "this deployment's name, as its certificate says (default: from -tls-cert)")
	f.national = fs.Bool("national", false, "this is the national deployment: it holds the programme ledger regions reserve from")
	f.tlsCA = fs.String("tls-ca", "", "PEM file of the CA of every deployment's certificate (mTLS between deployments)")
	f.tlsCert = fs.String("tls-cert", "", "PEM file of this deployment's certificate")
	f.tlsKey = fs.String("tls-key", "", "PEM file of this deployment's private key")
	f.insecurePeers = fs.Bool("insecure-peers", false, "dev only: allow peers over plain text when no TLS is configured")
	f.portal = addPortalFlags(fs)
	f.devKey = fs.String("dev-key", "", "dev mode: folder of the signing key (default: -data), shared so local deployments accept each other's tokens")
	f.idempotencyTTL = fs.Duration("idempotency-ttl", config.DefaultIdempotencyTTL, "how long a create's request_id (Idempotency-Key) is answered with its first result")
	return f
}

// mergeFile sets every flag the command line left unset (set names those it
// gave) to the file's value, through the flag's own parsing. The file's
// regions and store are already checked; they are merged only when the
// file is fine (fileOK), so a bad one is not reported twice.
func mergeFile(fs *flag.FlagSet, set map[string]bool, dep config.Deployment, fileOK bool) []string {
	type fileValue struct{ flag, value string }
	values := []fileValue{
		{"target", strings.Join(dep.Targets, ",")},
		{"http", dep.HTTP},
		{"grpc", dep.GRPC},
		{"admin", dep.Admin},
		{"data", dep.Data},
		{"name", dep.Name},
		{"tls-ca", dep.TLS.CA},
		{"tls-cert", dep.TLS.Cert},
		{"tls-key", dep.TLS.Key},
		{"dev-key", dep.DevKey},
	}
	if fileOK {
		values = append(values, fileValue{"regions", strings.Join(dep.Regions, ",")}, fileValue{"store", dep.Store})
	}
	if dep.National {
		values = append(values, fileValue{"national", "true"})
	}
	if dep.InsecurePeers {
		values = append(values, fileValue{"insecure-peers", "true"})
	}
	if dep.Idempotency.TTL != 0 {
		values = append(values, fileValue{"idempotency-ttl", time.Duration(dep.Idempotency.TTL).String()})
	}
	var problems []string
	for _, v := range values {
		if v.value == "" || set[v.flag] {
			continue
		}
		if err := fs.Set(v.flag, v.value); err != nil {
			problems = append(problems, fmt.Sprintf("-config: %s: %v", v.flag, err))
		}
	}
	return problems
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := defineServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return serveConfig{}, err
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// The flags given on the command line, before the file fills in the
	// rest: they win over it.
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	var problems []string
	var dep config.Deployment
	if *f.configFile != "" {
		var err error
		dep, err = config.LoadDeployment(*f.configFile)
		var pe *config.ProblemsError
		switch {
		case errors.As(err, &pe):
			problems = append(problems, pe.Error())
		case err != nil:
			problems = append(problems, "-config: "+err.Error())
		}
		problems = append(problems, mergeFile(fs, set, dep, pe == nil)...)
	}
	c, more := f.config(set, dep)
	if problems = append(problems, more...); len(problems) > 0 {
		return serveConfig{}, errors.New(strings.Join(problems, "; "))
	}
	return c, nil
}

// config turns the merged flags and the file's own sections into the
// serve configuration, with every problem found.
func (f *serveFlags) config(set map[string]bool, dep config.Deployment) (serveConfig, []string) {
	var problems []string
	c := serveConfig{target: *f.target, admin: *f.adminAddr, httpAddr: *f.httpAddr, grpcAddr: *f.grpcAddr, data: *f.data, store: *f.storeURL, demo: *f.demo, upstream: *f.upstream, health: *f.healthAddr, drain: *f.drain, reconcile: f.reconcile, upstreams: map[string]string{},
		name: *f.name, national: *f.national, tls: config.TLSFiles{CA: *f.tlsCA, Cert: *f.tlsCert, Key: *f.tlsKey},
		insecurePeers: *f.insecurePeers, peers: dep.Peers, devKey: *f.devKey, weights: dep.Weights, portal: f.portal.options(),
		notify: dep.Notify, limits: dep.Limits.WithDefaults(), cors: dep.CORS, idempotencyTTL: *f.idempotencyTTL}
	for _, kv := range strings.Split(*f.upstreams, ",") {
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
	for _, t := range strings.Split(*f.target, ",") {
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
	regions := *f.regions
	if c.national && !set["regions"] && len(dep.Regions) == 0 {
		// The national deployment holds the programme and the coordinator;
		// it serves no region unless told to.
		regions = ""
	}
	served, err := config.ParseServed(regions)
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
	if *f.jwksRefresh <= 0 {
		problems = append(problems, fmt.Sprintf("-jwks-refresh: %v is not a positive duration", *f.jwksRefresh))
	}
	if err := config.CheckIdempotencyTTL(c.idempotencyTTL); err != nil {
		problems = append(problems, "-idempotency-ttl: "+err.Error())
	}
	c.oidc = auth.Config{Issuer: *f.issuer, Audience: *f.audience, RefreshInterval: *f.jwksRefresh}
	if strings.HasPrefix(*f.jwks, "http://") || strings.HasPrefix(*f.jwks, "https://") {
		c.oidc.JWKSURL = *f.jwks
	} else {
		c.oidc.JWKSFile = *f.jwks
	}
	if err := c.logLevel.UnmarshalText([]byte(*f.logLevel)); err != nil {
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
	return c, problems
}

func (c serveConfig) runs(target string) bool { return slices.Contains(c.targets, target) }

// services are the services this process runs, in start order.
func (c serveConfig) services() []service {
	var running []service
	for _, svc := range allServices() {
		if c.runs(svc.name) {
			running = append(running, svc)
		}
	}
	return running
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
