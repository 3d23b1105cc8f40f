package partner_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

func TestPartner_CreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		org := orgNumber("556123456")
		created := e.mustPartner(t, "vasterbotten", sampleCompany(org))
		if !strings.HasPrefix(created.GetName(), "regions/vasterbotten/partners/") || created.GetEtag() == "" || created.GetCreateTime() == nil {
			t.Fatalf("created %v: want a name in vasterbotten, an etag and a create time", created)
		}
		if created.GetOrgNumber() != org {
			t.Errorf("org_number %q, want the normalised %q", created.GetOrgNumber(), org)
		}
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		got, err := e.client.GetPartner(advisor.Ctx(t), &partnerv1.GetPartnerRequest{Name: created.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetPartner (-want +got):\n%s", diff)
		}
		list, err := e.client.ListPartners(advisor.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]*partnerv1.Partner{created}, list.GetPartners(), protocmp.Transform()); diff != "" {
			t.Errorf("ListPartners (-want +got):\n%s", diff)
		}
	})
}

func TestPartner_OrgNumberValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		good := orgNumber("802345678")
		wrongCheck := good[:9] + fmt.Sprint((int(good[9]-'0')+1)%10)
		for _, tc := range []struct {
			name, org string
			ok        bool
		}{
			{"ten digits", good, true},
			{"with hyphen", hyphenated(orgNumber("212000014")), true},
			{"wrong check digit", wrongCheck, false},
			{"nine digits", good[:9], false},
			{"eleven digits", good + "1", false},
			{"letters", "55612345AB", false},
			{"hyphen misplaced", good[:4] + "-" + good[4:], false},
			{"personal identity number", orgNumber("811218987"), false},
			{"spaces inside", good[:6] + " " + good[6:], false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := sampleCompany(tc.org)
				p.OrgNumber = tc.org
				_, err := e.client.CreatePartner(e.As(t, auth.RegionAdmin, "uppsala").Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/uppsala", Partner: p})
				if tc.ok {
					if err != nil {
						t.Fatalf("valid %q refused: %v", tc.org, err)
					}
					return
				}
				if status.Code(err) != codes.InvalidArgument || !slices.Equal(fieldViolations(err), []string{"partner.org_number"}) {
					t.Errorf("%q: %v (fields %v), want InvalidArgument naming partner.org_number", tc.org, err, fieldViolations(err))
				}
			})
		}
	})
}

func TestPartner_KindAndSizeNamesEveryBadField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.As(t, auth.Advisor, "vasterbotten")
		for _, tc := range []struct {
			name string
			in   *partnerv1.Partner
			want []string
		}{
			{"company without size", &partnerv1.Partner{DisplayName: "X AB", OrgNumber: orgNumber("556000001"), Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY}, []string{"partner.size"}},
			{"university with size", &partnerv1.Partner{DisplayName: "Uni", OrgNumber: orgNumber("202100000"), Kind: partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA, Size: partnerv1.CompanySize_COMPANY_SIZE_LARGE}, []string{"partner.size"}},
			{"everything wrong", &partnerv1.Partner{
				DisplayName: " ", OrgNumber: "123", Kind: partnerv1.PartnerKind(42), Size: partnerv1.CompanySize(9),
				Capabilities: []string{"a", "A", ""},
				Contacts:     []*partnerv1.Contact{{Name: "", Email: "nope", Phone: "ring mig"}},
			}, []string{"partner.capabilities", "partner.contacts.email", "partner.contacts.name", "partner.contacts.phone", "partner.display_name", "partner.kind", "partner.org_number", "partner.size"}},
			{"no kind", &partnerv1.Partner{DisplayName: "Y", OrgNumber: orgNumber("556000002")}, []string{"partner.kind"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.CreatePartner(c.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: tc.in})
				got := fieldViolations(err)
				slices.Sort(got)
				if diff := cmp.Diff(tc.want, slices.Compact(got)); status.Code(err) != codes.InvalidArgument || diff != "" {
					t.Errorf("code %v, violations (-want +got):\n%s", status.Code(err), diff)
				}
			})
		}
	})
}

