package main

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// legalGateIdea is the Västerbotten demo idea the selection workshop chose:
// the demo gives it the agreements its DEVELOPMENT gate asks for and moves
// it through that gate, so the demo shows an idea that passed it.
const legalGateIdea = "Gemensam överrapportering mellan ambulans och akuten"

// seedLegalGate records a collaboration agreement between Västerbotten and
// its university about the workshop's idea, has the region's admin sign it,
// settles the idea's IP owner and moves it to DEVELOPMENT through the gate,
// which reads the agreement from the partner service. partners are the
// region's demo partners as created; ideas is this process's idea service
// (nil when it runs elsewhere: then nothing is done).
func seedLegalGate(ctx context.Context, partners partnerv1.PartnerServiceServer, ideas ideav1.IdeaServiceServer, region string, created []*partnerv1.Partner) error {
	if region != "vasterbotten" || ideas == nil || len(created) < 3 {
		return nil
	}
	advisor := auth.NewContext(ctx, &auth.Identity{Subject: "demo-advisor-" + region, Name: "Demo Rådgivare", Region: region, Roles: []auth.Role{auth.Advisor}})
	admin := auth.NewContext(ctx, &auth.Identity{Subject: "demo-admin-" + region, Name: "Demo Administratör", Region: region, Roles: []auth.Role{auth.RegionAdmin}})
	var idea *ideav1.Idea
	req := &ideav1.ListIdeasRequest{Parent: "regions/" + region, PageSize: 100}
	for page := 0; page < 10 && idea == nil; page++ {
		list, err := ideas.ListIdeas(advisor, req)
		if err != nil {
			return fmt.Errorf("list ideas: %w", err)
		}
		for _, i := range list.GetIdeas() {
			if i.GetTitle() == legalGateIdea {
				idea = i
			}
		}
		if req.PageToken = list.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if idea == nil || idea.GetStage() != ideav1.Stage_STAGE_SELECTED {
		return nil // the idea demo was changed or not seeded: nothing to settle
	}
	university := created[2] // Kvarkens tekniska universitet (demo_partner.go)
	a, err := partners.CreateAgreement(advisor, &partnerv1.CreateAgreementRequest{Parent: university.GetName(), RequestId: "demo-agreement-gate", Agreement: &partnerv1.Agreement{
		Kind: partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, Subject: idea.GetName(), ValidFrom: "2026-03-15", ValidTo: "2028-03-14",
	}})
	if err != nil {
		return fmt.Errorf("create the collaboration agreement: %w", err)
	}
	if _, err := partners.SignAgreement(admin, &partnerv1.SignAgreementRequest{Name: a.GetName(), Etag: a.GetEtag()}); err != nil {
		return fmt.Errorf("sign the collaboration agreement: %w", err)
	}
	idea.IpOwner = ideav1.IpOwner_IP_OWNER_SHARED
	if idea, err = ideas.UpdateIdea(advisor, &ideav1.UpdateIdeaRequest{Idea: idea, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ip_owner"}}}); err != nil {
		return fmt.Errorf("settle the idea's IP owner: %w", err)
	}
	if _, err := ideas.TransitionIdea(advisor, &ideav1.TransitionIdeaRequest{Name: idea.GetName(), Stage: ideav1.Stage_STAGE_DEVELOPMENT, Etag: idea.GetEtag(),
		Rationale: "Samverkansavtal med universitetet undertecknat; IP delas"}); err != nil {
		return fmt.Errorf("move the idea to development: %w", err)
	}
	return nil
}
