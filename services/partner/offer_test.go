package partner_test

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

func sampleOffer() *partnerv1.Offer {
	return &partnerv1.Offer{
		Title:        "Golvsensor som larmar vid fall",
		Description:  "Trycksensorer under golvmattan som larmar personalen när någon blir liggande, utan kamera.",
		Capabilities: []string{"sensorer", "fallprevention"},
	}
}

// needsFixture is a region's needs as the matching sees them.
type needsFixture struct {
	fall, medicine, internal, closed *needsv1.Need
}

func (e *env) needsOf(t *testing.T, region string) needsFixture {
	t.Helper()
	f := needsFixture{
		fall:     e.mustNeed(t, region, "upptäcka fall nattetid med sensorer", "boende på särskilda boenden", "korta tiden på golvet", true),
		medicine: e.mustNeed(t, region, "påminna om läkemedel", "äldre som bor hemma", "färre missade doser", true),
		internal: e.mustNeed(t, region, "upptäcka fall i duschen med sensorer", "patienter på vårdavdelning", "färre frakturer", false),
		closed:   e.mustNeed(t, region, "larma vid fall med sensorer i sängen", "patienter på geriatriken", "färre fall", true),
	}
	_, err := e.needs.TransitionNeed(e.As(t, auth.Advisor, region).Ctx(t), &needsv1.TransitionNeedRequest{
		Name: f.closed.GetName(), Status: needsv1.NeedStatus_NEED_STATUS_CLOSED, Reason: "Löst av annat projekt", Etag: f.closed.GetEtag(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestOffer_MatchedToPublishedNeeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.setClock(stockholm(t, "2026-03-13 16:45")) // a Friday
		n := e.needsOf(t, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556600001")))
		company := e.companyUser(t, "vasterbotten", p.GetName(), "lena")

		got, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}
		want := &partnerv1.Offer{
			Name: got.GetName(), Partner: p.GetName(), Title: sampleOffer().GetTitle(), Description: sampleOffer().GetDescription(),
			Capabilities: sampleOffer().GetCapabilities(), Status: partnerv1.OfferStatus_OFFER_STATUS_NEW,
			MatchedNeeds: []string{n.fall.GetName()}, RespondBy: "2026-03-27",
		}
		if diff := cmp.Diff(want, got, ignoreServerFields()); diff != "" {
			t.Errorf("CreateOffer (-want +got):\n%s", diff)
		}

		// Staff registering an offer for a company get the same matches:
		// needs that are not published are never offered.
		staff := e.As(t, auth.Advisor, "vasterbotten")
		in := sampleOffer()
		in.Partner = p.GetName()
		byStaff, err := e.client.CreateOffer(staff.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: in})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(byStaff.GetMatchedNeeds(), []string{n.fall.GetName()}) {
			t.Errorf("offer registered by staff matched %v, want only %s", byStaff.GetMatchedNeeds(), n.fall.GetName())
		}
		if _, err := e.client.CreateOffer(staff.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("staff offer without partner: %v, want InvalidArgument", err)
		}
	})
}

func ignoreServerFields() cmp.Option {
	return cmp.Options{protocmp.Transform(), protocmp.IgnoreFields(&partnerv1.Offer{}, "create_time", "update_time", "etag")}
}

