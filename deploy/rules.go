package deploy

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/innovationsmotorer/motor/internal/config"
)

// Targets are the `motor serve -target` values a pod may run.
var Targets = []string{"idea", "needs", "partner", "funding", "notify", "reports", "person", "gateway", "portal", "national"}

// Placeholder is the reserved top-level domain of the base's identity
// provider, Ingress host and telemetry backend: an overlay that keeps one
// has not set it.
const Placeholder = ".invalid"

// regionServices are the services of a region deployment, each a pod of
// its own on Kubernetes, that the national coordinator asks for figures.
var regionServices = []string{"idea", "needs", "funding", "partner"}

// Names of the objects the rules look for.
const (
	deploymentConfigMap = "motor-deployment"
	deploymentFile      = "deployment.json"
	redisName           = "redis"
	redisConfigFile     = "redis.conf"
	collectorName       = "otel-collector"
	collectorConfigFile = "config.yaml"
	motorImage          = "ghcr.io/innovationsmotorer/motor"
)

// workload is a Deployment or a StatefulSet, seen through its pod template.
type workload struct {
	kind, name, namespace string
	replicas              int32
	template              corev1.PodTemplateSpec
}

func (w workload) String() string { return w.kind + "/" + w.name }

func (m *Manifests) workloads() []workload {
	var out []workload
	for _, d := range m.Deployments {
		r := int32(1)
		if d.Spec.Replicas != nil {
			r = *d.Spec.Replicas
		}
		out = append(out, workload{"Deployment", d.Name, d.Namespace, r, d.Spec.Template})
	}
	for _, s := range m.StatefulSets {
		r := int32(1)
		if s.Spec.Replicas != nil {
			r = *s.Spec.Replicas
		}
		out = append(out, workload{"StatefulSet", s.Name, s.Namespace, r, s.Spec.Template})
	}
	return out
}

// Check returns every rule the manifests break, one sentence each; none
// means they pass.
func Check(m *Manifests) []string {
	c := &checker{m: m}
	c.namespaces()
	c.containers()
	c.serviceAccounts()
	c.services()
	c.disruptionBudgets()
	c.networkPolicies()
	c.ingresses()
	dep := c.deploymentConfig()
	c.motorPods(dep)
	c.notifyRuns(dep)
	c.callees(dep)
	c.nationalReachesRegion(dep)
	c.redis()
	c.collector()
	c.headlessServices()
	c.topologySpread()
	c.distinctProbes()
	c.egress(dep)
	return c.problems
}

type checker struct {
	m        *Manifests
	problems []string
}

