package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	personv1 "github.com/innovationsmotorer/motor/proto/innovation/person/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
	"github.com/innovationsmotorer/motor/services/coordinator"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/notify"
	"github.com/innovationsmotorer/motor/services/partner"
	"github.com/innovationsmotorer/motor/services/person"
	"github.com/innovationsmotorer/motor/services/reports"
)

// deps is what a service is built from in `motor serve`.
type deps struct {
	store   store.Store
	regions config.Served
	logger  *slog.Logger
	tel     *telemetry.Telemetry
	// conn returns a connection to another service by target name: this
	// process's own listener when it runs that service, else its -upstreams
	// address. "ledger" is the programme ledger: the national deployment's
	// over mTLS when this one is a region with a national peer. Calls go
	// through the callee's interceptors either way.
	conn func(name string) (*grpc.ClientConn, error)
	// regionConn returns a connection to service name for a region, and
	// the name of the deployment that serves it: this deployment for its own
	// regions, a peer's (over mTLS) for the others.
	regionConn func(name, region string) (*grpc.ClientConn, string, error)
	// directory lists every region this deployment reaches, its own first.
	directory func() []string
	// devSigner signs dev-mode tokens (nil with an identity provider): demo
	// content made in-process carries one where a service must forward it.
	devSigner *auth.Signer
	// weights are the regions' scorecard weights from the config file.
	weights map[string]config.RegionWeights
	// notify is the deployment file's notification settings; dataDir the
	// embedded store's folder (the dev mail outbox lives there); devMode
	// is true without an identity provider.
	notify  config.Notify
	dataDir string
	devMode bool
	// background runs f until the process stops (a service's own loop).
	background func(f func(context.Context) error)
	// nationalLedger names the national deployment whose programme ledger
	// this region deployment uses ("" when it keeps the ledger itself).
	nationalLedger string
	// credential is this process's service credential: the calls its
	// services make to each other as themselves carry it (auth.Table).
	credential *auth.ServiceCredential
	// ctx lives as long as the process serves: background work ends with it.
	ctx context.Context
	// reconcile is when the funding service compares its subprojects with
	// the ledger.
	reconcile reconcileTiming
	// national is true on the national deployment.
	national bool
	// nationalConn returns a connection to a service of the national
	// deployment, for a region with a national peer (relay.go).
	nationalConn func(name string) (*grpc.ClientConn, error)
	// idempotencyTTL is how long a create's request_id is answered with its
	// first result (config idempotency.ttl, -idempotency-ttl), the same for
	// every service's repositories: each service's Config takes it as its
	// IdempotencyTTL.
	idempotencyTTL time.Duration
	// demo holds the services of this process that another service's demo
	// content builds on (nil or empty: none).
	demo *demoServers
}

// demoServers are this process's services as the demo seeders reach them,
// set as each registers (the seeders run after every service registered).
type demoServers struct {
	ideas ideav1.IdeaServiceServer
}

// reconcileTiming is the funding reconciler's interval and grace period.
type reconcileTiming struct {
	interval, grace time.Duration
}

func (r *reconcileTiming) flags(fs *flag.FlagSet) {
	fs.DurationVar(&r.interval, "reconcile-interval", funding.DefaultReconcileInterval,
		"how often the funding service compares its subprojects with the programme ledger")
	fs.DurationVar(&r.grace, "reconcile-grace", funding.DefaultReconcileGrace,
		"how old what a lost ledger answer left behind must be before the reconciler settles it")
}

// asService returns a client connection on which calls are made as this
// deployment itself, not for the person a handler serves: with the
// process's service credential when local (this process's own services),
// by the mTLS certificate alone when remote (a peer deployment).
func (d deps) asService(conn grpc.ClientConnInterface, local bool) grpc.ClientConnInterface {
	if local {
		return auth.AsService(conn, d.credential)
	}
	return auth.AsService(conn, nil)
}

// ideaWeights and needWeights turn the config file's scorecard weights into
// the services' (criteria not listed weigh 1; the file was checked).
func ideaWeights(byRegion map[string]config.RegionWeights) map[string]idea.Weights {
	out := map[string]idea.Weights{}
	for region, rw := range byRegion {
		if w := rw.Assessment; len(w) > 0 {
			out[region] = idea.Weights{
				PatientBenefit: config.Weight(w, "patientBenefit"), CareBenefit: config.Weight(w, "careBenefit"),
				Feasibility: config.Weight(w, "feasibility"), Novelty: config.Weight(w, "novelty"),
				MarketPotential: config.Weight(w, "marketPotential"), Risk: config.Weight(w, "risk"),
			}
		}
	}
	return out
}

