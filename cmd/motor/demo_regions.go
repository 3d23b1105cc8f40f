package main

import (
	"fmt"

	"github.com/innovationsmotorer/motor/internal/config"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// Every region a deployment serves gets a small demo of its own, so a
// national demo shows 21 regions at work rather than two and 19 empty
// ones. Västerbotten and Uppsala have their hand-written content
// (demo.go, demo_needs.go, demo_partner.go); the others get a few ideas,
// needs and partners built from a pool of themes, named after the region's
// own hospital and county seat, with each region drawing other themes.

// demoPlace is where a region's demo content happens.
type demoPlace struct {
	hospital, town string
}

func demoPlaces() map[string]demoPlace {
	return map[string]demoPlace{
		"blekinge": {"Blekingesjukhuset", "Karlskrona"}, "dalarna": {"Falu lasarett", "Falun"},
		"gotland": {"Visby lasarett", "Visby"}, "gavleborg": {"Gävle sjukhus", "Gävle"},
		"halland": {"Hallands sjukhus Halmstad", "Halmstad"}, "jamtland-harjedalen": {"Östersunds sjukhus", "Östersund"},
		"jonkoping": {"Länssjukhuset Ryhov", "Jönköping"}, "kalmar": {"Länssjukhuset i Kalmar", "Kalmar"},
		"kronoberg": {"Centrallasarettet Växjö", "Växjö"}, "norrbotten": {"Sunderby sjukhus", "Luleå"},
		"skane": {"Skånes universitetssjukhus", "Malmö"}, "stockholm": {"Karolinska universitetssjukhuset", "Solna"},
		"sormland": {"Mälarsjukhuset", "Eskilstuna"}, "varmland": {"Centralsjukhuset Karlstad", "Karlstad"},
		"vasternorrland": {"Sundsvalls sjukhus", "Sundsvall"}, "vastmanland": {"Västmanlands sjukhus", "Västerås"},
		"vastra-gotaland": {"Sahlgrenska universitetssjukhuset", "Göteborg"}, "orebro": {"Universitetssjukhuset Örebro", "Örebro"},
		"ostergotland": {"Universitetssjukhuset i Linköping", "Linköping"},
	}
}

// regionIndex is the region's place among the 21, to vary its themes.
func regionIndex(region string) int {
	for i, id := range config.RegionIDs() {
		if id == region {
			return i
		}
	}
	return 0
}

// pick returns n items of pool starting at the region's own offset.
func pick[T any](region string, pool []T, n int) []T {
	var out []T
	for i := range n {
		out = append(out, pool[(regionIndex(region)+i)%len(pool)])
	}
	return out
}

// generatedIdeas are three ideas of a region without hand-written content:
// a patient's, a member of staff's and an advisor's own.
func generatedIdeas(region string) []demoIdea {
	p, ok := demoPlaces()[region]
	if !ok {
		return nil
	}
	consent := &ideav1.Consent{Contact: true, StorePersonalData: true}
	type theme struct{ title, problem, proposal, area string }
	pool := []theme{
		{"Digital hemmonitorering efter hjärtsvikt", "Patienter med hjärtsvikt som skrivs ut från %s återinläggs ofta inom en månad, när vikten stigit i flera dagar utan att någon märkt det.", "Låna ut en våg som skickar vikten till avdelningen varje morgon och larmar sjuksköterskan vid snabb ökning.", "Kardiologi"},
		{"Samlad läkemedelslista vid utskrivning", "När äldre skrivs ut från %s får hemtjänsten, vårdcentralen och apoteket olika versioner av läkemedelslistan.", "En gemensam lista som alla tre läser i samma system och som patienten får utskriven vid hemgång.", "Geriatrik"},
		{"Sms-påminnelse före planerad operation", "Var tionde planerad operation på %s ställs in samma dag för att patienten ätit eller glömt att sluta med blodförtunnande.", "Automatiska sms två dagar och kvällen före operationen med vad patienten ska göra.", "Kirurgi"},
		{"Tolk via video på akuten", "På akuten i %s väntar patienter som inte talar svenska länge på tolk, och anhöriga får tolka i stället.", "Videotolk på surfplatta som kan kopplas upp inom fem minuter dygnet runt.", "Akutsjukvård"},
		{"Egen provtagning för klamydia hemma", "Unga i %s avstår från provtagning för att de inte vill gå till mottagningen.", "Beställ provtagningskit via 1177, skicka provet med posten och få svar digitalt.", "Sexuell hälsa"},
		{"Digitalt stöd vid fysioterapi efter höftprotes", "Patienter som opererats på %s tränar för lite hemma och behöver fler fysioterapibesök än planerat.", "En app med filmade övningar och uppföljning som fysioterapeuten ser.", "Ortopedi"},
	}
	themes := pick(region, pool, 3)
	text := func(th theme) string { return fmt.Sprintf(th.problem, p.hospital) }
	return []demoIdea{
		{subject: "demo-patient-" + region, idea: &ideav1.Idea{
			Title: themes[0].title, Problem: text(themes[0]), Proposal: themes[0].proposal,
			Origin: ideav1.Origin_ORIGIN_PATIENT, CareArea: themes[0].area,
			Submitter: &ideav1.Submitter{DisplayName: "Demopatient i " + p.town, Email: "patient." + region + "@example.se"},
			Consent:   consent,
		}},
		{subject: "demo-staff-" + region, idea: &ideav1.Idea{
			Title: themes[1].title, Problem: text(themes[1]), Proposal: themes[1].proposal,
			Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: themes[1].area,
			Submitter: &ideav1.Submitter{DisplayName: "Demosjuksköterska", Email: "personal." + region + "@example.se", Workplace: p.hospital},
			Consent:   consent,
		}, advance: []ideav1.Stage{ideav1.Stage_STAGE_SCREENING}},
		{subject: "demo-advisor-" + region, staff: true, idea: &ideav1.Idea{
			Title: themes[2].title, Problem: text(themes[2]), Proposal: themes[2].proposal,
			Origin: ideav1.Origin_ORIGIN_STAFF, CareArea: themes[2].area, Consent: &ideav1.Consent{},
		}, advance: []ideav1.Stage{ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED}},
	}
}

// generatedNeeds are three needs of a region without hand-written content.
func generatedNeeds(region string) []demoNeed {
	p, ok := demoPlaces()[region]
	if !ok {
		return nil
	}
	adv := "demo-advisor-" + region
	type theme struct {
		problem, population, outcome, unit string
		patients                           int32
	}
	pool := []theme{
		{"upptäcka försämring hos patienter med hjärtsvikt i hemmet", "patienter som skrivits ut efter hjärtsvikt", "färre återinläggningar inom 30 dagar", "Kardiologi", 800},
		{"se samma läkemedelslista i slutenvård, primärvård och hemtjänst", "äldre med fler än fem läkemedel", "färre läkemedelsfel efter utskrivning", "Geriatrik", 3000},
		{"minska sena strykningar av planerade operationer", "patienter som väntar på planerad kirurgi", "färre inställda operationer samma dag", "Operation", 1500},
		{"få tolk snabbt dygnet runt", "patienter på akuten som inte talar svenska", "säkrare bedömning utan anhöriga som tolkar", "Akutmottagningen", 4000},
		{"följa upp träning efter ortopedisk kirurgi på distans", "patienter som fått höft- eller knäprotes", "snabbare återhämtning med färre besök", "Ortopedi", 1200},
	}
	themes := pick(region, pool, 3)
	out := make([]demoNeed, 0, len(themes))
	for i, th := range themes {
		d := demoNeed{subject: adv, staff: true, need: &needsv1.Need{
			Problem: th.problem, Population: th.population + " i " + p.town, Outcome: th.outcome,
			CareUnit: th.unit + ", " + p.hospital, ReportedBy: ideav1.Origin_ORIGIN_STAFF,
			PatientsAffectedPerYear: th.patients, Published: i < 2,
		}}
		switch i {
		case 0:
			d.screening, d.status = scores(4, 4, 4, 4, 3, "Prioriterat av regionens behovsråd"), needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH
		case 1:
			d.screening, d.status = scores(3, 4, 3, 4, 4, "Bra kandidat för en testbädd"), needsv1.NeedStatus_NEED_STATUS_PRIORITISED
		}
		out = append(out, d)
	}
	return out
}

// generatedPartners are a company and a patient organisation of a region
// without hand-written content, with a framework NDA with the company.
func generatedPartners(region string) []demoPartner {
	p, ok := demoPlaces()[region]
	if !ok {
		return nil
	}
	i := regionIndex(region)
	return []demoPartner{
		{partner: &partnerv1.Partner{
			DisplayName: p.town + " Vårdteknik AB", OrgNumber: luhnComplete(fmt.Sprintf("5593%05d", 10000+i*37)),
			Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
			Capabilities: []string{"hemmonitorering", "appar", "sensorer"},
			Contacts:     []*partnerv1.Contact{{Name: "Demokontakt " + p.town, Email: "kontakt." + region + "@example.se", Role: "VD"}},
		}, agreements: []*partnerv1.Agreement{
			{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, ValidFrom: "2026-01-01", ValidTo: "2028-12-31"},
		}},
		{partner: &partnerv1.Partner{
			DisplayName: "Patientföreningen i " + p.town, OrgNumber: luhnComplete(fmt.Sprintf("8024%05d", 20000+i*41)),
			Kind:         partnerv1.PartnerKind_PARTNER_KIND_PATIENT_ORGANISATION,
			Capabilities: []string{"patientperspektiv", "brukarmedverkan"},
		}},
	}
}

// luhnComplete adds the Luhn check digit to nine digits: a valid
// organisation number for invented organisations.
func luhnComplete(nine string) string {
	sum := 0
	for i, r := range nine {
		d := int(r - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return fmt.Sprintf("%s%d", nine, (10-sum%10)%10)
}
