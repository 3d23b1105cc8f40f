package needs_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	"github.com/innovationsmotorer/motor/services/needs"
)

// flakyIdeas is the needs service's back-reference client: the idea service
// as this deployment, which a test can take down.
type flakyIdeas struct {
	ideav1.IdeaServiceClient
	down atomic.Bool
}

func (f *flakyIdeas) SetBacklink(ctx context.Context, in *ideav1.SetBacklinkRequest, opts ...grpc.CallOption) (*ideav1.SetBacklinkResponse, error) {
	if f.down.Load() {
		return nil, status.Error(codes.Unavailable, "idea service down (test)")
	}
	return f.IdeaServiceClient.SetBacklink(ctx, in, opts...)
}

func newLinkEnv(t *testing.T, b stack.Backend) (*env, *flakyIdeas) {
	t.Helper()
	f := &flakyIdeas{}
	e := newEnv(t, b, func(c *needs.Config) { c.IdeaBacklinks = f })
	f.IdeaServiceClient = ideav1.NewIdeaServiceClient(auth.AsService(e.Conn, e.Credential))
	return e, f
}

func TestLinksBothWays(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e, flaky := newLinkEnv(t, b)
			advisor := e.As(t, auth.Advisor, "vasterbotten")
			submitter := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
			other := e.As(t, auth.Submitter, "vasterbotten", "patient-2")
			foreign := e.As(t, auth.Advisor, "uppsala")
			idea, err := e.ideas.CreateIdea(submitter.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
				Title: "Golvsensor", Problem: "Fall upptäcks sent.", Origin: ideav1.Origin_ORIGIN_PATIENT,
			}})
			if err != nil {
				t.Fatal(err)
			}
			need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
			linkedFrom := func(c stack.Caller) []string {
				t.Helper()
				got, err := e.ideas.GetIdea(c.Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()})
				if err != nil {
					t.Fatalf("GetIdea: %v", err)
				}
				return got.GetLinkedFrom()
			}
			if got := linkedFrom(advisor); len(got) != 0 {
				t.Fatalf("new idea linked from %v", got)
			}

			linked, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: idea.GetName(), Etag: need.GetEtag()})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{need.GetName()}
			// Everyone who may read the idea sees which need links to it:
			// staff and the submitter, over gRPC and REST.
			for _, c := range []stack.Caller{advisor, submitter} {
				if got := linkedFrom(c); !slices.Equal(got, want) {
					t.Errorf("%s: idea linked from %v, want %v", c.Sub, got, want)
				}
			}
			rest := mustREST(t, e, submitter, "GET", "/v1/"+idea.GetName(), "")
			if got, _ := rest["linkedFrom"].([]any); len(got) != 1 || got[0] != need.GetName() {
				t.Errorf("REST linkedFrom %v, want [%s]", rest["linkedFrom"], need.GetName())
			}
			// Who may not read the idea learns nothing of its links.
			for _, c := range []stack.Caller{other, foreign} {
				if _, err := e.ideas.GetIdea(c.Ctx(t), &ideav1.GetIdeaRequest{Name: idea.GetName()}); status.Code(err) != codes.NotFound && status.Code(err) != codes.PermissionDenied {
					t.Errorf("%s reads the idea: %v", c.Sub, err)
				}
			}

			// Unlink over REST; a repeat changes nothing.
			code, out := restCall(t, e, advisor, "POST", "/v1/"+need.GetName()+":unlink", fmt.Sprintf(`{"target":%q,"etag":%q}`, idea.GetName(), linked.GetEtag()))
			if code != 200 || out["links"] != nil {
				t.Fatalf("unlink: %d %v", code, out)
			}
			again, err := e.client.UnlinkNeed(advisor.Ctx(t), &needsv1.UnlinkNeedRequest{Name: need.GetName(), Target: idea.GetName(), Etag: linked.GetEtag()})
			if err != nil || again.GetEtag() != out["etag"] {
				t.Errorf("repeated unlink: %v, etag %s want %v", err, again.GetEtag(), out["etag"])
			}
			if got := linkedFrom(advisor); len(got) != 0 {
				t.Errorf("after unlink the idea is linked from %v", got)
			}
			// A reader of another region, or a partner, may not unlink.
			for _, c := range []stack.Caller{foreign, e.As(t, auth.Partner, "vasterbotten"), submitter} {
				if _, err := e.client.UnlinkNeed(c.Ctx(t), &needsv1.UnlinkNeedRequest{Name: need.GetName(), Target: idea.GetName()}); status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.NotFound {
					t.Errorf("%s unlinks: %v, want PermissionDenied", c.Sub, err)
				}
			}

			// The idea service down: the link stands, the back-reference
			// waits in the outbox until a sweep delivers it.
			flaky.down.Store(true)
			if _, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: idea.GetName()}); err != nil {
				t.Fatalf("link while the idea service is down: %v", err)
			}
			if got := linkedFrom(advisor); len(got) != 0 {
				t.Errorf("undelivered back-reference shows: %v", got)
			}
			srv := e.needsServer
			if n, err := srv.SweepBacklinks(context.Background(), "vasterbotten"); err != nil || n != 1 {
				t.Errorf("sweep while down: %d waiting (%v), want 1", n, err)
			}
			flaky.down.Store(false)
			if n, err := srv.SweepBacklinks(context.Background(), "vasterbotten"); err != nil || n != 0 {
				t.Errorf("sweep: %d waiting (%v), want 0", n, err)
			}
			if got := linkedFrom(advisor); !slices.Equal(got, want) {
				t.Errorf("after the sweep the idea is linked from %v, want %v", got, want)
			}

			// A late message — the unlink of version 3 arriving after the
			// link of version 4 — changes nothing; SetBacklink takes no
			// person's token.
			svc := ideav1.NewIdeaServiceClient(auth.AsService(e.Conn, e.Credential))
			res, err := svc.SetBacklink(context.Background(), &ideav1.SetBacklinkRequest{Target: idea.GetName(), Source: need.GetName(), Linked: false, SourceVersion: 3})
			if err != nil || res.GetApplied() {
				t.Errorf("late unlink: applied %v, %v; want not applied", res.GetApplied(), err)
			}
			if got := linkedFrom(advisor); !slices.Equal(got, want) {
				t.Errorf("after a late unlink the idea is linked from %v, want %v", got, want)
			}
			for _, c := range []stack.Caller{advisor, e.As(t, auth.RegionAdmin, "vasterbotten"), e.As(t, auth.Coordinator, auth.NationalRegion)} {
				if _, err := e.ideas.SetBacklink(c.Ctx(t), &ideav1.SetBacklinkRequest{Target: idea.GetName(), Source: need.GetName(), SourceVersion: 99}); status.Code(err) != codes.PermissionDenied {
					t.Errorf("%s sets a back-reference: %v, want PermissionDenied", c.Sub, err)
				}
			}
			if _, err := svc.SetBacklink(context.Background(), &ideav1.SetBacklinkRequest{Target: idea.GetName(), Source: "regions/vasterbotten/partners/p", SourceVersion: 0}); !slices.Equal(fieldViolations(err), []string{"source", "source_version"}) {
				t.Errorf("bad back-reference: %v, want source and source_version named", err)
			}
		})
	}
}