func needWeights(byRegion map[string]config.RegionWeights) map[string]needs.Weights {
	out := map[string]needs.Weights{}
	for region, rw := range byRegion {
		if w := rw.Screening; len(w) > 0 {
			out[region] = needs.Weights{
				ClinicalImpact: config.Weight(w, "clinicalImpact"), PatientsAffected: config.Weight(w, "patientsAffected"),
				ProblemCost: config.Weight(w, "problemCost"), StrategicFit: config.Weight(w, "strategicFit"),
				Feasibility: config.Weight(w, "feasibility"),
			}
		}
	}
	return out
}

// service is one -target: how to put it on a gRPC server, its name in
// grpc.health.v1, and its demo content.
type service struct {
	name       string
	healthName string
	// register builds the service, registers it on s and returns the seeder
	// of its demo content (nil when it has none).
	register func(s *grpc.Server, d deps) (seed func(context.Context) error, err error)
}

// allServices is every service `motor serve` knows, in start order (a
// service's demo content may refer to that of one before it).
func allServices() []service {
	return []service{
		{
			name:       "idea",
			healthName: ideav1.IdeaService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// The DEVELOPMENT gate reads the idea's agreements from the
				// partner service, in this process or at its -upstreams
				// address, as this deployment.
				partners, err := d.conn("partner")
				if err != nil {
					return nil, fmt.Errorf("connect to the partner service: %w", err)
				}
				srv := idea.New(idea.Config{
					Store: d.store, Regions: d.regions, Logger: d.logger, Weights: ideaWeights(d.weights), IdempotencyTTL: d.idempotencyTTL,
					Partners: partnerv1.NewPartnerServiceClient(d.asService(partners, true)),
					// :spread reaches the target region's idea service: this
					// process for the regions it serves, a peer over mTLS for
					// the others.
					// Adoption is asked as this deployment, which vouches for
					// the source idea, not with the advisor's token.
					// A region no peer entry names is reached through the
					// national deployment, which relays the adoption.
					RegionIdeas: func(region string) (ideav1.IdeaServiceClient, error) {
						conn, _, err := d.regionConn("idea", region)
						if err != nil {
							return d.relayedIdeas(region, err)
						}
						return ideav1.NewIdeaServiceClient(d.asService(conn, d.regions.Has(region))), nil
					},
					Relay: d.national,
				})
				ideav1.RegisterIdeaServiceServer(s, srv)
				if d.demo != nil {
					d.demo.ideas = srv
				}
				if d.background != nil {
					d.background(srv.WarmSimilar)
				}
				return func(ctx context.Context) error { return seedIdeas(ctx, srv, d.regions) }, nil
			},
		},
		{
			name:       "needs",
			healthName: needsv1.NeedsService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// Links to ideas are checked with the idea service, in this
				// process or at its -upstreams address.
				conn, err := d.conn("idea")
				if err != nil {
					return nil, fmt.Errorf("connect to the idea service: %w", err)
				}
				// Ideas are told of links to them as this deployment.
				srv, err := needs.New(needs.Config{Store: d.store, Regions: d.regions, Logger: d.logger, Ideas: ideav1.NewIdeaServiceClient(conn), Weights: needWeights(d.weights),
					IdempotencyTTL: d.idempotencyTTL, IdeaBacklinks: ideav1.NewIdeaServiceClient(d.asService(conn, true))})
				if err != nil {
					return nil, err
				}
				needsv1.RegisterNeedsServiceServer(s, srv)
				if d.ctx != nil && len(d.regions.IDs()) > 0 {
					go srv.RunBacklinkSweep(d.ctx, backlink.DefaultSweepInterval)
				}
				if d.background != nil {
					d.background(srv.WarmSimilar)
				}
				return func(ctx context.Context) error { return seedNeeds(ctx, srv, d.regions) }, nil
			},
		},
		{
			name:       "partner",
			healthName: partnerv1.PartnerService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// Offers are matched to needs by the needs service, in this
				// process or at its -upstreams address.
				conn, err := d.conn("needs")
				if err != nil {
					return nil, fmt.Errorf("connect to the needs service: %w", err)
				}
				// Needs are told of the offers routed to them as this deployment.
				srv, err := partner.New(partner.Config{Store: d.store, Regions: d.regions, Logger: d.logger, Needs: needsv1.NewNeedsServiceClient(conn),
					IdempotencyTTL: d.idempotencyTTL, NeedBacklinks: needsv1.NewNeedsServiceClient(d.asService(conn, true))})
				if err != nil {
					return nil, err
				}
				partnerv1.RegisterPartnerServiceServer(s, srv)
				if d.ctx != nil && len(d.regions.IDs()) > 0 {
					go srv.RunBacklinkSweep(d.ctx, backlink.DefaultSweepInterval)
				}
				return func(ctx context.Context) error {
					var ideas ideav1.IdeaServiceServer
					if d.demo != nil {
						ideas = d.demo.ideas
					}
					return seedPartners(ctx, srv, ideas, d.regions, d.devSigner)
				}, nil
			},
		},
		{
			name:       "funding",
			healthName: fundingv1.SubprojectService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// Every deployment hosts a programme ledger, but subprojects
				// use the national deployment's when one is configured; a
				// deployment without one (a laptop, the national deployment
				// itself) reaches its own over gRPC all the same.
				conn, err := d.conn("ledger")
				if err != nil {
					return nil, fmt.Errorf("connect to the programme ledger: %w", err)
				}
				ledger := funding.NewLedger(funding.LedgerConfig{Store: d.store, Logger: d.logger, IdempotencyTTL: d.idempotencyTTL})
				if d.nationalLedger != "" {
					// A region of a national deployment: its gateway says
					// where the programmes are rather than answering from a
					// ledger nobody reserves from. The local one only lends
					// the demo subprojects the demo programme's rate.
					fundingv1.RegisterProgrammeServiceServer(s, funding.LedgerElsewhere{Where: d.nationalLedger})
				} else {
					fundingv1.RegisterProgrammeServiceServer(s, ledger)
				}
				refs, err := references(d)
				if err != nil {
					return nil, err
				}
				subs := funding.NewSubprojects(funding.Config{
					Store: d.store, Regions: d.regions, Logger: d.logger, IdempotencyTTL: d.idempotencyTTL,
					Ledger:     fundingv1.NewProgrammeServiceClient(d.asService(conn, d.nationalLedger == "")),
					References: refs,
				})
				fundingv1.RegisterSubprojectServiceServer(s, subs)
				// A region's figures in one call for the national dashboard,
				// from this process: it already reaches the region's idea,
				// needs and partner services, and its own subprojects.
				figures, err := regionFigures(d)
				if err != nil {
					return nil, err
				}
				coordinatorv1.RegisterRegionFiguresServiceServer(s, figures)
				if d.ctx != nil && len(d.regions.IDs()) > 0 {
					go subs.RunReconciler(d.ctx, d.reconcile.interval, d.reconcile.grace)
					go subs.RunBacklinkSweep(d.ctx, backlink.DefaultSweepInterval)
				}
				return func(ctx context.Context) error { return seedFunding(ctx, ledger, d) }, nil
			},
		},
		{
			name:       "reports",
			healthName: reportsv1.ReportService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// The followers read the audit logs from the store and the
				// ideas, needs and offers they name through those services,
				// as this deployment (its service credential: no personal
				// data), so the reports run where those services' store is.
				var conns [3]grpc.ClientConnInterface
				for i, name := range []string{"idea", "needs", "partner"} {
					conn, err := d.conn(name)
					if err != nil {
						return nil, fmt.Errorf("connect to the %s service: %w", name, err)
					}
					conns[i] = d.asService(conn, true)
				}
				srv := reports.New(reports.Config{
					Store: d.store, Regions: d.regions, Logger: d.logger,
					Ideas:  reports.GRPCIdeas(ideav1.NewIdeaServiceClient(conns[0])),
					Needs:  reports.GRPCNeeds(needsv1.NewNeedsServiceClient(conns[1])),
					Offers: reports.GRPCOffers(partnerv1.NewPartnerServiceClient(conns[2])),
					// The money report is the national ledger's; a region
					// with a national peer says where to ask.
					LedgerElsewhere: d.nationalLedger,
					// The national report asks every region's reports
					// service, here or at a peer, with the coordinator's token.
					Directory: d.directory,
					RegionReports: func(region string) (reportsv1.ReportServiceClient, error) {
						conn, _, err := d.regionConn("reports", region)
						if err != nil {
							return nil, err
						}
						return reportsv1.NewReportServiceClient(conn), nil
					},
				})
				reportsv1.RegisterReportServiceServer(s, srv)
				if d.ctx != nil && len(d.regions.IDs()) > 0 {
					go srv.Follow(d.ctx, reports.DefaultFollowInterval)
				}
				return nil, nil
			},
		},
		{
			name:       "coordinator",
			healthName: coordinatorv1.CoordinatorService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// The coordinator asks every region of the directory over
				// gRPC: this deployment for its own regions, peers over mTLS
				// for the others. It has no demo content of its own.
				// The regions this deployment serves it counts itself, with no
				// call and no second check of the caller's token.
				cfg := coordinator.Config{Store: d.store, Regions: d.directory, Conn: d.regionConn, Logger: d.logger}
				if len(d.regions.IDs()) > 0 {
					figures, err := regionFigures(d)
					if err != nil {
						return nil, err
					}
					cfg.Figures = figures
				}
				coordinatorv1.RegisterCoordinatorServiceServer(s, coordinator.New(cfg))
				return nil, nil
			},
		},
		{
			name:       "notify",
			healthName: notifyv1.NotificationService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				cfg, err := notifyConfig(d)
				if err != nil {
					return nil, err
				}
				srv, err := notify.New(cfg)
				if err != nil {
					return nil, err
				}
				notifyv1.RegisterNotificationServiceServer(s, srv)
				if d.background != nil {
					d.background(srv.Run)
				}
				return nil, nil
			},
		},
		{
			name:       "person",
			healthName: personv1.PersonService_ServiceDesc.ServiceName,
			register: func(s *grpc.Server, d deps) (func(context.Context) error, error) {
				// A person's data is gathered from every service as this
				// deployment (its service credential): the caller's token
				// reaches only what they may list, and the person service
				// has checked who they are.
				names := []string{"idea", "needs", "partner", "funding", "notify", "reports"}
				conns := map[string]grpc.ClientConnInterface{}
				for _, name := range names {
					conn, err := d.conn(name)
					if err != nil {
						return nil, fmt.Errorf("connect to the %s service: %w", name, err)
					}
					conns[name] = d.asService(conn, true)
				}
				srv, err := person.New(person.Config{
					Regions: d.regions, Logger: d.logger,
					Ideas:   ideav1.NewIdeaServiceClient(conns["idea"]),
					Needs:   needsv1.NewNeedsServiceClient(conns["needs"]),
					Partner: partnerv1.NewPartnerServiceClient(conns["partner"]),
					Funding: fundingv1.NewSubprojectServiceClient(conns["funding"]),
					Notify:  notifyv1.NewNotificationServiceClient(conns["notify"]),
					Reports: reportsv1.NewReportServiceClient(conns["reports"]),
				})
				if err != nil {
					return nil, err
				}
				personv1.RegisterPersonServiceServer(s, srv)
				return nil, nil
			},
		},
	}
}

