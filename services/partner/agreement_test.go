package partner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

func stockholm(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestAgreement_StateFollowsTheDates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.setClock(stockholm(t, "2026-06-15 10:00"))
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500001")))
		c := e.As(t, auth.Advisor, "vasterbotten")
		signed := timestamppb.New(stockholm(t, "2025-12-20 14:00"))
		const (
			pending = partnerv1.AgreementState_AGREEMENT_STATE_PENDING
			active  = partnerv1.AgreementState_AGREEMENT_STATE_ACTIVE
			expired = partnerv1.AgreementState_AGREEMENT_STATE_EXPIRED
		)
		type row struct {
			name       string
			from, to   string
			signed     *timestamppb.Timestamp
			want       partnerv1.AgreementState
			wantNewYrs partnerv1.AgreementState // on 2027-01-01
		}
		rows := []row{
			{"running this year", "2026-01-01", "2026-12-31", signed, active, expired},
			{"starts in July", "2026-07-01", "2027-06-30", signed, pending, active},
			{"not signed yet", "2026-01-01", "2026-12-31", nil, pending, expired},
			{"ended last year", "2025-01-01", "2025-12-31", signed, expired, expired},
		}
		names := map[string]string{}
		for _, r := range rows {
			a, err := e.client.CreateAgreement(c.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
				Kind: partnerv1.AgreementKind_AGREEMENT_KIND_TESTBED, Subject: "regions/vasterbotten/subprojects/kol-video",
				ValidFrom: r.from, ValidTo: r.to, SignedTime: r.signed,
			}})
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if a.GetState() != r.want {
				t.Errorf("%s: created %v, want %v", r.name, a.GetState(), r.want)
			}
			names[r.name] = a.GetName()
		}
		active1, err := e.client.ListAgreements(c.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: p.GetName(), Filter: "state = AGREEMENT_STATE_ACTIVE"})
		if err != nil || len(active1.GetAgreements()) != 1 || active1.GetAgreements()[0].GetName() != names["running this year"] {
			t.Errorf("active agreements: %v (err %v)", active1.GetAgreements(), err)
		}

		// The last day still counts, in Swedish time (22:30 UTC is 23:30 there).
		e.setClock(time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC))
		a, err := e.client.GetAgreement(c.Ctx(t), &partnerv1.GetAgreementRequest{Name: names["running this year"]})
		if err != nil || a.GetState() != active {
			t.Errorf("on its last evening: %v (err %v), want ACTIVE", a.GetState(), err)
		}
		e.setClock(stockholm(t, "2027-01-01 08:00"))
		list, err := e.client.ListAgreements(c.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: p.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]partnerv1.AgreementState{}
		for _, a := range list.GetAgreements() {
			got[a.GetName()] = a.GetState()
		}
		want := map[string]partnerv1.AgreementState{}
		for _, r := range rows {
			want[names[r.name]] = r.wantNewYrs
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("states on new year's day (-want +got):\n%s", diff)
		}
	})
}

func TestAgreement_Validation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500002")))
		c := e.As(t, auth.RegionAdmin, "vasterbotten")
		ok := func() *partnerv1.Agreement {
			return &partnerv1.Agreement{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, Subject: "regions/vasterbotten/ideas/abc", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}
		}
		for _, tc := range []struct {
			name   string
			change func(a *partnerv1.Agreement)
			want   []string
		}{
			{"to before from", func(a *partnerv1.Agreement) { a.ValidTo = "2025-12-31" }, []string{"agreement.valid_to"}},
			{"to equals from", func(a *partnerv1.Agreement) { a.ValidTo = a.ValidFrom }, []string{"agreement.valid_to"}},
			{"dates missing", func(a *partnerv1.Agreement) { a.ValidFrom, a.ValidTo = "", "" }, []string{"agreement.valid_from", "agreement.valid_to"}},
			{"not a date", func(a *partnerv1.Agreement) { a.ValidFrom = "2026-02-30" }, []string{"agreement.valid_from"}},
			{"no kind", func(a *partnerv1.Agreement) { a.Kind = 0 }, []string{"agreement.kind"}},
			{"subject not a subproject or idea", func(a *partnerv1.Agreement) { a.Subject = "regions/vasterbotten/needs/x" }, []string{"agreement.subject"}},
			{"subject of another region", func(a *partnerv1.Agreement) { a.Subject = "regions/uppsala/subprojects/x" }, []string{"agreement.subject"}},
			{"signed tomorrow", func(a *partnerv1.Agreement) { a.SignedTime = timestamppb.New(time.Now().Add(24 * time.Hour)) }, []string{"agreement.signed_time"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a := ok()
				tc.change(a)
				_, err := e.client.CreateAgreement(c.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: a})
				got := fieldViolations(err)
				slices.Sort(got)
				if diff := cmp.Diff(tc.want, got); status.Code(err) != codes.InvalidArgument || diff != "" {
					t.Errorf("code %v, violations (-want +got):\n%s", status.Code(err), diff)
				}
			})
		}
		if _, err := e.client.CreateAgreement(c.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: "regions/vasterbotten/partners/nothere", Agreement: ok()}); status.Code(err) != codes.NotFound {
			t.Errorf("agreement with an unknown partner: %v, want NotFound", err)
		}
		// Replays return the first agreement.
		req := &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: ok(), RequestId: "avtal-1"}
		first, err := e.client.CreateAgreement(c.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.client.CreateAgreement(c.Ctx(t), req)
		if diff := cmp.Diff(first, again, protocmp.Transform()); err != nil || diff != "" {
			t.Errorf("replay: %v (-first +again):\n%s", err, diff)
		}
		req.Agreement.Kind = partnerv1.AgreementKind_AGREEMENT_KIND_IP
		if _, err := e.client.CreateAgreement(c.Ctx(t), req); status.Code(err) != codes.AlreadyExists {
			t.Errorf("same request_id, other agreement: %v, want AlreadyExists", err)
		}
		// The partner's own users read its agreements; other companies do not.
		own := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		if list, err := e.client.ListAgreements(own.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: p.GetName()}); err != nil || len(list.GetAgreements()) != 1 {
			t.Errorf("own user lists %d agreements (err %v), want 1", len(list.GetAgreements()), err)
		}
		stranger := e.companyUser(t, "vasterbotten", "regions/vasterbotten/partners/someone-else", "x")
		if _, err := e.client.ListAgreements(stranger.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: p.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("another company lists them: %v, want NotFound", err)
		}
		if _, err := e.client.GetAgreement(stranger.Ctx(t), &partnerv1.GetAgreementRequest{Name: first.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("another company reads one: %v, want NotFound", err)
		}
	})
}