func (c *checker) add(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// namespaces: every object lives in one namespace that the build creates.
func (c *checker) namespaces() {
	seen := map[string]bool{}
	note := func(kind, name, ns string) {
		if ns == "" {
			c.add("%s/%s: no namespace (the overlay must set one)", kind, name)
			return
		}
		seen[ns] = true
	}
	for _, o := range c.m.ServiceAccounts {
		note("ServiceAccount", o.Name, o.Namespace)
	}
	for _, o := range c.m.ConfigMaps {
		note("ConfigMap", o.Name, o.Namespace)
	}
	for _, o := range c.m.Services {
		note("Service", o.Name, o.Namespace)
	}
	for _, w := range c.m.workloads() {
		note(w.kind, w.name, w.namespace)
	}
	for _, o := range c.m.PodDisruptionBudget {
		note("PodDisruptionBudget", o.Name, o.Namespace)
	}
	for _, o := range c.m.NetworkPolicies {
		note("NetworkPolicy", o.Name, o.Namespace)
	}
	for _, o := range c.m.Ingresses {
		note("Ingress", o.Name, o.Namespace)
	}
	for _, o := range c.m.Certificates {
		note("Certificate", o.Name, o.Namespace)
	}
	if len(seen) > 1 {
		var names []string
		for ns := range seen {
			names = append(names, ns)
		}
		slices.Sort(names)
		c.add("objects are spread over namespaces %s, want one per deployment", strings.Join(names, ", "))
	}
	for ns := range seen {
		if !slices.ContainsFunc(c.m.Namespaces, func(n corev1.Namespace) bool { return n.Name == ns }) {
			c.add("namespace %s: no Namespace object creates it", ns)
		}
	}
}

// containers: probes, requests and limits, non-root, read-only root, no
// privilege escalation and a pinned image, for every container.
func (c *checker) containers() {
	for _, w := range c.m.workloads() {
		spec := w.template.Spec
		podNonRoot := spec.SecurityContext != nil && isTrue(spec.SecurityContext.RunAsNonRoot)
		all := append(slices.Clone(spec.InitContainers), spec.Containers...)
		for _, ct := range all {
			where := fmt.Sprintf("%s container %s", w, ct.Name)
			if ct.ReadinessProbe == nil {
				c.add("%s: no readiness probe", where)
			}
			if ct.LivenessProbe == nil {
				c.add("%s: no liveness probe", where)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := ct.Resources.Requests[res]; !ok {
					c.add("%s: no %s request", where, res)
				}
				if _, ok := ct.Resources.Limits[res]; !ok {
					c.add("%s: no %s limit", where, res)
				}
			}
			sc := ct.SecurityContext
			switch {
			case sc == nil:
				c.add("%s: no securityContext", where)
			default:
				if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot || sc.RunAsNonRoot == nil && !podNonRoot {
					c.add("%s: runAsNonRoot is not true", where)
				}
				if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
					c.add("%s: runs as user 0", where)
				}
				if !isTrue(sc.ReadOnlyRootFilesystem) {
					c.add("%s: readOnlyRootFilesystem is not true", where)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					c.add("%s: allowPrivilegeEscalation is not false", where)
				}
				if sc.Privileged != nil && *sc.Privileged {
					c.add("%s: privileged", where)
				}
			}
			if spec.SecurityContext != nil && spec.SecurityContext.RunAsUser != nil && *spec.SecurityContext.RunAsUser == 0 {
				c.add("%s: pod runs as user 0", where)
			}
			if problem := imageProblem(ct.Image); problem != "" {
				c.add("%s: image %q %s", where, ct.Image, problem)
			}
		}
	}
}

// imageProblem says what is wrong with an image reference: it must carry a
// tag other than latest, or a digest.
func imageProblem(image string) string {
	if image == "" {
		return "is empty"
	}
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	// The tag follows the last ':' after the last '/' (a registry's
	// ':port' comes before the path).
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	switch {
	case !ok || tag == "":
		return "has no tag (pin a version)"
	case tag == "latest":
		return "uses the tag latest (pin a version)"
	}
	return ""
}

// serviceAccounts: every pod runs under a ServiceAccount of the build and
// does not mount an API token it has no use for.
func (c *checker) serviceAccounts() {
	for _, w := range c.m.workloads() {
		sa := w.template.Spec.ServiceAccountName
		if sa == "" {
			c.add("%s: no serviceAccountName", w)
			continue
		}
		if !slices.ContainsFunc(c.m.ServiceAccounts, func(s corev1.ServiceAccount) bool { return s.Name == sa }) {
			c.add("%s: ServiceAccount %s is not in the build", w, sa)
		}
		if w.template.Spec.AutomountServiceAccountToken == nil || *w.template.Spec.AutomountServiceAccountToken {
			c.add("%s: automountServiceAccountToken is not false", w)
		}
	}
}