// regionFigures is the region figures service of this deployment: it asks
// the idea, needs, funding and partner services as the deployment itself,
// since the caller was admitted by the figures service (or the dashboard)
// and the four Get…Stats need not check the same token again.
func regionFigures(d deps) (*coordinator.Figures, error) {
	var conns [4]grpc.ClientConnInterface
	for i, name := range []string{"idea", "needs", "funding", "partner"} {
		conn, err := d.conn(name)
		if err != nil {
			return nil, fmt.Errorf("connect to the %s service: %w", name, err)
		}
		conns[i] = d.asService(conn, true)
	}
	return coordinator.NewFigures(coordinator.FiguresConfig{
		Regions: d.regions,
		Ideas:   ideav1.NewIdeaServiceClient(conns[0]), Needs: needsv1.NewNeedsServiceClient(conns[1]),
		Subprojects: fundingv1.NewSubprojectServiceClient(conns[2]), Partners: partnerv1.NewPartnerServiceClient(conns[3]),
	}), nil
}

// references are the services a subproject's ideas, needs and partners are
// checked with, asked as this deployment (as :spread asks the regions it
// serves), since a region admin's token does not reach another served
// region's needs.
func references(d deps) (funding.References, error) {
	var conns [3]grpc.ClientConnInterface
	for i, name := range []string{"idea", "needs", "partner"} {
		conn, err := d.conn(name)
		if err != nil {
			return funding.References{}, fmt.Errorf("connect to the %s service: %w", name, err)
		}
		conns[i] = d.asService(conn, true)
	}
	return funding.References{
		Ideas: ideav1.NewIdeaServiceClient(conns[0]), Needs: needsv1.NewNeedsServiceClient(conns[1]),
		Partners: partnerv1.NewPartnerServiceClient(conns[2]),
	}, nil
}
