package needs_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
)

// lateIdeas is an idea client that is set once the server listens: the
// needs service is built before the address it calls the idea service on
// is known.
type lateIdeas struct{ ideav1.IdeaServiceClient }

// env is the idea and needs services for vasterbotten and uppsala on one
// store and one gRPC server, reached over gRPC and REST. The needs service
// calls the idea service through that server, with its interceptors.
type env struct {
	*stack.Env
	client needsv1.NeedsServiceClient
	ideas  ideav1.IdeaServiceClient
	// needsServer is the service itself, for its outbox sweep.
	needsServer *needs.Server
}

func newEnv(t *testing.T, b stack.Backend, configure ...func(*needs.Config)) *env {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	late := &lateIdeas{}
	cfg := needs.Config{Store: st, Regions: served, Ideas: late}
	for _, c := range configure {
		c(&cfg)
	}
	srv, err := needs.New(cfg)
	if err != nil {
		t.Fatalf("needs.New: %v", err)
	}
	e := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		needsv1.RegisterNeedsServiceServer(s, srv)
	})
	if late.IdeaServiceClient == nil {
		late.IdeaServiceClient = ideav1.NewIdeaServiceClient(e.Conn)
	}
	return &env{Env: e, client: needsv1.NewNeedsServiceClient(e.Conn), ideas: ideav1.NewIdeaServiceClient(e.Conn), needsServer: srv}
}

// forEachBackend runs the test body on both store backends.
func forEachBackend(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

func sampleNeed() *needsv1.Need {
	return &needsv1.Need{
		Problem:                 "upptäcka fall nattetid",
		Population:              "boende på särskilda boenden",
		Outcome:                 "korta tiden en person ligger på golvet",
		CareUnit:                "Äldreomsorg Umeå",
		ReportedBy:              ideav1.Origin_ORIGIN_STAFF,
		Evidence:                "Avvikelserapporter 2024: 41 fall nattetid, varav 12 upptäcktes efter mer än en timme.",
		PatientsAffectedPerYear: 900,
	}
}

func (e *env) mustCreate(t *testing.T, c stack.Caller, region string, in *needsv1.Need) *needsv1.Need {
	t.Helper()
	got, err := e.client.CreateNeed(c.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/" + region, Need: in})
	if err != nil {
		t.Fatalf("CreateNeed: %v", err)
	}
	return got
}

func (e *env) mustTransition(t *testing.T, c stack.Caller, need *needsv1.Need, to needsv1.NeedStatus, reason string) *needsv1.Need {
	t.Helper()
	got, err := e.client.TransitionNeed(c.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: to, Reason: reason, Etag: need.GetEtag()})
	if err != nil {
		t.Fatalf("TransitionNeed to %v: %v", to, err)
	}
	return got
}

func (e *env) mustScreen(t *testing.T, c stack.Caller, need *needsv1.Need, scores ...int32) *needsv1.Screening {
	t.Helper()
	sc, err := e.client.CreateScreening(c.Ctx(t), &needsv1.CreateScreeningRequest{Parent: need.GetName(), Screening: screening(scores...)})
	if err != nil {
		t.Fatalf("CreateScreening: %v", err)
	}
	return sc
}

func (e *env) mustGet(t *testing.T, c stack.Caller, name string) *needsv1.Need {
	t.Helper()
	got, err := e.client.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: name})
	if err != nil {
		t.Fatalf("GetNeed: %v", err)
	}
	return got
}

// screening is a round with the scores given in the proto's order (clinical
// impact, patients affected, problem cost, strategic fit, feasibility).
func screening(scores ...int32) *needsv1.Screening {
	s := make([]int32, 5)
	copy(s, scores)
	return &needsv1.Screening{ClinicalImpact: s[0], PatientsAffected: s[1], ProblemCost: s[2], StrategicFit: s[3], Feasibility: s[4], Comment: "Workshop"}
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
	slices.Sort(fields)
	return slices.Compact(fields)
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestCreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		created := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())

		if !strings.HasPrefix(created.GetName(), "regions/vasterbotten/needs/") {
			t.Errorf("name %q: want regions/vasterbotten/needs/…", created.GetName())
		}
		want := "Ett sätt att upptäcka fall nattetid hos boende på särskilda boenden för att korta tiden en person ligger på golvet"
		if created.GetStatement() != want {
			t.Errorf("statement %q, want %q", created.GetStatement(), want)
		}
		if created.GetStatus() != needsv1.NeedStatus_NEED_STATUS_IDENTIFIED || created.GetPriorityScore() != 0 || len(created.GetLinks()) != 0 {
			t.Errorf("new need: status %v, priority %v, links %v", created.GetStatus(), created.GetPriorityScore(), created.GetLinks())
		}
		if created.GetEtag() != "1" || created.GetCreateTime() == nil || created.GetUpdateTime() == nil {
			t.Errorf("etag %q, times %v %v: all must be set", created.GetEtag(), created.GetCreateTime(), created.GetUpdateTime())
		}

		got := e.mustGet(t, advisor, created.GetName())
		if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetNeed (-want +got):\n%s", diff)
		}
		list, err := e.client.ListNeeds(advisor.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatalf("ListNeeds: %v", err)
		}
		if diff := cmp.Diff([]*needsv1.Need{created}, list.GetNeeds(), protocmp.Transform()); diff != "" {
			t.Errorf("ListNeeds (-want +got):\n%s", diff)
		}
		if list.GetNextPageToken() != "" {
			t.Errorf("next_page_token %q at the end, want empty", list.GetNextPageToken())
		}
	})
}