// services: every Service selects the pods of a workload of the build, on
// ports those pods declare.
func (c *checker) services() {
	for _, s := range c.m.Services {
		if len(s.Spec.Selector) == 0 {
			c.add("Service/%s: no selector", s.Name)
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var backed []workload
		for _, w := range c.m.workloads() {
			if sel.Matches(labels.Set(w.template.Labels)) {
				backed = append(backed, w)
			}
		}
		if len(backed) == 0 {
			c.add("Service/%s: selector %s matches no Deployment or StatefulSet", s.Name, sel)
			continue
		}
		for _, p := range s.Spec.Ports {
			for _, w := range backed {
				if !declaresPort(w.template.Spec, p.TargetPort.String(), p.TargetPort.IntVal) {
					c.add("Service/%s: port %s targets %s, which %s does not declare", s.Name, p.Name, p.TargetPort.String(), w)
				}
			}
		}
	}
}

func declaresPort(spec corev1.PodSpec, name string, number int32) bool {
	for _, ct := range spec.Containers {
		for _, p := range ct.Ports {
			if p.Name == name || number != 0 && p.ContainerPort == number {
				return true
			}
		}
	}
	return false
}

// disruptionBudgets: every Deployment has a PodDisruptionBudget that selects
// its pods and still lets a node drain.
func (c *checker) disruptionBudgets() {
	for _, d := range c.m.Deployments {
		w := workload{kind: "Deployment", name: d.Name, template: d.Spec.Template}
		var found bool
		for _, p := range c.m.PodDisruptionBudget {
			sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
			if err != nil {
				c.add("PodDisruptionBudget/%s: %v", p.Name, err)
				continue
			}
			if sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				continue
			}
			found = true
			replicas := int32(1)
			if d.Spec.Replicas != nil {
				replicas = *d.Spec.Replicas
			}
			if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntVal >= replicas {
				c.add("PodDisruptionBudget/%s: minAvailable %s of %d replicas blocks every node drain", p.Name, p.Spec.MinAvailable, replicas)
			}
		}
		if !found {
			c.add("%s: no PodDisruptionBudget selects its pods", w)
		}
	}
}

// networkPolicies: ingress is denied by default, and every workload has a
// policy of its own that says who may reach it.
func (c *checker) networkPolicies() {
	var deny bool
	for _, np := range c.m.NetworkPolicies {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && len(np.Spec.Ingress) == 0 {
			deny = true
		}
	}
	if !deny {
		c.add("no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress, no rules)")
	}
	for _, w := range c.m.workloads() {
		var found bool
		for _, np := range c.m.NetworkPolicies {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				c.add("NetworkPolicy/%s: %v", np.Name, err)
				continue
			}
			if !sel.Empty() && sel.Matches(labels.Set(w.template.Labels)) && len(np.Spec.Ingress) > 0 {
				found = true
				for i, rule := range np.Spec.Ingress {
					if len(rule.From) == 0 {
						c.add("NetworkPolicy/%s: ingress rule %d admits every source", np.Name, i)
					}
				}
			}
		}
		if !found {
			c.add("%s: no NetworkPolicy says who may reach it", w)
		}
	}
}

// ingresses: the host is set and the backend is a Service of the build.
func (c *checker) ingresses() {
	for _, ing := range c.m.Ingresses {
		for _, r := range ing.Spec.Rules {
			if r.Host == "" || strings.HasSuffix(r.Host, Placeholder) {
				c.add("Ingress/%s: host %q is not set (the overlay sets it)", ing.Name, r.Host)
			}
			if r.HTTP == nil {
				continue
			}
			for _, p := range r.HTTP.Paths {
				if p.Backend.Service == nil || c.service(p.Backend.Service.Name) == nil {
					c.add("Ingress/%s: backend of %s is not a Service of the build", ing.Name, p.Path)
				}
			}
		}
		for _, t := range ing.Spec.TLS {
			for _, h := range t.Hosts {
				if strings.HasSuffix(h, Placeholder) {
					c.add("Ingress/%s: TLS host %q is not set (the overlay sets it)", ing.Name, h)
				}
			}
		}
	}
}

func (c *checker) service(name string) *corev1.Service {
	for i := range c.m.Services {
		if c.m.Services[i].Name == name {
			return &c.m.Services[i]
		}
	}
	return nil
}

func (c *checker) configMap(name string) *corev1.ConfigMap {
	for i := range c.m.ConfigMaps {
		// configMapGenerator appends a hash to the name.
		n := c.m.ConfigMaps[i].Name
		if n == name || strings.HasPrefix(n, name+"-") && len(n) == len(name)+11 {
			return &c.m.ConfigMaps[i]
		}
	}
	return nil
}