// TestLinksBothWays_Concurrent links and unlinks one idea from many
// goroutines at once: once they are done, the idea shows exactly what the
// need holds.
func TestLinksBothWays_Concurrent(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e, _ := newLinkEnv(t, b)
			advisor := e.As(t, auth.Advisor, "vasterbotten")
			var ideas []string
			for i := range 3 {
				idea, err := e.ideas.CreateIdea(advisor.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
					Title: fmt.Sprintf("Idé %d", i), Problem: "Fall upptäcks sent.", Origin: ideav1.Origin_ORIGIN_STAFF,
				}})
				if err != nil {
					t.Fatal(err)
				}
				ideas = append(ideas, idea.GetName())
			}
			need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 6 {
						target := ideas[(g+i)%len(ideas)]
						var err error
						if (g+i)%2 == 0 {
							_, err = e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: target})
						} else {
							_, err = e.client.UnlinkNeed(advisor.Ctx(t), &needsv1.UnlinkNeedRequest{Name: need.GetName(), Target: target})
						}
						if err != nil && status.Code(err) != codes.Aborted {
							t.Errorf("goroutine %d: %v", g, err)
						}
					}
				}()
			}
			wg.Wait()
			final := e.mustGet(t, advisor, need.GetName())
			for _, name := range ideas {
				got, err := e.ideas.GetIdea(advisor.Ctx(t), &ideav1.GetIdeaRequest{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				linked := slices.Contains(final.GetLinks(), name)
				if shows := slices.Contains(got.GetLinkedFrom(), need.GetName()); shows != linked {
					t.Errorf("%s: need links it %v, idea shows the need %v", name, linked, shows)
				}
			}
		})
	}
}