func TestPartner_OneOrgNumberOnePartnerPerRegion(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		org := orgNumber("556765432")
		ctx := e.As(t, auth.Advisor, "vasterbotten").Ctx(t)

		// Many creates at once, in both spellings of the number: one wins.
		var wg sync.WaitGroup
		codesSeen := make(chan codes.Code, 10)
		for i := range 10 {
			wg.Go(func() {
				p := sampleCompany(org)
				if i%2 == 0 {
					p.OrgNumber = org
				}
				_, err := e.client.CreatePartner(ctx, &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: p})
				codesSeen <- status.Code(err)
			})
		}
		wg.Wait()
		close(codesSeen)
		won := 0
		for c := range codesSeen {
			switch c {
			case codes.OK:
				won++
			case codes.AlreadyExists:
			default:
				t.Errorf("concurrent create: %v, want OK or AlreadyExists", c)
			}
		}
		if won != 1 {
			t.Errorf("%d creates of one organisation number succeeded, want 1", won)
		}
		_, err := e.client.CreatePartner(ctx, &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: sampleCompany(org)})
		if status.Code(err) != codes.AlreadyExists || reason(err) != "ORG_NUMBER_EXISTS" || !strings.Contains(status.Convert(err).Message(), "regions/vasterbotten/partners/") {
			t.Errorf("duplicate: %v (reason %s), want AlreadyExists ORG_NUMBER_EXISTS naming the partner", err, reason(err))
		}
		list, err := e.client.ListPartners(ctx, &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetPartners()) != 1 {
			t.Errorf("region holds %d partners (err %v), want 1", len(list.GetPartners()), err)
		}
		// Another region has its own register.
		e.mustPartner(t, "uppsala", sampleCompany(org))
	})
}

func TestPartner_RequestIDReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.As(t, auth.Advisor, "vasterbotten")
		req := &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: sampleCompany(orgNumber("556111222")), RequestId: "form-1"}
		first, err := e.client.CreatePartner(c.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.client.CreatePartner(c.Ctx(t), req)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
			t.Errorf("replay (-first +replay):\n%s", diff)
		}
		other := &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: sampleCompany(orgNumber("556111333")), RequestId: "form-1"}
		if _, err := e.client.CreatePartner(c.Ctx(t), other); status.Code(err) != codes.AlreadyExists || reason(err) != "REQUEST_ID_REUSED" {
			t.Errorf("same request_id, other body: %v, want AlreadyExists REQUEST_ID_REUSED", err)
		}
	})
}

