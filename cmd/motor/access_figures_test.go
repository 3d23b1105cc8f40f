package main

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
)

// TestAccess_RegionFigures: a region's figures in one call, on a
// well-formed name of a region the deployment serves, as every kind of
// caller: the region's staff and national callers get them, other roles
// and other regions' staff do not, nor does anyone without a token; of the
// peers only the national deployment, as itself or with a coordinator's
// token; a token of the region over a certificate that serves it counts,
// over one that does not it does not.
func TestAccess_RegionFigures(t *testing.T) {
	s := startAccessServer(t)
	plain, err := rpc.Dial(s.plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Close() })
	token := func(role auth.Role, region string) context.Context {
		c := auth.Claims{Subject: string(role) + "-" + region, Region: region, Roles: []auth.Role{role}}
		if role == auth.Partner {
			c.Partner = "regions/" + region + "/partners/p"
		}
		tok, err := s.signer.Sign(c, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok)
	}
	bare := t.Context()
	forged, err := auth.NewServiceCredential("motor")
	if err != nil {
		t.Fatal(err)
	}
	norr, uppsala, national, stockholm := s.dialCert(t, "norr"), s.dialCert(t, "uppsala"), s.dialCert(t, "national"), s.dialCert(t, "stockholm")
	const ok = codes.OK
	for _, c := range []struct {
		who  string
		conn grpc.ClientConnInterface
		ctx  context.Context
		want codes.Code
	}{
		{"no token", plain, bare, codes.Unauthenticated},
		{"a forged service credential", auth.AsService(plain, forged), bare, codes.Unauthenticated},
		{"this process's service credential (no one calls it as itself)", auth.AsService(plain, s.cred), bare, codes.PermissionDenied},
		{"advisor of vasterbotten", plain, token(auth.Advisor, "vasterbotten"), ok},
		{"region admin of vasterbotten", plain, token(auth.RegionAdmin, "vasterbotten"), ok},
		{"submitter of vasterbotten", plain, token(auth.Submitter, "vasterbotten"), codes.PermissionDenied},
		{"partner of vasterbotten", plain, token(auth.Partner, "vasterbotten"), codes.PermissionDenied},
		{"advisor of uppsala", plain, token(auth.Advisor, "uppsala"), codes.PermissionDenied},
		{"region admin of uppsala", plain, token(auth.RegionAdmin, "uppsala"), codes.PermissionDenied},
		{"submitter of uppsala", plain, token(auth.Submitter, "uppsala"), codes.PermissionDenied},
		{"partner of uppsala", plain, token(auth.Partner, "uppsala"), codes.PermissionDenied},
		{"coordinator", plain, token(auth.Coordinator, auth.NationalRegion), ok},
		{"service token", plain, token(auth.Service, auth.NationalRegion), ok},
		{"the national peer as itself", national, bare, ok},
		{"the national peer with a coordinator's token (the dashboard)", national, token(auth.Coordinator, auth.NationalRegion), ok},
		{"peer norr, serving vasterbotten, as itself", norr, bare, codes.PermissionDenied},
		{"peer uppsala as itself", uppsala, bare, codes.PermissionDenied},
		{"peer norr with a vasterbotten advisor's token", norr, token(auth.Advisor, "vasterbotten"), ok},
		{"peer uppsala with a vasterbotten advisor's token", uppsala, token(auth.Advisor, "vasterbotten"), codes.PermissionDenied},
		{"stockholm, a certificate listed nowhere", stockholm, bare, codes.PermissionDenied},
		{"stockholm with a coordinator's token", stockholm, token(auth.Coordinator, auth.NationalRegion), codes.PermissionDenied},
	} {
		ctx, cancel := context.WithTimeout(c.ctx, 5*time.Second)
		got, err := coordinatorv1.NewRegionFiguresServiceClient(c.conn).GetRegionFigures(ctx, &coordinatorv1.GetRegionFiguresRequest{Name: "regions/vasterbotten/figures"})
		cancel()
		if status.Code(err) != c.want {
			t.Errorf("as %s: %v, want %v", c.who, err, c.want)
			continue
		}
		if err == nil && got.GetRegion() != "vasterbotten" {
			t.Errorf("as %s: figures of %q, want vasterbotten's", c.who, got.GetRegion())
		}
	}
}