func TestCreate_StatementReadsAsOneSentence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		in := sampleNeed()
		in.Problem, in.Population, in.Outcome = "  minska väntetiden till hörselundersökning. ", "barn i Västerbotten,", "upptäcka hörselnedsättning tidigt!"
		got := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", in)
		want := "Ett sätt att minska väntetiden till hörselundersökning hos barn i Västerbotten för att upptäcka hörselnedsättning tidigt"
		if got.GetStatement() != want {
			t.Errorf("statement %q, want %q", got.GetStatement(), want)
		}
		if got.GetProblem() != "minska väntetiden till hörselundersökning." {
			t.Errorf("problem %q: want the input, trimmed", got.GetProblem())
		}
	})
}

func TestCreate_OutputOnlyFieldsIgnored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		in := sampleNeed()
		in.Name = "regions/uppsala/needs/chosen"
		in.Statement = "A way to cheat"
		in.Status = needsv1.NeedStatus_NEED_STATUS_MATCHED
		in.PriorityScore = 5
		in.Links = []string{"regions/vasterbotten/ideas/x"}
		in.Etag = "77"
		got := e.mustCreate(t, e.As(t, auth.Advisor, "vasterbotten"), "vasterbotten", in)
		if got.GetStatus() != needsv1.NeedStatus_NEED_STATUS_IDENTIFIED || got.GetPriorityScore() != 0 || len(got.GetLinks()) != 0 ||
			strings.Contains(got.GetStatement(), "cheat") || !strings.HasPrefix(got.GetName(), "regions/vasterbotten/") || got.GetEtag() != "1" {
			t.Errorf("output-only fields taken from input: %v", got)
		}
	})
}

func TestCreate_NamesEveryBadField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		in := &needsv1.Need{
			Problem:                 "   ",
			Outcome:                 strings.Repeat("x", 1001),
			ReportedBy:              ideav1.Origin(99),
			CareUnit:                strings.Repeat("y", 201),
			PatientsAffectedPerYear: -1,
			Published:               true, // a submitter may not publish
		}
		_, err := e.client.CreateNeed(e.As(t, auth.Submitter, "vasterbotten").Ctx(t),
			&needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: in, RequestId: "has space"})
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Fatalf("code %v, want InvalidArgument (%v)", got, err)
		}
		want := []string{
			"need.care_unit", "need.outcome", "need.patients_affected_per_year", "need.population",
			"need.problem", "need.published", "need.reported_by", "request_id",
		}
		if diff := cmp.Diff(want, fieldViolations(err)); diff != "" {
			t.Errorf("field violations (-want +got):\n%s", diff)
		}
		list, err := e.client.ListNeeds(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetNeeds()) != 0 {
			t.Errorf("after a refused create the region holds %d needs (err %v), want 0", len(list.GetNeeds()), err)
		}
		_, err = e.client.CreateNeed(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten"})
		if diff := cmp.Diff([]string{"need"}, fieldViolations(err)); diff != "" {
			t.Errorf("no need (-want +got):\n%s", diff)
		}
	})
}

func TestCreate_StaffMayPublish(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		in := sampleNeed()
		in.Published = true
		if got := e.mustCreate(t, e.As(t, auth.RegionAdmin, "uppsala"), "uppsala", in); !got.GetPublished() {
			t.Errorf("published by an admin: %v, want true", got.GetPublished())
		}
	})
}

