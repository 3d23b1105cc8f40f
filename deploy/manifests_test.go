package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// overlays are what an operator applies: every region and the nation.
var overlays = []string{"regions/vasterbotten", "regions/uppsala", "national"}

// build runs kustomize on dir and decodes the result strictly.
func build(t *testing.T, dir string) *Manifests {
	t.Helper()
	objs, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(objs)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return m
}

// relTo returns the path of target (relative to this folder) as seen from
// dir: kustomize takes only relative paths to other kustomizations.
func relTo(t *testing.T, dir, target string) string {
	t.Helper()
	abs, err := filepath.Abs(target)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

func TestOverlaysFollowTheRules(t *testing.T) {
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			m := build(t, dir)
			for _, p := range Check(m) {
				t.Error(p)
			}
		})
	}
}

// TestOverlayContents pins what each overlay is for: its namespace, its
// region, its targets and its Redis durability.
func TestOverlayContents(t *testing.T) {
	for _, tc := range []struct {
		dir, namespace, name string
		regions              []string
		deployments          []string
		fsync                string
	}{
		{"regions/vasterbotten", "motor-vasterbotten", "vasterbotten", []string{"vasterbotten"},
			[]string{"funding", "gateway", "idea", "needs", "notify", "otel-collector", "partner", "person", "portal", "reports"}, "everysec"},
		{"regions/uppsala", "motor-uppsala", "uppsala", []string{"uppsala"},
			[]string{"funding", "gateway", "idea", "needs", "notify", "otel-collector", "partner", "person", "portal", "reports"}, "everysec"},
		// The programme ledger is money: its Redis fsyncs every write.
		{"national", "motor-national", "national", nil,
			[]string{"funding", "gateway", "otel-collector", "portal"}, "always"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			m := build(t, tc.dir)
			if len(m.Namespaces) != 1 || m.Namespaces[0].Name != tc.namespace {
				t.Errorf("namespaces = %v, want %s", m.Namespaces, tc.namespace)
			}
			var names []string
			for _, d := range m.Deployments {
				names = append(names, d.Name)
				if d.Namespace != tc.namespace {
					t.Errorf("Deployment/%s in namespace %q, want %s", d.Name, d.Namespace, tc.namespace)
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.deployments) {
				t.Errorf("Deployments = %v, want %v", names, tc.deployments)
			}
			d := (&checker{m: m}).deploymentConfig()
			if d == nil {
				t.Fatal("no deployment config")
			}
			if d.Name != tc.name || !slices.Equal(d.Regions, tc.regions) || d.National != (tc.regions == nil) {
				t.Errorf("deployment config = name %q regions %v national %v, want %q %v", d.Name, d.Regions, d.National, tc.name, tc.regions)
			}
			if got := RedisFsync(m); got != tc.fsync {
				t.Errorf("appendfsync = %q, want %q", got, tc.fsync)
			}
		})
	}
}

// TestBaseIsNotADeployment: the base alone names no region, no namespace,
// no identity provider and no host, and the rules say so.
func TestBaseIsNotADeployment(t *testing.T) {
	problems := Check(build(t, "base"))
	for _, want := range []string{"no region", "no namespace", "-oidc-issuer", "Ingress/gateway: host"} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(problems, "\n"))
		}
	}
}

