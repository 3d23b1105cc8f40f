package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRequire(t *testing.T) {
	advisorVB := &Identity{Subject: "a", Region: "vasterbotten", Roles: []Role{Advisor}}
	adminUppsala := &Identity{Subject: "b", Region: "uppsala", Roles: []Role{RegionAdmin}}
	coordinator := &Identity{Subject: "c", Region: NationalRegion, Roles: []Role{Coordinator}}
	coordinatorAdvisor := &Identity{Subject: "d", Region: NationalRegion, Roles: []Role{Advisor, Coordinator}}
	service := &Identity{Subject: "svc", Region: "uppsala", Roles: []Role{Service}}
	submitter := &Identity{Subject: "e", Region: "vasterbotten", Roles: []Role{Submitter}}

	tests := []struct {
		name     string
		id       *Identity // nil: no identity in the context
		region   string
		roles    []Role
		wantCode codes.Code
		wantMsg  string
	}{
		{"advisor in own region", advisorVB, "vasterbotten", []Role{Advisor}, codes.OK, ""},
		{"one of several roles", adminUppsala, "uppsala", []Role{Advisor, RegionAdmin}, codes.OK, ""},
		{"advisor in another region", advisorVB, "uppsala", []Role{Advisor}, codes.PermissionDenied,
			"role advisor of region vasterbotten may not act in region uppsala"},
		{"wrong role", submitter, "vasterbotten", []Role{Advisor, RegionAdmin}, codes.PermissionDenied,
			"role advisor or region_admin required"},
		{"coordinator is cross-region", coordinator, "vasterbotten", []Role{Advisor, Coordinator}, codes.OK, ""},
		{"coordinator without coordinator asked", coordinator, "vasterbotten", []Role{Advisor}, codes.PermissionDenied,
			"role advisor required"},
		{"national advisor is no advisor of a region", coordinatorAdvisor, "vasterbotten", []Role{Advisor}, codes.PermissionDenied,
			"role advisor of region national may not act in region vasterbotten"},
		{"service is cross-region", service, "skane", []Role{Service}, codes.OK, ""},
		{"no identity", nil, "vasterbotten", []Role{Advisor}, codes.Unauthenticated, "no identity"},
		{"no role asked", advisorVB, "vasterbotten", nil, codes.Internal, "no role given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.id != nil {
				ctx = NewContext(ctx, tt.id)
			}
			got, err := Require(ctx, tt.region, tt.roles...)
			if code := status.Code(err); code != tt.wantCode {
				t.Fatalf("Require: code %v (%v), want %v", code, err, tt.wantCode)
			}
			if tt.wantCode == codes.OK {
				if got != tt.id {
					t.Errorf("Require returned %+v, want the caller %+v", got, tt.id)
				}
				return
			}
			if got != nil {
				t.Errorf("Require returned an identity with its error")
			}
			st := status.Convert(err)
			if !strings.Contains(st.Message(), tt.wantMsg) {
				t.Errorf("Require message %q does not say %q", st.Message(), tt.wantMsg)
			}
			if tt.wantCode == codes.Internal {
				return
			}
			info := errorInfo(t, err)
			want := map[codes.Code]string{codes.PermissionDenied: ReasonPermissionDenied, codes.Unauthenticated: ReasonUnauthenticated}[tt.wantCode]
			if info.GetReason() != want || info.GetDomain() != ErrorDomain {
				t.Errorf("ErrorInfo reason %q domain %q, want %q %q", info.GetReason(), info.GetDomain(), want, ErrorDomain)
			}
		})
	}
}

// errorInfo returns the ErrorInfo detail of a status error.
func errorInfo(t testing.TB, err error) *errdetails.ErrorInfo {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	t.Fatalf("status error %v carries no ErrorInfo", err)
	return nil
}

func TestCanSeePersonalData(t *testing.T) {
	tests := []struct {
		name   string
		id     *Identity
		region string
		owner  string
		want   bool
	}{
		{"the person", &Identity{Subject: "p", Region: "vasterbotten", Roles: []Role{Submitter}}, "vasterbotten", "p", true},
		{"another submitter", &Identity{Subject: "q", Region: "vasterbotten", Roles: []Role{Submitter}}, "vasterbotten", "p", false},
		{"advisor of the region", &Identity{Subject: "a", Region: "vasterbotten", Roles: []Role{Advisor}}, "vasterbotten", "p", true},
		{"admin of the region", &Identity{Subject: "a", Region: "vasterbotten", Roles: []Role{RegionAdmin}}, "vasterbotten", "p", true},
		{"advisor of another region", &Identity{Subject: "a", Region: "uppsala", Roles: []Role{Advisor}}, "vasterbotten", "p", false},
		{"partner of the region", &Identity{Subject: "c", Region: "vasterbotten", Roles: []Role{Partner}, Partner: "partners/x"}, "vasterbotten", "p", false},
		{"coordinator", &Identity{Subject: "n", Region: NationalRegion, Roles: []Role{Coordinator}}, "vasterbotten", "p", false},
		{"service", &Identity{Subject: "s", Region: "vasterbotten", Roles: []Role{Service}}, "vasterbotten", "p", false},
		{"no owner is nobody's", &Identity{Subject: "", Region: "vasterbotten", Roles: []Role{Submitter}}, "vasterbotten", "", false},
		{"nil identity", nil, "vasterbotten", "p", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CanSeePersonalData(tt.id, tt.region, tt.owner); got != tt.want {
				t.Errorf("CanSeePersonalData = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIdentityContext(t *testing.T) {
	if id, ok := FromContext(context.Background()); ok || id != nil {
		t.Errorf("FromContext of an empty context = %v, %v", id, ok)
	}
	if _, ok := FromContext(NewContext(context.Background(), nil)); ok {
		t.Errorf("FromContext reported a nil identity as present")
	}
	want := &Identity{Subject: "x", Region: "gotland", Roles: []Role{Advisor}}
	got, ok := FromContext(NewContext(context.Background(), want))
	if !ok || got != want {
		t.Errorf("FromContext = %v, %v; want %v", got, ok, want)
	}
	if diff := cmp.Diff([]bool{true, false}, []bool{want.Has(Advisor), want.Has(Coordinator)}); diff != "" {
		t.Errorf("Has (-want +got):\n%s", diff)
	}
	var none *Identity
	if none.Has(Submitter) {
		t.Errorf("nil identity has a role")
	}
}
