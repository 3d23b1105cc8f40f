package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// demoPartner is one organisation of the demo content with its agreements
// and, for one company per region, an offer sent in by its user.
type demoPartner struct {
	partner    *partnerv1.Partner
	agreements []*partnerv1.Agreement
	offer      *partnerv1.Offer
}

// demoPartners are the organisations a newcomer sees in a region on first
// start. Names, people and organisation numbers are invented (the numbers
// carry valid check digits so they pass validation).
func demoPartners(region string) []demoPartner {
	const (
		company    = partnerv1.PartnerKind_PARTNER_KIND_COMPANY
		academia   = partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA
		patientOrg = partnerv1.PartnerKind_PARTNER_KIND_PATIENT_ORGANISATION
		support    = partnerv1.PartnerKind_PARTNER_KIND_INNOVATION_SUPPORT
	)
	signed := func(date string) *timestamppb.Timestamp {
		t, err := parseDemoDate(date)
		if err != nil {
			return nil
		}
		return timestamppb.New(t)
	}
	switch region {
	case "vasterbotten":
		return []demoPartner{
			{partner: &partnerv1.Partner{
				DisplayName: "Norrsken Sensorteknik AB", OrgNumber: "559318-4426", Kind: company, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
				Capabilities: []string{"sensorer", "fallprevention", "larm", "äldreomsorg"},
				Contacts:     []*partnerv1.Contact{{Name: "Lena Ekström", Email: "lena.ekstrom@example.se", Phone: "090-17 20 00", Role: "VD"}},
			}, agreements: []*partnerv1.Agreement{
				// A framework NDA with the company as a whole.
				{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, ValidFrom: "2026-01-15", ValidTo: "2028-01-14", SignedTime: signed("2026-01-14")},
				{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_TESTBED, Subject: "regions/vasterbotten/subprojects/fallsensor-lycksele", ValidFrom: "2026-09-01", ValidTo: "2027-08-31"},
			}, offer: &partnerv1.Offer{
				Title:        "Golvsensor som larmar när någon blivit liggande",
				Description:  "Tunna trycksensorer under golvmattan känner igen när en person ligger stilla på golvet och larmar nattpersonalen inom två minuter, utan kamera. Vi söker ett särskilt boende att testa med under sex månader.",
				Capabilities: []string{"sensorer", "fallprevention", "larm"},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Lavvu Digital Hälsa AB", OrgNumber: "559207-3166", Kind: company, Size: partnerv1.CompanySize_COMPANY_SIZE_MICRO,
				Capabilities: []string{"videobesök", "egenmätning", "KOL", "appar"},
				Contacts:     []*partnerv1.Contact{{Name: "Nils Pavval", Email: "nils@example.se", Role: "grundare"}},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Kvarkens tekniska universitet", OrgNumber: "202199-6315", Kind: academia,
				Capabilities: []string{"kliniska studier", "AI", "hälsoekonomi"},
				Contacts:     []*partnerv1.Contact{{Name: "Maria Lindgren", Email: "maria.lindgren@example.se", Phone: "090-786 50 00", Role: "forskningssamordnare"}},
			}, agreements: []*partnerv1.Agreement{
				{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_COLLABORATION, Subject: "regions/vasterbotten/subprojects/kol-video", ValidFrom: "2025-03-01", ValidTo: "2027-02-28", SignedTime: signed("2025-02-20")},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Föreningen Lungfria Norrland", OrgNumber: "802461-5372", Kind: patientOrg,
				Capabilities: []string{"patientperspektiv", "KOL", "brukarmedverkan"},
				Contacts:     []*partnerv1.Contact{{Name: "Gunnel Åström", Phone: "070-311 22 33", Role: "ordförande"}},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Inlandets innovationsnod ekonomisk förening", OrgNumber: "769638-2048", Kind: support,
				Capabilities: []string{"affärsutveckling", "testbäddar", "finansiering"},
				Contacts:     []*partnerv1.Contact{{Name: "Erik Nordin", Email: "erik.nordin@example.se", Role: "innovationsrådgivare"}},
			}},
		}
	case "uppsala":
		return []demoPartner{
			{partner: &partnerv1.Partner{
				DisplayName: "Fyrisån Medtech AB", OrgNumber: "559244-8715", Kind: company, Size: partnerv1.CompanySize_COMPANY_SIZE_MEDIUM,
				Capabilities: []string{"förbrukningsmaterial", "logistik", "RFID", "vågar"},
				Contacts:     []*partnerv1.Contact{{Name: "Johan Sjöberg", Email: "johan.sjoberg@example.se", Phone: "018-430 10 10", Role: "försäljningschef"}},
			}, agreements: []*partnerv1.Agreement{
				{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_CO_FINANCING, Subject: "regions/uppsala/subprojects/smarta-forrad", ValidFrom: "2026-02-01", ValidTo: "2027-01-31", SignedTime: signed("2026-01-28")},
			}, offer: &partnerv1.Offer{
				Title:        "Förrådshyllor som beställer förbrukningsmaterial själva",
				Description:  "Hyllplan med inbyggda vågar känner av när förbrukningsmaterial tar slut och lägger en beställning i regionens förrådssystem. Sjuksköterskor slipper leta och beställa; vi vill testa på två vårdavdelningar.",
				Capabilities: []string{"förbrukningsmaterial", "vågar", "logistik"},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Kolibri Diagnostik AB", OrgNumber: "559130-6625", Kind: company, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL,
				Capabilities: []string{"patientnära provtagning", "INR", "egenmätning"},
				Contacts:     []*partnerv1.Contact{{Name: "Amira Haddad", Email: "amira.haddad@example.se", Role: "medicinskt ansvarig"}},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Fyrislunds universitet", OrgNumber: "202199-5184", Kind: academia,
				Capabilities: []string{"kliniska studier", "farmaci", "implementeringsforskning"},
				Contacts:     []*partnerv1.Contact{{Name: "Per Wallin", Email: "per.wallin@example.se", Role: "professor"}},
			}, agreements: []*partnerv1.Agreement{
				{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_IP, Subject: "regions/uppsala/ideas/inr-hemma", ValidFrom: "2024-06-01", ValidTo: "2025-12-31", SignedTime: signed("2024-05-30")},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Hjärt- och kärlföreningen Uppland", OrgNumber: "802517-3496", Kind: patientOrg,
				Capabilities: []string{"patientperspektiv", "antikoagulation", "brukarmedverkan"},
				Contacts:     []*partnerv1.Contact{{Name: "Birgitta Holm", Phone: "018-12 34 56", Role: "sekreterare"}},
			}},
			{partner: &partnerv1.Partner{
				DisplayName: "Uppländsk innovationsbro", OrgNumber: "769640-1152", Kind: support,
				Capabilities: []string{"affärsutveckling", "upphandling", "testbäddar"},
				Contacts:     []*partnerv1.Contact{{Name: "Sofia Berglund", Email: "sofia.berglund@example.se", Role: "projektledare"}},
			}},
		}
	}
	return generatedPartners(region)
}

