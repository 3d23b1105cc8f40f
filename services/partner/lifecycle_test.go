package partner_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

func TestAgreement_Lifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.setClock(stockholm(t, "2026-03-10 10:00"))
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500011")))
		adv := e.As(t, auth.Advisor, "vasterbotten")
		admin := e.As(t, auth.RegionAdmin, "vasterbotten")
		a, err := e.client.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
			Kind: partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, Subject: "regions/vasterbotten/ideas/inr-hemma",
			ValidFrom: "2026-01-01", ValidTo: "2027-12-31",
		}})
		if err != nil {
			t.Fatal(err)
		}
		if a.GetState() != partnerv1.AgreementState_AGREEMENT_STATE_PENDING || a.GetRevision() != 1 || a.GetEtag() == "" {
			t.Fatalf("created: %v revision %d etag %q, want PENDING, 1 and an etag", a.GetState(), a.GetRevision(), a.GetEtag())
		}

		// Only the region's admins sign: not its advisors, not another
		// region's admin, not the company.
		own := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		for _, c := range []struct {
			who  string
			ctx  func() any
			call func() error
		}{
			{"advisor", nil, func() error {
				_, err := e.client.SignAgreement(adv.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()})
				return err
			}},
			{"uppsala's admin", nil, func() error {
				_, err := e.client.SignAgreement(e.As(t, auth.RegionAdmin, "uppsala").Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()})
				return err
			}},
			{"the company", nil, func() error {
				_, err := e.client.SignAgreement(own.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()})
				return err
			}},
		} {
			if err := c.call(); status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s signs: %v, want PermissionDenied", c.who, err)
			}
		}
		if _, err := e.client.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName()}); status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "etag") {
			t.Errorf("sign without etag: %v, want InvalidArgument naming etag", err)
		}
		signed, err := e.client.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()})
		if err != nil || signed.GetSignedTime() == nil || signed.GetState() != partnerv1.AgreementState_AGREEMENT_STATE_ACTIVE {
			t.Fatalf("sign: %v (err %v), want ACTIVE with signed_time", signed.GetState(), err)
		}
		// A retry with the etag it was sent with changes nothing.
		again, err := e.client.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()})
		if err != nil || again.GetEtag() != signed.GetEtag() || !again.GetSignedTime().AsTime().Equal(signed.GetSignedTime().AsTime()) {
			t.Errorf("retried sign: etag %q (err %v), want %q unchanged", again.GetEtag(), err, signed.GetEtag())
		}

		// An amendment is a new revision, unsigned until signed; the old
		// terms stay readable.
		amend := &partnerv1.AmendAgreementRequest{
			Agreement:  &partnerv1.Agreement{Name: a.GetName(), ValidTo: "2028-06-30", Etag: a.GetEtag()},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"valid_to"}}, Note: "Förlängt ett halvår",
		}
		if _, err := e.client.AmendAgreement(admin.Ctx(t), amend); status.Code(err) != codes.Aborted || !strings.Contains(status.Convert(err).Message(), signed.GetEtag()) {
			t.Errorf("amend with a stale etag: %v, want Aborted naming etag %s", err, signed.GetEtag())
		}
		amend.Agreement.Etag = signed.GetEtag()
		// The name and output-only state are ignored; a field that is not
		// a term is refused.
		amend.UpdateMask.Paths = []string{"valid_to", "name", "state", "counterparty"}
		amend.Note = ""
		if _, err := e.client.AmendAgreement(admin.Ctx(t), amend); status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "note") || !slices.Contains(fieldViolations(err), "update_mask") {
			t.Errorf("amend without a note and with fields that are not terms: %v %v", err, fieldViolations(err))
		}
		amend.UpdateMask.Paths, amend.Note = []string{"valid_to"}, "Förlängt ett halvår"
		amended, err := e.client.AmendAgreement(admin.Ctx(t), amend)
		if err != nil {
			t.Fatal(err)
		}
		if amended.GetRevision() != 2 || amended.GetValidTo() != "2028-06-30" || amended.GetSignedTime() != nil ||
			amended.GetState() != partnerv1.AgreementState_AGREEMENT_STATE_PENDING || amended.GetAmendmentNote() != "Förlängt ett halvår" {
			t.Errorf("amended: revision %d to %s signed %v state %v note %q", amended.GetRevision(), amended.GetValidTo(), amended.GetSignedTime(), amended.GetState(), amended.GetAmendmentNote())
		}
		revs, err := e.client.ListAgreementRevisions(own.Ctx(t), &partnerv1.ListAgreementRevisionsRequest{Name: a.GetName()})
		if err != nil || len(revs.GetAgreements()) != 1 {
			t.Fatalf("revisions as the company: %v (err %v), want the first", revs.GetAgreements(), err)
		}
		if r := revs.GetAgreements()[0]; r.GetRevision() != 1 || r.GetValidTo() != "2027-12-31" || r.GetSignedTime() == nil {
			t.Errorf("revision 1: %d to %s signed %v, want the first terms as signed", r.GetRevision(), r.GetValidTo(), r.GetSignedTime())
		}
		stranger := e.companyUser(t, "vasterbotten", "regions/vasterbotten/partners/someone-else", "x")
		if _, err := e.client.ListAgreementRevisions(stranger.Ctx(t), &partnerv1.ListAgreementRevisionsRequest{Name: a.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("another company reads the revisions: %v, want NotFound", err)
		}

		// Terminated: with a reason, final.
		if _, err := e.client.TerminateAgreement(admin.Ctx(t), &partnerv1.TerminateAgreementRequest{Name: a.GetName(), Etag: amended.GetEtag()}); status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "reason") {
			t.Errorf("terminate without a reason: %v", err)
		}
		term := &partnerv1.TerminateAgreementRequest{Name: a.GetName(), Etag: amended.GetEtag(), Reason: "Företaget avslutar samarbetet"}
		ended, err := e.client.TerminateAgreement(admin.Ctx(t), term)
		if err != nil || ended.GetState() != partnerv1.AgreementState_AGREEMENT_STATE_TERMINATED || ended.GetTerminateTime() == nil || ended.GetTerminationReason() != term.Reason {
			t.Fatalf("terminate: %v %v (err %v)", ended.GetState(), ended.GetTerminationReason(), err)
		}
		if retry, err := e.client.TerminateAgreement(admin.Ctx(t), term); err != nil || retry.GetEtag() != ended.GetEtag() {
			t.Errorf("retried terminate: %v (err %v), want it unchanged", retry.GetEtag(), err)
		}
		if _, err := e.client.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: ended.GetEtag()}); status.Code(err) != codes.FailedPrecondition || reason(err) != "AGREEMENT_TERMINATED" {
			t.Errorf("sign a terminated agreement: %v, want FailedPrecondition AGREEMENT_TERMINATED", err)
		}
		amend.Agreement.Etag = ended.GetEtag()
		if _, err := e.client.AmendAgreement(admin.Ctx(t), amend); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("amend a terminated agreement: %v, want FailedPrecondition", err)
		}

		// Each change is in the audit log, once.
		log, err := e.client.ListAuditEvents(admin.Ctx(t), &partnerv1.ListAuditEventsRequest{Parent: "regions/vasterbotten", PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range log.GetEvents() {
			if ev.GetResource() == a.GetName() {
				actions = append(actions, ev.GetAction())
			}
		}
		if want := []string{"CreateAgreement", "SignAgreement", "AmendAgreement", "TerminateAgreement"}; !slices.Equal(actions, want) {
			t.Errorf("audit of the agreement: %v, want %v", actions, want)
		}
	})
}

