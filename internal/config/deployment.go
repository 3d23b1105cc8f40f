package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// NationalName is the name of the national deployment when its config does
// not give another.
const NationalName = "national"

// Deployment is one deployment's config file (`motor serve -config FILE`):
// who it is, what it serves, where its peers are and its TLS material.
// Empty fields leave the command-line defaults in place; flags given
// explicitly on the command line win over the file.
type Deployment struct {
	// Name is the deployment's name: a region id ("uppsala"), "national", or
	// any DNS label for a deployment serving several regions. Its
	// certificate carries the same name, and peers check it.
	Name     string   `json:"name"`
	National bool     `json:"national"`
	Regions  []string `json:"regions"`
	Targets  []string `json:"targets"`
	HTTP     string   `json:"http"`
	GRPC     string   `json:"grpc"`
	// Admin is the listener of /metrics and /debug/pprof: loopback by
	// default, an address a scraper reaches on Kubernetes.
	Admin string   `json:"admin"`
	Data  string   `json:"data"`
	Store string   `json:"store"`
	TLS   TLSFiles `json:"tls"`
	// InsecurePeers allows peers over plain text when no TLS is configured:
	// dev mode on one machine, never between real deployments.
	InsecurePeers bool   `json:"insecurePeers"`
	Peers         []Peer `json:"peers"`
	// DevKey is a folder holding the dev signing key, so several local
	// deployments accept each other's dev tokens.
	DevKey string `json:"devKey"`
	// Weights are regions' scorecard weights, by region id.
	Weights map[string]RegionWeights `json:"weights"`
	// Notify configures e-mail, webhooks and the time rules.
	Notify Notify `json:"notify"`
	// Limits are the admission limits (limits.go); absent fields take
	// their defaults.
	Limits Limits `json:"limits"`
	// CORS lists the origins whose pages may call the REST gateway; none
	// by default.
	CORS CORS `json:"cors"`
	// Idempotency says how long request ids are kept (idempotency.go).
	Idempotency Idempotency `json:"idempotency"`
}

// CORS is the deployment's cross-origin policy for browsers.
type CORS struct {
	// AllowedOrigins are origins ("https://portal.example.se") or "*".
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowCredentials lets pages send credentials; never with "*".
	AllowCredentials bool `json:"allowCredentials"`
	// MaxAgeSeconds is how long a preflight's answer may be kept.
	MaxAgeSeconds int `json:"maxAgeSeconds"`
}

func (c CORS) check() []string {
	var problems []string
	for i, o := range c.AllowedOrigins {
		if o == "*" {
			if c.AllowCredentials {
				problems = append(problems, `cors.allowedOrigins: "*" cannot be combined with allowCredentials (any site could call as the signed-in user)`)
			}
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			problems = append(problems, fmt.Sprintf("cors.allowedOrigins[%d]: %q is not an origin (scheme://host[:port])", i, o))
		}
	}
	if c.MaxAgeSeconds < 0 {
		problems = append(problems, "cors.maxAgeSeconds: must not be negative")
	}
	return problems
}

// RegionWeights are one region's weights of the idea assessment and the
// need screening criteria (docs/architecture.md, "Domain rules"), keyed by the criterion's JSON name
// as in the API (patientBenefit, clinicalImpact, …). A criterion not
// listed weighs 1, as every criterion does by default; only the ratios
// matter.
type RegionWeights struct {
	Assessment map[string]float64 `json:"assessment"`
	Screening  map[string]float64 `json:"screening"`
}

// Criteria of the two scorecards, in the API's JSON names.
var (
	AssessmentCriteria = []string{"patientBenefit", "careBenefit", "feasibility", "novelty", "marketPotential", "risk"}
	ScreeningCriteria  = []string{"clinicalImpact", "patientsAffected", "problemCost", "strategicFit", "feasibility"}
)

