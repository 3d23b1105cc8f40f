package funding_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	"github.com/innovationsmotorer/motor/services/funding"
)

// switchConn is the subproject service's way to the ledger. Tests point it
// at the real server, at a connection that drops replies, or at nothing.
// Its calls are made as the service itself, with the server's service
// credential, as `motor serve` makes them.
type switchConn struct {
	p    atomic.Pointer[grpc.ClientConn]
	cred atomic.Pointer[auth.ServiceCredential]
}

func (s *switchConn) conn() grpc.ClientConnInterface {
	return auth.AsService(s.p.Load(), s.cred.Load())
}

func (s *switchConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return s.conn().Invoke(ctx, method, args, reply, opts...)
}

func (s *switchConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return s.conn().NewStream(ctx, desc, method, opts...)
}

// env is both funding services for vasterbotten and uppsala on one store,
// reached over gRPC and REST, the subproject service calling the ledger over
// gRPC like a region calls the national deployment.
type env struct {
	*stack.Env
	subs      fundingv1.SubprojectServiceClient
	ledger    fundingv1.ProgrammeServiceClient
	ledgerVia *switchConn
	// sys is the ledger as the funding service reaches it: as itself, with
	// the server's service credential, never with a user token.
	sys fundingv1.ProgrammeServiceClient
	// service is the subproject service itself, for its reconciler.
	service *funding.Subprojects
	backend string
}

type envOptions struct {
	ledgerTimeout time.Duration
}

func newEnv(t testing.TB, b stack.Backend, opts ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, f := range opts {
		f(&o)
	}
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	via := &switchConn{}
	service := funding.NewSubprojects(funding.Config{
		Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(via), LedgerTimeout: o.ledgerTimeout,
	})
	e := stack.Start(t, st, func(s *grpc.Server) {
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
		fundingv1.RegisterSubprojectServiceServer(s, service)
	})
	via.p.Store(e.Conn)
	via.cred.Store(e.Credential)
	return &env{Env: e, subs: fundingv1.NewSubprojectServiceClient(e.Conn), ledger: fundingv1.NewProgrammeServiceClient(e.Conn), ledgerVia: via, backend: b.Name,
		sys: fundingv1.NewProgrammeServiceClient(auth.AsService(e.Conn, e.Credential)), service: service}
}

// forEachBackend runs the test body on both store backends.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

func (e *env) coordinator(t testing.TB) stack.Caller {
	return e.As(t, auth.Coordinator, auth.NationalRegion)
}
func (e *env) admin(t testing.TB, region string) stack.Caller {
	return e.As(t, auth.RegionAdmin, region)
}

const (
	vb = "vasterbotten"
	up = "uppsala"
)

// mustProgramme opens a programme; rate < 0 leaves the rate at its default.
func (e *env) mustProgramme(t testing.TB, id string, budget int64, rate int32) *fundingv1.Programme {
	t.Helper()
	p := &fundingv1.Programme{Title: "Programme " + id, BudgetOre: budget, StartDate: "2026-01-01", EndDate: "2028-12-31"}
	if rate >= 0 {
		p.CoFinancingRateBp = proto.Int32(rate)
	}
	got, err := e.ledger.CreateProgramme(e.coordinator(t).Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: id, Programme: p})
	if err != nil {
		t.Fatalf("CreateProgramme %s: %v", id, err)
	}
	return got
}