// deploymentConfig: the deployment config names this deployment and its
// region (the national deployment excepted), its peers and TLS files that
// the overlay's Certificate provides.
func (c *checker) deploymentConfig() *config.Deployment {
	cm := c.configMap(deploymentConfigMap)
	if cm == nil {
		c.add("ConfigMap %s: missing", deploymentConfigMap)
		return nil
	}
	raw, ok := cm.Data[deploymentFile]
	if !ok {
		c.add("ConfigMap %s: no %s", cm.Name, deploymentFile)
		return nil
	}
	// motor's own loader decides what a valid config is (strict fields,
	// regions, peers, weights); these rules add what Kubernetes needs.
	d, err := config.ParseDeployment([]byte(raw))
	if err != nil {
		var pe *config.ProblemsError
		if !errors.As(err, &pe) {
			c.add("%s: %v", deploymentFile, err)
			return nil
		}
		for _, p := range pe.Problems {
			c.add("%s: %s", deploymentFile, p)
		}
	}
	if d.Name == "unset" {
		c.add("%s: name %q does not name the deployment", deploymentFile, d.Name)
	}
	switch {
	case d.National && len(d.Regions) > 0:
		c.add("%s: the national deployment serves no region, got %v", deploymentFile, d.Regions)
	case !d.National && len(d.Regions) == 0:
		c.add("%s: no region (every region overlay sets its region)", deploymentFile)
	}
	if d.InsecurePeers || d.DevKey != "" {
		c.add("%s: insecurePeers and devKey are for one machine, not Kubernetes", deploymentFile)
	}
	if d.TLS.CA == "" || d.TLS.Cert == "" || d.TLS.Key == "" {
		c.add("%s: tls needs ca, cert and key (peers are reached over mTLS)", deploymentFile)
	}
	var national int
	for _, p := range d.Peers {
		if p.National {
			national++
		}
		// The dashboard asks every service of every region; one address
		// reaches only one of the region's pods.
		if d.National && !p.National {
			for _, svc := range regionServices {
				if svc != "idea" && p.Services[svc] == "" {
					c.add("%s: peer %s has no services.%s address: the coordinator asks each service of a region for its figures", deploymentFile, p.Name, svc)
				}
			}
		}
	}
	if !d.National && national != 1 {
		c.add("%s: a region needs exactly one national peer (its programme ledger), got %d", deploymentFile, national)
	}
	if d.National && national > 0 {
		c.add("%s: the national deployment has a national peer", deploymentFile)
	}
	if d.GRPC != "" {
		if host, _, err := net.SplitHostPort(d.GRPC); err != nil || host == "127.0.0.1" || host == "localhost" {
			c.add("%s: grpc %q is not reachable from other pods", deploymentFile, d.GRPC)
		}
	}
	if !c.storeOverridden() {
		c.store(d.Store)
	}
	// The certificate must name the deployment: peers check that name.
	var named bool
	for _, cert := range c.m.Certificates {
		if cert.Spec.CommonName == d.Name || slices.Contains(cert.Spec.DNSNames, d.Name) {
			named = true
			if !slices.Contains(cert.Spec.Usages, "client auth") || !slices.Contains(cert.Spec.Usages, "server auth") {
				c.add("Certificate/%s: mTLS needs the usages server auth and client auth", cert.Name)
			}
		}
	}
	if !named {
		c.add("no Certificate names the deployment %q", d.Name)
	}
	return &d
}

// nationalReachesRegion: in a region, when the national deployment runs in
// the same cluster (its peer address is <service>.<namespace>.svc…), the
// policies of the region's services let the national pods in, or the
// coordinator's dashboard finds every region unreachable.
func (c *checker) nationalReachesRegion(d *config.Deployment) {
	if d == nil || d.National {
		return
	}
	for _, p := range d.Peers {
		if !p.National {
			continue
		}
		host, _, err := net.SplitHostPort(p.Address)
		parts := strings.Split(host, ".")
		if err != nil || len(parts) < 3 || parts[2] != "svc" {
			continue // in another cluster: its traffic comes through whatever exposes the services there
		}
		svc, ns := parts[0], parts[1]
		from := labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": svc}
		nsLabels := labels.Set{"kubernetes.io/metadata.name": ns}
		for _, target := range regionServices {
			pod := labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": target}
			if !c.admits(pod, nsLabels, from) {
				c.add("NetworkPolicies: nothing lets the national deployment's %s pods (namespace %s) reach the %s service", svc, ns, target)
			}
		}
	}
}

