package reports_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

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

// clock is a settable time for every service, so things happen in the
// months a test names.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

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

// env is Motor's region services for vasterbotten and uppsala, the
// programme ledger and the reports service on one store, over gRPC and
// REST. The reports service reads what the audit logs name as this
// deployment, through the services' own APIs.
type env struct {
	*stack.Env
	clock    *clock
	ideas    ideav1.IdeaServiceClient
	needs    needsv1.NeedsServiceClient
	partners partnerv1.PartnerServiceClient
	subs     fundingv1.SubprojectServiceClient
	ledger   fundingv1.ProgrammeServiceClient
	reports  reportsv1.ReportServiceClient
	server   *reports.Server
	// newReplica starts another reports service on the same store.
	newReplica func() *reports.Server
}

func newEnv(t *testing.T, b stack.Backend) *env {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	clk := &clock{now: time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)}
	asService, plain := &lateConn{}, &lateConn{}
	build := func() *reports.Server {
		return reports.New(reports.Config{
			Store: st, Regions: served, Now: clk.Now, Batch: 3,
			Ideas:  reports.GRPCIdeas(ideav1.NewIdeaServiceClient(asService)),
			Needs:  reports.GRPCNeeds(needsv1.NewNeedsServiceClient(asService)),
			Offers: reports.GRPCOffers(partnerv1.NewPartnerServiceClient(asService)),
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
	return &env{
		Env: e, clock: clk, server: srv, newReplica: build,
		ideas:    ideav1.NewIdeaServiceClient(e.Conn),
		needs:    needsv1.NewNeedsServiceClient(e.Conn),
		partners: partnerv1.NewPartnerServiceClient(e.Conn),
		subs:     fundingv1.NewSubprojectServiceClient(e.Conn),
		ledger:   fundingv1.NewProgrammeServiceClient(e.Conn),
		reports:  reportsv1.NewReportServiceClient(e.Conn),
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}
