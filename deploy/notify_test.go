package deploy

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestNotifyInEveryRegion: every region overlay runs the notification
// service, the gateway routes to it, its SMTP password comes from an
// optional Secret, and its pods reach what they call: the DNS, Redis, the
// collector, the SMTP server of the deployment config on its port, and
// HTTPS outside the cluster for webhooks.
func TestNotifyInEveryRegion(t *testing.T) {
	for _, dir := range overlays {
		if !strings.HasPrefix(dir, "regions/") {
			continue
		}
		t.Run(dir, func(t *testing.T) {
			m := build(t, dir)
			c := &checker{m: m}
			dep := c.deploymentConfig()
			if dep == nil || dep.Notify.SMTP == nil {
				t.Fatalf("deployment config has no notify.smtp: %+v", dep)
			}
			var notify *workload
			for _, w := range m.workloads() {
				if w.name == "notify" {
					notify = &w
				}
			}
			if notify == nil {
				t.Fatal("no Deployment notify")
			}
			ct := notify.template.Spec.Containers[0]
			if got := flagValue(ct.Args, "target"); got != "notify" {
				t.Errorf("notify runs -target=%s", got)
			}
			i := slices.IndexFunc(ct.Env, func(e corev1.EnvVar) bool { return e.Name == "MOTOR_SMTP_PASSWORD" })
			if i < 0 || ct.Env[i].ValueFrom == nil || ct.Env[i].ValueFrom.SecretKeyRef == nil ||
				ct.Env[i].ValueFrom.SecretKeyRef.Name != "motor-smtp" || !isTrue(ct.Env[i].ValueFrom.SecretKeyRef.Optional) {
				t.Errorf("MOTOR_SMTP_PASSWORD is not from the optional Secret motor-smtp: %+v", ct.Env)
			}
			var routed bool
			for _, d := range m.Deployments {
				if d.Name == "gateway" {
					routed = slices.Contains(strings.Split(flagValue(d.Spec.Template.Spec.Containers[0].Args, "upstreams"), ","), "notify=notify:9090")
				}
			}
			if !routed {
				t.Error("the gateway's -upstreams has no notify=notify:9090")
			}
			from := labels.Set(notify.template.Labels)
			for _, e := range []endpoint{
				{what: "DNS", nsLabels: labels.Set{"kubernetes.io/metadata.name": "kube-system"}, pod: labels.Set{"k8s-app": "kube-dns"}, port: 53, protocol: corev1.ProtocolUDP},
				c.addressEndpoint("Redis", "redis", "6379"),
				c.addressEndpoint("the collector", "otel-collector", "4317"),
				c.addressEndpoint("SMTP", dep.Notify.SMTP.Host, strconv.Itoa(dep.Notify.SMTP.Port)),
				{what: "SMTPS", port: 465, protocol: corev1.ProtocolTCP, external: true},
				{what: "webhooks", port: 443, protocol: corev1.ProtocolTCP, external: true},
			} {
				c.reaches(*notify, from, e)
			}
			// Nothing else in the namespace may call it but the gateway
			// and the portal.
			other := labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": "idea"}
			if !c.admits(from, nil, labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": "gateway"}) ||
				!c.admits(from, nil, labels.Set{"app.kubernetes.io/name": "motor", "app.kubernetes.io/component": "portal"}) ||
				c.admits(from, nil, other) {
				t.Error("the notify NetworkPolicy does not admit exactly the gateway and the portal")
			}
			for _, p := range c.problems {
				t.Error(p)
			}
		})
	}
}

// TestNotifyRulesReported: each notify rule reports the region overlay
// that breaks it.
func TestNotifyRulesReported(t *testing.T) {
	patch := func(kind, name, ops string) string {
		return "patches:\n- target: {kind: " + kind + ", name: " + name + "}\n  patch: |-\n" + ops
	}
	del := func(kind, name string) string {
		return patch(kind, name, "    $patch: delete\n    apiVersion: v1\n    kind: "+kind+"\n    metadata:\n      name: "+name+"\n")
	}
	for _, tc := range []struct{ name, kustomization, want string }{
		{"no notification service", del("Deployment", "notify"), "no pod runs -target notify"},
		{"no SMTP egress", del("NetworkPolicy", "notify-egress"),
			"Deployment/notify: no egress NetworkPolicy lets it reach the SMTP server smtp.uppsala.example (port 587)"},
		{"SMTP on another port", patch("NetworkPolicy", "notify-egress", "    - op: replace\n      path: /spec/egress/0/ports/0/port\n      value: 25\n"),
			"Deployment/notify: no egress NetworkPolicy lets it reach the SMTP server"},
		{"no store egress", patch("NetworkPolicy", "motor-egress", "    - op: remove\n      path: /spec/egress/1\n"),
			"Deployment/notify: no egress NetworkPolicy lets it reach the store"},
		{"webhooks cut off", patch("NetworkPolicy", "notify-egress", "    - op: remove\n      path: /spec/egress/1\n") + "\n" +
			"- target: {kind: NetworkPolicy, name: motor-egress}\n  patch: |-\n    - op: remove\n      path: /spec/egress/3\n",
			"Deployment/notify: no egress NetworkPolicy lets it reach webhook receivers"},
		{"SMTP password not from a Secret", patch("Deployment", "notify",
			"    - op: test\n      path: /spec/template/spec/containers/0/env/3/name\n      value: MOTOR_SMTP_PASSWORD\n"+
				"    - op: replace\n      path: /spec/template/spec/containers/0/env/3\n      value: {name: MOTOR_SMTP_PASSWORD, value: hunter2}\n"),
			"Deployment/notify container motor: notify.smtp.username is set but MOTOR_SMTP_PASSWORD is not a Secret key"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectBroken(t, tc.kustomization, nil, tc.want) })
	}
}