// admits reports whether a NetworkPolicy selecting pods with labels pod
// lets in pods with labels from in a namespace with labels ns, or, for a
// nil ns, in the policy's own namespace.
func (c *checker) admits(pod, ns, from labels.Set) bool {
	for _, np := range c.m.NetworkPolicies {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || sel.Empty() || !sel.Matches(pod) {
			continue
		}
		for _, rule := range np.Spec.Ingress {
			for _, peer := range rule.From {
				if peer.PodSelector == nil || (peer.NamespaceSelector == nil) != (ns == nil) {
					continue
				}
				nsOK := ns == nil
				if !nsOK {
					nsSel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
					nsOK = err == nil && nsSel.Matches(ns)
				}
				podSel, err := metav1.LabelSelectorAsSelector(peer.PodSelector)
				if nsOK && err == nil && podSel.Matches(from) {
					return true
				}
			}
		}
	}
	return false
}

// store: the Redis URL reaches a Redis of the build, or a managed one.
func (c *checker) store(store string) {
	u, err := url.Parse(store)
	if err != nil || u.Scheme != "redis" && u.Scheme != "rediss" {
		c.add("%s: store %q is not a redis:// URL (Kubernetes deployments use Redis)", deploymentFile, store)
		return
	}
	host := u.Hostname()
	if strings.Contains(host, ".") {
		return // a managed Redis outside the namespace
	}
	s := c.service(host)
	if s == nil {
		c.add("%s: store %s: no Service %s in the build", deploymentFile, store, host)
		return
	}
	if !servesPort(s, u.Port()) {
		c.add("%s: store %s: Service %s has no port %s", deploymentFile, store, host, u.Port())
	}
}

// storeOverridden reports whether every motor service container passes
// -store, which wins over the deployment config (a managed Redis).
func (c *checker) storeOverridden() bool {
	var found bool
	for _, w := range c.m.workloads() {
		for _, ct := range w.template.Spec.Containers {
			if t := flagValue(ct.Args, "target"); !isMotor(ct) || t == "gateway" || t == "portal" {
				continue
			}
			if flagValue(ct.Args, "store") == "" {
				return false
			}
			found = true
		}
	}
	return found
}

// storeFlag checks a -store flag: a URL from a Secret (a managed Redis,
// password included) or a Redis of the build.
func (c *checker) storeFlag(where string, ct corev1.Container, value string) {
	for _, e := range ct.Env {
		if value == "$("+e.Name+")" {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				c.add("%s: -store comes from %s, which is not a Secret key (the URL holds the password)", where, e.Name)
			}
			return
		}
	}
	c.store(value)
}

func isMotor(ct corev1.Container) bool {
	return strings.HasPrefix(ct.Image, motorImage+":") || strings.HasPrefix(ct.Image, motorImage+"@")
}

func servesPort(s *corev1.Service, port string) bool {
	return slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return fmt.Sprint(p.Port) == port })
}

