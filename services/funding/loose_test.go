package funding_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/funding"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
	"github.com/innovationsmotorer/motor/services/partner"
)

// TestDraft_SavedWhileLedgerDown: a DRAFT needs no ledger; submitting it
// does, and settles the programme's rate then.
func TestDraft_SavedWhileLedgerDown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, 5000)
		dead, err := rpc.Dial("127.0.0.1:1", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = dead.Close() })
		real := e.ledgerVia.p.Swap(dead)

		draft := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 100_000))
		if draft.GetStatus() != fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT || draft.GetEligibleCostOre() != 100_000 {
			t.Errorf("draft saved with the ledger down: %v", draft)
		}
		_, err = e.subs.SubmitSubproject(e.admin(t, vb).Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: draft.GetName(), Etag: draft.GetEtag()})
		if status.Code(err) != codes.Unavailable {
			t.Errorf("submit with the ledger down: %v, want UNAVAILABLE", err)
		}
		if now := e.get(t, draft.GetName()); now.GetEtag() != draft.GetEtag() {
			t.Errorf("the failed submit changed the draft")
		}

		e.ledgerVia.p.Store(real)
		sub := e.mustSubmit(t, draft)
		if sub.GetCoFinancingRateBp() != 5000 || sub.GetProgrammeShareOre() != 50_000 || sub.GetOwnShareOre() != 50_000 {
			t.Errorf("submitted: rate %d, shares %d/%d; want 5000 bp, 50 000/50 000 öre", sub.GetCoFinancingRateBp(), sub.GetProgrammeShareOre(), sub.GetOwnShareOre())
		}
	})
}

// TestEtagMismatch_NamesTheCurrentEtag, as the idea service's does.
func TestEtagMismatch_NamesTheCurrentEtag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1000))
		_, err := e.subs.SubmitSubproject(e.admin(t, vb).Ctx(t), &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: "99"})
		if status.Code(err) != codes.Aborted || !strings.Contains(status.Convert(err).Message(), "its etag is now "+sp.GetEtag()) {
			t.Errorf("stale etag: %v, want ABORTED naming etag %s", err, sp.GetEtag())
		}
	})
}

// TestLedgerAudit_OncePerMovement: each reservation, payment and release is
// one record of the national audit.
func TestLedgerAudit_OncePerMovement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 100_000))
		cr := e.mustReport(t, sp, &fundingv1.CostReport{PeriodStart: "2026-01-01", PeriodEnd: "2026-03-31", Lines: []*fundingv1.CostReportLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 10_000},
		}})
		if _, err := e.certify(t, cr, nil); err != nil {
			t.Fatal(err)
		}
		sp = e.get(t, sp.GetName())
		if _, err := e.subs.CloseSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
			t.Fatal(err)
		}
		evs, err := e.Store.Events(t.Context(), store.Namespace{Service: "funding", Region: "national"}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, ev := range evs {
			count[ev.Action]++
			if ev.Action == "ReserveFunds" && (!strings.Contains(ev.Key, "/allocations/") || !strings.Contains(ev.Detail, p.GetName())) {
				t.Errorf("reservation record %+v: want it on the allocation, naming the programme", ev)
			}
		}
		for _, a := range []string{"ReserveFunds", "RecordPayment", "ReleaseFunds"} {
			if count[a] != 1 {
				t.Errorf("%s appears %d times in the national audit, want once (%v)", a, count[a], count)
			}
		}
	})
}

// TestCertify_WarnsAboveBudgetLine: certifying a report whose category
// exceeds its budget line succeeds, and says so.
func TestCertify_WarnsAboveBudgetLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 100_000))
		over := e.mustReport(t, sp, &fundingv1.CostReport{PeriodStart: "2026-01-01", PeriodEnd: "2026-03-31", Lines: []*fundingv1.CostReportLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 150_000},
		}})
		if len(over.GetWarnings()) != 1 || !strings.Contains(over.GetWarnings()[0], "50000 öre above") {
			t.Errorf("submitted with warnings %q, want the certifier told before certifying", over.GetWarnings())
		}
		got, err := e.certify(t, over, nil)
		if err != nil {
			t.Fatalf("certify: %v", err)
		}
		if len(got.GetWarnings()) != 1 || !strings.Contains(got.GetWarnings()[0], "COST_CATEGORY_STAFF") || !strings.Contains(got.GetWarnings()[0], "50000 öre above") {
			t.Errorf("warnings %q, want one naming the staff line 50000 öre above its budget", got.GetWarnings())
		}
		code, body := e.REST(t, e.coordinator(t), "GET", "/v1/"+over.GetName(), "")
		if ws, _ := body["warnings"].([]any); code != http.StatusOK || len(ws) != 1 {
			t.Errorf("the report over REST: %d %v, want its warning", code, body)
		}
	})
}