func TestCreate_RequestIDReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.As(t, auth.Submitter, "vasterbotten")
		req := &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: sampleNeed(), RequestId: "form-42"}
		first, err := e.client.CreateNeed(c.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}

		// Retries, some of them concurrent, return the first need.
		var wg sync.WaitGroup
		errc := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				again, err := e.client.CreateNeed(c.Ctx(t), req)
				if err != nil {
					errc <- err
					return
				}
				if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
					errc <- fmt.Errorf("replay (-first +replay):\n%s", diff)
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}

		other := &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: sampleNeed(), RequestId: "form-42"}
		other.Need.Problem = "något helt annat"
		_, err = e.client.CreateNeed(c.Ctx(t), other)
		if got := status.Code(err); got != codes.AlreadyExists {
			t.Errorf("same request_id, other body: code %v, want AlreadyExists", got)
		}

		list, err := e.client.ListNeeds(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.GetNeeds()); n != 1 {
			t.Errorf("%d needs after replays, want 1", n)
		}
		someoneElse, err := e.client.CreateNeed(e.As(t, auth.Submitter, "vasterbotten", "other-person").Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if someoneElse.GetName() == first.GetName() {
			t.Errorf("another caller's request_id returned the first caller's need")
		}
	})
}

func TestCreate_AuditEventWithoutPersonalData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten", "advisor-anna")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		need = e.mustTransition(t, advisor, need, needsv1.NeedStatus_NEED_STATUS_CLOSED, "Dubblett av behov hos Greta Lindqvist")
		events, err := e.Store.Events(t.Context(), store.Namespace{Service: "needs", Region: "vasterbotten"}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range events {
			got = append(got, fmt.Sprintf("%s %s %s %s→%s", ev.Actor, ev.Action, ev.Key, ev.EtagBefore, ev.EtagAfter))
			if strings.Contains(ev.Detail, "Greta") || strings.Contains(ev.Detail, "Avvikelse") {
				t.Errorf("event %+v holds free text", ev)
			}
		}
		want := []string{
			"advisor-anna CreateNeed " + need.GetName() + " →1",
			"advisor-anna TransitionNeed " + need.GetName() + " 1→2",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
	})
}