// motorPods: every motor container reads the deployment config and the TLS
// files the config names, runs a known target without demo content, checks
// tokens with a real identity provider, and finds its upstreams and the
// collector at Services of the build.
func (c *checker) motorPods(d *config.Deployment) {
	for _, w := range c.m.workloads() {
		for _, ct := range w.template.Spec.Containers {
			if !isMotor(ct) {
				continue
			}
			where := fmt.Sprintf("%s container %s", w, ct.Name)
			if v := flagValue(ct.Args, "store"); v != "" {
				c.storeFlag(where, ct, v)
			}
			if len(ct.Args) == 0 || ct.Args[0] != "serve" {
				c.add("%s: args do not start with serve", where)
			}
			target := flagValue(ct.Args, "target")
			for _, t := range strings.Split(target, ",") {
				if !slices.Contains(Targets, t) {
					c.add("%s: -target %q is not one of %s", where, target, strings.Join(Targets, ", "))
				}
			}
			if flagValue(ct.Args, "demo") != "false" {
				c.add("%s: -demo=false is missing (no demo content in Kubernetes)", where)
			}
			for _, f := range []string{"oidc-issuer", "jwks"} {
				v := c.expand(ct, flagValue(ct.Args, f))
				if v == "" {
					c.add("%s: -%s is not set (no dev mode in Kubernetes)", where, f)
				} else if u, err := url.Parse(v); err != nil || u.Scheme != "https" || strings.HasSuffix(u.Hostname(), Placeholder) {
					c.add("%s: -%s %q is not the https URL of a real identity provider", where, f, v)
				}
			}
			for _, kv := range strings.Split(flagValue(ct.Args, "upstreams"), ",") {
				if kv == "" {
					continue
				}
				_, addr, _ := strings.Cut(kv, "=")
				host, port, err := net.SplitHostPort(addr)
				if err != nil {
					c.add("%s: -upstreams %q is not service=host:port", where, kv)
					continue
				}
				if s := c.service(host); s == nil || !servesPort(s, port) {
					c.add("%s: upstream %s: no Service %s with port %s in the build", where, kv, host, port)
				}
			}
			if endpoint := envValue(ct, "OTEL_EXPORTER_OTLP_ENDPOINT"); endpoint == "" {
				c.add("%s: OTEL_EXPORTER_OTLP_ENDPOINT is not set", where)
			} else if u, err := url.Parse(endpoint); err != nil || c.service(u.Hostname()) == nil || !servesPort(c.service(u.Hostname()), u.Port()) {
				c.add("%s: OTEL_EXPORTER_OTLP_ENDPOINT %q is not a Service of the build", where, endpoint)
			}
			configPath := flagValue(ct.Args, "config")
			if configPath == "" {
				c.add("%s: no -config", where)
			} else if !c.mountsFile(w, ct, configPath, func(v corev1.Volume) bool {
				return v.ConfigMap != nil && c.configMap(deploymentConfigMap) != nil && v.ConfigMap.Name == c.configMap(deploymentConfigMap).Name
			}) {
				c.add("%s: -config %s is not a file of the ConfigMap %s", where, configPath, deploymentConfigMap)
			}
			if d == nil {
				continue
			}
			for _, f := range []string{d.TLS.CA, d.TLS.Cert, d.TLS.Key} {
				if f == "" {
					continue
				}
				if !c.mountsFile(w, ct, f, func(v corev1.Volume) bool {
					return v.Secret != nil && slices.ContainsFunc(c.m.Certificates, func(cert Certificate) bool { return cert.Spec.SecretName == v.Secret.SecretName })
				}) {
					c.add("%s: TLS file %s is not mounted from the Secret of a Certificate", where, f)
				}
			}
		}
	}
}

// calls lists the services each target calls as part of its own work
// (cmd/motor/services.go wires them): needs checks the ideas it links,
// partner asks needs for matching needs, funding checks the ideas, needs and
// partners a subproject names, reports reads what the audit logs name, idea
// reads an idea's agreements for the DEVELOPMENT gate.
var calls = map[string][]string{
	"idea":    {"partner"},
	"needs":   {"idea"},
	"partner": {"needs"},
	"funding": {"idea", "needs", "partner"},
	"reports": {"idea", "needs", "partner"},
	"person":  {"idea", "needs", "partner", "funding", "notify", "reports"},
}

// callees: in a region deployment, a pod that calls a service it does not
// run names it in -upstreams, and that service's NetworkPolicy lets the pod
// in. Without it the call goes to the pod's own listener, which does not
// serve it, and fails at run time only.
func (c *checker) callees(d *config.Deployment) {
	if d == nil || len(d.Regions) == 0 {
		return
	}
	for _, w := range c.m.workloads() {
		for _, ct := range w.template.Spec.Containers {
			if !isMotor(ct) {
				continue
			}
			targets := strings.Split(flagValue(ct.Args, "target"), ",")
			upstreams := map[string]string{}
			for _, kv := range strings.Split(flagValue(ct.Args, "upstreams"), ",") {
				if name, addr, ok := strings.Cut(kv, "="); ok {
					upstreams[name] = addr
				}
			}
			for _, t := range targets {
				for _, callee := range calls[t] {
					if slices.Contains(targets, callee) {
						continue
					}
					addr, ok := upstreams[callee]
					if !ok {
						c.add("%s container %s: -target %s calls the %s service but -upstreams does not say where it is", w, ct.Name, t, callee)
						continue
					}
					host, _, _ := net.SplitHostPort(addr)
					if s := c.service(host); s != nil && !c.admits(labels.Set(s.Spec.Selector), nil, labels.Set(w.template.Labels)) {
						c.add("%s: no NetworkPolicy lets it reach the %s service (%s)", w, callee, addr)
					}
				}
			}
		}
	}
}

