package partner_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// pick returns the names of items is, in that order.
func pick(names []string, is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, names[i])
	}
	return out
}

// TestListPartners_Orders: by display name, create and update time, both
// ways round over pages, with a filter; a bad order over REST.
func TestListPartners_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		display := []string{"Delta AB", "Alfa AB", "Echo AB", "Charlie AB", "Bravo AB"}
		ps := make([]*partnerv1.Partner, len(display))
		names := make([]string, len(display))
		for i, d := range display {
			in := sampleCompany(orgNumber(fmt.Sprintf("55660010%d", i)))
			in.DisplayName = d
			if i%2 == 0 {
				in.Kind = partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA
				in.Size = 0
			}
			ps[i] = e.mustPartner(t, "vasterbotten", in)
			names[i] = ps[i].GetName()
			time.Sleep(2 * time.Millisecond)
		}
		for _, i := range []int{3, 1, 0} {
			if _, err := e.client.UpdatePartner(adv.Ctx(t), &partnerv1.UpdatePartnerRequest{
				Partner:    &partnerv1.Partner{Name: names[i], Etag: ps[i].GetEtag(), Capabilities: []string{"sensorer"}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capabilities"}},
			}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lister := func(filter string) stack.Lister {
			return func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
				resp, err := e.client.ListPartners(adv.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten", Filter: filter, OrderBy: order, PageSize: size, PageToken: token})
				var out []string
				for _, p := range resp.GetPartners() {
					out = append(out, p.GetName())
				}
				return out, resp.GetNextPageToken(), err
			}
		}
		byName := pick(names, 1, 4, 3, 0, 2)
		newest := pick(names, 4, 3, 2, 1, 0)
		updated := pick(names, 0, 1, 3, 4, 2)
		stack.CheckOrders(t, lister(""),
			stack.Ordered{Order: "", Want: byName},
			stack.Ordered{Order: "displayName desc", Want: reversed(byName)},
			stack.Ordered{Order: "create_time desc", Want: newest},
			stack.Ordered{Order: "create_time", Want: reversed(newest)},
			stack.Ordered{Order: "update_time desc", Want: updated},
			stack.Ordered{Order: "updateTime", Want: reversed(updated)},
		)
		stack.CheckOrders(t, lister("kind = PARTNER_KIND_ACADEMIA"),
			stack.Ordered{Order: "display_name desc", Want: pick(names, 2, 0, 4)},
			stack.Ordered{Order: "create_time", Want: pick(names, 0, 2, 4)},
			stack.Ordered{Order: "update_time desc", Want: pick(names, 0, 4, 2)},
		)
		e.CheckBadOrderREST(t, adv, "/v1/regions/vasterbotten/partners", "display_name (the default)", "create_time desc", "update_time")
	})
}

// TestListOffers_Orders: by create and update time, both ways round over
// pages, with a filter; a company's own offers by create time only.
func TestListOffers_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.needsOf(t, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556600201")))
		company := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		staff := e.As(t, auth.Advisor, "vasterbotten")
		offers := make([]*partnerv1.Offer, 5)
		names := make([]string, len(offers))
		for i := range offers {
			o, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
			if err != nil {
				t.Fatal(err)
			}
			offers[i], names[i] = o, o.GetName()
			time.Sleep(2 * time.Millisecond)
		}
		for _, i := range []int{3, 1, 0} {
			if _, err := e.client.TransitionOffer(staff.Ctx(t), &partnerv1.TransitionOfferRequest{Name: names[i], Status: partnerv1.OfferStatus_OFFER_STATUS_CLOSED, Reason: "Inte i år", Etag: offers[i].GetEtag()}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lister := func(c stack.Caller, filter string) stack.Lister {
			return func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
				resp, err := e.client.ListOffers(c.Ctx(t), &partnerv1.ListOffersRequest{Parent: "regions/vasterbotten", Filter: filter, OrderBy: order, PageSize: size, PageToken: token})
				var out []string
				for _, o := range resp.GetOffers() {
					out = append(out, o.GetName())
				}
				return out, resp.GetNextPageToken(), err
			}
		}
		newest := pick(names, 4, 3, 2, 1, 0)
		updated := pick(names, 0, 1, 3, 4, 2)
		stack.CheckOrders(t, lister(staff, ""),
			stack.Ordered{Order: "", Want: newest},
			stack.Ordered{Order: "create_time", Want: reversed(newest)},
			stack.Ordered{Order: "update_time desc", Want: updated},
			stack.Ordered{Order: "update_time", Want: reversed(updated)},
		)
		stack.CheckOrders(t, lister(staff, "status = OFFER_STATUS_CLOSED"),
			stack.Ordered{Order: "create_time", Want: pick(names, 0, 1, 3)},
			stack.Ordered{Order: "update_time", Want: pick(names, 3, 1, 0)},
		)
		stack.CheckOrders(t, lister(company, ""),
			stack.Ordered{Order: "create_time desc", Want: newest},
			stack.Ordered{Order: "create_time", Want: reversed(newest)},
		)
		_, err := e.client.ListOffers(company.Ctx(t), &partnerv1.ListOffersRequest{Parent: "regions/vasterbotten", OrderBy: "update_time desc"})
		if status.Code(err) != codes.InvalidArgument || !slices.Equal(stack.Violations(err), []string{"order_by"}) {
			t.Errorf("update_time for a company: %v, want an order_by violation", err)
		}
		e.CheckBadOrderREST(t, staff, "/v1/regions/vasterbotten/offers", "create_time desc (the default)", "update_time")
	})
}