func TestOffer_RoutingAndStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		n := e.needsOf(t, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556600002")))
		company := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		staff := e.As(t, auth.Advisor, "vasterbotten")
		o, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name   string
			req    *partnerv1.RouteOfferRequest
			want   codes.Code
			reason string
		}{
			{"stale etag", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.fall.GetName(), Etag: "99"}, codes.Aborted, "ETAG_MISMATCH"},
			{"no etag", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.fall.GetName()}, codes.InvalidArgument, ""},
			{"no such need", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: "regions/vasterbotten/needs/nothere", Etag: o.GetEtag()}, codes.FailedPrecondition, "NEED_NOT_FOUND"},
			{"closed need", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.closed.GetName(), Etag: o.GetEtag()}, codes.FailedPrecondition, "NEED_CLOSED"},
			{"need of another region", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: "regions/uppsala/needs/x", Etag: o.GetEtag()}, codes.InvalidArgument, ""},
			{"not a need", &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: "regions/vasterbotten/ideas/x", Etag: o.GetEtag()}, codes.InvalidArgument, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.RouteOffer(staff.Ctx(t), tc.req)
				if status.Code(err) != tc.want || tc.reason != "" && reason(err) != tc.reason {
					t.Errorf("%v (reason %s), want %v %s", err, reason(err), tc.want, tc.reason)
				}
			})
		}

		// An unpublished need is refused by name: the company could not
		// read it.
		_, err = e.client.RouteOffer(staff.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.internal.GetName(), Etag: o.GetEtag()})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "NEED_NOT_PUBLISHED" || !strings.Contains(status.Convert(err).Message(), n.internal.GetName()) {
			t.Errorf("route to an unpublished need: %v, want FailedPrecondition NEED_NOT_PUBLISHED naming %s", err, n.internal.GetName())
		}
		routed, err := e.client.RouteOffer(staff.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.medicine.GetName(), Etag: o.GetEtag()})
		if err != nil {
			t.Fatal(err)
		}
		if routed.GetStatus() != partnerv1.OfferStatus_OFFER_STATUS_ROUTED || routed.GetRoutedTo() != n.medicine.GetName() {
			t.Errorf("routed: %v", routed)
		}
		// The company reads the need it was routed to.
		if _, err := e.needs.GetNeed(company.Ctx(t), &needsv1.GetNeedRequest{Name: routed.GetRoutedTo()}); err != nil {
			t.Errorf("the company reads the need its offer went to: %v", err)
		}
		// Routed again, to the better need.
		routed, err = e.client.RouteOffer(staff.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.fall.GetName(), Etag: routed.GetEtag()})
		if err != nil || routed.GetRoutedTo() != n.fall.GetName() {
			t.Fatalf("re-route: %v %v", routed, err)
		}
		// The need it went to shows the offer; the need it left does not.
		need, err := e.needs.GetNeed(staff.Ctx(t), &needsv1.GetNeedRequest{Name: n.fall.GetName()})
		if err != nil || !slices.Equal(need.GetReferencedBy(), []string{o.GetName()}) {
			t.Errorf("need referenced by %v (err %v), want the offer %s", need.GetReferencedBy(), err, o.GetName())
		}
		left, err := e.needs.GetNeed(staff.Ctx(t), &needsv1.GetNeedRequest{Name: n.internal.GetName()})
		if err != nil || len(left.GetReferencedBy()) != 0 {
			t.Errorf("need the offer left: referenced by %v (err %v), want none", left.GetReferencedBy(), err)
		}
		// A company sees the published need, not which offers were routed to it.
		if seen, err := e.needs.GetNeed(company.Ctx(t), &needsv1.GetNeedRequest{Name: n.fall.GetName()}); err != nil || len(seen.GetReferencedBy()) != 0 {
			t.Errorf("company sees need referenced by %v (err %v), want none", seen.GetReferencedBy(), err)
		}

		transition := func(c stack.Caller, st partnerv1.OfferStatus, reason, etag string) (*partnerv1.Offer, error) {
			return e.client.TransitionOffer(c.Ctx(t), &partnerv1.TransitionOfferRequest{Name: o.GetName(), Status: st, Reason: reason, Etag: etag})
		}
		if _, err := transition(company, partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE, "", routed.GetEtag()); status.Code(err) != codes.PermissionDenied {
			t.Errorf("company moves its offer into dialogue: %v, want PermissionDenied", err)
		}
		if _, err := transition(staff, partnerv1.OfferStatus_OFFER_STATUS_ROUTED, "", routed.GetEtag()); status.Code(err) != codes.InvalidArgument {
			t.Errorf("ROUTED by transition: %v, want InvalidArgument", err)
		}
		dialogue, err := transition(staff, partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE, "", routed.GetEtag())
		if err != nil || dialogue.GetStatus() != partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE {
			t.Fatalf("into dialogue: %v %v", dialogue, err)
		}
		if _, err := e.client.RouteOffer(staff.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.fall.GetName(), Etag: dialogue.GetEtag()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("route in dialogue: %v, want FailedPrecondition", err)
		}
		if _, err := transition(company, partnerv1.OfferStatus_OFFER_STATUS_CLOSED, "", dialogue.GetEtag()); status.Code(err) != codes.InvalidArgument {
			t.Errorf("close without reason: %v, want InvalidArgument", err)
		}
		closed, err := transition(company, partnerv1.OfferStatus_OFFER_STATUS_CLOSED, "Vi har gått vidare med ett annat landsting.", dialogue.GetEtag())
		if err != nil || closed.GetStatus() != partnerv1.OfferStatus_OFFER_STATUS_CLOSED || closed.GetCloseReason() == "" {
			t.Fatalf("company withdraws: %v %v", closed, err)
		}
		if _, err := transition(staff, partnerv1.OfferStatus_OFFER_STATUS_CLOSED, "igen", closed.GetEtag()); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("close a closed offer: %v, want FailedPrecondition", err)
		}

		fresh, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.TransitionOffer(staff.Ctx(t), &partnerv1.TransitionOfferRequest{Name: fresh.GetName(), Status: partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE, Etag: fresh.GetEtag()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("NEW into dialogue: %v, want FailedPrecondition", err)
		}
		list, err := e.client.ListOffers(staff.Ctx(t), &partnerv1.ListOffersRequest{Parent: "regions/vasterbotten", Filter: "status = OFFER_STATUS_CLOSED"})
		if err != nil || len(list.GetOffers()) != 1 || list.GetOffers()[0].GetName() != o.GetName() {
			t.Errorf("closed offers: %v (err %v)", list.GetOffers(), err)
		}
	})
}