// TestAccess walks every RPC with callers of the wrong region and of roles
// that may not act, over gRPC.
func TestAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		staff := e.As(t, auth.Advisor, "vasterbotten")
		reporter := e.As(t, auth.Submitter, "vasterbotten", "reporter")
		hidden := e.mustCreate(t, reporter, "vasterbotten", sampleNeed())
		pub := sampleNeed()
		pub.Published = true
		published := e.mustCreate(t, staff, "vasterbotten", pub)

		calls := map[string]func(c stack.Caller) error{
			"create": func(c stack.Caller) error {
				_, err := e.client.CreateNeed(c.Ctx(t), &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: sampleNeed()})
				return err
			},
			"get hidden": func(c stack.Caller) error {
				_, err := e.client.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: hidden.GetName()})
				return err
			},
			"get published": func(c stack.Caller) error {
				_, err := e.client.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: published.GetName()})
				return err
			},
			"list": func(c stack.Caller) error {
				_, err := e.client.ListNeeds(c.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
				return err
			},
			"update": func(c stack.Caller) error {
				_, err := e.client.UpdateNeed(c.Ctx(t), &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: published.GetName(), CareUnit: "x"}})
				return err
			},
			"transition": func(c stack.Caller) error {
				_, err := e.client.TransitionNeed(c.Ctx(t), &needsv1.TransitionNeedRequest{Name: published.GetName(), Status: needsv1.NeedStatus_NEED_STATUS_CLOSED, Reason: "x", Etag: "999"})
				return err
			},
			"screen": func(c stack.Caller) error {
				_, err := e.client.CreateScreening(c.Ctx(t), &needsv1.CreateScreeningRequest{Parent: "regions/vasterbotten/needs/none", Screening: screening(1, 1, 1, 1, 1)})
				return err
			},
			"list screenings": func(c stack.Caller) error {
				_, err := e.client.ListScreenings(c.Ctx(t), &needsv1.ListScreeningsRequest{Parent: published.GetName()})
				return err
			},
			"history of hidden": func(c stack.Caller) error {
				_, err := e.client.ListNeedHistory(c.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: hidden.GetName()})
				return err
			},
			"link": func(c stack.Caller) error {
				_, err := e.client.LinkNeed(c.Ctx(t), &needsv1.LinkNeedRequest{Name: published.GetName(), Target: "regions/vasterbotten/offers/o1", Etag: "999"})
				return err
			},
			"find similar": func(c stack.Caller) error {
				_, err := e.client.FindSimilarNeeds(c.Ctx(t), &needsv1.FindSimilarNeedsRequest{Parent: "regions/vasterbotten", Text: "fall nattetid"})
				return err
			},
		}
		// Staff calls that pass auth fail later on purpose (etag 999, a need
		// that does not exist), so the table checks access without changing
		// the needs the other rows read.
		ok, denied, missing, aborted := codes.OK, codes.PermissionDenied, codes.NotFound, codes.Aborted
		for _, tc := range []struct {
			who    string
			caller stack.Caller
			want   map[string]codes.Code
		}{
			{"advisor of the region", staff, map[string]codes.Code{
				"create": ok, "get hidden": ok, "get published": ok, "list": ok, "update": ok, "transition": aborted,
				"screen": missing, "list screenings": ok, "history of hidden": ok, "link": aborted, "find similar": ok}},
			{"admin of the region", e.As(t, auth.RegionAdmin, "vasterbotten"), map[string]codes.Code{
				"create": ok, "get hidden": ok, "list": ok, "transition": aborted, "screen": missing, "link": aborted}},
			{"the reporter", reporter, map[string]codes.Code{
				"create": ok, "get hidden": ok, "get published": ok, "list": ok, "update": denied, "transition": denied,
				"screen": denied, "list screenings": denied, "history of hidden": ok, "link": denied, "find similar": ok}},
			{"another submitter", e.As(t, auth.Submitter, "vasterbotten", "stranger"), map[string]codes.Code{
				"get hidden": missing, "get published": ok, "history of hidden": missing, "update": denied}},
			{"partner of the region", e.As(t, auth.Partner, "vasterbotten"), map[string]codes.Code{
				"create": denied, "get hidden": missing, "get published": ok, "list": ok, "update": denied, "transition": denied,
				"screen": denied, "list screenings": denied, "history of hidden": denied, "link": denied, "find similar": ok}},
			{"coordinator", e.As(t, auth.Coordinator, auth.NationalRegion), map[string]codes.Code{
				"create": denied, "get hidden": ok, "list": ok, "update": denied, "transition": denied, "screen": denied,
				"list screenings": ok, "history of hidden": ok, "link": denied, "find similar": ok}},
			{"service", e.As(t, auth.Service, "uppsala"), map[string]codes.Code{
				"create": denied, "get hidden": ok, "list": ok, "update": denied, "link": denied}},
			{"advisor of another region", e.As(t, auth.Advisor, "uppsala"), map[string]codes.Code{
				"create": denied, "get hidden": denied, "get published": denied, "list": denied, "update": denied, "transition": denied,
				"screen": denied, "list screenings": denied, "history of hidden": denied, "link": denied, "find similar": denied}},
			{"admin of another region", e.As(t, auth.RegionAdmin, "uppsala"), map[string]codes.Code{
				"update": denied, "transition": denied, "link": denied, "screen": denied}},
			{"submitter of another region", e.As(t, auth.Submitter, "uppsala"), map[string]codes.Code{
				"create": denied, "get published": denied, "list": denied}},
			{"partner of another region", e.As(t, auth.Partner, "uppsala"), map[string]codes.Code{
				"get published": denied, "list": denied, "find similar": denied}},
			{"no token", stack.Caller{}, map[string]codes.Code{
				"create": codes.Unauthenticated, "list": codes.Unauthenticated, "link": codes.Unauthenticated}},
			{"garbage token", stack.Caller{Token: "abc.def.ghi"}, map[string]codes.Code{
				"get published": codes.Unauthenticated, "transition": codes.Unauthenticated}},
		} {
			t.Run(tc.who, func(t *testing.T) {
				for call, want := range tc.want {
					if got := status.Code(calls[call](tc.caller)); got != want {
						t.Errorf("%s: code %v, want %v", call, got, want)
					}
				}
			})
		}
	})
}