// TestBrokenManifestsAreReported builds overlays on top of a real one, each
// breaking one rule, and checks that the rule reports it.
func TestBrokenManifestsAreReported(t *testing.T) {
	for _, tc := range []struct {
		name string
		// kustomization is appended to a kustomization.yaml that has the
		// Uppsala overlay as its resource.
		kustomization string
		files         map[string]string
		want          string
	}{
		{
			name: "no limits",
			kustomization: `patches:
- target: {kind: Deployment, name: idea}
  patch: |-
    - op: remove
      path: /spec/template/spec/containers/0/resources/limits
`,
			want: "Deployment/idea container motor: no cpu limit",
		},
		{
			name: "latest image",
			kustomization: `images:
- name: ghcr.io/innovationsmotorer/motor
  newTag: latest
`,
			want: `uses the tag latest`,
		},
		{
			name: "untagged image",
			kustomization: `patches:
- target: {kind: StatefulSet, name: redis}
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/image
      value: redis
`,
			want: `StatefulSet/redis container redis: image "redis" has no tag`,
		},
		{
			name: "no readiness probe",
			kustomization: `patches:
- target: {kind: Deployment, name: gateway}
  patch: |-
    - op: remove
      path: /spec/template/spec/containers/0/readinessProbe
`,
			want: "Deployment/gateway container motor: no readiness probe",
		},
		{
			name: "root",
			kustomization: `patches:
- target: {kind: Deployment, name: needs}
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/securityContext/runAsNonRoot
      value: false
    - op: replace
      path: /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem
      value: false
`,
			want: "Deployment/needs container motor: runAsNonRoot is not true",
		},
		{
			name: "service without deployment",
			kustomization: `patches:
- target: {kind: Service, name: partner}
  patch: |-
    - op: replace
      path: /spec/selector/app.kubernetes.io~1component
      value: partners
`,
			want: "Service/partner: selector",
		},
		{
			name: "no disruption budget",
			kustomization: `patches:
- target: {kind: PodDisruptionBudget, name: funding}
  patch: |-
    $patch: delete
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: funding
`,
			want: "Deployment/funding: no PodDisruptionBudget",
		},
		{
			name: "no network policy",
			kustomization: `patches:
- target: {kind: NetworkPolicy, name: needs}
  patch: |-
    $patch: delete
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: needs
`,
			want: "Deployment/needs: no NetworkPolicy",
		},
		{
			name: "no region",
			kustomization: `configMapGenerator:
- name: motor-deployment
  behavior: replace
  files:
  - deployment.json
`,
			files: map[string]string{"deployment.json": `{"name": "uppsala", "regions": [],
  "tls": {"ca": "/etc/motor/tls/ca.crt", "cert": "/etc/motor/tls/tls.crt", "key": "/etc/motor/tls/tls.key"},
  "store": "redis://redis:6379",
  "peers": [{"name": "national", "address": "funding.motor-national.svc.cluster.local:9090", "national": true}]}`},
			want: "no region",
		},
		{
			name: "national deployment locked out of a region's service",
			kustomization: `patches:
- target: {kind: NetworkPolicy, name: needs}
  patch: |-
    - op: replace
      path: /spec/ingress
      value: [{from: [{podSelector: {matchLabels: {app.kubernetes.io/component: gateway}}}], ports: [{port: grpc}]}]
`,
			want: "reach the needs service",
		},
		{
			name: "national deployment with one address per region",
			kustomization: `configMapGenerator:
- name: motor-deployment
  behavior: replace
  files:
  - deployment.json
`,
			files: map[string]string{"deployment.json": `{"name": "uppsala", "national": true,
  "tls": {"ca": "/etc/motor/tls/ca.crt", "cert": "/etc/motor/tls/tls.crt", "key": "/etc/motor/tls/tls.key"},
  "store": "redis://redis:6379",
  "peers": [{"name": "skane", "address": "idea.motor-skane.svc.cluster.local:9090", "services": {"needs": "needs.motor-skane.svc.cluster.local:9090"}}]}`},
			want: "peer skane has no services.funding address",
		},
		{
			name: "no namespace",
			kustomization: `patches:
- target: {kind: Service, name: idea}
  patch: |-
    - op: remove
      path: /metadata/namespace
`,
			want: "Service/idea: no namespace",
		},
		{
			name: "append-only file off",
			kustomization: `patches:
- target: {kind: StatefulSet, name: redis}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/command/-
      value: --appendonly
    - op: add
      path: /spec/template/spec/containers/0/command/-
      value: "no"
`,
			want: `StatefulSet/redis: appendonly is "no"`,
		},
		{
			name: "redis without a volume",
			kustomization: `patches:
- target: {kind: StatefulSet, name: redis}
  patch: |-
    - op: remove
      path: /spec/template/spec/containers/0/volumeMounts/0
    - op: remove
      path: /spec/volumeClaimTemplates
`,
			want: "StatefulSet/redis: no volumeClaimTemplate",
		},
		{
			name: "upstream without service",
			kustomization: `patches:
- target: {kind: Deployment, name: needs}
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/args/7
      value: -upstreams=idea=ideas:9090
`,
			want: "upstream idea=ideas:9090: no Service ideas",
		},
	} {
		t.Run(tc.name, func(t *testing.T) { expectBroken(t, tc.kustomization, tc.files, tc.want) })
	}
}

// expectBroken builds kustomization (and files) on top of the Uppsala
// overlay and expects a problem that mentions want.
func expectBroken(t *testing.T, kustomization string, files map[string]string, want string) {
	t.Helper()
	dir := t.TempDir()
	k := "resources:\n- " + relTo(t, dir, "regions/uppsala") + "\n" + kustomization
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems := Check(build(t, dir))
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
		t.Errorf("no problem mentions %q; got:\n%s", want, strings.Join(problems, "\n"))
	}
}

// TestManagedRedis: the managed-redis component removes the in-cluster
// Redis and hands every stateful service the store URL from a Secret, and
// the overlay still follows the rules.
func TestManagedRedis(t *testing.T) {
	dir := t.TempDir()
	k := "resources:\n- " + relTo(t, dir, "regions/uppsala") + "\ncomponents:\n- " + relTo(t, dir, "components/managed-redis") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	m := build(t, dir)
	for _, p := range Check(m) {
		t.Error(p)
	}
	if len(m.StatefulSets) != 0 || RedisFsync(m) != "" {
		t.Errorf("StatefulSets = %d, want the in-cluster Redis gone", len(m.StatefulSets))
	}
	for _, s := range m.Services {
		if s.Name == redisName {
			t.Error("Service redis is still there")
		}
	}
	for _, cm := range m.ConfigMaps {
		if strings.HasPrefix(cm.Name, "redis-config") {
			t.Error("ConfigMap redis-config is still there")
		}
	}
	for _, d := range m.Deployments {
		for _, ct := range d.Spec.Template.Spec.Containers {
			if !isMotor(ct) {
				continue
			}
			got, want := flagValue(ct.Args, "store"), "$(MOTOR_STORE)"
			if d.Name == "gateway" || d.Name == "portal" { // they hold no state
				want = ""
			}
			if got != want {
				t.Errorf("Deployment/%s: -store = %q, want %q", d.Name, got, want)
			}
		}
	}
}

// TestStrictDecoding: a misspelt field, which kustomize passes through, is
// an error rather than a probe that silently does not exist.
func TestStrictDecoding(t *testing.T) {
	dir := t.TempDir()
	k := "resources:\n- " + relTo(t, dir, "regions/uppsala") + `
patches:
- target: {kind: Deployment, name: idea}
  patch: |-
    - op: add
      path: /spec/template/spec/containers/0/readinesProbe
      value: {tcpSocket: {port: grpc}}
`
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Decode(objs)
	if err == nil || !strings.Contains(err.Error(), "readinesProbe") {
		t.Fatalf("Decode = %v, want an error naming readinesProbe", err)
	}
}

func TestImageProblem(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/innovationsmotorer/motor:0.1.0":     "",
		"registry.local:5000/motor:1.2.3":            "",
		"registry.local:5000/motor":                  "has no tag (pin a version)",
		"redis":                                      "has no tag (pin a version)",
		"redis:latest":                               "uses the tag latest (pin a version)",
		"motor@sha256:0123456789abcdef0123456789abc": "",
	} {
		if got := imageProblem(image); got != want {
			t.Errorf("imageProblem(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestOverlayWithWeights: an overlay that sets a region's scorecard weights,
// as the README documents, follows the rules, and a weight motor itself
// would refuse is reported by the same words motor uses.
func TestOverlayWithWeights(t *testing.T) {
	config := func(weights string) string {
		return `{"name": "uppsala", "regions": ["uppsala"], "grpc": "0.0.0.0:9090", "http": "0.0.0.0:8080",
  "store": "redis://redis:6379",
  "tls": {"ca": "/etc/motor/tls/ca.crt", "cert": "/etc/motor/tls/tls.crt", "key": "/etc/motor/tls/tls.key"},
  "peers": [{"name": "national", "address": "funding.motor-national.svc.cluster.local:9090", "national": true},
    {"name": "vasterbotten", "address": "idea.motor-vasterbotten.svc.cluster.local:9090"}],
  "weights": ` + weights + `}`
	}
	for _, tc := range []struct {
		name, weights, want string
	}{
		{"documented weights", `{"uppsala": {"assessment": {"patientBenefit": 2, "risk": 0.5}, "screening": {"clinicalImpact": 3}}}`, ""},
		{"unknown criterion", `{"uppsala": {"assessment": {"beauty": 2}}}`, "weights.uppsala.assessment.beauty: not a criterion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k := "resources:\n- " + relTo(t, dir, "regions/uppsala") + `
configMapGenerator:
- name: motor-deployment
  behavior: replace
  files:
  - deployment.json
`
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "deployment.json"), []byte(config(tc.weights)), 0o644); err != nil {
				t.Fatal(err)
			}
			problems := Check(build(t, dir))
			if tc.want == "" {
				for _, p := range problems {
					t.Error(p)
				}
				return
			}
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(problems, "\n"))
			}
		})
	}
}