// seedPartners fills regions that have no partners with demo content,
// through the service's own create paths and with request ids, so a restart
// halfway through never seeds twice. The demo offers are sent with no token
// to forward to the needs service, so they are stored with matching pending
// and matched when someone first reads them.
func seedPartners(ctx context.Context, partners partnerv1.PartnerServiceServer, ideas ideav1.IdeaServiceServer, regions config.Served, devSigner *auth.Signer) error {
	for _, region := range regions.IDs() {
		probe := auth.NewContext(ctx, &auth.Identity{Subject: "motor-demo", Region: region, Roles: []auth.Role{auth.Service}})
		existing, err := partners.ListPartners(probe, &partnerv1.ListPartnersRequest{Parent: "regions/" + region, PageSize: 1})
		if err != nil {
			return fmt.Errorf("list %s: %w", region, err)
		}
		if len(existing.GetPartners()) > 0 {
			continue
		}
		admin := auth.NewContext(ctx, &auth.Identity{Subject: "demo-admin-" + region, Name: "demo-admin-" + region, Region: region, Roles: []auth.Role{auth.RegionAdmin}})
		var created []*partnerv1.Partner
		for i, d := range demoPartners(region) {
			p, err := partners.CreatePartner(admin, &partnerv1.CreatePartnerRequest{
				Parent: "regions/" + region, Partner: d.partner, RequestId: fmt.Sprintf("demo-partner-%d", i+1),
			})
			if err != nil {
				return fmt.Errorf("create demo partner %d in %s: %w", i+1, region, err)
			}
			created = append(created, p)
			for j, a := range d.agreements {
				if _, err := partners.CreateAgreement(admin, &partnerv1.CreateAgreementRequest{
					Parent: p.GetName(), Agreement: a, RequestId: fmt.Sprintf("demo-agreement-%d-%d", i+1, j+1),
				}); err != nil {
					return fmt.Errorf("create demo agreement %d of %s: %w", j+1, p.GetName(), err)
				}
			}
			if d.offer != nil {
				company := &auth.Identity{Subject: fmt.Sprintf("demo-company-%s-%d", region, i+1), Region: region, Roles: []auth.Role{auth.Partner}, Partner: p.GetName()}
				if devSigner != nil {
					// The offer is matched against the needs service at once,
					// which takes the company user's token, as from a portal.
					tok, err := devSigner.Sign(auth.Claims{Subject: company.Subject, Name: company.Subject, Region: region, Roles: company.Roles, Partner: company.Partner}, 5*time.Minute)
					if err != nil {
						return fmt.Errorf("sign the demo company user's token: %w", err)
					}
					company.Token = tok
				}
				user := auth.NewContext(ctx, company)
				if _, err := partners.CreateOffer(user, &partnerv1.CreateOfferRequest{
					Parent: "regions/" + region, Offer: d.offer, RequestId: fmt.Sprintf("demo-offer-%d", i+1),
				}); err != nil {
					return fmt.Errorf("create demo offer of %s: %w", p.GetName(), err)
				}
			}
		}
		if err := seedLegalGate(ctx, partners, ideas, region, created); err != nil {
			return fmt.Errorf("demo agreements of %s: %w", region, err)
		}
	}
	return nil
}

// parseDemoDate is a day in the demo content, at noon UTC.
func parseDemoDate(date string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", date)
	return t.Add(12 * time.Hour), err
}
