package coordinator_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/telemetry"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/coordinator"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
)

const (
	vb = "vasterbotten"
	up = "uppsala"
)

// lateConn is a connection known only once the stack runs: the services
// that call each other are built before it exists.
// With a credential, its calls are made as the calling service itself.
type lateConn struct {
	p    atomic.Pointer[grpc.ClientConn]
	cred atomic.Pointer[auth.ServiceCredential]
}

func (l *lateConn) conn() grpc.ClientConnInterface {
	if c := l.cred.Load(); c != nil {
		return auth.AsService(l.p.Load(), c)
	}
	return l.p.Load()
}

func (l *lateConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.conn().Invoke(ctx, method, args, reply, opts...)
}

func (l *lateConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.conn().NewStream(ctx, desc, method, opts...)
}

// env is both regions' real idea, needs, funding and partner services and
// the coordinator on one stack. The coordinator reaches each region over
// gRPC through its Conn, which a test may point elsewhere for one region:
// at a closed port (the region's process is gone) or at a server that never
// answers.
type env struct {
	*stack.Env
	client coordinatorv1.CoordinatorServiceClient
	tel    *telemetry.Telemetry

	mu       sync.Mutex
	override map[string]*grpc.ClientConn
}

type envOptions struct {
	regionTimeout time.Duration
	tel           *telemetry.Telemetry // nil: the stack's own
	// nationalStore wraps the store the coordinator keeps figures in.
	nationalStore func(store.Store) store.Store
	logger        *slog.Logger
	// localFigures has the coordinator count both regions itself, as a
	// process serving them does, instead of asking each region's figures
	// service through Conn as it asks a peer deployment.
	localFigures bool
	// regions are the regions served and in the directory (default
	// västerbotten and uppsala).
	regions []string
}

func newEnv(t testing.TB, b stack.Backend, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	regions := []string{vb, up}
	if len(o.regions) > 0 {
		regions = o.regions
	}
	served, err := config.ParseServed(strings.Join(regions, ","))
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	self, asService := &lateConn{}, &lateConn{}
	e := &env{override: map[string]*grpc.ClientConn{}}
	register := func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		ns, err := needs.New(needs.Config{Store: st, Regions: served, Ideas: ideav1.NewIdeaServiceClient(self)})
		if err != nil {
			t.Fatal(err)
		}
		needsv1.RegisterNeedsServiceServer(s, ns)
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{
			Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(asService),
		}))
		ps, err := partner.New(partner.Config{Store: st, Regions: served, Needs: needsv1.NewNeedsServiceClient(self)})
		if err != nil {
			t.Fatal(err)
		}
		partnerv1.RegisterPartnerServiceServer(s, ps)
		national := st
		if o.nationalStore != nil {
			national = o.nationalStore(st)
		}
		// The figures service asks the four services as the deployment.
		figures := coordinator.NewFigures(coordinator.FiguresConfig{
			Regions: served,
			Ideas:   ideav1.NewIdeaServiceClient(asService), Needs: needsv1.NewNeedsServiceClient(asService),
			Subprojects: fundingv1.NewSubprojectServiceClient(asService), Partners: partnerv1.NewPartnerServiceClient(asService),
		})
		coordinatorv1.RegisterRegionFiguresServiceServer(s, figures)
		cfg := coordinator.Config{
			Store:         national,
			Regions:       func() []string { return regions },
			Conn:          e.conn,
			RegionTimeout: o.regionTimeout,
			Logger:        o.logger,
		}
		if o.localFigures {
			cfg.Figures = figures
		}
		coordinatorv1.RegisterCoordinatorServiceServer(s, coordinator.New(cfg))
	}
	if o.tel == nil {
		// As stack.Start, kept so that other connections to the stack are
		// instrumented as its own.
		if o.tel, err = telemetry.Setup(t.Context(), telemetry.Options{Service: "motor-test", Target: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	e.tel = o.tel
	e.Env = stack.StartWith(t, st, o.tel, register)
	self.p.Store(e.Conn)
	asService.p.Store(e.Conn)
	asService.cred.Store(e.Credential)
	e.client = coordinatorv1.NewCoordinatorServiceClient(e.Conn)
	return e
}

// conn is the coordinator's way to a region: the stack itself (deployment
// "test-REGION") unless a test pointed the region elsewhere.
func (e *env) conn(_, region string) (*grpc.ClientConn, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.override[region]; c != nil {
		return c, "test-" + region, nil
	}
	return e.Conn, "test-" + region, nil
}

// pointRegion sends the coordinator's calls for region to conn (nil: back
// to the stack).
func (e *env) pointRegion(region string, conn *grpc.ClientConn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.override[region] = conn
}

// forEachBackend runs the test body on both store backends.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env), opts ...func(*envOptions)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b, opts...)) })
	}
}

func (e *env) coordinator(t testing.TB) stack.Caller {
	return e.As(t, auth.Coordinator, auth.NationalRegion)
}

// closedPort is a connection to a loopback port nobody listens on: a region
// whose process was killed.
func closedPort(t testing.TB) *grpc.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return dial(t, addr)
}

// fakeRegion serves every method by waiting until the caller gives up (a
// region that hangs), and grpc.health.v1 with the given statuses.
func fakeRegion(t testing.TB, statuses map[string]healthpb.HealthCheckResponse_ServingStatus) *grpc.ClientConn {
	t.Helper()
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		<-stream.Context().Done()
		return stream.Context().Err()
	}))
	h := health.NewServer()
	for name, st := range statuses {
		h.SetServingStatus(name, st)
	}
	healthpb.RegisterHealthServer(srv, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return dial(t, lis.Addr().String())
}

func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := rpc.Dial(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// restCall sends one request through the gateway and decodes the answer.
func restCall(t *testing.T, e *env, c stack.Caller, method, path string) (int, map[string]any) {
	t.Helper()
	return e.REST(t, c, method, path, "")
}
