package idea_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// regionEnv is the idea service for vasterbotten and uppsala on one store,
// reached over gRPC and REST.
type regionEnv struct {
	*stack.Env
	client ideav1.IdeaServiceClient
}

func newEnv(t *testing.T, b stack.Backend) *regionEnv {
	t.Helper()
	served, err := config.ParseServed("vasterbotten,uppsala")
	if err != nil {
		t.Fatal(err)
	}
	st := b.Open(t)
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
	})
	return &regionEnv{Env: env, client: ideav1.NewIdeaServiceClient(env.Conn)}
}

// forEachBackend runs the test body on both store backends.
func forEachBackend(t *testing.T, f func(t *testing.T, env *regionEnv)) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, newEnv(t, b)) })
	}
}

func sampleIdea() *ideav1.Idea {
	return &ideav1.Idea{
		Title:     "Videobesök för KOL-kontroller",
		Problem:   "Långa resor till kontroller som kunde ske på distans.",
		Proposal:  "Varannan kontroll som videobesök.",
		Origin:    ideav1.Origin_ORIGIN_PATIENT,
		CareArea:  "Lungmedicin",
		Submitter: &ideav1.Submitter{DisplayName: "Greta Lindqvist", Email: "greta@example.se", Phone: "070-123 45 67"},
		Consent:   &ideav1.Consent{Contact: true, StorePersonalData: true},
	}
}

func (e *regionEnv) mustCreate(t *testing.T, c stack.Caller, region string, in *ideav1.Idea) *ideav1.Idea {
	t.Helper()
	got, err := e.client.CreateIdea(c.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/" + region, Idea: in})
	if err != nil {
		t.Fatalf("CreateIdea: %v", err)
	}
	return got
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

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

func TestCreateGetList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		patient := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		created := e.mustCreate(t, patient, "vasterbotten", sampleIdea())

		if !strings.HasPrefix(created.GetName(), "regions/vasterbotten/ideas/") {
			t.Errorf("name %q: want regions/vasterbotten/ideas/…", created.GetName())
		}
		if created.GetStage() != ideav1.Stage_STAGE_SUBMITTED {
			t.Errorf("stage %v, want STAGE_SUBMITTED", created.GetStage())
		}
		if created.GetIpOwner() != ideav1.IpOwner_IP_OWNER_UNKNOWN {
			t.Errorf("ip_owner %v, want IP_OWNER_UNKNOWN", created.GetIpOwner())
		}
		if created.GetEtag() == "" || created.GetCreateTime() == nil {
			t.Errorf("etag %q, create_time %v: both must be set", created.GetEtag(), created.GetCreateTime())
		}

		got, err := e.client.GetIdea(patient.Ctx(t), &ideav1.GetIdeaRequest{Name: created.GetName()})
		if err != nil {
			t.Fatalf("GetIdea: %v", err)
		}
		if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
			t.Errorf("GetIdea (-want +got):\n%s", diff)
		}

		advisor := e.As(t, auth.Advisor, "vasterbotten")
		list, err := e.client.ListIdeas(advisor.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatalf("ListIdeas: %v", err)
		}
		if diff := cmp.Diff([]*ideav1.Idea{created}, list.GetIdeas(), protocmp.Transform()); diff != "" {
			t.Errorf("ListIdeas (-want +got):\n%s", diff)
		}
		if list.GetNextPageToken() != "" {
			t.Errorf("next_page_token %q at the end, want empty", list.GetNextPageToken())
		}
	})
}

func TestCreate_OutputOnlyFieldsIgnored(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		in := sampleIdea()
		in.Name = "regions/uppsala/ideas/chosen"
		in.Stage = ideav1.Stage_STAGE_IMPLEMENTED
		in.SpreadFrom = "regions/uppsala/ideas/x"
		in.AssessmentSummary = &ideav1.AssessmentSummary{Count: 9, WeightedScore: 5}
		got := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", in)
		if got.GetStage() != ideav1.Stage_STAGE_SUBMITTED || got.GetSpreadFrom() != "" || got.GetAssessmentSummary() != nil ||
			!strings.HasPrefix(got.GetName(), "regions/vasterbotten/") {
			t.Errorf("output-only fields taken from input: %v", got)
		}
	})
}

func TestCreate_NamesEveryBadField(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		in := &ideav1.Idea{
			Title:     "   ",
			Problem:   strings.Repeat("x", 5001),
			Origin:    ideav1.Origin(99),
			Tags:      []string{"not-yours"},
			Submitter: &ideav1.Submitter{Email: "not an address", Phone: "call me"},
			Consent:   &ideav1.Consent{Contact: true},
		}
		_, err := e.client.CreateIdea(e.As(t, auth.Submitter, "vasterbotten").Ctx(t),
			&ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: in, RequestId: "has space"})
		if got := status.Code(err); got != codes.InvalidArgument {
			t.Fatalf("code %v, want InvalidArgument (%v)", got, err)
		}
		want := []string{
			"idea.consent.store_personal_data", "idea.origin", "idea.problem", "idea.submitter.email",
			"idea.submitter.phone", "idea.tags", "idea.title", "request_id",
		}
		got := fieldViolations(err)
		if diff := cmp.Diff(want, uniqueSorted(got)); diff != "" {
			t.Errorf("field violations (-want +got):\n%s", diff)
		}
		list, err := e.client.ListIdeas(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetIdeas()) != 0 {
			t.Errorf("after a refused create the region holds %d ideas (err %v), want 0", len(list.GetIdeas()), err)
		}
	})
}

func uniqueSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func TestCreate_SubmitterWithoutConsentRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		in := sampleIdea()
		in.Consent = &ideav1.Consent{}
		_, err := e.client.CreateIdea(e.As(t, auth.Submitter, "vasterbotten").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: in})
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "idea.consent.store_personal_data") ||
			!strings.Contains(status.Convert(err).Message(), "consent.storePersonalData") {
			t.Fatalf("submitter details without consent: %v, want INVALID_ARGUMENT naming consent.storePersonalData", err)
		}
		list, err := e.client.ListIdeas(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetIdeas()) != 0 {
			t.Errorf("after the refusal: %v %v, want nothing stored", list, err)
		}
		rec, err := e.Store.Events(t.Context(), store.Namespace{Service: "idea", Region: "vasterbotten"}, 0, 100)
		if err != nil || len(rec) != 0 {
			t.Errorf("audit events after the refusal: %v %v, want none", rec, err)
		}
		// Without details, no consent is needed.
		in.Submitter = nil
		e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", in)
	})
}

func TestCreate_RequestIDReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		c := e.As(t, auth.Submitter, "vasterbotten")
		req := &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea(), RequestId: "form-42"}
		first, err := e.client.CreateIdea(c.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}

		// Retries, some of them concurrent, return the first idea.
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				again, err := e.client.CreateIdea(c.Ctx(t), req)
				if err != nil {
					errs <- err
					return
				}
				if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
					errs <- fmt.Errorf("replay (-first +replay):\n%s", diff)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		other := &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea(), RequestId: "form-42"}
		other.Idea.Title = "Något helt annat"
		_, err = e.client.CreateIdea(c.Ctx(t), other)
		if got := status.Code(err); got != codes.AlreadyExists {
			t.Errorf("same request_id, other body: code %v, want AlreadyExists", got)
		}

		list, err := e.client.ListIdeas(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(list.GetIdeas()); n != 1 {
			t.Errorf("%d ideas after replays, want 1", n)
		}

		// Another person's identical request_id is theirs alone.
		someoneElse, err := e.client.CreateIdea(e.As(t, auth.Submitter, "vasterbotten", "other-person").Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if someoneElse.GetName() == first.GetName() {
			t.Errorf("another caller's request_id returned the first caller's idea")
		}
	})
}

func TestAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		owner := e.As(t, auth.Submitter, "vasterbotten", "owner")
		created := e.mustCreate(t, owner, "vasterbotten", sampleIdea())
		get := &ideav1.GetIdeaRequest{Name: created.GetName()}
		list := &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"}
		create := &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()}

		for _, tc := range []struct {
			name   string
			ctxOf  func(t *testing.T) stack.Caller
			call   string
			want   codes.Code
			seesPD bool
		}{
			{"owner reads own", func(t *testing.T) stack.Caller { return owner }, "get", codes.OK, true},
			{"advisor of region", func(t *testing.T) stack.Caller { return e.As(t, auth.Advisor, "vasterbotten") }, "get", codes.OK, true},
			{"admin of region", func(t *testing.T) stack.Caller { return e.As(t, auth.RegionAdmin, "vasterbotten") }, "get", codes.OK, true},
			{"coordinator, redacted", func(t *testing.T) stack.Caller { return e.As(t, auth.Coordinator, auth.NationalRegion) }, "get", codes.OK, false},
			{"service, redacted", func(t *testing.T) stack.Caller { return e.As(t, auth.Service, "uppsala") }, "get", codes.OK, false},
			{"other submitter", func(t *testing.T) stack.Caller { return e.As(t, auth.Submitter, "vasterbotten", "stranger") }, "get", codes.NotFound, false},
			{"advisor of another region", func(t *testing.T) stack.Caller { return e.As(t, auth.Advisor, "uppsala") }, "get", codes.PermissionDenied, false},
			{"admin of another region", func(t *testing.T) stack.Caller { return e.As(t, auth.RegionAdmin, "uppsala") }, "list", codes.PermissionDenied, false},
			{"submitter of another region creates", func(t *testing.T) stack.Caller { return e.As(t, auth.Submitter, "uppsala") }, "create", codes.PermissionDenied, false},
			{"partner, not the submitter", func(t *testing.T) stack.Caller { return e.As(t, auth.Partner, "vasterbotten") }, "get", codes.NotFound, false},
			{"partner lists", func(t *testing.T) stack.Caller { return e.As(t, auth.Partner, "vasterbotten") }, "list", codes.OK, false},
			{"coordinator creates", func(t *testing.T) stack.Caller { return e.As(t, auth.Coordinator, auth.NationalRegion) }, "create", codes.PermissionDenied, false},
			{"no token", func(t *testing.T) stack.Caller { return stack.Caller{} }, "get", codes.Unauthenticated, false},
			{"garbage token", func(t *testing.T) stack.Caller { return stack.Caller{Token: "abc.def.ghi"} }, "list", codes.Unauthenticated, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := tc.ctxOf(t)
				ctx := c.Ctx(t)
				var err error
				var got *ideav1.Idea
				switch tc.call {
				case "get":
					got, err = e.client.GetIdea(ctx, get)
				case "list":
					_, err = e.client.ListIdeas(ctx, list)
				case "create":
					_, err = e.client.CreateIdea(ctx, create)
				}
				if code := status.Code(err); code != tc.want {
					t.Fatalf("%s: code %v, want %v (%v)", tc.call, code, tc.want, err)
				}
				if got != nil && (got.GetSubmitter() != nil) != tc.seesPD {
					t.Errorf("submitter visible = %v, want %v", got.GetSubmitter() != nil, tc.seesPD)
				}
			})
		}
	})
}