// TestStats_GrantedExcludesReleased: after :close, granted is what was
// paid, released is shown apart, and both agree with the ledger.
func TestStats_GrantedExcludesReleased(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		p := e.mustProgramme(t, "p", 10_000_000, -1)
		sp := e.mustApprove(t, e.submitted(t, vb, p.GetName(), 200_000)) // granted 100 000
		cr := e.mustReport(t, sp, &fundingv1.CostReport{PeriodStart: "2026-01-01", PeriodEnd: "2026-03-31", Lines: []*fundingv1.CostReportLine{
			{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 50_000},
		}})
		if _, err := e.certify(t, cr, nil); err != nil { // pays 25 000
			t.Fatal(err)
		}
		sp = e.get(t, sp.GetName())
		if _, err := e.subs.CloseSubproject(e.admin(t, vb).Ctx(t), &fundingv1.CloseSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}); err != nil {
			t.Fatal(err)
		}
		st, err := e.subs.GetSubprojectStats(e.coordinator(t).Ctx(t), &fundingv1.GetSubprojectStatsRequest{Name: "regions/vasterbotten/subprojectStats"})
		if err != nil {
			t.Fatal(err)
		}
		bal := e.programme(t, p.GetName()).GetBalance()
		if st.GetGrantedOre() != 25_000 || st.GetPaidOre() != 25_000 || st.GetReleasedOre() != 75_000 {
			t.Errorf("stats granted/paid/released %d/%d/%d, want 25000/25000/75000", st.GetGrantedOre(), st.GetPaidOre(), st.GetReleasedOre())
		}
		if bal.GetReservedOre() != st.GetGrantedOre() || bal.GetDisbursedOre() != st.GetPaidOre() {
			t.Errorf("ledger reserved/disbursed %d/%d, stats granted/paid %d/%d: want them equal", bal.GetReservedOre(), bal.GetDisbursedOre(), st.GetGrantedOre(), st.GetPaidOre())
		}
	})
}

// refEnv is the funding services with the idea, needs and partner services
// behind them, so a subproject's references are checked for real.
type refEnv struct {
	*stack.Env
	subs     fundingv1.SubprojectServiceClient
	ideas    ideav1.IdeaServiceClient
	needs    needsv1.NeedsServiceClient
	partners partnerv1.PartnerServiceClient
}

func newRefEnv(t *testing.T, b stack.Backend) *refEnv {
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	via := &switchConn{}
	self := &lazyConn{}
	e := stack.Start(t, st, func(s *grpc.Server) {
		ideaSrv := idea.New(idea.Config{Store: st, Regions: served})
		needSrv, err := needs.New(needs.Config{Store: st, Regions: served, Ideas: ideav1.NewIdeaServiceClient(self)})
		if err != nil {
			t.Fatal(err)
		}
		partnerSrv, err := partner.New(partner.Config{Store: st, Regions: served, Needs: needsv1.NewNeedsServiceClient(self)})
		if err != nil {
			t.Fatal(err)
		}
		ideav1.RegisterIdeaServiceServer(s, ideaSrv)
		needsv1.RegisterNeedsServiceServer(s, needSrv)
		partnerv1.RegisterPartnerServiceServer(s, partnerSrv)
		fundingv1.RegisterProgrammeServiceServer(s, funding.NewLedger(funding.LedgerConfig{Store: st}))
		fundingv1.RegisterSubprojectServiceServer(s, funding.NewSubprojects(funding.Config{
			Store: st, Regions: served, Ledger: fundingv1.NewProgrammeServiceClient(via),
			References: funding.References{
				Ideas: ideav1.NewIdeaServiceClient(via), Needs: needsv1.NewNeedsServiceClient(via),
				Partners: partnerv1.NewPartnerServiceClient(via),
			},
		}))
	})
	via.p.Store(e.Conn)
	via.cred.Store(e.Credential)
	self.p.Store(e.Conn)
	return &refEnv{Env: e, subs: fundingv1.NewSubprojectServiceClient(e.Conn), ideas: ideav1.NewIdeaServiceClient(e.Conn),
		needs: needsv1.NewNeedsServiceClient(e.Conn), partners: partnerv1.NewPartnerServiceClient(e.Conn)}
}