func TestAgreement_FrameworkAndEveryPartner(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500012")))
		q := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500013")))
		adv := e.As(t, auth.Advisor, "vasterbotten")
		nda, err := e.client.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
			Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, ValidFrom: "2026-01-01", ValidTo: "2028-12-31",
		}})
		if err != nil || nda.GetSubject() != "" {
			t.Fatalf("framework NDA without a subject: %v (err %v)", nda, err)
		}
		idea := "regions/vasterbotten/ideas/videobesok"
		ip, err := e.client.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: q.GetName(), Agreement: &partnerv1.Agreement{
			Kind: partnerv1.AgreementKind_AGREEMENT_KIND_IP, Subject: idea, ValidFrom: "2026-01-01", ValidTo: "2028-12-31",
		}})
		if err != nil {
			t.Fatal(err)
		}
		filter := fmt.Sprintf("subject = %q", idea)
		list, err := e.client.ListAgreements(adv.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: "regions/vasterbotten/partners/-", Filter: filter})
		if err != nil || len(list.GetAgreements()) != 1 || list.GetAgreements()[0].GetName() != ip.GetName() {
			t.Errorf("the idea's agreements across partners: %v (err %v), want %s", list.GetAgreements(), err, ip.GetName())
		}
		if all, err := e.client.ListAgreements(adv.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: "regions/vasterbotten/partners/-"}); err != nil || len(all.GetAgreements()) != 2 {
			t.Errorf("every agreement of the region: %d (err %v), want 2", len(all.GetAgreements()), err)
		}
		// A company sees only its own partner's, even across partners.
		own := e.companyUser(t, "vasterbotten", p.GetName(), "lena")
		if mine, err := e.client.ListAgreements(own.Ctx(t), &partnerv1.ListAgreementsRequest{Parent: "regions/vasterbotten/partners/-"}); err != nil || len(mine.GetAgreements()) != 1 || mine.GetAgreements()[0].GetName() != nda.GetName() {
			t.Errorf("the company across partners: %v (err %v), want its NDA only", mine.GetAgreements(), err)
		}
		if _, err := e.client.ListAgreements(e.As(t, auth.Advisor, "uppsala").Ctx(t), &partnerv1.ListAgreementsRequest{Parent: "regions/vasterbotten/partners/-"}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("uppsala's advisor lists vasterbotten's: %v, want PermissionDenied", err)
		}
	})
}