// TestListAgreements_Orders: a partner's agreements and every partner's,
// by create and update time, both ways round over pages.
func TestListAgreements_Orders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556600301")))
		adv := e.As(t, auth.Advisor, "vasterbotten")
		admin := e.As(t, auth.RegionAdmin, "vasterbotten")
		as := make([]*partnerv1.Agreement, 5)
		names := make([]string, len(as))
		for i := range as {
			a, err := e.client.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
				Kind: partnerv1.AgreementKind_AGREEMENT_KIND_TESTBED, Subject: "regions/vasterbotten/subprojects/kol-video",
				ValidFrom: "2026-01-01", ValidTo: "2026-12-31",
			}})
			if err != nil {
				t.Fatal(err)
			}
			as[i], names[i] = a, a.GetName()
			time.Sleep(2 * time.Millisecond)
		}
		for _, i := range []int{3, 1, 0} {
			if _, err := e.client.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: names[i], Etag: as[i].GetEtag()}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
		newest := pick(names, 4, 3, 2, 1, 0)
		updated := pick(names, 0, 1, 3, 4, 2)
		for _, parent := range []string{p.GetName(), "regions/vasterbotten/partners/-"} {
			lister := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
				resp, err := e.client.ListAgreements(adv.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: parent, OrderBy: order, PageSize: size, PageToken: token})
				var out []string
				for _, a := range resp.GetAgreements() {
					out = append(out, a.GetName())
				}
				return out, resp.GetNextPageToken(), err
			}
			stack.CheckOrders(t, lister,
				stack.Ordered{Order: "", Want: newest},
				stack.Ordered{Order: "create_time", Want: reversed(newest)},
				stack.Ordered{Order: "update_time desc", Want: updated},
				stack.Ordered{Order: "update_time", Want: reversed(updated)},
			)
		}
		e.CheckBadOrderREST(t, adv, "/v1/"+p.GetName()+"/agreements", "create_time desc (the default)", "update_time desc")
	})
}

// TestListOrders_EarlierRecords: partners, offers and agreements stored
// before the indexes of the new orders are put on them first.
func TestListOrders_EarlierRecords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		var names []string
		for i := range 3 {
			in := sampleCompany(orgNumber(fmt.Sprintf("55660040%d", i)))
			in.DisplayName = fmt.Sprintf("Företag %d", i)
			names = append(names, e.mustPartner(t, "vasterbotten", in).GetName())
			time.Sleep(2 * time.Millisecond)
		}
		var agreements []string
		for range 3 {
			a, err := e.client.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: names[0], Agreement: &partnerv1.Agreement{
				Kind: partnerv1.AgreementKind_AGREEMENT_KIND_TESTBED, Subject: "regions/vasterbotten/subprojects/kol-video",
				ValidFrom: "2026-01-01", ValidTo: "2026-12-31",
			}})
			if err != nil {
				t.Fatal(err)
			}
			agreements = append(agreements, a.GetName())
			time.Sleep(2 * time.Millisecond)
		}
		ns := store.Namespace{Service: "partner", Region: "vasterbotten"}
		e.KeepIndexes(t, ns, "partners", "partner_kind", "partner_capability", "agreements")
		for _, index := range []string{"partners_created", "partners_updated", "agreements_updated"} {
			if n, err := e.Store.Count(t.Context(), ns, index, ""); err != nil || n != 0 {
				t.Fatalf("earlier records on %s: %d, %v", index, n, err)
			}
		}
		stack.CheckOrders(t, func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			resp, err := e.client.ListPartners(adv.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten", OrderBy: order, PageSize: size, PageToken: token})
			var out []string
			for _, p := range resp.GetPartners() {
				out = append(out, p.GetName())
			}
			return out, resp.GetNextPageToken(), err
		},
			stack.Ordered{Order: "create_time", Want: names},
			stack.Ordered{Order: "update_time desc", Want: reversed(names)},
		)
		stack.CheckOrders(t, func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
			resp, err := e.client.ListAgreements(adv.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: names[0], OrderBy: order, PageSize: size, PageToken: token})
			var out []string
			for _, a := range resp.GetAgreements() {
				out = append(out, a.GetName())
			}
			return out, resp.GetNextPageToken(), err
		},
			stack.Ordered{Order: "update_time", Want: agreements},
			stack.Ordered{Order: "update_time desc", Want: reversed(agreements)},
		)
	})
}