func TestRegions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		for _, tc := range []struct {
			region string
			reason string
		}{
			{"stockholm", "REGION_NOT_SERVED"},
			{"atlantis", "REGION_NOT_FOUND"},
		} {
			c := e.As(t, auth.Advisor, "vasterbotten")
			_, err := e.client.ListIdeas(c.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/" + tc.region})
			if status.Code(err) != codes.NotFound || reason(err) != tc.reason {
				t.Errorf("%s: %v (reason %s), want NotFound %s", tc.region, err, reason(err), tc.reason)
			}
		}
		_, err := e.client.GetIdea(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.GetIdeaRequest{Name: "ideas/x"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("malformed name: %v, want InvalidArgument", err)
		}
	})
}

func TestList_PagesNewestFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		staff := e.As(t, auth.Advisor, "uppsala")
		mine := e.As(t, auth.Submitter, "uppsala", "me")
		var want []string
		for i := range 7 {
			in := sampleIdea()
			in.Title = fmt.Sprintf("Idé %d", i)
			c := staff
			if i%2 == 0 {
				c = mine
				in.Origin = ideav1.Origin_ORIGIN_STAFF
			}
			want = append([]string{e.mustCreate(t, c, "uppsala", in).GetName()}, want...)
			time.Sleep(2 * time.Millisecond) // distinct create times
		}

		var got []string
		token := ""
		for pages := 0; ; pages++ {
			resp, err := e.client.ListIdeas(staff.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageSize: 3, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.GetIdeas()) > 3 {
				t.Fatalf("page of %d, want at most 3", len(resp.GetIdeas()))
			}
			for _, i := range resp.GetIdeas() {
				got = append(got, i.GetName())
			}
			token = resp.GetNextPageToken()
			if token == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("names in list order (-want +got):\n%s", diff)
		}

		// A submitter lists their own ideas only; filters narrow down.
		own, err := e.client.ListIdeas(mine.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(own.GetIdeas()); n != 4 {
			t.Errorf("submitter sees %d ideas, want their 4", n)
		}
		filtered, err := e.client.ListIdeas(staff.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala", Filter: "stage = STAGE_SUBMITTED AND origin = ORIGIN_STAFF"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(filtered.GetIdeas()); n != 4 {
			t.Errorf("filter returns %d ideas, want 4", n)
		}

		first, err := e.client.ListIdeas(staff.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			req  *ideav1.ListIdeasRequest
		}{
			{"garbage token", &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageToken: "!!!"}},
			{"token of another filter", &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageToken: first.GetNextPageToken(), Filter: "origin = ORIGIN_STAFF"}},
			{"unknown filter field", &ideav1.ListIdeasRequest{Parent: "regions/uppsala", Filter: "color = RED"}},
			{"unknown stage", &ideav1.ListIdeasRequest{Parent: "regions/uppsala", Filter: "stage = STAGE_DONE"}},
			{"negative page size", &ideav1.ListIdeasRequest{Parent: "regions/uppsala", PageSize: -1}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.ListIdeas(staff.Ctx(t), tc.req)
				if status.Code(err) != codes.InvalidArgument {
					t.Errorf("code %v, want InvalidArgument", status.Code(err))
				}
			})
		}
	})
}

// TestCreate_ControlCharacters: text that would break index terms and logs
// (a NUL in a care area becomes part of an index term) is bad input, 400,
// never an internal error.
func TestCreate_ControlCharacters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		in := sampleIdea()
		in.CareArea = "Akut\x00sjukvård"
		in.Title = "Titel\x1b[31m"
		_, err := e.client.CreateIdea(e.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: in, RequestId: "a\x00b"})
		want := []string{"idea.care_area", "idea.title", "request_id"}
		if got := uniqueSorted(fieldViolations(err)); status.Code(err) != codes.InvalidArgument || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("control characters: %v, violations %v, want InvalidArgument naming %v", err, got, want)
		}
	})
}