func TestREST_AgreementLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustPartner(t, "vasterbotten", sampleCompany(orgNumber("556500014")))
		adv := e.As(t, auth.Advisor, "vasterbotten")
		admin := e.As(t, auth.RegionAdmin, "vasterbotten")
		code, a := restCall(t, e, adv, "POST", "/v1/"+p.GetName()+"/agreements",
			`{"kind":"AGREEMENT_KIND_IP","subject":"regions/vasterbotten/ideas/abc","validFrom":"2026-01-01","validTo":"2030-12-31"}`)
		if code != http.StatusOK {
			t.Fatalf("create: %d %v", code, a)
		}
		name := a["name"].(string)
		if code, _ := restCall(t, e, adv, "POST", "/v1/"+name+":sign", fmt.Sprintf(`{"etag":%q}`, a["etag"])); code != http.StatusForbidden {
			t.Errorf("advisor signs over REST: %d, want 403", code)
		}
		code, s := restCall(t, e, admin, "POST", "/v1/"+name+":sign", fmt.Sprintf(`{"etag":%q,"signedTime":"2026-01-15T09:00:00Z"}`, a["etag"]))
		if code != http.StatusOK || s["signedTime"] != "2026-01-15T09:00:00Z" {
			t.Fatalf("sign: %d %v", code, s)
		}
		code, m := restCall(t, e, admin, "POST", "/v1/"+name+":amend",
			fmt.Sprintf(`{"agreement":{"etag":%q,"subject":"regions/vasterbotten/ideas/def"},"updateMask":"subject","note":"Rätt idé"}`, s["etag"]))
		if code != http.StatusOK || m["subject"] != "regions/vasterbotten/ideas/def" || m["revision"] != float64(2) {
			t.Fatalf("amend: %d %v", code, m)
		}
		code, revs := restCall(t, e, adv, "GET", "/v1/"+name+":listRevisions", "")
		if list, _ := revs["agreements"].([]any); code != http.StatusOK || len(list) != 1 || list[0].(map[string]any)["subject"] != "regions/vasterbotten/ideas/abc" {
			t.Errorf("revisions: %d %v", code, revs)
		}
		code, x := restCall(t, e, admin, "POST", "/v1/"+name+":terminate", fmt.Sprintf(`{"etag":%q,"reason":"Projektet lades ned"}`, m["etag"]))
		if code != http.StatusOK || x["state"] != "AGREEMENT_STATE_TERMINATED" {
			t.Errorf("terminate: %d %v", code, x)
		}
		q := url.QueryEscape(`subject = "regions/vasterbotten/ideas/def"`)
		code, list := restCall(t, e, adv, "GET", "/v1/regions/vasterbotten/partners/-/agreements?filter="+q, "")
		if got, _ := list["agreements"].([]any); code != http.StatusOK || len(got) != 1 {
			t.Errorf("across partners by subject: %d %v", code, list)
		}
	})
}