func TestOffer_CompanySeesOnlyItsOwn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.mustPartner(t, "uppsala", sampleCompany(orgNumber("556700001")))
		b := e.mustPartner(t, "uppsala", sampleCompany(orgNumber("556700002")))
		userA := e.companyUser(t, "uppsala", a.GetName(), "anna")
		userB := e.companyUser(t, "uppsala", b.GetName(), "bo")
		offerA, err := e.client.CreateOffer(userA.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/uppsala", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}
		offerB, err := e.client.CreateOffer(userB.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/uppsala", Offer: sampleOffer()})
		if err != nil {
			t.Fatal(err)
		}
		for _, filter := range []string{"", "partner = " + b.GetName(), "status = OFFER_STATUS_NEW"} {
			list, err := e.client.ListOffers(userA.Ctx(t), &partnerv1.ListOffersRequest{Parent: "regions/uppsala", Filter: filter})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range list.GetOffers() {
				if o.GetPartner() != a.GetName() {
					t.Errorf("filter %q: company A sees %s of %s", filter, o.GetName(), o.GetPartner())
				}
			}
		}
		if _, err := e.client.GetOffer(userA.Ctx(t), &partnerv1.GetOfferRequest{Name: offerB.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("A reads B's offer: %v, want NotFound", err)
		}
		if _, err := e.client.TransitionOffer(userA.Ctx(t), &partnerv1.TransitionOfferRequest{Name: offerB.GetName(), Status: partnerv1.OfferStatus_OFFER_STATUS_CLOSED, Reason: "x", Etag: offerB.GetEtag()}); status.Code(err) != codes.NotFound {
			t.Errorf("A closes B's offer: %v, want NotFound", err)
		}
		in := sampleOffer()
		in.Partner = b.GetName()
		if _, err := e.client.CreateOffer(userA.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/uppsala", Offer: in}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("A offers in B's name: %v, want PermissionDenied", err)
		}
		if got, err := e.client.GetOffer(userA.Ctx(t), &partnerv1.GetOfferRequest{Name: offerA.GetName()}); err != nil || got.GetName() != offerA.GetName() {
			t.Errorf("A reads its own offer: %v", err)
		}
		unregistered := e.companyUser(t, "uppsala", "regions/uppsala/partners/not-registered", "x")
		if _, err := e.client.CreateOffer(unregistered.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/uppsala", Offer: sampleOffer()}); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("offer of an unregistered partner: %v, want FailedPrecondition", err)
		}
		wrongRegion := e.companyUser(t, "uppsala", "regions/vasterbotten/partners/x", "y")
		if _, err := e.client.CreateOffer(wrongRegion.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/uppsala", Offer: sampleOffer()}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("partner claim of another region: %v, want PermissionDenied", err)
		}
	})
}

