package idea_test

import (
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/idea"
)

// spreadEnv serves vasterbotten and uppsala from one idea service that
// reaches "other regions" through its own listener, as the all-in-one run
// does; regions listed in down are unreachable.
func spreadEnv(t *testing.T, b stack.Backend, down ...string) (*stack.Env, ideav1.IdeaServiceClient) {
	t.Helper()
	served, _ := config.ParseServed("vasterbotten,uppsala")
	st := b.Open(t)
	var self ideav1.IdeaServiceClient
	closed := closedPort(t)
	env := stack.Start(t, st, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served,
			RegionIdeas: func(region string) (ideav1.IdeaServiceClient, error) {
				for _, d := range down {
					if d == region {
						conn, err := rpc.Dial(closed, nil)
						if err != nil {
							return nil, err
						}
						t.Cleanup(func() { _ = conn.Close() })
						return ideav1.NewIdeaServiceClient(conn), nil
					}
				}
				if region == "gotland" {
					return nil, errors.New("no deployment serves gotland")
				}
				return self, nil
			}}))
	})
	// Adoptions are made as the service itself, as `motor serve` makes them.
	self = ideav1.NewIdeaServiceClient(auth.AsService(env.Conn, env.Credential))
	return env, ideav1.NewIdeaServiceClient(env.Conn)
}

// closedPort is a loopback address nobody listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// implemented walks a fresh Västerbotten idea to IMPLEMENTED.
func implemented(t *testing.T, env *stack.Env, c ideav1.IdeaServiceClient) *ideav1.Idea {
	t.Helper()
	adv := env.As(t, auth.Advisor, "vasterbotten").Ctx(t)
	i, err := c.CreateIdea(env.As(t, auth.Submitter, "vasterbotten", "sub").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
	if err != nil {
		t.Fatal(err)
	}
	move := func(st ideav1.Stage) {
		t.Helper()
		if i, err = c.TransitionIdea(adv, &ideav1.TransitionIdeaRequest{Name: i.GetName(), Stage: st, Etag: i.GetEtag()}); err != nil {
			t.Fatalf("to %v: %v", st, err)
		}
	}
	move(ideav1.Stage_STAGE_SCREENING)
	if _, err := c.CreateAssessment(adv, &ideav1.CreateAssessmentRequest{Parent: i.GetName(), Assessment: scorecard(4, 4, 4, 4, 4, 4)}); err != nil {
		t.Fatal(err)
	}
	i, _ = c.GetIdea(adv, &ideav1.GetIdeaRequest{Name: i.GetName()})
	move(ideav1.Stage_STAGE_SELECTED)
	i.IpOwner, i.AgreementsInPlace, i.TestEnvironment = ideav1.IpOwner_IP_OWNER_REGION, true, "Innovationsklinik NUS"
	if i, err = c.UpdateIdea(adv, &ideav1.UpdateIdeaRequest{Idea: i, UpdateMask: mask("ip_owner", "agreements_in_place", "test_environment")}); err != nil {
		t.Fatal(err)
	}
	move(ideav1.Stage_STAGE_DEVELOPMENT)
	i = approvedPlan(t, env, c, i.GetName())
	move(ideav1.Stage_STAGE_TESTING)
	move(ideav1.Stage_STAGE_IMPLEMENTED)
	return i
}

func TestSpread(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env, c := spreadEnv(t, b)
			adv := env.As(t, auth.Advisor, "vasterbotten")
			src := implemented(t, env, c)

			// Concurrent spreads of one idea to one region adopt it once.
			var wg sync.WaitGroup
			results := make(chan *ideav1.Idea, 6)
			for range 6 {
				wg.Go(func() {
					got, err := c.SpreadIdea(adv.Ctx(t), &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala", Etag: src.GetEtag()})
					if err != nil && status.Code(err) != codes.Aborted {
						t.Errorf("SpreadIdea: %v", err)
					}
					results <- got
				})
			}
			wg.Wait()
			close(results)
			got, err := c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: src.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			if got.GetStage() != ideav1.Stage_STAGE_SPREAD || len(got.GetSpreadTo()) != 1 {
				t.Fatalf("source after spreading: stage %v, spread_to %v; want SPREAD and one adopted idea", got.GetStage(), got.GetSpreadTo())
			}
			adoptedName := got.GetSpreadTo()[0]
			ups := env.As(t, auth.Advisor, "uppsala")
			adopted, err := c.GetIdea(ups.Ctx(t), &ideav1.GetIdeaRequest{Name: adoptedName})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(adoptedName, "regions/uppsala/ideas/") || adopted.GetStage() != ideav1.Stage_STAGE_SCREENING ||
				adopted.GetSpreadFrom() != src.GetName() || adopted.GetTitle() != src.GetTitle() || adopted.GetSubmitter() != nil {
				t.Errorf("adopted idea %v: want uppsala, SCREENING, linked to %s, same title, no personal data", adopted, src.GetName())
			}
			// The deployment adopted it, and its history says for whom.
			h, err := c.ListIdeaHistory(ups.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: adoptedName})
			if err != nil || len(h.GetEntries()) != 1 || !strings.HasSuffix(h.GetEntries()[0].GetActor(), " for "+adv.Sub) {
				t.Errorf("adopted idea's history %v (%v): want one entry made for %s", h.GetEntries(), err, adv.Sub)
			}
			list, err := c.ListIdeas(ups.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala"})
			if err != nil || len(list.GetIdeas()) != 1 {
				t.Errorf("uppsala holds %d ideas after concurrent spreads (err %v), want 1", len(list.GetIdeas()), err)
			}

			// A retry with the old etag, after the answer was lost, is harmless.
			again, err := c.SpreadIdea(adv.Ctx(t), &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala", Etag: src.GetEtag()})
			if err != nil || len(again.GetSpreadTo()) != 1 {
				t.Errorf("repeated spread: %v %v", again, err)
			}

			// An already spread idea spreads on to a third region it reaches.
			if _, err := c.SpreadIdea(adv.Ctx(t), &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "gotland", Etag: got.GetEtag()}); status.Code(err) != codes.FailedPrecondition || !strings.Contains(status.Convert(err).Message(), "gotland") {
				t.Errorf("spread to a region nobody serves: %v, want FailedPrecondition naming gotland", err)
			}
		})
	}
}

