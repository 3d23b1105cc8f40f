package deploy

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/innovationsmotorer/motor/internal/config"
)

// headlessServices: a Service whose pods speak gRPC, and a StatefulSet's
// governing Service, have no cluster IP. gRPC keeps one connection open
// and sends every call on it; behind a virtual IP that connection reaches
// one pod for as long as it lives, whatever the replicas. Headless, the
// name resolves to every ready pod and motor's clients balance over them
// (round_robin).
func (c *checker) headlessServices() {
	for _, s := range c.m.Services {
		headless := s.Spec.ClusterIP == corev1.ClusterIPNone
		grpc := slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool {
			return p.Name == "grpc" || strings.HasPrefix(p.Name, "grpc-") || p.AppProtocol != nil && *p.AppProtocol == "grpc"
		})
		if grpc && !headless {
			c.add("Service/%s: serves gRPC behind a cluster IP, so each client's one connection sticks to one pod; make it headless (clusterIP: None)", s.Name)
		}
	}
	for _, st := range c.m.StatefulSets {
		s := c.service(st.Spec.ServiceName)
		switch {
		case s == nil:
			c.add("StatefulSet/%s: governing Service %q is not in the build", st.Name, st.Spec.ServiceName)
		case s.Spec.ClusterIP != corev1.ClusterIPNone:
			c.add("StatefulSet/%s: governing Service %s is not headless (clusterIP: None)", st.Name, s.Name)
		}
	}
}

// topologySpread: every Deployment spreads its pods over nodes (or zones),
// so one node going down does not take all replicas of a target with it.
func (c *checker) topologySpread() {
	for _, d := range c.m.Deployments {
		var spread bool
		for _, tsc := range d.Spec.Template.Spec.TopologySpreadConstraints {
			sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(d.Spec.Template.Labels)) && tsc.TopologyKey != "" && tsc.MaxSkew > 0 {
				spread = true
			}
		}
		if !spread {
			c.add("Deployment/%s: no topologySpreadConstraint selects its own pods", d.Name)
		}
	}
}

// distinctProbes: liveness and readiness ask different questions. A
// readiness failure (the store is down, a backend is unreachable) takes a
// pod out of its Service; were liveness the same check, the kubelet would
// restart every pod as well and make the outage worse.
func (c *checker) distinctProbes() {
	for _, w := range c.m.workloads() {
		for _, ct := range w.template.Spec.Containers {
			if ct.LivenessProbe != nil && ct.ReadinessProbe != nil && reflect.DeepEqual(ct.LivenessProbe.ProbeHandler, ct.ReadinessProbe.ProbeHandler) {
				c.add("%s container %s: liveness and readiness probes are the same check", w, ct.Name)
			}
		}
	}
}

// endpoint is a destination of egress: pods (labels, in the namespace of
// the build or one named by nsLabels) or, with external, an address
// outside the cluster; on a port by number and, for pods, by name.
type endpoint struct {
	what     string
	external bool
	nsLabels labels.Set // nil: the build's own namespace
	pod      labels.Set
	port     int32
	portName string
	protocol corev1.Protocol
}

// egress: outgoing traffic is denied by default; every pod reaches the
// cluster DNS; motor pods reach their upstreams, the store, the collector,
// the identity provider and the peers of the deployment config; the
// collector reaches its backend; no rule opens everything.
func (c *checker) egress(dep *config.Deployment) {
	var deny bool
	for _, np := range c.m.NetworkPolicies {
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) && len(np.Spec.Egress) == 0 {
			deny = true
		}
		for i, rule := range np.Spec.Egress {
			if len(rule.To) == 0 && len(rule.Ports) == 0 {
				c.add("NetworkPolicy/%s: egress rule %d admits every destination on every port", np.Name, i)
			}
		}
	}
	if !deny {
		c.add("no default-deny egress NetworkPolicy (empty podSelector, policyTypes Egress, no rules)")
	}
	dns := endpoint{what: "the cluster DNS", nsLabels: labels.Set{"kubernetes.io/metadata.name": "kube-system"},
		pod: labels.Set{"k8s-app": "kube-dns"}, port: 53, protocol: corev1.ProtocolUDP}
	for _, w := range c.m.workloads() {
		from := labels.Set(w.template.Labels)
		c.reaches(w, from, dns)
		for _, ct := range w.template.Spec.Containers {
			if w.name == collectorName {
				if host, port, err := net.SplitHostPort(envValue(ct, "OTLP_BACKEND_ENDPOINT")); err == nil {
					c.reaches(w, from, c.addressEndpoint("the OTLP backend", host, port))
				}
			}
			if !isMotor(ct) {
				continue
			}
			target := flagValue(ct.Args, "target")
			if u, err := url.Parse(envValue(ct, "OTEL_EXPORTER_OTLP_ENDPOINT")); err == nil && u.Host != "" {
				c.reaches(w, from, c.addressEndpoint("the collector", u.Hostname(), u.Port()))
			}
			for _, kv := range strings.Split(flagValue(ct.Args, "upstreams"), ",") {
				if _, addr, ok := strings.Cut(kv, "="); ok {
					if host, port, err := net.SplitHostPort(addr); err == nil {
						c.reaches(w, from, c.addressEndpoint("upstream "+kv, host, port))
					}
				}
			}
			if v := c.expand(ct, flagValue(ct.Args, "jwks")); v != "" {
				if u, err := url.Parse(v); err == nil && u.Scheme == "https" {
					port := u.Port()
					if port == "" {
						port = "443"
					}
					c.reaches(w, from, c.addressEndpoint("the identity provider "+u.Host, u.Hostname(), port))
				}
			}
			// The store and the peers are the services' business; the
			// gateway (and any other front) reaches only its upstreams.
			if !runsService(target) || dep == nil {
				continue
			}
			if slices.Contains(strings.Split(target, ","), "notify") {
				c.notifyEgress(w, from, dep.Notify)
			}
			if u, err := url.Parse(dep.Store); err == nil && flagValue(ct.Args, "store") == "" && u.Port() != "" {
				c.reaches(w, from, c.addressEndpoint("the store", u.Hostname(), u.Port()))
			}
			for _, p := range dep.Peers {
				for _, addr := range append([]string{p.Address}, sortedValues(p.Services)...) {
					if host, port, err := net.SplitHostPort(addr); err == nil {
						c.reaches(w, from, c.addressEndpoint("peer "+p.Name+" at "+addr, host, port))
					}
				}
			}
		}
	}
}