// MaxWeight bounds a weight; only ratios matter, so it limits nothing a
// region would want, and keeps weighted sums far from overflow.
const MaxWeight = 1000

// Weight returns the weight of criterion in w (1 when not listed).
func Weight(w map[string]float64, criterion string) float64 {
	if v, ok := w[criterion]; ok {
		return v
	}
	return 1
}

// TLSFiles are PEM files: the CA that signs every deployment's certificate,
// and this deployment's certificate and key.
type TLSFiles struct {
	CA   string `json:"ca"`
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// Enabled reports whether any TLS file is given.
func (t TLSFiles) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// Peer is another deployment this one calls.
type Peer struct {
	Name    string `json:"name"`
	Address string `json:"address"` // gRPC host:port
	// Services gives the gRPC address of single services (idea, needs,
	// funding, partner) where the peer runs them apart, as on Kubernetes;
	// a service not listed is reached at Address.
	Services map[string]string `json:"services"`
	// Regions the peer serves; a peer named after a region serves that
	// region when none are listed.
	Regions  []string `json:"regions"`
	National bool     `json:"national"`
}

// PeerServices are the services a peer's services map may name.
var PeerServices = []string{"idea", "needs", "funding", "partner"}

// AddressOf returns where the peer answers for service.
func (p Peer) AddressOf(service string) string {
	if a := p.Services[service]; a != "" {
		return a
	}
	return p.Address
}

// ServedRegions returns p.Regions, or the region p is named after.
func (p Peer) ServedRegions() []string {
	if len(p.Regions) == 0 && KnownRegion(p.Name) {
		return []string{p.Name}
	}
	return slices.Clone(p.Regions)
}

// NationalPeer returns the national deployment among peers.
func NationalPeer(peers []Peer) (Peer, bool) {
	for _, p := range peers {
		if p.National {
			return p, true
		}
	}
	return Peer{}, false
}

// ProblemsError lists everything wrong with a config file, so one edit can
// fix all of it.
type ProblemsError struct {
	Path     string
	Problems []string
}

func (e *ProblemsError) Error() string {
	return fmt.Sprintf("config %s: %s", e.Path, strings.Join(e.Problems, "; "))
}

// LoadDeployment reads and checks a deployment's config file. Relative paths
// in it (tls files, data, devKey) are relative to the file's folder, so a
// config and its certificates travel together. On a *ProblemsError the
// returned Deployment holds what could be read, so a caller can add its own
// findings to the list.
func LoadDeployment(path string) (Deployment, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Deployment{}, fmt.Errorf("config.LoadDeployment: %w", err)
	}
	d, problems := parseDeployment(raw, filepath.Dir(path))
	if len(problems) > 0 {
		return d, &ProblemsError{Path: path, Problems: problems}
	}
	return d, nil
}

// ValidName reports whether name can name a deployment: a lower-case DNS
// label, because deployment names end up in certificates.
func ValidName(name string) bool {
	if name == "" || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// field decodes one JSON member into dst, naming it in the problem when the
// type is wrong; decoding member by member is what lets every bad field be
// reported at once.
func field(problems *[]string, name string, raw json.RawMessage, dst any) {
	if err := json.Unmarshal(raw, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			*problems = append(*problems, fmt.Sprintf("%s: want %s, got JSON %s", name, te.Type, te.Value))
			return
		}
		*problems = append(*problems, fmt.Sprintf("%s: %v", name, err))
	}
}

// members splits a JSON object into its members, refusing unknown ones.
func members(problems *[]string, prefix string, raw json.RawMessage, known []string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		name := strings.TrimSuffix(prefix, ".")
		if name == "" {
			*problems = append(*problems, fmt.Sprintf("not a JSON object: %v", err))
		} else {
			*problems = append(*problems, fmt.Sprintf("%s: want a JSON object: %v", name, err))
		}
		return nil
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		*problems = append(*problems, fmt.Sprintf("%s%s: unknown field (known: %s)", prefix, k, strings.Join(known, ", ")))
		delete(m, k)
	}
	return m
}