// notifyRuns: a region deployment runs the notification service, or its
// region sends no notification; a container running it takes the SMTP
// password (for notify.smtp.username) from a Secret, never from the
// manifests.
func (c *checker) notifyRuns(d *config.Deployment) {
	if d == nil {
		return
	}
	var runs bool
	for _, w := range c.m.workloads() {
		for _, ct := range w.template.Spec.Containers {
			targets := strings.Split(flagValue(ct.Args, "target"), ",")
			if !isMotor(ct) || !slices.Contains(targets, "notify") && !slices.Contains(targets, "all") {
				continue
			}
			runs = true
			if d.Notify.SMTP == nil || d.Notify.SMTP.Username == "" {
				continue
			}
			i := slices.IndexFunc(ct.Env, func(e corev1.EnvVar) bool { return e.Name == "MOTOR_SMTP_PASSWORD" })
			if i < 0 || ct.Env[i].ValueFrom == nil || ct.Env[i].ValueFrom.SecretKeyRef == nil {
				c.add("%s container %s: notify.smtp.username is set but MOTOR_SMTP_PASSWORD is not a Secret key", w, ct.Name)
			}
		}
	}
	if !d.National && !runs {
		c.add("no pod runs -target notify: the region sends no notifications")
	}
}

// mountsFile reports whether file lies in a volume of ct that ok accepts.
func (c *checker) mountsFile(w workload, ct corev1.Container, file string, ok func(corev1.Volume) bool) bool {
	for _, vm := range ct.VolumeMounts {
		if path.Dir(file) != path.Clean(vm.MountPath) {
			continue
		}
		for _, v := range w.template.Spec.Volumes {
			if v.Name == vm.Name && ok(v) {
				return true
			}
		}
	}
	return false
}

// expand replaces $(VAR) in s with the container's env value of VAR, the
// way the kubelet expands args; values from a ConfigMap key are looked up
// in the build.
func (c *checker) expand(ct corev1.Container, s string) string {
	for _, e := range ct.Env {
		ref := "$(" + e.Name + ")"
		if !strings.Contains(s, ref) {
			continue
		}
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
			for _, cm := range c.m.ConfigMaps {
				if cm.Name == e.ValueFrom.ConfigMapKeyRef.Name {
					v = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
				}
			}
		}
		s = strings.ReplaceAll(s, ref, v)
	}
	return s
}

// flagValue returns the value of -name=value in args (the manifests always
// use the = form).
func flagValue(args []string, name string) string {
	var v string
	for _, a := range args {
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if val, ok := strings.CutPrefix(a, name+"="); ok {
			v = val
		}
	}
	return v
}

func envValue(ct corev1.Container, name string) string {
	for _, e := range ct.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// redis: the in-cluster Redis keeps its data on a persistent volume with
// the append-only file on, fsynced every second or on every write, and
// never evicts. A build without a Redis StatefulSet uses a managed Redis.
func (c *checker) redis() {
	for _, s := range c.m.StatefulSets {
		if s.Name != redisName {
			continue
		}
		where := "StatefulSet/" + s.Name
		if len(s.Spec.VolumeClaimTemplates) == 0 {
			c.add("%s: no volumeClaimTemplate (Redis data must outlive the pod)", where)
		}
		if len(s.Spec.Template.Spec.Containers) == 0 {
			c.add("%s: no container", where)
			continue
		}
		ct := s.Spec.Template.Spec.Containers[0]
		conf := c.redisSettings(ct)
		if conf["appendonly"] != "yes" {
			c.add("%s: appendonly is %q, want yes", where, conf["appendonly"])
		}
		if fs := conf["appendfsync"]; fs != "everysec" && fs != "always" {
			c.add("%s: appendfsync is %q, want everysec or always", where, fs)
		}
		if conf["maxmemory-policy"] != "noeviction" {
			c.add("%s: maxmemory-policy is %q, want noeviction (an evicted key is a lost record)", where, conf["maxmemory-policy"])
		}
		dir := conf["dir"]
		mounted := slices.ContainsFunc(ct.VolumeMounts, func(vm corev1.VolumeMount) bool {
			return path.Clean(vm.MountPath) == path.Clean(dir) &&
				slices.ContainsFunc(s.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vm.Name })
		})
		if !mounted {
			c.add("%s: Redis dir %q is not on the persistent volume", where, dir)
		}
	}
}

