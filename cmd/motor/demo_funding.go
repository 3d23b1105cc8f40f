package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	"github.com/innovationsmotorer/motor/services/funding"
)

// demoProgramme is the national programme of the demo content.
const demoProgramme = "programmes/innovationsmotorer-2026"

// kr turns kronor into öre.
func kr(kronor int64) int64 { return kronor * 100 }

// demoSubproject is one subproject of the demo content and whether the
// region has submitted it yet.
type demoSubproject struct {
	submit bool
	sp     *fundingv1.Subproject
}

func line(c fundingv1.CostCategory, desc string, kronor int64, eligible bool) *fundingv1.BudgetLine {
	return &fundingv1.BudgetLine{Category: c, Description: desc, AmountOre: kr(kronor), Eligible: eligible}
}

func contribution(party string, k fundingv1.ContributionKind, kronor int64) *fundingv1.Contribution {
	return &fundingv1.Contribution{Party: party, Kind: k, AmountOre: kr(kronor)}
}

// demoSubprojects are a region's subprojects on first start: fictitious,
// but budgeted the way a region applies for co-financing.
func demoSubprojects(region string) []demoSubproject {
	const (
		staff     = fundingv1.CostCategory_COST_CATEGORY_STAFF
		equipment = fundingv1.CostCategory_COST_CATEGORY_EQUIPMENT
		services  = fundingv1.CostCategory_COST_CATEGORY_EXTERNAL_SERVICES
		travel    = fundingv1.CostCategory_COST_CATEGORY_TRAVEL
		premises  = fundingv1.CostCategory_COST_CATEGORY_PREMISES
		other     = fundingv1.CostCategory_COST_CATEGORY_OTHER
		cash      = fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH
		inKind    = fundingv1.ContributionKind_CONTRIBUTION_KIND_IN_KIND
	)
	switch region {
	case "vasterbotten":
		return []demoSubproject{
			{submit: true, sp: &fundingv1.Subproject{
				Title:       "Videobesök för KOL-kontroller i inlandet",
				Description: "Varannan KOL-kontroll i Sorsele och Storuman ersätts med videobesök där patienten skickar in hemmätta värden i förväg. Delprojektet testar arbetssättet på två hälsocentraler under ett år.",
				Programme:   demoProgramme,
				BudgetLines: []*fundingv1.BudgetLine{
					line(staff, "Projektledare 50 % och sjuksköterskor", 1_200_000, true),
					line(services, "Anpassning av videoplattformen", 350_000, true),
					line(equipment, "Spirometrar och pulsoximetrar för hemmabruk", 180_000, true),
					line(travel, "Resor till hälsocentralerna", 40_000, false),
				},
				Contributions: []*fundingv1.Contribution{
					contribution("Region Västerbotten", cash, 600_000),
					contribution("Region Västerbotten (arbetstid)", inKind, 200_000),
					contribution("Umeå universitet (utvärdering)", inKind, 65_000),
				},
			}},
			{sp: &fundingv1.Subproject{
				Title:       "Fallsensorer på särskilt boende i Lycksele",
				Description: "Trycksensorer i golvet larmar personalen när någon ligger still på golvet, utan kamera.",
				Programme:   demoProgramme,
				BudgetLines: []*fundingv1.BudgetLine{
					line(staff, "Projektledning och utbildning av personal", 450_000, true),
					line(equipment, "Sensorgolv i tolv rum", 900_000, true),
					line(premises, "Ombyggnad av rummen", 50_000, false),
				},
				Contributions: []*fundingv1.Contribution{
					contribution("Lycksele kommun (arbetstid)", inKind, 300_000),
				},
			}},
		}
	case "uppsala":
		return []demoSubproject{
			{submit: true, sp: &fundingv1.Subproject{
				Title:       "Automatisk påfyllning av förråd på Akademiska",
				Description: "Hyllor med vågar beställer förbrukningsmaterial när nivån blir låg, kopplade till regionens förrådssystem. Testas på tre vårdavdelningar.",
				Programme:   demoProgramme,
				BudgetLines: []*fundingv1.BudgetLine{
					line(staff, "Projektledare och avdelningarnas superanvändare", 800_000, true),
					line(equipment, "Våghyllor för tre förråd", 1_100_000, true),
					line(services, "Integration med förrådssystemet", 250_000, true),
					line(other, "Representation vid slutseminariet", 30_000, false),
				},
				Contributions: []*fundingv1.Contribution{
					contribution("Region Uppsala", cash, 900_000),
					contribution("Leverantören (installation)", inKind, 175_000),
				},
			}},
		}
	}
	return nil
}