// ParseDeployment reads and checks a deployment's config file without the
// file system: paths stay as written and TLS files are not opened. It is
// what a check of manifests uses, where the files live in a pod; an error is
// a *ProblemsError listing every problem.
func ParseDeployment(raw []byte) (Deployment, error) {
	d, problems := decodeDeployment(raw)
	if len(problems) > 0 {
		return d, &ProblemsError{Path: "deployment config", Problems: problems}
	}
	return d, nil
}

func parseDeployment(raw []byte, dir string) (Deployment, []string) {
	d, problems := decodeDeployment(raw)
	d.resolve(dir)
	problems = append(problems, d.checkFiles()...)
	return d, problems
}

// decodeDeployment decodes raw member by member and checks every value that
// needs no file system.
func decodeDeployment(raw []byte) (Deployment, []string) {
	var d Deployment
	var problems []string
	top := members(&problems, "", raw, []string{"name", "national", "regions", "targets", "http", "grpc", "admin", "data", "store", "tls", "insecurePeers", "peers", "devKey", "weights", "notify", "limits", "cors", "idempotency"})
	if top == nil {
		return d, problems
	}
	dsts := map[string]any{
		"name": &d.Name, "national": &d.National, "regions": &d.Regions, "targets": &d.Targets,
		"http": &d.HTTP, "grpc": &d.GRPC, "admin": &d.Admin, "data": &d.Data, "store": &d.Store,
		"insecurePeers": &d.InsecurePeers, "devKey": &d.DevKey,
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "tls":
			m := members(&problems, "tls.", top[k], []string{"ca", "cert", "key"})
			for name, dst := range map[string]*string{"ca": &d.TLS.CA, "cert": &d.TLS.Cert, "key": &d.TLS.Key} {
				if v, ok := m[name]; ok {
					field(&problems, "tls."+name, v, dst)
				}
			}
		case "limits":
			d.Limits = parseLimits(&problems, top[k])
		case "idempotency":
			d.Idempotency = parseIdempotency(&problems, top[k])
		case "weights":
			var byRegion map[string]json.RawMessage
			if err := json.Unmarshal(top[k], &byRegion); err != nil {
				problems = append(problems, fmt.Sprintf("weights: want a JSON object of regions: %v", err))
				continue
			}
			d.Weights = map[string]RegionWeights{}
			for _, region := range slices.Sorted(maps.Keys(byRegion)) {
				prefix := "weights." + region + "."
				m := members(&problems, prefix, byRegion[region], []string{"assessment", "screening"})
				var w RegionWeights
				for name, dst := range map[string]*map[string]float64{"assessment": &w.Assessment, "screening": &w.Screening} {
					if v, ok := m[name]; ok {
						*dst = weightMap(&problems, prefix+name, v)
					}
				}
				d.Weights[region] = w
			}
		case "notify":
			problems = append(problems, parseNotify(top[k], &d.Notify)...)
		case "cors":
			m := members(&problems, "cors.", top[k], []string{"allowedOrigins", "allowCredentials", "maxAgeSeconds"})
			for name, dst := range map[string]any{"allowedOrigins": &d.CORS.AllowedOrigins, "allowCredentials": &d.CORS.AllowCredentials, "maxAgeSeconds": &d.CORS.MaxAgeSeconds} {
				if v, ok := m[name]; ok {
					field(&problems, "cors."+name, v, dst)
				}
			}
			problems = append(problems, d.CORS.check()...)
		case "peers":
			var list []json.RawMessage
			if err := json.Unmarshal(top[k], &list); err != nil {
				problems = append(problems, fmt.Sprintf("peers: want a JSON array: %v", err))
				continue
			}
			for i, pr := range list {
				prefix := fmt.Sprintf("peers[%d].", i)
				m := members(&problems, prefix, pr, []string{"name", "address", "services", "regions", "national"})
				var p Peer
				for name, dst := range map[string]any{"name": &p.Name, "address": &p.Address, "services": &p.Services, "regions": &p.Regions, "national": &p.National} {
					if v, ok := m[name]; ok {
						field(&problems, prefix+name, v, dst)
					}
				}
				d.Peers = append(d.Peers, p)
			}
		default:
			field(&problems, k, top[k], dsts[k])
		}
	}
	// Decoding went member by member over a map; sort so the same file
	// always gives the same message.
	slices.Sort(problems)
	problems = append(problems, d.check()...)
	problems = append(problems, d.Limits.check()...)
	return d, problems
}