// sampleSubproject has one eligible staff line of eligible öre, a
// non-eligible travel line, and contributions that cover any own share.
func sampleSubproject(programme string, eligible int64) *fundingv1.Subproject {
	return &fundingv1.Subproject{
		Title:       "Digital egenmonitorering av KOL",
		Description: "Patienter mäter saturation hemma och rapporterar via 1177.",
		Programme:   programme,
		Ideas:       []string{"regions/vasterbotten/ideas/abc123"},
		Needs:       []string{"regions/uppsala/needs/def456"},
		Partners:    []*fundingv1.SubprojectPartner{{Partner: "regions/vasterbotten/partners/medtech-ab", Role: "utvecklare"}},
		BudgetLines: []*fundingv1.BudgetLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, Description: "Projektledare 50 %", AmountOre: eligible, Eligible: true},
			{Category: fundingv1.CostCategory_COST_CATEGORY_TRAVEL, Description: "Resor", AmountOre: 12_345_00},
		},
		Contributions: []*fundingv1.Contribution{
			{Party: "Region", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: eligible},
		},
	}
}

func (e *env) mustCreate(t testing.TB, region string, sp *fundingv1.Subproject) *fundingv1.Subproject {
	t.Helper()
	got, err := e.subs.CreateSubproject(e.admin(t, region).Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/" + region, Subproject: sp})
	if err != nil {
		t.Fatalf("CreateSubproject: %v", err)
	}
	return got
}

func (e *env) mustSubmit(t testing.TB, sp *fundingv1.Subproject) *fundingv1.Subproject {
	t.Helper()
	got, err := e.subs.SubmitSubproject(e.admin(t, regionOf(sp.GetName())).Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
	if err != nil {
		t.Fatalf("SubmitSubproject: %v", err)
	}
	return got
}

func (e *env) mustApprove(t testing.TB, sp *fundingv1.Subproject) *fundingv1.Subproject {
	t.Helper()
	got, err := e.subs.ApproveSubproject(e.coordinator(t).Ctx(t), &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()})
	if err != nil {
		t.Fatalf("ApproveSubproject: %v", err)
	}
	return got
}

// submitted creates and submits a subproject with eligible öre of cost.
func (e *env) submitted(t testing.TB, region, programme string, eligible int64) *fundingv1.Subproject {
	t.Helper()
	return e.mustSubmit(t, e.mustCreate(t, region, sampleSubproject(programme, eligible)))
}

func (e *env) get(t testing.TB, name string) *fundingv1.Subproject {
	t.Helper()
	got, err := e.subs.GetSubproject(e.coordinator(t).Ctx(t), &fundingv1.GetSubprojectRequest{Name: name})
	if err != nil {
		t.Fatalf("GetSubproject: %v", err)
	}
	return got
}

func (e *env) programme(t testing.TB, name string) *fundingv1.Programme {
	t.Helper()
	got, err := e.ledger.GetProgramme(e.coordinator(t).Ctx(t), &fundingv1.GetProgrammeRequest{Name: name})
	if err != nil {
		t.Fatalf("GetProgramme: %v", err)
	}
	return got
}

// allocations lists every allocation of a programme, page by page.
func (e *env) allocations(t testing.TB, programme string) []*fundingv1.Allocation {
	t.Helper()
	var out []*fundingv1.Allocation
	token := ""
	for {
		resp, err := e.ledger.ListAllocations(e.coordinator(t).Ctx(t), &fundingv1.ListAllocationsRequest{Parent: programme, PageSize: 37, PageToken: token})
		if err != nil {
			t.Fatalf("ListAllocations: %v", err)
		}
		out = append(out, resp.GetAllocations()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// balanceIs checks a programme's balance; step names the moment checked.
func (e *env) balanceIs(t testing.TB, programme, step string, reserved, disbursed int64) {
	t.Helper()
	p := e.programme(t, programme)
	b := p.GetBalance()
	want := &fundingv1.Balance{ReservedOre: reserved, DisbursedOre: disbursed, AvailableOre: p.GetBudgetOre() - reserved}
	if !proto.Equal(b, want) {
		t.Errorf("%s: balance %v, want %v", step, b, want)
	}
}

// events reads a namespace's audit log.
func (e *env) events(t testing.TB, region string) []store.Event {
	t.Helper()
	evs, err := e.Store.Events(t.Context(), store.Namespace{Service: "funding", Region: region}, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func regionOf(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func fieldViolations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}
