package auth

import (
	"context"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// Deployments call each other over mTLS. The certificate says which
// deployment is calling; the bearer token (if any) says for whom. These rules
// join the two:
//
//   - a call with a verified certificate of deployment D and no token is D's
//     own system call: it gets D's service identity (DeploymentIdentity);
//   - a call with a certificate of D and a token whose roles are bound to
//     region R is refused unless D serves R: a certificate of region A never
//     acts as region B, even with a B token it got hold of;
//   - calls over this deployment's own certificate (its gateway, or its
//     other processes) are checked as if no certificate were there, so the
//     services answer them exactly as they answer plain-text calls.
//
// Identity.Deployment tells a handler which deployment carried the call.

// Peer is what this deployment knows about another one.
type Peer struct {
	// Regions the peer may act for. Empty means the region the peer is named
	// after (a deployment named "uppsala" serves uppsala).
	Regions  []string
	National bool
}

// PeerPolicy is the mTLS side of the interceptors: this deployment's own
// name and the peers it knows. A certificate of the CA naming a deployment
// missing from the map is refused by the Gate: the CA says who a caller
// is, the peers list whom this deployment trusts.
type PeerPolicy struct {
	Self  string
	Peers map[string]Peer
}

// CertDeployment returns the deployment a certificate names: its common
// name, or else its first DNS name other than localhost (`motor certs` sets
// both to the deployment's name).
func CertDeployment(cert *x509.Certificate) string {
	if cert == nil {
		return ""
	}
	if cert.Subject.CommonName != "" {
		return cert.Subject.CommonName
	}
	for _, n := range cert.DNSNames {
		if n != "localhost" {
			return n
		}
	}
	return ""
}

// verifiedDeployment returns the deployment whose CA-verified client
// certificate carries the call, or "" on a plain-text or unverified
// connection.
func verifiedDeployment(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return ""
	}
	return CertDeployment(info.State.VerifiedChains[0][0])
}

// regions returns what deployment name may act for.
func (p *PeerPolicy) regions(name string) []string {
	if info, ok := p.Peers[name]; ok && len(info.Regions) > 0 {
		return info.Regions
	}
	return []string{name}
}

func (p *PeerPolicy) national(name string) bool {
	return name == NationalRegion || p.Peers[name].National
}

// DeploymentIdentity is the service identity of deployment name, for its
// system calls that carry no token. Its Region is the deployment's name, or
// "national" for the national deployment.
func (p *PeerPolicy) DeploymentIdentity(name string) *Identity {
	region := name
	if p.national(name) {
		region = NationalRegion
	}
	return &Identity{Subject: "deployment:" + name, Name: name, Region: region, Roles: []Role{Service}, Deployment: name, Kind: CallerPeer}
}

// bind applies the rules above to a verified token identity that arrived
// over deployment's certificate.
func (p *PeerPolicy) bind(id *Identity, deployment string) (*Identity, error) {
	bound := *id
	bound.Deployment = deployment
	if deployment == p.Self {
		return &bound, nil
	}
	allowed := p.regions(deployment)
	if slices.Contains(allowed, id.Region) {
		return &bound, nil
	}
	// Roles that hold everywhere (coordinator, service) still count; the
	// region-bound ones cannot be used through this certificate.
	var kept, dropped []Role
	for _, r := range id.Roles {
		if regionBound(r) {
			dropped = append(dropped, r)
		} else {
			kept = append(kept, r)
		}
	}
	if len(dropped) == 0 {
		return &bound, nil
	}
	if len(kept) == 0 {
		return nil, statusError(codes.PermissionDenied, ReasonPermissionDenied,
			map[string]string{problemMetadataKey: problemRegionNotAllowed, "deployment": deployment, "region": id.Region},
			fmt.Sprintf("deployment %s (serving %s) may not act for region %s: its certificate does not cover the token's region",
				deployment, strings.Join(allowed, ","), id.Region))
	}
	bound.Roles = kept
	return &bound, nil
}
