package auth

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCertDeployment(t *testing.T) {
	for _, tc := range []struct {
		cert *x509.Certificate
		want string
	}{
		{&x509.Certificate{Subject: pkix.Name{CommonName: "uppsala"}, DNSNames: []string{"localhost", "x"}}, "uppsala"},
		{&x509.Certificate{DNSNames: []string{"localhost", "national"}}, "national"},
		{&x509.Certificate{DNSNames: []string{"localhost"}}, ""},
		{nil, ""},
	} {
		if got := CertDeployment(tc.cert); got != tc.want {
			t.Errorf("CertDeployment(%v) = %q, want %q", tc.cert, got, tc.want)
		}
	}
}

func TestPeerPolicy_Bind(t *testing.T) {
	p := &PeerPolicy{Self: "national", Peers: map[string]Peer{"norr": {Regions: []string{"vasterbotten", "norrbotten"}}}}
	for _, tc := range []struct {
		name       string
		deployment string
		id         Identity
		wantRoles  []Role
		wantCode   codes.Code
	}{
		{"own region", "uppsala", Identity{Region: "uppsala", Roles: []Role{Advisor}}, []Role{Advisor}, codes.OK},
		{"other region", "uppsala", Identity{Region: "vasterbotten", Roles: []Role{Advisor, Submitter}}, nil, codes.PermissionDenied},
		{"listed regions", "norr", Identity{Region: "norrbotten", Roles: []Role{RegionAdmin}}, []Role{RegionAdmin}, codes.OK},
		{"cross-region role", "uppsala", Identity{Region: "national", Roles: []Role{Coordinator}}, []Role{Coordinator}, codes.OK},
		{"mixed token keeps the cross-region role", "uppsala", Identity{Region: "national", Roles: []Role{Advisor, Coordinator}}, []Role{Coordinator}, codes.OK},
		{"own deployment is not bound", "national", Identity{Region: "skane", Roles: []Role{Partner}}, []Role{Partner}, codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.bind(&tc.id, tc.deployment)
			if status.Code(err) != tc.wantCode {
				t.Fatalf("bind: %v, want %v", err, tc.wantCode)
			}
			if err != nil {
				return
			}
			if !slices.Equal(got.Roles, tc.wantRoles) || got.Deployment != tc.deployment {
				t.Errorf("bind = roles %v via %q, want %v via %q", got.Roles, got.Deployment, tc.wantRoles, tc.deployment)
			}
		})
	}
}