func TestOffer_NeedsDownKeepsTheOffer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		n := e.needsOf(t, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556800001")))
		company := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		staff := e.As(t, auth.Advisor, "vasterbotten")

		e.outage.down.Store(true)
		o, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer(), RequestId: "offer-1"})
		if err != nil {
			t.Fatalf("CreateOffer with the needs service down: %v", err)
		}
		if !o.GetMatchingPending() || len(o.GetMatchedNeeds()) != 0 || o.GetStatus() != partnerv1.OfferStatus_OFFER_STATUS_NEW {
			t.Errorf("offer %v: want NEW with matching pending", o)
		}
		again, err := e.client.GetOffer(company.Ctx(t), &partnerv1.GetOfferRequest{Name: o.GetName()})
		if err != nil || !again.GetMatchingPending() {
			t.Errorf("read while down: %v %v, want still pending", again, err)
		}
		if _, err := e.client.RouteOffer(staff.Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: n.fall.GetName(), Etag: o.GetEtag()}); status.Code(err) != codes.Unavailable {
			t.Errorf("route while down: %v, want Unavailable", err)
		}

		e.outage.down.Store(false)
		list, err := e.client.ListOffers(staff.Ctx(t), &partnerv1.ListOffersRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetOffers()) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		matched := list.GetOffers()[0]
		if matched.GetMatchingPending() || !slices.Equal(matched.GetMatchedNeeds(), []string{n.fall.GetName()}) {
			t.Errorf("after the outage: pending %v, matches %v; want %s", matched.GetMatchingPending(), matched.GetMatchedNeeds(), n.fall.GetName())
		}
		got, err := e.client.GetOffer(company.Ctx(t), &partnerv1.GetOfferRequest{Name: o.GetName()})
		if err != nil || got.GetEtag() != matched.GetEtag() || got.GetMatchingPending() {
			t.Errorf("read after matching: %v %v", got, err)
		}
		// The request_id still returns the offer, now matched.
		replay, err := e.client.CreateOffer(company.Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer(), RequestId: "offer-1"})
		if err != nil || replay.GetName() != o.GetName() {
			t.Errorf("replay: %v %v, want %s", replay, err, o.GetName())
		}
	})
}

func TestOffer_NeedsUnreachable(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there any more
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(o *options) { o.needsClient = needsv1.NewNeedsServiceClient(conn) })
			p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556800002")))
			start := time.Now()
			o, err := e.client.CreateOffer(e.companyUser(t, "vasterbotten", p.GetName(), "lena").Ctx(t), &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: sampleOffer()})
			if err != nil {
				t.Fatalf("CreateOffer with no needs service: %v", err)
			}
			if !o.GetMatchingPending() {
				t.Errorf("matching_pending false with no needs service")
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("CreateOffer took %v: the needs call has no deadline", d)
			}
			_, err = e.client.RouteOffer(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &partnerv1.RouteOfferRequest{Name: o.GetName(), Need: "regions/vasterbotten/needs/x", Etag: o.GetEtag()})
			if status.Code(err) != codes.Unavailable {
				t.Errorf("route with no needs service: %v, want Unavailable", err)
			}
		})
	}
}