// lazyConn is the process's own connection, known once the server runs;
// calls carry the token the caller put on the context.
type lazyConn struct {
	p atomic.Pointer[grpc.ClientConn]
}

func (l *lazyConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return l.p.Load().Invoke(ctx, method, args, reply, opts...)
}

func (l *lazyConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return l.p.Load().NewStream(ctx, desc, method, opts...)
}

// TestReferences_MustExistInAServedRegion: a subproject's ideas, needs and
// partners are asked of their services; missing ones, and ones of a region
// this deployment does not serve, are named all at once.
func TestReferences_MustExistInAServedRegion(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newRefEnv(t, b)
			admin := e.As(t, auth.RegionAdmin, vb)
			coord := e.As(t, auth.Coordinator, auth.NationalRegion)
			p, err := fundingv1.NewProgrammeServiceClient(e.Conn).CreateProgramme(coord.Ctx(t), &fundingv1.CreateProgrammeRequest{ProgrammeId: "p",
				Programme: &fundingv1.Programme{Title: "P", BudgetOre: 10_000_000, StartDate: "2026-01-01", EndDate: "2028-12-31"}})
			if err != nil {
				t.Fatal(err)
			}
			i, err := e.ideas.CreateIdea(admin.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
				Title: "Videobesök", Problem: "Långa resor", Origin: ideav1.Origin_ORIGIN_STAFF}})
			if err != nil {
				t.Fatal(err)
			}
			n, err := e.needs.CreateNeed(admin.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/uppsala", Need: &needsv1.Need{
				Problem: "ta INR-prov hemma", Population: "patienter med waran", Outcome: "slippa resor", ReportedBy: ideav1.Origin_ORIGIN_STAFF}})
			if err == nil || status.Code(err) != codes.PermissionDenied {
				t.Fatalf("a vasterbotten admin creates an uppsala need: %v", err)
			}
			n, err = e.needs.CreateNeed(e.As(t, auth.RegionAdmin, up).Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/uppsala", Need: &needsv1.Need{
				Problem: "ta INR-prov hemma", Population: "patienter med waran", Outcome: "slippa resor", ReportedBy: ideav1.Origin_ORIGIN_STAFF}})
			if err != nil {
				t.Fatal(err)
			}
			pa, err := e.partners.CreatePartner(admin.Ctx(t), &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{
				DisplayName: "Norrsken Medtech AB", OrgNumber: "559318-4426", Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL}})
			if err != nil {
				t.Fatal(err)
			}

			sp := sampleSubproject(p.GetName(), 100_000)
			sp.Ideas = []string{i.GetName(), "regions/vasterbotten/ideas/nope"}
			sp.Needs = []string{"regions/stockholm/needs/x1"}
			sp.Partners = []*fundingv1.SubprojectPartner{{Partner: "regions/vasterbotten/partners/ghost", Role: "utvecklare"}}
			_, err = e.subs.CreateSubproject(admin.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: sp})
			want := []string{"subproject.ideas[1]", "subproject.needs[0]", "subproject.partners[0].partner"}
			if f := fieldViolations(err); status.Code(err) != codes.InvalidArgument || !slices.Equal(f, want) {
				t.Errorf("bad references: %v (fields %v), want %v", err, f, want)
			}

			// Another served region's need is fine: subprojects build on common needs.
			sp.Ideas, sp.Needs = []string{i.GetName()}, []string{n.GetName()}
			sp.Partners = []*fundingv1.SubprojectPartner{{Partner: pa.GetName(), Role: "utvecklare"}}
			created, err := e.subs.CreateSubproject(admin.Ctx(t), &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: sp})
			if err != nil {
				t.Fatalf("good references: %v", err)
			}
			_, err = e.subs.UpdateSubproject(admin.Ctx(t), &fundingv1.UpdateSubprojectRequest{
				Subproject: &fundingv1.Subproject{Name: created.GetName(), Etag: created.GetEtag(), Ideas: []string{"regions/vasterbotten/ideas/nope"}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"ideas"}}})
			if f := fieldViolations(err); !slices.Equal(f, []string{"subproject.ideas[0]"}) {
				t.Errorf("update to a missing idea: %v (fields %v)", err, f)
			}
		})
	}
}