// notifyEgress: the notification service reaches the SMTP server of the
// deployment config and, for webhooks, HTTPS outside the cluster (the
// subscribers' URLs are https; a subscription is not known when the
// manifests are built).
func (c *checker) notifyEgress(w workload, from labels.Set, n config.Notify) {
	if s := n.SMTP; s != nil && s.Host != "" {
		c.reaches(w, from, c.addressEndpoint("the SMTP server "+s.Host, s.Host, strconv.Itoa(s.Port)))
	}
	c.reaches(w, from, endpoint{what: "webhook receivers (HTTPS outside the cluster)", port: 443, protocol: corev1.ProtocolTCP, external: true})
}

// runsService reports whether a -target runs one of the services, which
// hold state and call peers (notify reads the others' audit logs in the
// store).
func runsService(target string) bool {
	for _, t := range strings.Split(target, ",") {
		if slices.Contains(regionServices, t) || t == "national" || t == "coordinator" || t == "notify" || t == "reports" || t == "person" {
			return true
		}
	}
	return false
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// addressEndpoint resolves host:port the way a pod's resolver would: a
// Service of the build (its pods, on the target port), a Service of
// another namespace (<service>.<namespace>.svc…: pods named like ours,
// app.kubernetes.io/component=<service>), or an address outside.
func (c *checker) addressEndpoint(what, host, port string) endpoint {
	n, _ := strconv.Atoi(port)
	e := endpoint{what: what, port: int32(n), protocol: corev1.ProtocolTCP}
	parts := strings.Split(host, ".")
	switch {
	case len(parts) == 1 || len(parts) >= 3 && parts[2] == "svc" && c.inBuildNamespace(parts[1]):
		s := c.service(parts[0])
		if s == nil {
			e.external = true // reported by the rules on Services and flags
			return e
		}
		e.pod = labels.Set(s.Spec.Selector)
		for _, sp := range s.Spec.Ports {
			if fmt.Sprint(sp.Port) != port {
				continue
			}
			if sp.TargetPort.String() != "" && sp.TargetPort.IntVal == 0 {
				e.portName = sp.TargetPort.StrVal
				e.port = c.containerPort(e.pod, e.portName)
			} else if sp.TargetPort.IntVal != 0 {
				e.port = sp.TargetPort.IntVal
			}
		}
	case len(parts) >= 3 && parts[2] == "svc":
		e.nsLabels = labels.Set{"kubernetes.io/metadata.name": parts[1]}
		e.pod = labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": parts[0]}
		e.portName = "grpc"
	default:
		e.external = true
	}
	return e
}

func (c *checker) inBuildNamespace(ns string) bool {
	return slices.ContainsFunc(c.m.Namespaces, func(n corev1.Namespace) bool { return n.Name == ns })
}

// containerPort is the number of the named port of the pods with podLabels.
func (c *checker) containerPort(podLabels labels.Set, name string) int32 {
	sel := labels.SelectorFromSet(podLabels)
	for _, w := range c.m.workloads() {
		if !sel.Matches(labels.Set(w.template.Labels)) {
			continue
		}
		for _, ct := range w.template.Spec.Containers {
			for _, p := range ct.Ports {
				if p.Name == name {
					return p.ContainerPort
				}
			}
		}
	}
	return 0
}

// reaches reports a problem unless some egress policy selecting the pods
// with labels from lets them reach e.
func (c *checker) reaches(w workload, from labels.Set, e endpoint) {
	for _, np := range c.m.NetworkPolicies {
		if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(from) {
			continue
		}
		for _, rule := range np.Spec.Egress {
			if portsAdmit(rule.Ports, e) && peersAdmit(rule.To, e) {
				return
			}
		}
	}
	c.add("%s: no egress NetworkPolicy lets it reach %s (port %d)", w, e.what, e.port)
}

func portsAdmit(ports []networkingv1.NetworkPolicyPort, e endpoint) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != e.protocol {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.IntVal == 0 && p.Port.StrVal != "":
			if p.Port.StrVal == e.portName {
				return true
			}
		case p.Port.IntVal == e.port, p.EndPort != nil && p.Port.IntVal <= e.port && e.port <= *p.EndPort:
			return true
		}
	}
	return false
}

func peersAdmit(peers []networkingv1.NetworkPolicyPeer, e endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil {
			if e.external {
				return true
			}
			continue
		}
		if e.external {
			continue
		}
		podOK := true
		if p.PodSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(p.PodSelector)
			podOK = err == nil && sel.Matches(e.pod)
		}
		var nsOK bool
		switch {
		case p.NamespaceSelector == nil:
			nsOK = e.nsLabels == nil
		default:
			sel, err := metav1.LabelSelectorAsSelector(p.NamespaceSelector)
			nsOK = err == nil && e.nsLabels != nil && sel.Matches(e.nsLabels)
		}
		if podOK && nsOK {
			return true
		}
	}
	return false
}