func TestSpread_Refusals(t *testing.T) {
	env, c := spreadEnv(t, stack.Backends()[0], "stockholm")
	adv := env.As(t, auth.Advisor, "vasterbotten")
	src := implemented(t, env, c)
	fresh, err := c.CreateIdea(adv.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		caller stack.Caller
		req    *ideav1.SpreadIdeaRequest
		want   codes.Code
	}{
		{"not implemented yet", adv, &ideav1.SpreadIdeaRequest{Name: fresh.GetName(), TargetRegion: "uppsala", Etag: fresh.GetEtag()}, codes.FailedPrecondition},
		{"own region", adv, &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "vasterbotten", Etag: src.GetEtag()}, codes.InvalidArgument},
		{"no such region", adv, &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "narnia", Etag: src.GetEtag()}, codes.InvalidArgument},
		{"no etag", adv, &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala"}, codes.InvalidArgument},
		{"stale etag", adv, &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala", Etag: "1"}, codes.Aborted},
		{"target down", adv, &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "stockholm", Etag: src.GetEtag()}, codes.Unavailable},
		{"submitter", env.As(t, auth.Submitter, "vasterbotten", "sub"), &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala", Etag: src.GetEtag()}, codes.PermissionDenied},
		{"advisor of the target region", env.As(t, auth.Advisor, "uppsala"), &ideav1.SpreadIdeaRequest{Name: src.GetName(), TargetRegion: "uppsala", Etag: src.GetEtag()}, codes.PermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.SpreadIdea(tc.caller.Ctx(t), tc.req); status.Code(err) != tc.want {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
	got, _ := c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: src.GetName()})
	if got.GetStage() != ideav1.Stage_STAGE_IMPLEMENTED || len(got.GetSpreadTo()) != 0 {
		t.Errorf("refused spreads changed the idea: %v", got)
	}
	// Adoption directly: only the deployment serving the source region
	// asks for it, never a person, whatever their region and role.
	_, err = c.AdoptIdea(env.As(t, auth.Advisor, "uppsala").Ctx(t), &ideav1.AdoptIdeaRequest{Parent: "regions/uppsala", Idea: sampleIdea(), SpreadFrom: src.GetName()})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("uppsala advisor adopts on vasterbotten's behalf: %v, want PermissionDenied", err)
	}
}