// check validates values that need no file system.
func (d Deployment) check() []string {
	var problems []string
	if d.Name == "" {
		problems = append(problems, `name: required (the deployment's name, e.g. "uppsala" or "national")`)
	} else if !ValidName(d.Name) {
		problems = append(problems, fmt.Sprintf("name: %q is not a DNS label (lower-case letters, digits, '-')", d.Name))
	}
	problems = append(problems, checkRegions("regions", d.Regions)...)
	for i, t := range d.Targets {
		if t = strings.TrimSpace(t); t == "" || strings.Contains(t, ",") {
			problems = append(problems, fmt.Sprintf("targets[%d]: %q is not one target name", i, d.Targets[i]))
		}
	}
	for _, a := range []struct{ name, addr string }{{"http", d.HTTP}, {"grpc", d.GRPC}, {"admin", d.Admin}} {
		if a.addr != "" {
			if _, _, err := net.SplitHostPort(a.addr); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %q is not host:port", a.name, a.addr))
			}
		}
	}
	if d.Store != "" && d.Store != "bbolt" && !strings.HasPrefix(d.Store, "redis://") && !strings.HasPrefix(d.Store, "rediss://") {
		problems = append(problems, fmt.Sprintf("store: %q is neither bbolt nor a redis:// URL", d.Store))
	}
	if d.TLS.Enabled() {
		for _, f := range []struct{ name, path string }{{"tls.ca", d.TLS.CA}, {"tls.cert", d.TLS.Cert}, {"tls.key", d.TLS.Key}} {
			if f.path == "" {
				problems = append(problems, f.name+": required when any TLS file is given (ca, cert and key)")
			}
		}
	}
	seen := map[string]bool{}
	var nationals []string
	for i, p := range d.Peers {
		prefix := fmt.Sprintf("peers[%d].", i)
		switch {
		case p.Name == "":
			problems = append(problems, prefix+"name: required")
		case !ValidName(p.Name):
			problems = append(problems, fmt.Sprintf("%sname: %q is not a DNS label", prefix, p.Name))
		case p.Name == d.Name:
			problems = append(problems, fmt.Sprintf("%sname: %q is this deployment itself", prefix, p.Name))
		case seen[p.Name]:
			problems = append(problems, fmt.Sprintf("%sname: %q is listed twice", prefix, p.Name))
		}
		seen[p.Name] = true
		if p.Address == "" {
			problems = append(problems, prefix+"address: required (gRPC host:port)")
		} else if _, _, err := net.SplitHostPort(p.Address); err != nil {
			problems = append(problems, fmt.Sprintf("%saddress: %q is not host:port", prefix, p.Address))
		}
		for _, svc := range slices.Sorted(maps.Keys(p.Services)) {
			addr := p.Services[svc]
			if !slices.Contains(PeerServices, svc) {
				problems = append(problems, fmt.Sprintf("%sservices.%s: not a service (want one of %s)", prefix, svc, strings.Join(PeerServices, ", ")))
			} else if _, _, err := net.SplitHostPort(addr); err != nil {
				problems = append(problems, fmt.Sprintf("%sservices.%s: %q is not host:port", prefix, svc, addr))
			}
		}
		problems = append(problems, checkRegions(prefix+"regions", p.Regions)...)
		if p.National {
			nationals = append(nationals, p.Name)
			if len(p.Regions) > 0 {
				problems = append(problems, prefix+"regions: the national deployment serves no region of its own")
			}
		}
	}
	for _, region := range slices.Sorted(maps.Keys(d.Weights)) {
		if !KnownRegion(region) {
			problems = append(problems, fmt.Sprintf("weights.%s: unknown region", region))
		}
		w := d.Weights[region]
		problems = append(problems, checkWeights("weights."+region+".assessment", w.Assessment, AssessmentCriteria)...)
		problems = append(problems, checkWeights("weights."+region+".screening", w.Screening, ScreeningCriteria)...)
	}
	if len(nationals) > 1 {
		problems = append(problems, fmt.Sprintf("peers: %d national peers (%s), want at most one", len(nationals), strings.Join(nationals, ", ")))
	}
	if d.National && len(nationals) > 0 {
		problems = append(problems, "peers: this deployment is the national one, so no peer may be national")
	}
	return problems
}