// RedisFsync returns the appendfsync in effect for the Redis StatefulSet of
// the manifests, or "" when there is none (a managed Redis).
func RedisFsync(m *Manifests) string {
	c := &checker{m: m}
	for _, s := range m.StatefulSets {
		if s.Name == redisName && len(s.Spec.Template.Spec.Containers) > 0 {
			return c.redisSettings(s.Spec.Template.Spec.Containers[0])["appendfsync"]
		}
	}
	return ""
}

// redisSettings returns the Redis directives in effect for ct: the config
// file of the build, overridden by options on its command line.
func (c *checker) redisSettings(ct corev1.Container) map[string]string {
	conf := map[string]string{}
	if cm := c.configMap("redis-config"); cm != nil {
		conf = redisConf(cm.Data[redisConfigFile])
	}
	cmd := append(slices.Clone(ct.Command), ct.Args...)
	for i, a := range cmd {
		if opt, ok := strings.CutPrefix(a, "--"); ok && i+1 < len(cmd) {
			conf[opt] = cmd[i+1]
		}
	}
	return conf
}

// redisConf parses redis.conf directives: the last one of a name wins, as
// in Redis.
func redisConf(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		out[strings.ToLower(name)] = strings.TrimSpace(value)
	}
	return out
}

// collector: the OpenTelemetry collector receives OTLP and exports traces
// and metrics.
func (c *checker) collector() {
	cm := c.configMap(collectorName + "-config")
	if cm == nil {
		c.add("ConfigMap %s-config: missing (the OpenTelemetry collector)", collectorName)
		return
	}
	var cfg struct {
		Receivers map[string]struct {
			Protocols map[string]any `json:"protocols"`
		} `json:"receivers"`
		Exporters map[string]any `json:"exporters"`
		Service   struct {
			Pipelines map[string]struct {
				Receivers []string `json:"receivers"`
				Exporters []string `json:"exporters"`
			} `json:"pipelines"`
		} `json:"service"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data[collectorConfigFile]), &cfg); err != nil {
		c.add("ConfigMap %s: %s: %v", cm.Name, collectorConfigFile, err)
		return
	}
	if _, ok := cfg.Receivers["otlp"].Protocols["grpc"]; !ok {
		c.add("ConfigMap %s: no OTLP gRPC receiver (motor exports OTLP over gRPC)", cm.Name)
	}
	for _, p := range []string{"traces", "metrics"} {
		pl, ok := cfg.Service.Pipelines[p]
		switch {
		case !ok:
			c.add("ConfigMap %s: no %s pipeline", cm.Name, p)
		case !slices.Contains(pl.Receivers, "otlp") || len(pl.Exporters) == 0:
			c.add("ConfigMap %s: the %s pipeline does not take OTLP and export it", cm.Name, p)
		}
		for _, e := range pl.Exporters {
			if _, ok := cfg.Exporters[e]; !ok {
				c.add("ConfigMap %s: the %s pipeline names exporter %s, which is not configured", cm.Name, p, e)
			}
		}
	}
	for _, d := range c.m.Deployments {
		if d.Name != collectorName {
			continue
		}
		for _, ct := range d.Spec.Template.Spec.Containers {
			if v := envValue(ct, "OTLP_BACKEND_ENDPOINT"); v == "" || strings.Contains(v, Placeholder) {
				c.add("Deployment/%s: OTLP_BACKEND_ENDPOINT %q is not set (the overlay sets its backend)", d.Name, v)
			}
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }
