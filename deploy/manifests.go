// Package deploy builds Motor's Kubernetes manifests (the kustomize base,
// regions/<region> and national overlays in this folder) and checks them
// against the rules every deployment must meet: probes, limits, non-root,
// read-only file systems, Services backed by workloads, PodDisruptionBudgets,
// NetworkPolicies, a region and a namespace per overlay, pinned images and a
// durable Redis. The tests run every overlay through Build, Decode and
// Check, so `go test ./...` in this module fails on a manifest that breaks a
// rule.
package deploy

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Object is one resource of a kustomize build, as YAML.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	YAML       []byte
}

// String names the object the way problems refer to it.
func (o Object) String() string { return o.Kind + "/" + o.Name }

// Build runs kustomize on dir, a folder holding a kustomization.yaml, as
// `kubectl apply -k dir` would.
func Build(dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []Object
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s/%s: %w", dir, r.GetKind(), r.GetName(), err)
		}
		out = append(out, Object{
			APIVersion: r.GetApiVersion(),
			Kind:       r.GetKind(),
			Name:       r.GetName(),
			Namespace:  r.GetNamespace(),
			YAML:       y,
		})
	}
	return out, nil
}

// Certificate is cert-manager's Certificate (cert-manager.io/v1), the
// fields the overlays use. It is a CRD, so it is declared here rather than
// imported with all of cert-manager; decoding is strict all the same, so a
// field this struct lacks is reported rather than ignored.
type Certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              CertificateSpec `json:"spec"`
}

// CertificateSpec is the spec of a Certificate.
type CertificateSpec struct {
	SecretName  string                 `json:"secretName"`
	CommonName  string                 `json:"commonName,omitempty"`
	DNSNames    []string               `json:"dnsNames,omitempty"`
	Duration    string                 `json:"duration,omitempty"`
	RenewBefore string                 `json:"renewBefore,omitempty"`
	PrivateKey  *CertificatePrivateKey `json:"privateKey,omitempty"`
	Usages      []string               `json:"usages,omitempty"`
	IssuerRef   IssuerRef              `json:"issuerRef"`
}

// CertificatePrivateKey is how cert-manager makes the key.
type CertificatePrivateKey struct {
	Algorithm      string `json:"algorithm,omitempty"`
	Size           int    `json:"size,omitempty"`
	RotationPolicy string `json:"rotationPolicy,omitempty"`
}

// IssuerRef names the cert-manager issuer of a Certificate.
type IssuerRef struct {
	Group string `json:"group,omitempty"`
	Kind  string `json:"kind,omitempty"`
	Name  string `json:"name"`
}

// Manifests is a build decoded into Kubernetes types.
type Manifests struct {
	Namespaces          []corev1.Namespace
	ServiceAccounts     []corev1.ServiceAccount
	ConfigMaps          []corev1.ConfigMap
	Services            []corev1.Service
	Deployments         []appsv1.Deployment
	StatefulSets        []appsv1.StatefulSet
	PodDisruptionBudget []policyv1.PodDisruptionBudget
	NetworkPolicies     []networkingv1.NetworkPolicy
	Ingresses           []networkingv1.Ingress
	Certificates        []Certificate
}

// Decode decodes every object strictly into its Kubernetes type: an
// unknown or misspelt field, a duplicate key or a kind the manifests have
// no business holding is an error.
func Decode(objs []Object) (*Manifests, error) {
	m := &Manifests{}
	for _, o := range objs {
		var err error
		switch o.APIVersion + " " + o.Kind {
		case "v1 Namespace":
			m.Namespaces, err = decodeInto(o, m.Namespaces)
		case "v1 ServiceAccount":
			m.ServiceAccounts, err = decodeInto(o, m.ServiceAccounts)
		case "v1 ConfigMap":
			m.ConfigMaps, err = decodeInto(o, m.ConfigMaps)
		case "v1 Service":
			m.Services, err = decodeInto(o, m.Services)
		case "apps/v1 Deployment":
			m.Deployments, err = decodeInto(o, m.Deployments)
		case "apps/v1 StatefulSet":
			m.StatefulSets, err = decodeInto(o, m.StatefulSets)
		case "policy/v1 PodDisruptionBudget":
			m.PodDisruptionBudget, err = decodeInto(o, m.PodDisruptionBudget)
		case "networking.k8s.io/v1 NetworkPolicy":
			m.NetworkPolicies, err = decodeInto(o, m.NetworkPolicies)
		case "networking.k8s.io/v1 Ingress":
			m.Ingresses, err = decodeInto(o, m.Ingresses)
		case "cert-manager.io/v1 Certificate":
			m.Certificates, err = decodeInto(o, m.Certificates)
		default:
			err = fmt.Errorf("%s (%s): not a kind these manifests use", o, o.APIVersion)
		}
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// decodeInto decodes o strictly as a T and appends it to list.
func decodeInto[T any](o Object, list []T) ([]T, error) {
	var v T
	if err := yaml.UnmarshalStrict(o.YAML, &v); err != nil {
		return list, fmt.Errorf("%s: %w", o, err)
	}
	return append(list, v), nil
}