// weightMap decodes criterion → weight, naming each weight that is not a
// number.
func weightMap(problems *[]string, name string, raw json.RawMessage) map[string]float64 {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		*problems = append(*problems, fmt.Sprintf("%s: want a JSON object of criterion to weight: %v", name, err))
		return nil
	}
	out := map[string]float64{}
	for _, c := range slices.Sorted(maps.Keys(m)) {
		var v float64
		if err := json.Unmarshal(m[c], &v); err != nil {
			*problems = append(*problems, fmt.Sprintf("%s.%s: want a number, got JSON %s", name, c, m[c]))
			continue
		}
		out[c] = v
	}
	return out
}

// checkWeights: every criterion is one of the scorecard's, every weight is
// from 0 to MaxWeight, and not all of them are 0 (a mean of nothing).
func checkWeights(name string, w map[string]float64, criteria []string) []string {
	var problems []string
	sum := 0.0
	for _, c := range criteria {
		sum += Weight(w, c)
	}
	for _, c := range slices.Sorted(maps.Keys(w)) {
		switch v := w[c]; {
		case !slices.Contains(criteria, c):
			problems = append(problems, fmt.Sprintf("%s.%s: not a criterion (want one of %s)", name, c, strings.Join(criteria, ", ")))
		case math.IsNaN(v) || v < 0 || v > MaxWeight:
			problems = append(problems, fmt.Sprintf("%s.%s: %v is not a weight from 0 to %d", name, c, v, MaxWeight))
		}
	}
	if sum == 0 {
		problems = append(problems, name+": every weight is 0; at least one must be above 0")
	}
	return problems
}

func checkRegions(name string, regions []string) []string {
	var problems []string
	for i, r := range regions {
		switch {
		case !KnownRegion(r):
			problems = append(problems, fmt.Sprintf("%s[%d]: unknown region %q", name, i, r))
		case slices.Index(regions, r) < i:
			problems = append(problems, fmt.Sprintf("%s[%d]: %q is listed twice", name, i, r))
		}
	}
	return problems
}

// resolve makes relative paths relative to dir.
func (d *Deployment) resolve(dir string) {
	for _, p := range []*string{&d.TLS.CA, &d.TLS.Cert, &d.TLS.Key, &d.Data, &d.DevKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// checkFiles reports TLS files that cannot be read now, rather than at the
// first peer call.
func (d Deployment) checkFiles() []string {
	var problems []string
	for _, f := range []struct{ name, path string }{{"tls.ca", d.TLS.CA}, {"tls.cert", d.TLS.Cert}, {"tls.key", d.TLS.Key}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f.name, err))
		} else if st.IsDir() {
			problems = append(problems, fmt.Sprintf("%s: %s is a folder, want a PEM file", f.name, f.path))
		}
	}
	return problems
}