// seedFunding opens the demo programme if it does not exist and fills
// regions that have no subprojects, through the services' own create paths
// with request ids, so that a restart halfway through never seeds twice.
func seedFunding(ctx context.Context, ledger *funding.Ledger, d deps) error {
	coordinator := auth.NewContext(ctx, &auth.Identity{Subject: "motor-demo", Name: "motor-demo", Region: auth.NationalRegion, Roles: []auth.Role{auth.Coordinator}})
	_, err := ledger.GetProgramme(coordinator, &fundingv1.GetProgrammeRequest{Name: demoProgramme})
	if status.Code(err) == codes.NotFound {
		_, err = ledger.CreateProgramme(coordinator, &fundingv1.CreateProgrammeRequest{
			ProgrammeId: "innovationsmotorer-2026",
			RequestId:   "demo-programme",
			Programme: &fundingv1.Programme{
				Title:             "Innovationsmotorer 2026–2028",
				BudgetOre:         kr(60_000_000),
				CoFinancingRateBp: proto.Int32(5000),
				StartDate:         "2026-01-01",
				EndDate:           "2028-12-31",
			},
		})
	}
	if err != nil {
		return fmt.Errorf("demo programme: %w", err)
	}

	// The seeding identities carry no token to forward, so these creates
	// reach the ledger in-process rather than over gRPC.
	subs := funding.NewSubprojects(funding.Config{Store: d.store, Regions: d.regions, Logger: d.logger, Ledger: inProcessLedger{ledger}})
	for _, region := range d.regions.IDs() {
		admin := auth.NewContext(ctx, &auth.Identity{Subject: "demo-admin-" + region, Name: "demo-admin-" + region, Region: region, Roles: []auth.Role{auth.RegionAdmin}})
		existing, err := subs.ListSubprojects(admin, &fundingv1.ListSubprojectsRequest{Parent: "regions/" + region, PageSize: 1})
		if err != nil {
			return fmt.Errorf("list %s: %w", region, err)
		}
		if len(existing.GetSubprojects()) > 0 {
			continue
		}
		for i, demo := range demoSubprojects(region) {
			sp, err := subs.CreateSubproject(admin, &fundingv1.CreateSubprojectRequest{
				Parent: "regions/" + region, Subproject: demo.sp, RequestId: fmt.Sprintf("demo-subproject-%d", i+1),
			})
			if err != nil {
				return fmt.Errorf("create demo subproject %d in %s: %w", i+1, region, err)
			}
			if demo.submit && sp.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT {
				if _, err := subs.SubmitSubproject(admin, &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
					return fmt.Errorf("submit demo subproject %d in %s: %w", i+1, region, err)
				}
			}
		}
	}
	return nil
}

// inProcessLedger is the ledger as a client, called in-process with the
// caller's identity in the context.
type inProcessLedger struct{ l *funding.Ledger }

func (c inProcessLedger) CreateProgramme(ctx context.Context, in *fundingv1.CreateProgrammeRequest, _ ...grpc.CallOption) (*fundingv1.Programme, error) {
	return c.l.CreateProgramme(ctx, in)
}

func (c inProcessLedger) GetProgramme(ctx context.Context, in *fundingv1.GetProgrammeRequest, _ ...grpc.CallOption) (*fundingv1.Programme, error) {
	return c.l.GetProgramme(ctx, in)
}

func (c inProcessLedger) ListProgrammes(ctx context.Context, in *fundingv1.ListProgrammesRequest, _ ...grpc.CallOption) (*fundingv1.ListProgrammesResponse, error) {
	return c.l.ListProgrammes(ctx, in)
}

func (c inProcessLedger) ListAllocations(ctx context.Context, in *fundingv1.ListAllocationsRequest, _ ...grpc.CallOption) (*fundingv1.ListAllocationsResponse, error) {
	return c.l.ListAllocations(ctx, in)
}

func (c inProcessLedger) ReserveFunds(ctx context.Context, in *fundingv1.ReserveFundsRequest, _ ...grpc.CallOption) (*fundingv1.Allocation, error) {
	return c.l.ReserveFunds(ctx, in)
}

func (c inProcessLedger) RecordPayment(ctx context.Context, in *fundingv1.RecordPaymentRequest, _ ...grpc.CallOption) (*fundingv1.RecordPaymentResponse, error) {
	return c.l.RecordPayment(ctx, in)
}

func (c inProcessLedger) ReleaseFunds(ctx context.Context, in *fundingv1.ReleaseFundsRequest, _ ...grpc.CallOption) (*fundingv1.Allocation, error) {
	return c.l.ReleaseFunds(ctx, in)
}

func (c inProcessLedger) ListLedgerEvents(ctx context.Context, in *fundingv1.ListLedgerEventsRequest, _ ...grpc.CallOption) (*fundingv1.ListLedgerEventsResponse, error) {
	return c.l.ListLedgerEvents(ctx, in)
}