// TestAdopt_NoSideDoor: a person of one region cannot create an idea in
// another through AdoptIdea, and the deployment itself adopts only ideas
// that exist in a region it serves and may spread.
func TestAdopt_NoSideDoor(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env, c := spreadEnv(t, b)
			forged := &ideav1.AdoptIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea(), SpreadFrom: "regions/uppsala/ideas/doesnotexist"}
			callers := []stack.Caller{env.As(t, auth.Coordinator, auth.NationalRegion), env.As(t, auth.Service, auth.NationalRegion)}
			for _, role := range []auth.Role{auth.Advisor, auth.RegionAdmin, auth.Service, auth.Submitter} {
				for _, region := range []string{"uppsala", "vasterbotten"} {
					callers = append(callers, env.As(t, role, region))
				}
			}
			for _, who := range callers {
				if _, err := c.AdoptIdea(who.Ctx(t), forged); status.Code(err) != codes.PermissionDenied {
					t.Errorf("%s adopts: %v, want PermissionDenied", who.Sub, err)
				}
			}
			sys := ideav1.NewIdeaServiceClient(auth.AsService(env.Conn, env.Credential))
			if _, err := sys.AdoptIdea(t.Context(), forged); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("the deployment adopts a source idea that does not exist: %v, want FailedPrecondition", err)
			}
			draft, err := c.CreateIdea(env.As(t, auth.Advisor, "uppsala").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/uppsala", Idea: sampleIdea()})
			if err != nil {
				t.Fatal(err)
			}
			early := &ideav1.AdoptIdeaRequest{Parent: "regions/vasterbotten", Idea: sampleIdea(), SpreadFrom: draft.GetName()}
			if _, err := sys.AdoptIdea(t.Context(), early); status.Code(err) != codes.FailedPrecondition {
				t.Errorf("the deployment adopts an idea not yet implemented: %v, want FailedPrecondition", err)
			}
			list, err := c.ListIdeas(env.As(t, auth.Advisor, "vasterbotten").Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(list.GetIdeas()); n != 0 {
				t.Errorf("vasterbotten holds %d ideas after refused adoptions, want 0: %v", n, list.GetIdeas())
			}
		})
	}
}

func TestSpread_REST(t *testing.T) {
	env, c := spreadEnv(t, stack.Backends()[0])
	src := implemented(t, env, c)
	e := &regionEnv{Env: env, client: c}
	code, body := restCall(t, e, env.As(t, auth.Advisor, "vasterbotten"), "POST", "/v1/"+src.GetName()+":spread",
		`{"targetRegion":"uppsala","etag":"`+src.GetEtag()+`"}`)
	if code != 200 || body["stage"] != "STAGE_SPREAD" {
		t.Fatalf("spread over REST: %d %v", code, body)
	}
	if code, _ := restCall(t, e, env.As(t, auth.Advisor, "uppsala"), "POST", "/v1/"+src.GetName()+":spread", `{"targetRegion":"skane","etag":"1"}`); code != 403 {
		t.Errorf("another region's advisor spreads over REST: %d, want 403", code)
	}
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
