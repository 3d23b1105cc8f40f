package reports_test

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/reports"
)

// clock is a settable time for the idea service, so ideas are submitted and
// moved in the months a test names.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// env is the idea and reports services of vasterbotten and uppsala on one
// store, over gRPC and REST; the reports service reads ideas as this
// deployment, through the idea service's own API.
type env struct {
	*stack.Env
	clock   *clock
	ideas   ideav1.IdeaServiceClient
	reports reportsv1.ReportServiceClient
	server  *reports.Server
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
	var asService ideav1.IdeaServiceClient // set once the server listens
	source := reports.GRPCIdeas(lazyIdeas{&asService})
	build := func() *reports.Server {
		return reports.New(reports.Config{Store: st, Regions: served, Ideas: source, Now: clk.Now, Batch: 3})
	}
	srv := build()
	e := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served, Now: clk.Now}))
		reportsv1.RegisterReportServiceServer(s, srv)
	})
	asService = ideav1.NewIdeaServiceClient(auth.AsService(e.Conn, e.Credential))
	return &env{
		Env: e, clock: clk, server: srv, newReplica: build,
		ideas:   ideav1.NewIdeaServiceClient(e.Conn),
		reports: reportsv1.NewReportServiceClient(e.Conn),
	}
}

func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}
