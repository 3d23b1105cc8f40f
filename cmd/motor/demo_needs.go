package main

import (
	"context"
	"fmt"
	"path"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// demoNeed is one need of the demo content: who reported it, the screening
// round the region's workshop gave it (none when nil), and how far it has
// come in the needs process.
type demoNeed struct {
	subject   string
	staff     bool
	need      *needsv1.Need
	screening *needsv1.Screening
	status    needsv1.NeedStatus
	reason    string // for NEED_STATUS_CLOSED
}

func scores(clinical, patients, cost, fit, feasibility int32, comment string) *needsv1.Screening {
	return &needsv1.Screening{ClinicalImpact: clinical, PatientsAffected: patients, ProblemCost: cost, StrategicFit: fit, Feasibility: feasibility, Comment: comment}
}

// demoNeeds are the needs a newcomer sees in a region on first start. They
// are fictitious but shaped like what a needs mapping collects.
func demoNeeds(region string) []demoNeed {
	switch region {
	case "vasterbotten":
		return []demoNeed{
			{subject: "demo-advisor-vasterbotten", staff: true, need: &needsv1.Need{
				Problem:    "upptäcka fall nattetid utan kameraövervakning",
				Population: "äldre på särskilda boenden i inlandskommunerna",
				Outcome:    "korta tiden en person ligger kvar på golvet efter ett fall",
				CareUnit:   "Äldreomsorg, Lycksele", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
				Evidence:                "Avvikelserapporter 2024: 41 fall nattetid, 12 upptäcktes först efter mer än en timme.",
				PatientsAffectedPerYear: 1100, Published: true,
			}, screening: scores(5, 4, 4, 5, 3, "Hög prioritet i fokusgruppen"), status: needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH},
			{subject: "demo-advisor-vasterbotten", staff: true, need: &needsv1.Need{
				Problem:    "följa upp KOL-patienters lungfunktion utan resor till sjukhus",
				Population: "patienter med KOL i Sorsele, Storuman och Vilhelmina",
				Outcome:    "färre akuta försämringar och kortare resor",
				CareUnit:   "Lungmedicin, Norrlands universitetssjukhus", ReportedBy: ideav1.Origin_ORIGIN_PATIENT,
				Evidence:                "Patienter reser i snitt 22 mil tur och retur per kontroll.",
				PatientsAffectedPerYear: 650, Published: true,
			}, screening: scores(4, 3, 4, 5, 4, "Passar regionens strategi för nära vård"), status: needsv1.NeedStatus_NEED_STATUS_PRIORITISED},
			{subject: "demo-advisor-vasterbotten", staff: true, need: &needsv1.Need{
				Problem:    "överföra läkemedelslistan från ambulansen till akuten",
				Population: "patienter som ambulansen lämnar på akutmottagningen",
				Outcome:    "undvika läkemedelsfel vid överlämningen",
				CareUnit:   "Akutmottagningen, Norrlands universitetssjukhus", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
				PatientsAffectedPerYear: 14000,
			}, screening: scores(4, 5, 3, 3, 2, "Beror på journalsystemets gränssnitt"), status: needsv1.NeedStatus_NEED_STATUS_VALIDATED},
			{subject: "demo-relative-2", need: &needsv1.Need{
				Problem:    "få besked i god tid om när en äldre anhörig skrivs ut",
				Population: "anhöriga till äldre patienter på medicinavdelningar",
				Outcome:    "hinna ordna hemtjänst och hjälpmedel före hemgång",
				ReportedBy: ideav1.Origin_ORIGIN_RELATIVE,
			}},
			{subject: "demo-advisor-vasterbotten", staff: true, need: &needsv1.Need{
				Problem:    "boka tolk till besök på vårdcentralen",
				Population: "patienter som inte talar svenska",
				Outcome:    "besöket blir av med rätt information",
				CareUnit:   "Primärvård, Skellefteå", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
			}, status: needsv1.NeedStatus_NEED_STATUS_CLOSED, reason: "Löst genom regionens nya tolkavtal med direktbokning."},
		}
	case "uppsala":
		return []demoNeed{
			{subject: "demo-advisor-uppsala", staff: true, need: &needsv1.Need{
				Problem:    "hitta och beställa förbrukningsmaterial utan att lämna patienten",
				Population: "sjuksköterskor på vårdavdelningar vid Akademiska sjukhuset",
				Outcome:    "frigöra tid för patientnära arbete",
				CareUnit:   "Avdelning 70E, Akademiska sjukhuset", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
				Evidence:                "Tidsstudie hösten 2024: 25–35 minuter per pass går åt till att leta material.",
				PatientsAffectedPerYear: 9000, Published: true,
			}, screening: scores(3, 4, 5, 4, 5, "Snabb vinst, många leverantörer"), status: needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH},
			{subject: "demo-advisor-uppsala", staff: true, need: &needsv1.Need{
				Problem:    "ta INR-prov hemma",
				Population: "patienter som behandlas med warfarin",
				Outcome:    "slippa resa till vårdcentralen varannan vecka",
				CareUnit:   "Primärvård, Uppsala län", ReportedBy: ideav1.Origin_ORIGIN_PATIENT,
				PatientsAffectedPerYear: 4200, Published: true,
			}, screening: scores(4, 4, 3, 4, 4, "Testbädd finns på Gottsunda vårdcentral"), status: needsv1.NeedStatus_NEED_STATUS_PRIORITISED},
			{subject: "demo-advisor-uppsala", staff: true, need: &needsv1.Need{
				Problem:    "minska oron inför narkos",
				Population: "barn som ska opereras på Akademiska barnsjukhuset",
				Outcome:    "mindre smärta och kortare återhämtning efter operationen",
				CareUnit:   "Barnanestesi, Akademiska sjukhuset", ReportedBy: ideav1.Origin_ORIGIN_STUDENT,
				PatientsAffectedPerYear: 2500, Published: true,
			}, screening: scores(4, 3, 2, 3, 5, "Låg kostnad att pröva"), status: needsv1.NeedStatus_NEED_STATUS_VALIDATED},
			{subject: "demo-advisor-uppsala", staff: true, need: &needsv1.Need{
				Problem:    "se lediga vårdplatser i hela regionen i realtid",
				Population: "vårdplatskoordinatorer på Akademiska och Enköpings lasarett",
				Outcome:    "färre överbeläggningar och utlokaliserade patienter",
				CareUnit:   "Vårdplatskoordinering", ReportedBy: ideav1.Origin_ORIGIN_STAFF,
				PatientsAffectedPerYear: 30000,
			}, screening: scores(5, 5, 5, 5, 2, "Stort behov, svår integration"), status: needsv1.NeedStatus_NEED_STATUS_PRIORITISED},
			{subject: "demo-patient-3", need: &needsv1.Need{
				Problem:    "förstå provsvar i 1177 utan att vänta på läkarens kommentar",
				Population: "patienter med kroniska sjukdomar",
				Outcome:    "känna sig trygga mellan besöken",
				ReportedBy: ideav1.Origin_ORIGIN_PATIENT,
			}},
		}
	}
	return generatedNeeds(region)
}

// seedNeeds fills regions that have no needs with demo content. It goes
// through the service's own paths (validation, status machine, audit), with
// request ids on the creates and screenings so a restart halfway through
// never creates them twice.
func seedNeeds(ctx context.Context, needs needsv1.NeedsServiceServer, regions config.Served) error {
	for _, region := range regions.IDs() {
		probe := auth.NewContext(ctx, &auth.Identity{Subject: "motor-demo", Region: region, Roles: []auth.Role{auth.Service}})
		existing, err := needs.ListNeeds(probe, &needsv1.ListNeedsRequest{Parent: "regions/" + region, PageSize: 1})
		if err != nil {
			return fmt.Errorf("list %s: %w", region, err)
		}
		if len(existing.GetNeeds()) > 0 {
			continue
		}
		for i, d := range demoNeeds(region) {
			roles := []auth.Role{auth.Submitter}
			if d.staff {
				roles = []auth.Role{auth.Advisor}
			}
			who := auth.NewContext(ctx, &auth.Identity{Subject: d.subject, Name: d.subject, Region: region, Roles: roles})
			need, err := needs.CreateNeed(who, &needsv1.CreateNeedRequest{
				Parent: "regions/" + region, Need: d.need, RequestId: fmt.Sprintf("demo-need-%d", i+1),
			})
			if err != nil {
				return fmt.Errorf("create demo need %d in %s: %w", i+1, region, err)
			}
			if err := advanceDemoNeed(ctx, needs, region, need, d); err != nil {
				return fmt.Errorf("demo need %d in %s: %w", i+1, region, err)
			}
		}
	}
	return nil
}

// advanceDemoNeed screens a demo need and moves it to its demo status, as
// the region's advisor.
func advanceDemoNeed(ctx context.Context, needs needsv1.NeedsServiceServer, region string, need *needsv1.Need, d demoNeed) error {
	advisor := auth.NewContext(ctx, &auth.Identity{Subject: "demo-advisor-" + region, Name: "demo-advisor-" + region, Region: region, Roles: []auth.Role{auth.Advisor}})
	if d.screening != nil {
		if _, err := needs.CreateScreening(advisor, &needsv1.CreateScreeningRequest{
			Parent: need.GetName(), Screening: d.screening, RequestId: "demo-screening-" + path.Base(need.GetName()),
		}); err != nil {
			return fmt.Errorf("screen: %w", err)
		}
	}
	if d.status == needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED {
		return nil
	}
	steps := []needsv1.NeedStatus{
		needsv1.NeedStatus_NEED_STATUS_VALIDATED,
		needsv1.NeedStatus_NEED_STATUS_PRIORITISED,
		needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH,
	}
	if d.status == needsv1.NeedStatus_NEED_STATUS_CLOSED {
		steps = []needsv1.NeedStatus{needsv1.NeedStatus_NEED_STATUS_CLOSED}
	}
	for _, to := range steps {
		if _, err := needs.TransitionNeed(advisor, &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: to, Reason: d.reason}); err != nil {
			return fmt.Errorf("move to %s: %w", to, err)
		}
		if to == d.status {
			break
		}
	}
	return nil
}
