package main

import (
	"context"
	"fmt"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// seedWorkflows gives Västerbotten's demo ideas the region's own ways of
// working: a vocabulary of categories and a focus group that used it, a
// selection workshop whose participants scored its agenda and decided on
// one idea, and two test beds with a test plan each. ideas are the region's
// demo ideas in demoIdeas order, as created.
func seedWorkflows(ctx context.Context, srv ideav1.IdeaServiceServer, region string, ideas []*ideav1.Idea) error {
	if region != "vasterbotten" || len(ideas) < 2 {
		return nil
	}
	as := func(sub, name string, role auth.Role) context.Context {
		return auth.NewContext(ctx, &auth.Identity{Subject: sub, Name: name, Region: region, Roles: []auth.Role{role}})
	}
	admin := as("demo-admin-"+region, "Demo Administratör", auth.RegionAdmin)
	anna := as("demo-advisor-"+region, "Demo Rådgivare", auth.Advisor)
	erik := as("demo-advisor-2-"+region, "Erik Nilsson", auth.Advisor)
	kol, ambulance := ideas[0], ideas[1]
	parent := "regions/" + region

	for _, c := range []struct{ id, name, desc string }{
		{"digital-vard", "Digital vård", "Vård på distans: video, hemmätning, digitala flöden."},
		{"samordning", "Samordning", "Överlämningar mellan vårdens aktörer."},
		{"fallprevention", "Fallprevention", "Att förebygga och upptäcka fall."},
		{"sensorer", "Sensorer", "Mätning och larm utan kamera."},
		{"nattillsyn", "Nattillsyn", "Tillsyn nattetid på boenden och avdelningar."},
	} {
		if _, err := srv.CreateCategory(admin, &ideav1.CreateCategoryRequest{Parent: parent, CategoryId: c.id,
			Category: &ideav1.Category{DisplayName: c.name, Description: c.desc, Owners: []string{"demo-advisor-" + region}}}); err != nil {
			return fmt.Errorf("demo category %s: %w", c.id, err)
		}
	}
	if _, err := srv.CreateFocusGroupSession(anna, &ideav1.CreateFocusGroupSessionRequest{Parent: parent, RequestId: "demo-focus-1", Session: &ideav1.FocusGroupSession{
		Date: "2026-02-12", Participants: []string{"Demo Rådgivare", "Patientrådet Lungmedicin"},
		Assignments: []*ideav1.CategoryAssignment{
			{Idea: kol.GetName(), Categories: []string{"digital-vard"}},
			{Idea: ambulance.GetName(), Categories: []string{"samordning", "digital-vard"}},
		},
	}}); err != nil {
		return fmt.Errorf("demo focus group: %w", err)
	}

	// The KOL idea joins the ambulance one in screening, for the workshop.
	cur, err := srv.GetIdea(anna, &ideav1.GetIdeaRequest{Name: kol.GetName()})
	if err != nil {
		return fmt.Errorf("read demo idea: %w", err)
	}
	if cur.GetStage() == ideav1.Stage_STAGE_SUBMITTED {
		if _, err := srv.TransitionIdea(anna, &ideav1.TransitionIdeaRequest{Name: cur.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: cur.GetEtag()}); err != nil {
			return fmt.Errorf("screen demo idea: %w", err)
		}
	}
	w, err := srv.CreateWorkshop(anna, &ideav1.CreateWorkshopRequest{Parent: parent, RequestId: "demo-workshop-1", Workshop: &ideav1.Workshop{
		Title: "Urvalsworkshop vår 2026", Date: "2026-03-05",
		Participants: []string{"demo-advisor-" + region, "demo-advisor-2-" + region},
		Agenda:       []string{kol.GetName(), ambulance.GetName()},
	}})
	if err != nil {
		return fmt.Errorf("demo workshop: %w", err)
	}
	for _, s := range []struct {
		who   context.Context
		idea  string
		score [6]int32
		note  string
	}{
		{anna, ambulance.GetName(), [6]int32{4, 5, 4, 3, 3, 4}, "Tydlig nytta för både ambulans och akut."},
		{erik, ambulance.GetName(), [6]int32{4, 4, 3, 3, 4, 3}, "Kräver integration med journalen."},
		{anna, kol.GetName(), [6]int32{5, 4, 4, 2, 2, 5}, "Enkel att pröva, liten risk."},
		{erik, kol.GetName(), [6]int32{3, 3, 5, 2, 2, 5}, "Finns liknande i andra regioner."},
	} {
		if _, err := srv.CreateAssessment(s.who, &ideav1.CreateAssessmentRequest{Parent: s.idea, Assessment: &ideav1.Assessment{
			Workshop: w.GetName(), PatientBenefit: s.score[0], CareBenefit: s.score[1], Feasibility: s.score[2],
			Novelty: s.score[3], MarketPotential: s.score[4], Risk: s.score[5], Comment: s.note,
		}}); err != nil {
			return fmt.Errorf("demo workshop score: %w", err)
		}
	}
	cur, err = srv.GetIdea(anna, &ideav1.GetIdeaRequest{Name: ambulance.GetName()})
	if err != nil {
		return fmt.Errorf("read demo idea: %w", err)
	}
	if _, err := srv.DecideWorkshopIdea(anna, &ideav1.DecideWorkshopIdeaRequest{Name: w.GetName(), Idea: cur.GetName(),
		Stage: ideav1.Stage_STAGE_SELECTED, Rationale: "Högst rankad på urvalsworkshopen", Etag: cur.GetEtag()}); err != nil {
		return fmt.Errorf("demo workshop decision: %w", err)
	}

	for i, b := range []struct {
		bed  *ideav1.TestBed
		idea string
		plan *ideav1.TestPlan
	}{
		{&ideav1.TestBed{DisplayName: "Innovationsklinik NUS", Unit: "Norrlands universitetssjukhus", Kind: ideav1.TestBedKind_TEST_BED_KIND_INNOVATION_CLINIC,
			Contact: "innovationskliniken@example.se", Capacity: 3}, ambulance.GetName(),
			&ideav1.TestPlan{StartDate: "2026-09-01", EndDate: "2026-11-30", Protocol: "Digital överrapportering på 200 ambulansuppdrag; mät tid till överlämning och avvikelser om läkemedel."}},
		{&ideav1.TestBed{DisplayName: "Hälsocentralen Ersboda", Unit: "Primärvård Umeå", Kind: ideav1.TestBedKind_TEST_BED_KIND_PRIMARY_CARE_CENTRE,
			Contact: "ersboda.utveckling@example.se", Capacity: 2}, kol.GetName(),
			&ideav1.TestPlan{StartDate: "2026-04-01", EndDate: "2026-06-30", Protocol: "Varannan KOL-kontroll som videobesök för 25 patienter; mät resor, nöjdhet och spirometrivärden."}},
	} {
		bed, err := srv.CreateTestBed(anna, &ideav1.CreateTestBedRequest{Parent: parent, TestBed: b.bed, RequestId: fmt.Sprintf("demo-bed-%d", i+1)})
		if err != nil {
			return fmt.Errorf("demo test bed: %w", err)
		}
		b.plan.TestBed = bed.GetName()
		plan, err := srv.CreateTestPlan(anna, &ideav1.CreateTestPlanRequest{Parent: b.idea, TestPlan: b.plan, RequestId: fmt.Sprintf("demo-plan-%d", i+1)})
		if err != nil {
			return fmt.Errorf("demo test plan: %w", err)
		}
		if _, err := srv.ApproveTestPlan(anna, &ideav1.ApproveTestPlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); err != nil {
			return fmt.Errorf("approve demo test plan: %w", err)
		}
	}
	return nil
}