func TestPartner_ContactsAreRedacted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556222333")))
		other := e.mustPartner(t, "vasterbotten", &partnerv1.Partner{DisplayName: "Umeå universitet", OrgNumber: orgNumber("202100287"), Kind: partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA})
		for _, tc := range []struct {
			name     string
			c        func(t *testing.T) stack.Caller
			want     codes.Code
			contacts bool
		}{
			{"advisor", func(t *testing.T) stack.Caller { return e.As(t, auth.Advisor, "vasterbotten") }, codes.OK, true},
			{"region admin", func(t *testing.T) stack.Caller { return e.As(t, auth.RegionAdmin, "vasterbotten") }, codes.OK, true},
			{"the partner's own user", func(t *testing.T) stack.Caller { return e.companyUser(t, "vasterbotten", p.GetName(), "lena") }, codes.OK, true},
			{"coordinator", func(t *testing.T) stack.Caller { return e.As(t, auth.Coordinator, auth.NationalRegion) }, codes.OK, false},
			{"another deployment", func(t *testing.T) stack.Caller { return e.As(t, auth.Service, "uppsala") }, codes.OK, false},
			{"another partner's user", func(t *testing.T) stack.Caller { return e.companyUser(t, "vasterbotten", other.GetName(), "forskare") }, codes.NotFound, false},
			{"partner user of another region", func(t *testing.T) stack.Caller {
				return e.companyUser(t, "uppsala", strings.Replace(p.GetName(), "vasterbotten", "uppsala", 1), "x")
			}, codes.PermissionDenied, false},
			{"submitter", func(t *testing.T) stack.Caller { return e.As(t, auth.Submitter, "vasterbotten") }, codes.PermissionDenied, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := e.client.GetPartner(tc.c(t).Ctx(t), &partnerv1.GetPartnerRequest{Name: p.GetName()})
				if status.Code(err) != tc.want {
					t.Fatalf("code %v, want %v (%v)", status.Code(err), tc.want, err)
				}
				if err == nil && (len(got.GetContacts()) > 0) != tc.contacts {
					t.Errorf("contacts shown = %v, want %v", len(got.GetContacts()) > 0, tc.contacts)
				}
			})
		}
		// A company user's list is their own partner.
		list, err := e.client.ListPartners(e.companyUser(t, "vasterbotten", p.GetName(), "lena").Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetPartners()) != 1 || list.GetPartners()[0].GetName() != p.GetName() {
			t.Errorf("company user's list: %v (err %v), want only %s", list.GetPartners(), err, p.GetName())
		}
		// Audit events carry no personal data.
		events, err := e.Store.Events(t.Context(), store.Namespace{Service: "partner", Region: "vasterbotten"}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			b := fmt.Sprintf("%+v", ev)
			if strings.Contains(b, "Lena") || strings.Contains(b, "lena.ek@") {
				t.Errorf("audit event holds personal data: %s", b)
			}
		}
	})
}

func TestPartner_ListFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := sampleCompany(orgNumber("556300001"))
		a.DisplayName, a.Capabilities = "Alfa Sensor AB", []string{"Sensorer", "AI"}
		b := sampleCompany(orgNumber("556300002"))
		b.DisplayName, b.Capabilities = "Beta Data AB", []string{"AI"}
		u := &partnerv1.Partner{DisplayName: "Campus Uppsala", OrgNumber: orgNumber("202100298"), Kind: partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA, Capabilities: []string{"ai", "kliniska studier"}}
		for _, p := range []*partnerv1.Partner{b, u, a} {
			e.mustPartner(t, "uppsala", p)
		}
		staff := e.As(t, auth.Advisor, "uppsala")
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"", []string{"Alfa Sensor AB", "Beta Data AB", "Campus Uppsala"}},
			{"kind = PARTNER_KIND_COMPANY", []string{"Alfa Sensor AB", "Beta Data AB"}},
			{`capability = "ai"`, []string{"Alfa Sensor AB", "Beta Data AB", "Campus Uppsala"}},
			{"capability = sensorer", []string{"Alfa Sensor AB"}},
			{"kind = PARTNER_KIND_ACADEMIA AND capability = AI", []string{"Campus Uppsala"}},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				var got []string
				token := ""
				for range 10 {
					resp, err := e.client.ListPartners(staff.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/uppsala", Filter: tc.filter, PageSize: 1, PageToken: token})
					if err != nil {
						t.Fatal(err)
					}
					for _, p := range resp.GetPartners() {
						got = append(got, p.GetDisplayName())
					}
					if token = resp.GetNextPageToken(); token == "" {
						break
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("names (-want +got):\n%s", diff)
				}
			})
		}
		first, err := e.client.ListPartners(staff.Ctx(t), &partnerv1.ListPartnersRequest{Parent: "regions/uppsala", PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []*partnerv1.ListPartnersRequest{
			{Parent: "regions/uppsala", Filter: "colour = RED"},
			{Parent: "regions/uppsala", Filter: "kind = PARTNER_KIND_ALIEN"},
			{Parent: "regions/uppsala", PageToken: "!!"},
			{Parent: "regions/uppsala", PageToken: first.GetNextPageToken(), Filter: "kind = PARTNER_KIND_COMPANY"},
			{Parent: "regions/uppsala", PageSize: -1},
		} {
			if _, err := e.client.ListPartners(staff.Ctx(t), tc); status.Code(err) != codes.InvalidArgument {
				t.Errorf("%v: %v, want InvalidArgument", tc, err)
			}
		}
	})
}