func TestVisibility(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		staff := e.As(t, auth.Advisor, "uppsala")
		reporter := e.As(t, auth.Submitter, "uppsala", "reporter")
		mine := e.mustCreate(t, reporter, "uppsala", sampleNeed())
		pub := sampleNeed()
		pub.Published = true
		pub.Problem = "hitta lediga vårdplatser"
		published := e.mustCreate(t, staff, "uppsala", pub)
		e.mustCreate(t, staff, "uppsala", sampleNeed()) // neither published nor the reporter's
		if _, err := e.client.LinkNeed(staff.Ctx(t), &needsv1.LinkNeedRequest{Name: published.GetName(), Target: "regions/uppsala/offers/acme-1"}); err != nil {
			t.Fatal(err)
		}

		names := func(c stack.Caller) []string {
			list, err := e.client.ListNeeds(c.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala"})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, n := range list.GetNeeds() {
				out = append(out, n.GetName())
			}
			slices.Sort(out)
			return out
		}
		sorted := func(s ...string) []string { slices.Sort(s); return s }
		partner := e.As(t, auth.Partner, "uppsala")
		if diff := cmp.Diff([]string{published.GetName()}, names(partner)); diff != "" {
			t.Errorf("partner lists (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sorted(mine.GetName(), published.GetName()), names(reporter)); diff != "" {
			t.Errorf("reporter lists (-want +got):\n%s", diff)
		}
		if n := len(names(staff)); n != 3 {
			t.Errorf("staff list %d needs, want 3", n)
		}

		// Partners get the statement, never the evidence or the links.
		got := e.mustGet(t, partner, published.GetName())
		if got.GetEvidence() != "" || len(got.GetLinks()) != 0 || got.GetStatement() == "" {
			t.Errorf("partner sees evidence %q, links %v, statement %q", got.GetEvidence(), got.GetLinks(), got.GetStatement())
		}
		got = e.mustGet(t, e.As(t, auth.Coordinator, auth.NationalRegion), published.GetName())
		if got.GetEvidence() != "" || len(got.GetLinks()) != 1 {
			t.Errorf("coordinator sees evidence %q (want none), links %v (want 1)", got.GetEvidence(), got.GetLinks())
		}
		if got := e.mustGet(t, reporter, mine.GetName()); got.GetEvidence() == "" {
			t.Errorf("the reporter does not see the evidence they gave")
		}
		if got := e.mustGet(t, staff, published.GetName()); got.GetEvidence() == "" || len(got.GetLinks()) != 1 {
			t.Errorf("staff see evidence %q, links %v", got.GetEvidence(), got.GetLinks())
		}
		filtered, err := e.client.ListNeeds(partner.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "published = false"})
		if err != nil || len(filtered.GetNeeds()) != 0 {
			t.Errorf("partner asking for unpublished needs: %v, %d needs, want none", err, len(filtered.GetNeeds()))
		}
	})
}

func TestRegions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		c := e.As(t, auth.Coordinator, auth.NationalRegion)
		for _, tc := range []struct {
			region string
			reason string
		}{
			{"stockholm", "REGION_NOT_SERVED"},
			{"atlantis", "REGION_NOT_FOUND"},
		} {
			_, err := e.client.ListNeeds(c.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/" + tc.region})
			if status.Code(err) != codes.NotFound || reason(err) != tc.reason {
				t.Errorf("%s: %v (reason %s), want NotFound %s", tc.region, err, reason(err), tc.reason)
			}
		}
		for _, name := range []string{"needs/x", "regions/vasterbotten/ideas/x", "regions/Västerbotten/needs/x", ""} {
			_, err := e.client.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: name})
			if diff := cmp.Diff([]string{"name"}, fieldViolations(err)); diff != "" {
				t.Errorf("name %q (-want +got):\n%s", name, diff)
			}
		}
		_, err := e.client.GetNeed(c.Ctx(t), &needsv1.GetNeedRequest{Name: "regions/vasterbotten/needs/nothere"})
		if status.Code(err) != codes.NotFound || reason(err) != "NEED_NOT_FOUND" {
			t.Errorf("missing need: %v, want NotFound NEED_NOT_FOUND", err)
		}
	})
}

func TestNew_RefusesBadWeights(t *testing.T) {
	served, _ := config.ParseServed("uppsala")
	st := stack.Backends()[0].Open(t)
	for _, tc := range []struct {
		name    string
		weights map[string]needs.Weights
	}{
		{"all zero", map[string]needs.Weights{"uppsala": {}}},
		{"negative", map[string]needs.Weights{"uppsala": {ClinicalImpact: -1, Feasibility: 2}}},
		{"unknown region", map[string]needs.Weights{"narnia": needs.EqualWeights()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := needs.New(needs.Config{Store: st, Regions: served, Weights: tc.weights}); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := needs.New(needs.Config{Regions: served}); err == nil {
		t.Error("accepted a config without a store")
	}
}

// dialClosed returns an idea client whose server is gone.
func dialClosed(t *testing.T) ideav1.IdeaServiceClient {
	t.Helper()
	conn, err := rpc.Dial(closedPort(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return ideav1.NewIdeaServiceClient(conn)
}
