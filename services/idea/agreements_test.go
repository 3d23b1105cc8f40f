package idea_test

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/partner"
)

// lazyPartners is the idea service's partner client: the real one on the
// stack's connection as this deployment, set once the stack runs.
type lazyPartners struct{ partnerv1.PartnerServiceClient }

// gateEnv is the idea service with the partner service beside it, the idea
// service asking for agreements with the stack's service credential.
type gateEnv struct {
	*stack.Env
	ideas    ideav1.IdeaServiceClient
	partners partnerv1.PartnerServiceClient
}

func newGateEnv(t *testing.T, b stack.Backend) *gateEnv {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	lazy := &lazyPartners{}
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served, Partners: lazy}))
		ps, err := partner.New(partner.Config{Store: st, Regions: served})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
	})
	lazy.PartnerServiceClient = partnerv1.NewPartnerServiceClient(auth.AsService(env.Conn, env.Credential))
	return &gateEnv{Env: env, ideas: ideav1.NewIdeaServiceClient(env.Conn), partners: partnerv1.NewPartnerServiceClient(env.Conn)}
}

// selectedIdea is an idea of vasterbotten in SELECTED with its IP owner
// settled.
func (e *gateEnv) selectedIdea(t *testing.T) *ideav1.Idea {
	t.Helper()
	adv := e.As(t, auth.Advisor, "vasterbotten").Ctx(t)
	i, err := e.ideas.CreateIdea(e.As(t, auth.Submitter, "vasterbotten", "patient-1").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
	if err != nil {
		t.Fatal(err)
	}
	if i, err = e.ideas.TransitionIdea(adv, &ideav1.TransitionIdeaRequest{Name: i.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: i.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ideas.CreateAssessment(adv, &ideav1.CreateAssessmentRequest{Parent: i.GetName(), Assessment: scorecard(4, 4, 4, 4, 4, 4)}); err != nil {
		t.Fatal(err)
	}
	if i, err = e.ideas.GetIdea(adv, &ideav1.GetIdeaRequest{Name: i.GetName()}); err != nil {
		t.Fatal(err)
	}
	if i, err = e.ideas.TransitionIdea(adv, &ideav1.TransitionIdeaRequest{Name: i.GetName(), Stage: ideav1.Stage_STAGE_SELECTED, Etag: i.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	// The flag sent on input is ignored (output only): it opens no gate.
	i.IpOwner, i.AgreementsInPlace = ideav1.IpOwner_IP_OWNER_REGION, true
	if i, err = e.ideas.UpdateIdea(adv, &ideav1.UpdateIdeaRequest{Idea: i, UpdateMask: mask("ip_owner", "agreements_in_place")}); err != nil {
		t.Fatal(err)
	}
	if i.GetAgreementsInPlace() {
		t.Errorf("agreements_in_place was taken from the update")
	}
	return i
}

func TestDevelopmentGate_NeedsAnActiveSignedAgreement(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGateEnv(t, b)
			adv := e.As(t, auth.Advisor, "vasterbotten")
			admin := e.As(t, auth.RegionAdmin, "vasterbotten")
			i := e.selectedIdea(t)
			toDevelopment := func(c stack.Caller) (*ideav1.Idea, error) {
				t.Helper()
				cur, err := e.ideas.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: i.GetName()})
				if err != nil {
					t.Fatal(err)
				}
				return e.ideas.TransitionIdea(c.Ctx(t), &ideav1.TransitionIdeaRequest{Name: i.GetName(), Stage: ideav1.Stage_STAGE_DEVELOPMENT, Etag: cur.GetEtag()})
			}
			refused := func(what string, err error, mention ...string) {
				t.Helper()
				if status.Code(err) != codes.FailedPrecondition {
					t.Fatalf("%s: %v, want FailedPrecondition", what, err)
				}
				for _, m := range mention {
					if !strings.Contains(status.Convert(err).Message(), m) {
						t.Errorf("%s: message %q does not name %q", what, status.Convert(err).Message(), m)
					}
				}
			}
			_, err := toDevelopment(adv)
			refused("no agreement", err, "collaboration or IP agreement", i.GetName())

			p, err := e.partners.CreatePartner(adv.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
				DisplayName: "Norrsken Sensorteknik AB", OrgNumber: "5565000014", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
			}})
			if err != nil {
				t.Fatal(err)
			}
			agree := func(kind partnerv1.AgreementKind, subject string) *partnerv1.Agreement {
				t.Helper()
				a, err := e.partners.CreateAgreement(adv.Ctx(t), &partnerv1.CreateAgreementRequest{Parent: p.GetName(), Agreement: &partnerv1.Agreement{
					Kind: kind, Subject: subject, ValidFrom: "2020-01-01", ValidTo: "2060-12-31",
				}})
				if err != nil {
					t.Fatal(err)
				}
				return a
			}
			// An NDA with the company, a collaboration about another idea
			// and an unsigned one about this idea do not settle it.
			agree(partnerv1.AgreementKind_AGREEMENT_KIND_NDA, "")
			agree(partnerv1.AgreementKind_AGREEMENT_KIND_NDA, i.GetName())
			agree(partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, "regions/vasterbotten/ideas/annan")
			collab := agree(partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, i.GetName())
			_, err = toDevelopment(adv)
			refused("an unsigned collaboration", err, collab.GetName(), "PENDING", "not signed")

			signed, err := e.partners.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: collab.GetName(), Etag: collab.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			// Terminated, it settles nothing any more.
			ended, err := e.partners.TerminateAgreement(admin.Ctx(t), &partnerv1.TerminateAgreementRequest{Name: collab.GetName(), Etag: signed.GetEtag(), Reason: "Fel part"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = toDevelopment(adv)
			refused("a terminated collaboration", err, ended.GetName(), "TERMINATED")

			ip := agree(partnerv1.AgreementKind_AGREEMENT_KIND_IP, i.GetName())
			if _, err := e.partners.SignAgreement(admin.Ctx(t), &partnerv1.SignAgreementRequest{Name: ip.GetName(), Etag: ip.GetEtag()}); err != nil {
				t.Fatal(err)
			}
			// Still the region's advisors' move: the submitter and
			// another region's advisor are refused.
			if _, err := toDevelopment(e.As(t, auth.Advisor, "uppsala")); status.Code(err) != codes.PermissionDenied {
				t.Errorf("uppsala's advisor moves it: %v, want PermissionDenied", err)
			}
			if _, err := toDevelopment(e.As(t, auth.Submitter, "vasterbotten", "patient-1")); status.Code(err) != codes.PermissionDenied {
				t.Errorf("the submitter moves it: %v, want PermissionDenied", err)
			}
			moved, err := toDevelopment(adv)
			if err != nil || moved.GetStage() != ideav1.Stage_STAGE_DEVELOPMENT || !moved.GetAgreementsInPlace() {
				t.Fatalf("with a signed IP agreement: %v in place %v (err %v), want DEVELOPMENT with agreements_in_place", moved.GetStage(), moved.GetAgreementsInPlace(), err)
			}
		})
	}
}

func TestDevelopmentGate_REST(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newGateEnv(t, b)
			adv := e.As(t, auth.Advisor, "vasterbotten")
			i := e.selectedIdea(t)
			code, body := e.REST(t, adv, "POST", "/v1/"+i.GetName()+":transition", `{"stage":"STAGE_DEVELOPMENT","etag":"`+i.GetEtag()+`"}`)
			if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "collaboration or IP agreement") {
				t.Errorf("DEVELOPMENT without agreements over REST: %d %v, want 400 naming the agreement", code, body)
			}
			// On create the flag is ignored, not refused.
			code, created := e.REST(t, adv, "POST", "/v1/regions/vasterbotten/ideas",
				`{"title":"Påminnelser","problem":"Glömda doser","origin":"ORIGIN_STAFF","agreementsInPlace":true,"consent":{}}`)
			if code != http.StatusOK || created["agreementsInPlace"] == true {
				t.Errorf("create with agreementsInPlace: %d %v, want 200 without it", code, created)
			}
		})
	}
}