func TestPartner_Update(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.As(t, auth.Advisor, "vasterbotten")
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556400001")))
		mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

		newOrg := orgNumber("556400002")
		got, err := e.client.UpdatePartner(c.Ctx(t), &partnerv1.UpdatePartnerRequest{
			Partner:    &partnerv1.Partner{Name: p.GetName(), Etag: p.GetEtag(), Size: partnerv1.CompanySize_COMPANY_SIZE_MEDIUM, OrgNumber: hyphenated(newOrg)},
			UpdateMask: mask("size", "orgNumber"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetSize() != partnerv1.CompanySize_COMPANY_SIZE_MEDIUM || got.GetOrgNumber() != newOrg || got.GetEtag() == p.GetEtag() || got.GetDisplayName() != p.GetDisplayName() {
			t.Errorf("updated %v", got)
		}
		// The old number is free again, the new one is taken.
		e.mustPartner(t, "vasterbotten", &partnerv1.Partner{DisplayName: "Gammal", OrgNumber: p.GetOrgNumber(), Kind: partnerv1.PartnerKind_PARTNER_KIND_OTHER})
		if _, err := e.client.CreatePartner(c.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: sampleCompany(newOrg)}); status.Code(err) != codes.AlreadyExists {
			t.Errorf("create with the partner's new number: %v, want AlreadyExists", err)
		}

		for _, tc := range []struct {
			name string
			req  *partnerv1.UpdatePartnerRequest
			want codes.Code
		}{
			{"stale etag", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: p.GetEtag(), DisplayName: "Nytt"}, UpdateMask: mask("display_name")}, codes.Aborted},
			{"no etag", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), DisplayName: "Nytt"}, UpdateMask: mask("display_name")}, codes.InvalidArgument},
			{"unknown field", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: got.GetEtag()}, UpdateMask: mask("colour")}, codes.InvalidArgument},
			{"kind other keeps company size", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: got.GetEtag(), Kind: partnerv1.PartnerKind_PARTNER_KIND_OTHER}, UpdateMask: mask("kind")}, codes.InvalidArgument},
			{"bad org number", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: got.GetEtag(), OrgNumber: "5564000020"}, UpdateMask: mask("org_number")}, codes.InvalidArgument},
			{"taken org number", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: got.GetEtag(), OrgNumber: p.GetOrgNumber()}, UpdateMask: mask("org_number")}, codes.AlreadyExists},
			{"no such partner", &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: "regions/vasterbotten/partners/nothere", Etag: "1", DisplayName: "x"}, UpdateMask: mask("display_name")}, codes.NotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.client.UpdatePartner(c.Ctx(t), tc.req); status.Code(err) != tc.want {
					t.Errorf("%v, want %v", err, tc.want)
				}
			})
		}
		// Kind and size change together.
		got, err = e.client.UpdatePartner(c.Ctx(t), &partnerv1.UpdatePartnerRequest{
			Partner:    &partnerv1.Partner{Name: p.GetName(), Etag: got.GetEtag(), Kind: partnerv1.PartnerKind_PARTNER_KIND_INNOVATION_SUPPORT},
			UpdateMask: mask("kind", "size"),
		})
		if err != nil || got.GetSize() != partnerv1.CompanySize_COMPANY_SIZE_UNSPECIFIED {
			t.Errorf("kind and size together: %v %v", got, err)
		}
	})
}
