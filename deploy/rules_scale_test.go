package deploy

import "testing"

// TestScaleAndEgressRulesReported: each rule on balancing, spreading,
// probes and egress reports the overlay that breaks it.
func TestScaleAndEgressRulesReported(t *testing.T) {
	del := func(kind, name string) string {
		return `patches:
- target: {kind: ` + kind + `, name: ` + name + `}
  patch: |-
    $patch: delete
    apiVersion: v1
    kind: ` + kind + `
    metadata:
      name: ` + name + `
`
	}
	jsonPatch := func(kind, name, ops string) string {
		return "patches:\n- target: {kind: " + kind + ", name: " + name + "}\n  patch: |-\n" + ops
	}
	for _, tc := range []struct{ name, kustomization, want string }{
		{"gRPC Service with a cluster IP", jsonPatch("Service", "idea", "    - op: remove\n      path: /spec/clusterIP\n"),
			"Service/idea: serves gRPC behind a cluster IP"},
		{"Redis governing Service with a cluster IP", jsonPatch("Service", "redis", "    - op: remove\n      path: /spec/clusterIP\n"),
			"StatefulSet/redis: governing Service redis is not headless"},
		{"no topology spread", jsonPatch("Deployment", "otel-collector", "    - op: remove\n      path: /spec/template/spec/topologySpreadConstraints\n"),
			"Deployment/otel-collector: no topologySpreadConstraint"},
		{"spread that selects other pods", jsonPatch("Deployment", "gateway", "    - op: replace\n      path: /spec/template/spec/topologySpreadConstraints/0/labelSelector/matchLabels/app.kubernetes.io~1component\n      value: idea\n"),
			"Deployment/gateway: no topologySpreadConstraint"},
		{"liveness as readiness", jsonPatch("Deployment", "otel-collector", "    - op: replace\n      path: /spec/template/spec/containers/0/livenessProbe\n      value: {httpGet: {path: /, port: health}, periodSeconds: 10}\n"),
			"Deployment/otel-collector container collector: liveness and readiness probes are the same check"},
		{"egress open by default", del("NetworkPolicy", "default-deny-egress"), "no default-deny egress NetworkPolicy"},
		{"no DNS", del("NetworkPolicy", "dns"), "StatefulSet/redis: no egress NetworkPolicy lets it reach the cluster DNS"},
		{"no store", jsonPatch("NetworkPolicy", "motor-egress", "    - op: remove\n      path: /spec/egress/1\n"),
			"Deployment/idea: no egress NetworkPolicy lets it reach the store"},
		{"no collector", jsonPatch("NetworkPolicy", "motor-egress", "    - op: remove\n      path: /spec/egress/2\n"),
			"Deployment/gateway: no egress NetworkPolicy lets it reach the collector"},
		{"no identity provider", jsonPatch("NetworkPolicy", "motor-egress", "    - op: remove\n      path: /spec/egress/3\n"),
			"Deployment/needs: no egress NetworkPolicy lets it reach the identity provider"},
		{"no upstream", jsonPatch("NetworkPolicy", "motor-egress", "    - op: replace\n      path: /spec/egress/0/to/0/podSelector/matchLabels\n      value: {app.kubernetes.io/component: funding}\n"),
			"Deployment/gateway: no egress NetworkPolicy lets it reach upstream idea=idea:9090"},
		{"no peer", jsonPatch("NetworkPolicy", "motor-egress", "    - op: remove\n      path: /spec/egress/4\n"),
			"Deployment/funding: no egress NetworkPolicy lets it reach peer national"},
		{"no OTLP backend", jsonPatch("NetworkPolicy", "otel-collector", "    - op: remove\n      path: /spec/egress\n"),
			"Deployment/otel-collector: no egress NetworkPolicy lets it reach the OTLP backend"},
		{"egress to everything", jsonPatch("NetworkPolicy", "motor-egress", "    - op: add\n      path: /spec/egress/-\n      value: {}\n"),
			"NetworkPolicy/motor-egress: egress rule 5 admits every destination on every port"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectBroken(t, tc.kustomization, nil, tc.want) })
	}
}
