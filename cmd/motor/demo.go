package main

import (
	"context"
	"fmt"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// demoIdea is one idea of the demo content, with the person who sent it in.
type demoIdea struct {
	subject string
	staff   bool
	idea    *ideav1.Idea
	// advance moves the idea on after submission, as the region's advisor
	// would; an assessment is made before STAGE_SELECTED.
	advance []ideav1.Stage
}

// demoIdeas are the ideas a newcomer sees in a region on first start. They
// are fictitious but shaped like what innovation offices receive.
func demoIdeas(region string) []demoIdea {
	consent := &ideav1.Consent{Contact: true, StorePersonalData: true}
	switch region {
	case "vasterbotten":
		return []demoIdea{
			{subject: "demo-patient-1", idea: &ideav1.Idea{
				Title:    "Videobesök för KOL-kontroller i inlandet",
				Problem:  "Patienter med KOL i Sorsele och Storuman reser över 20 mil tur och retur till kontroller som mest består av samtal och spirometrivärden de redan mäter hemma.",
				Proposal: "Ersätt varannan kontroll med videobesök där patienten skickar in hemmätta värden i förväg.",
				Origin:   ideav1.Origin_ORIGIN_PATIENT, CareArea: "Lungmedicin",
				Submitter: &ideav1.Submitter{DisplayName: "Greta Lindqvist", Email: "greta.lindqvist@example.se", Phone: "070-123 45 67"},
				Consent:   consent,
			}},
			{subject: "demo-staff-1", idea: &ideav1.Idea{
				Title:    "Gemensam överrapportering mellan ambulans och akuten",
				Problem:  "Vid överlämning på akuten på NUS upprepas samma uppgifter muntligt tre gånger och detaljer om läkemedel tappas bort.",
				Proposal: "En strukturerad digital överrapportering (SBAR) som ambulansen fyller i under transporten och som syns på akutens tavla vid ankomst.",
				Origin:   ideav1.Origin_ORIGIN_STAFF, CareArea: "Akutsjukvård",
				Submitter: &ideav1.Submitter{DisplayName: "Jonas Berg", Email: "jonas.berg@example.se", Workplace: "Akutmottagningen, Norrlands universitetssjukhus"},
				Consent:   consent,
			}, advance: []ideav1.Stage{ideav1.Stage_STAGE_SCREENING}},
			{subject: "demo-relative-1", idea: &ideav1.Idea{
				Title:    "Påminnelse till anhöriga inför hemgång",
				Problem:  "Anhöriga får veta samma dag att en äldre person skrivs ut och hinner inte ordna hemtjänst eller hjälpmedel.",
				Proposal: "Ett sms till den anhörige som patienten valt, två dagar före planerad utskrivning.",
				Origin:   ideav1.Origin_ORIGIN_RELATIVE, CareArea: "Geriatrik",
				Consent: &ideav1.Consent{},
			}},
			{subject: "demo-advisor-vasterbotten", staff: true, idea: &ideav1.Idea{
				Title:    "Fallsensor i golvet på särskilt boende",
				Problem:  "Fall nattetid upptäcks ofta först vid nästa tillsyn, ibland efter flera timmar.",
				Proposal: "Trycksensorer i golvet som larmar personalen när någon ligger still på golvet, utan kamera.",
				Origin:   ideav1.Origin_ORIGIN_STAFF, CareArea: "Äldreomsorg",
				Tags:    []string{"fallprevention", "sensorer", "nattillsyn"},
				Consent: &ideav1.Consent{},
			}},
		}
	case "uppsala":
		return []demoIdea{
			{subject: "demo-staff-2", idea: &ideav1.Idea{
				Title:    "Automatisk påfyllning av förråd på vårdavdelning",
				Problem:  "Sjuksköterskor på Akademiska lägger upp till en halvtimme per pass på att leta efter och beställa förbrukningsmaterial.",
				Proposal: "Hyllor med vågar som beställer när nivån blir låg, kopplade till regionens förrådssystem.",
				Origin:   ideav1.Origin_ORIGIN_STAFF, CareArea: "Vårdavdelning",
				Submitter: &ideav1.Submitter{DisplayName: "Sara Ahmadi", Email: "sara.ahmadi@example.se", Workplace: "Avdelning 70E, Akademiska sjukhuset"},
				Consent:   consent,
			}, advance: []ideav1.Stage{ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED}},
			{subject: "demo-patient-2", idea: &ideav1.Idea{
				Title:    "Egen provtagning för INR hemma",
				Problem:  "Patienter som tar Waran måste till vårdcentralen varannan vecka för ett stick i fingret.",
				Proposal: "Låna ut mätare så att patienten tar provet själv och rapporterar värdet i 1177.",
				Origin:   ideav1.Origin_ORIGIN_PATIENT, CareArea: "Primärvård",
				Submitter: &ideav1.Submitter{DisplayName: "Bengt Holm", Phone: "018-611 00 00"},
				Consent:   consent,
			}},
			{subject: "demo-student-1", idea: &ideav1.Idea{
				Title:    "Spel som förbereder barn inför narkos",
				Problem:  "Barn som ska sövas är ofta rädda, och oro före narkos ger mer smärta och längre återhämtning.",
				Proposal: "Ett surfplattespel där barnet följer en figur genom operationsdagen, från fastan till uppvaknandet.",
				Origin:   ideav1.Origin_ORIGIN_STUDENT, CareArea: "Barnsjukvård",
				Consent: &ideav1.Consent{},
			}},
		}
	}
	return generatedIdeas(region)
}

// seedIdeas fills regions that have no ideas with demo content. It goes
// through the service's own create path (validation, consent, audit), with
// request ids so that a restart halfway through never seeds twice.
func seedIdeas(ctx context.Context, ideas ideav1.IdeaServiceServer, regions config.Served) error {
	for _, region := range regions.IDs() {
		probe := auth.NewContext(ctx, &auth.Identity{Subject: "motor-demo", Region: region, Roles: []auth.Role{auth.Service}})
		existing, err := ideas.ListIdeas(probe, &ideav1.ListIdeasRequest{Parent: "regions/" + region, PageSize: 1})
		if err != nil {
			return fmt.Errorf("list %s: %w", region, err)
		}
		if len(existing.GetIdeas()) > 0 {
			continue
		}
		var created []*ideav1.Idea
		for i, d := range demoIdeas(region) {
			roles := []auth.Role{auth.Submitter}
			if d.staff {
				roles = []auth.Role{auth.Advisor}
			}
			who := auth.NewContext(ctx, &auth.Identity{Subject: d.subject, Region: region, Roles: roles})
			idea, err := ideas.CreateIdea(who, &ideav1.CreateIdeaRequest{
				Parent:    "regions/" + region,
				Idea:      d.idea,
				RequestId: fmt.Sprintf("demo-%d", i+1),
			})
			if err != nil {
				return fmt.Errorf("create demo idea %d in %s: %w", i+1, region, err)
			}
			created = append(created, idea)
			advisor := auth.NewContext(ctx, &auth.Identity{Subject: "demo-advisor-" + region, Name: "Demo Rådgivare", Region: region, Roles: []auth.Role{auth.Advisor}})
			for _, stage := range d.advance {
				if stage == ideav1.Stage_STAGE_SELECTED {
					if _, err := ideas.CreateAssessment(advisor, &ideav1.CreateAssessmentRequest{Parent: idea.GetName(), Assessment: &ideav1.Assessment{
						PatientBenefit: 4, CareBenefit: 5, Feasibility: 4, Novelty: 3, MarketPotential: 3, Risk: 4,
						Comment: "Tydlig nytta, rimlig att testa på en avdelning.",
					}}); err != nil {
						return fmt.Errorf("assess demo idea %d in %s: %w", i+1, region, err)
					}
					if idea, err = ideas.GetIdea(advisor, &ideav1.GetIdeaRequest{Name: idea.GetName()}); err != nil {
						return fmt.Errorf("read demo idea %d in %s: %w", i+1, region, err)
					}
				}
				idea, err = ideas.TransitionIdea(advisor, &ideav1.TransitionIdeaRequest{Name: idea.GetName(), Stage: stage, Etag: idea.GetEtag(), Rationale: "Demo"})
				if err != nil {
					return fmt.Errorf("move demo idea %d in %s to %s: %w", i+1, region, stage, err)
				}
			}
		}
		if err := seedWorkflows(ctx, ideas, region, created); err != nil {
			return fmt.Errorf("demo workflows of %s: %w", region, err)
		}
	}
	return nil
}
