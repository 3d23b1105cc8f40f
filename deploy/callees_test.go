package deploy

import "testing"

// TestCalleesReported: a pod that calls a service it does not run must say
// where it is and be let in by that service's NetworkPolicy; the region
// overlay that breaks either is reported.
func TestCalleesReported(t *testing.T) {
	patch := func(kind, name, ops string) string {
		return "patches:\n- target: {kind: " + kind + ", name: " + name + "}\n  patch: |-\n" + ops
	}
	for _, tc := range []struct{ name, kustomization, want string }{
		{"funding without its upstreams", patch("Deployment", "funding",
			"    - op: test\n      path: /spec/template/spec/containers/0/args/7\n      value: -upstreams=idea=idea:9090,needs=needs:9090,partner=partner:9090\n"+
				"    - op: remove\n      path: /spec/template/spec/containers/0/args/7\n"),
			"Deployment/funding container motor: -target funding calls the idea service but -upstreams does not say where it is"},
		{"reports shut out of the idea service", patch("NetworkPolicy", "idea",
			"    - op: test\n      path: /spec/ingress/0/from/5/podSelector/matchLabels/app.kubernetes.io~1component\n      value: reports\n"+
				"    - op: remove\n      path: /spec/ingress/0/from/5\n"),
			"Deployment/reports: no NetworkPolicy lets it reach the idea service (idea:9090)"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectBroken(t, tc.kustomization, nil, tc.want) })
	}
}
