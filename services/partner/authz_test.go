package partner_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// TestAuthorization_EveryRPC: for every RPC of the service, over gRPC and
// over REST, no token is 401, and a token of another region (staff or
// company user), or of a role that may not make the call, is 403.
func TestAuthorization_EveryRPC(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556900001")))
		a, err := e.client.CreateAgreement(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
			Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, Subject: "regions/vasterbotten/ideas/x", ValidFrom: "2026-01-01", ValidTo: "2027-01-01",
		}})
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.client.CreateOffer(e.companyUser(t, "vasterbotten", p.GetName(), "lena").Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}
		pn, an, on := p.GetName(), a.GetName(), o.GetName()
		const (
			partnerJSON   = `{"displayName":"X AB","orgNumber":"5560000016","kind":"PARTNER_KIND_OTHER"}`
			agreementJSON = `{"kind":"AGREEMENT_KIND_NDA","subject":"regions/vasterbotten/ideas/x","validFrom":"2026-01-01","validTo":"2027-01-01"}`
			offerJSON     = `{"title":"t","description":"d"}`
		)
		type rpc struct {
			name         string
			grpc         func(ctx context.Context) error
			method, path string
			body         string
			deniedRoles  []auth.Role // roles that may not call it
		}
		mutators := []auth.Role{auth.Submitter, auth.Partner, auth.Coordinator, auth.Service}
		rpcs := []rpc{
			{"CreatePartner", func(ctx context.Context) error {
				_, err := e.client.CreatePartner(ctx, &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: sampleCompany(orgNumber("556900002"))})
				return err
			}, "POST", "/v1/regions/vasterbotten/partners", partnerJSON, mutators},
			{"GetPartner", func(ctx context.Context) error {
				_, err := e.client.GetPartner(ctx, &partnerv1.GetPartnerRequest{Name: pn})
				return err
			}, "GET", "/v1/" + pn, "", []auth.Role{auth.Submitter}},
			{"ListPartners", func(ctx context.Context) error {
				_, err := e.client.ListPartners(ctx, &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten"})
				return err
			}, "GET", "/v1/regions/vasterbotten/partners", "", []auth.Role{auth.Submitter}},
			{"UpdatePartner", func(ctx context.Context) error {
				_, err := e.client.UpdatePartner(ctx, &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: pn, Etag: p.GetEtag(), DisplayName: "X"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
				return err
			}, "PATCH", "/v1/" + pn, `{"displayName":"X","etag":"1"}`, mutators},
			{"CreateAgreement", func(ctx context.Context) error {
				_, err := e.client.CreateAgreement(ctx, &partnerv1.CreateAgreementRequest{Parent: pn, Agreement: a})
				return err
			}, "POST", "/v1/" + pn + "/agreements", agreementJSON, mutators},
			{"GetAgreement", func(ctx context.Context) error {
				_, err := e.client.GetAgreement(ctx, &partnerv1.GetAgreementRequest{Name: an})
				return err
			}, "GET", "/v1/" + an, "", []auth.Role{auth.Submitter}},
			{"ListAgreements", func(ctx context.Context) error {
				_, err := e.client.ListAgreements(ctx, &partnerv1.ListAgreementsRequest{Parent: pn})
				return err
			}, "GET", "/v1/" + pn + "/agreements", "", []auth.Role{auth.Submitter}},
			{"CreateOffer", func(ctx context.Context) error {
				_, err := e.client.CreateOffer(ctx, &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
				return err
			}, "POST", "/v1/regions/vasterbotten/offers", offerJSON, []auth.Role{auth.Submitter, auth.Coordinator, auth.Service}},
			{"GetOffer", func(ctx context.Context) error {
				_, err := e.client.GetOffer(ctx, &partnerv1.GetOfferRequest{Name: on})
				return err
			}, "GET", "/v1/" + on, "", []auth.Role{auth.Submitter}},
			{"ListOffers", func(ctx context.Context) error {
				_, err := e.client.ListOffers(ctx, &partnerv1.ListOffersRequest{Parent: "regions/vasterbotten"})
				return err
			}, "GET", "/v1/regions/vasterbotten/offers", "", []auth.Role{auth.Submitter}},
			{"RouteOffer", func(ctx context.Context) error {
				_, err := e.client.RouteOffer(ctx, &partnerv1.RouteOfferRequest{Name: on, Need: "regions/vasterbotten/needs/x", Etag: o.GetEtag()})
				return err
			}, "POST", "/v1/" + on + ":route", `{"need":"regions/vasterbotten/needs/x","etag":"1"}`, mutators},
			{"TransitionOffer", func(ctx context.Context) error {
				_, err := e.client.TransitionOffer(ctx, &partnerv1.TransitionOfferRequest{Name: on, Status: partnerv1.OfferStatus_OFFER_STATUS_CLOSED, Reason: "x", Etag: o.GetEtag()})
				return err
			}, "POST", "/v1/" + on + ":transition", `{"status":"OFFER_STATUS_CLOSED","reason":"x","etag":"1"}`, []auth.Role{auth.Submitter, auth.Coordinator, auth.Service}},
		}
		type caller struct {
			who      string
			c        stack.Caller
			wantCode codes.Code
			wantHTTP int
		}
		for _, r := range rpcs {
			t.Run(r.name, func(t *testing.T) {
				callers := []caller{
					{"no token", stack.Caller{}, codes.Unauthenticated, 401},
					{"advisor of uppsala", e.As(t, auth.Advisor, "uppsala"), codes.PermissionDenied, 403},
					{"admin of uppsala", e.As(t, auth.RegionAdmin, "uppsala"), codes.PermissionDenied, 403},
					{"company user of uppsala", e.companyUser(t, "uppsala", "regions/uppsala/partners/p", "u"), codes.PermissionDenied, 403},
				}
				for _, role := range r.deniedRoles {
					region := "vasterbotten"
					if role == auth.Coordinator {
						region = auth.NationalRegion
					}
					callers = append(callers, caller{string(role) + " of " + region, e.As(t, role, region), codes.PermissionDenied, 403})
				}
				for _, c := range callers {
					if got := status.Code(r.grpc(c.c.Ctx(t))); got != c.wantCode {
						t.Errorf("gRPC as %s: %v, want %v", c.who, got, c.wantCode)
					}
					if code, body := restCall(t, e, c.c, r.method, r.path, r.body); code != c.wantHTTP {
						t.Errorf("REST as %s: %d, want %d (%v)", c.who, code, c.wantHTTP, body)
					}
				}
			})
		}
	})
}
