// Package deployment starts one region deployment's services for tests —
// idea, needs, partner, funding with the programme ledger, and reports —
// on one store behind the real gateway, wired to each other over gRPC as
// `motor serve` wires them, with a settable clock.
package deployment

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
	"github.com/innovationsmotorer/motor/services/reports"
)

// Clock is a settable time for every service, so things happen in the
// months a test names.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *Clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *Clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// lateConn is a connection bound once the server it reaches listens: the
// services call each other through it, as `motor serve` wires them.
type lateConn struct {
	p atomic.Pointer[grpc.ClientConnInterface]
}

func (l *lateConn) set(c grpc.ClientConnInterface) { l.p.Store(&c) }

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return (*l.p.Load()).Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return (*l.p.Load()).NewStream(ctx, desc, method, opts...)
}

// Env is Motor's region services for vasterbotten and uppsala, the
// programme ledger and the reports service on one store, over gRPC and
// REST. The reports service reads what the audit logs name as this
// deployment, through the services' own APIs.
type Env struct {
	*stack.Env
	Clock    *Clock
	Ideas    ideav1.IdeaServiceClient
	Needs    needsv1.NeedsServiceClient
	Partners partnerv1.PartnerServiceClient
	Subs     fundingv1.SubprojectServiceClient
	Ledger   fundingv1.ProgrammeServiceClient
	Reports  reportsv1.ReportServiceClient
	// Server is the reports service, for its followers.
	Server *reports.Server
	// NewReplica builds another reports service on the same store.
	NewReplica func() *reports.Server
}

// Start serves vasterbotten and uppsala on a fresh store of backend b; the
// clock starts at 10 January 2026.
func Start(t testing.TB, b stack.Backend) *Env { return StartBatch(t, b, 3) }

// StartBatch is Start with the number of audit events the reports service
// folds per commit (Start's 3 makes tests cross batch boundaries).
func StartBatch(t testing.TB, b stack.Backend, batch int) *Env {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	clk := &Clock{now: time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)}
	asService, plain := &lateConn{}, &lateConn{}
	build := func() *reports.Server {
		return reports.New(reports.Config{
			Store: st, Regions: served, Now: clk.Now, Batch: batch,
			Ideas:  reports.GRPCIdeas(ideav1.NewIdeaServiceClient(asService)),
			Needs:  reports.GRPCNeeds(needsv1.NewNeedsServiceClient(asService)),
			Offers: reports.GRPCOffers(partnerv1.NewPartnerServiceClient(asService)),
			// skane is in the directory but no deployment serves it: the
			// national report's region that does not answer.
			Directory: func() []string { return []string{"vasterbotten", "uppsala", "skane"} },
			RegionReports: func(region string) (reportsv1.ReportServiceClient, error) {
				if !served.Has(region) {
					return nil, fmt.Errorf("region %s is served neither by this deployment nor by a configured peer", region)
				}
				return reportsv1.NewReportServiceClient(plain), nil
			},
		})
	}
	srv := build()
	e := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served, Now: clk.Now}))
		ns, err := needs.New(needs.Config{Store: st, Regions: served, Now: clk.Now, Ideas: ideav1.NewIdeaServiceClient(plain)})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, ns)
		ps, err := partner.New(partner.Config{Store: st, Regions: served, Now: clk.Now, Needs: needsv1.NewNeedsServiceClient(plain)})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st, Now: clk.Now}))
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{
			Store: st, Regions: served, Now: clk.Now, Ledger: fundingv1.NewProgrammeServiceClient(asService),
		}))
		reportsv1.RegisterReportServiceServer(s, srv)
	})
	asService.set(auth.AsService(e.Conn, e.Credential))
	plain.set(e.Conn)
	return &Env{
		Env: e, Clock: clk, Server: srv, NewReplica: build,
		Ideas:    ideav1.NewIdeaServiceClient(e.Conn),
		Needs:    needsv1.NewNeedsServiceClient(e.Conn),
		Partners: partnerv1.NewPartnerServiceClient(e.Conn),
		Subs:     fundingv1.NewSubprojectServiceClient(e.Conn),
		Ledger:   fundingv1.NewProgrammeServiceClient(e.Conn),
		Reports:  reportsv1.NewReportServiceClient(e.Conn),
	}
}

// Programme is the programme the funding helpers use.
const Programme = "programmes/motor-2026"

// CreateProgramme opens Programme at 50 % co-financing.
func (e *Env) CreateProgramme(t testing.TB) {
	t.Helper()
	coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
	if _, err := e.Ledger.CreateProgramme(coordinator.Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: "motor-2026", Programme: &fundingv1.Programme{
		Title: "Innovationsmotorer 2026", BudgetOre: 10_000_000_00, CoFinancingRateBp: proto.Int32(5000), StartDate: "2026-01-01", EndDate: "2027-12-31",
	}}); err != nil {
		t.Fatalf("CreateProgramme: %v", err)
	}
}

// ApprovedSubproject creates, submits and approves a subproject of region
// on Programme with eligible costs of eligibleOre.
func (e *Env) ApprovedSubproject(t testing.TB, region string, eligibleOre int64) *fundingv1.Subproject {
	t.Helper()
	admin := e.As(t, auth.RegionAdmin, region)
	sp, err := e.Subs.CreateSubproject(admin.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/" + region, Subproject: &fundingv1.Subproject{
		Title: "Videobesök", Description: "Videobesök för KOL-kontroller.", Programme: Programme,
		BudgetLines: []*fundingv1.BudgetLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, Description: "Projektledare", AmountOre: eligibleOre, Eligible: true},
			{Category: fundingv1.CostCategory_COST_CATEGORY_TRAVEL, Description: "Resor", AmountOre: 10_000, Eligible: false},
		},
		Contributions: []*fundingv1.Contribution{{Party: "Region " + region, Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: eligibleOre}},
	}})
	if err != nil {
		t.Fatalf("CreateSubproject: %v", err)
	}
	if sp, err = e.Subs.SubmitSubproject(admin.Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
		t.Fatalf("SubmitSubproject: %v", err)
	}
	coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
	if sp, err = e.Subs.ApproveSubproject(coordinator.Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
		t.Fatalf("ApproveSubproject: %v", err)
	}
	return sp
}

// CertifiedCostReport reports costs of amountOre on sp and has them
// certified, which pays the programme's share.
func (e *Env) CertifiedCostReport(t testing.TB, sp *fundingv1.Subproject, amountOre int64) *fundingv1.CostReport {
	t.Helper()
	region := strings.Split(sp.GetName(), "/")[1]
	admin := e.As(t, auth.RegionAdmin, region)
	cr, err := e.Subs.CreateCostReport(admin.Ctx(t), &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: &fundingv1.CostReport{
		PeriodStart: "2026-02-01", PeriodEnd: "2026-04-30",
		Lines: []*fundingv1.CostReportLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: amountOre, Description: "Lön"}},
	}})
	if err != nil {
		t.Fatalf("CreateCostReport: %v", err)
	}
	if cr, err = e.Subs.SubmitCostReport(admin.Ctx(t), &fundingv1.SubmitCostReportRequest{Name: cr.GetName(), Etag: cr.GetEtag()}); err != nil {
		t.Fatalf("SubmitCostReport: %v", err)
	}
	coordinator := e.As(t, auth.Coordinator, auth.NationalRegion)
	if cr, err = e.Subs.CertifyCostReport(coordinator.Ctx(t), &fundingv1.CertifyCostReportRequest{Name: cr.GetName(), Etag: cr.GetEtag()}); err != nil {
		t.Fatalf("CertifyCostReport: %v", err)
	}
	return cr
}
