package idea_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestMerge_Duplicate: B merged into A ends MERGED pointing at A, A lists B
// and B's submitter (who may then read A), both histories are kept, and
// erasing B's submitter removes them from A as well.
func TestMerge_Duplicate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		first := e.As(t, auth.Submitter, "vasterbotten", "patient-a")
		second := e.As(t, auth.Submitter, "vasterbotten", "patient-b")
		c := e.client

		a := e.mustCreate(t, first, "vasterbotten", sampleIdea())
		dupIn := sampleIdea()
		dupIn.Submitter = &ideav1.Submitter{DisplayName: "Karin Öberg", Email: "karin@example.se"}
		b := e.mustCreate(t, second, "vasterbotten", dupIn)

		for _, tc := range []struct {
			name string
			req  *ideav1.MergeIdeaRequest
			code codes.Code
		}{
			{"into itself", &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: b.GetName(), Etag: b.GetEtag()}, codes.InvalidArgument},
			{"into another region", &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: "regions/uppsala/ideas/x1", Etag: b.GetEtag()}, codes.InvalidArgument},
			{"stale etag", &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: a.GetName(), Etag: "99"}, codes.Aborted},
			{"into an idea that does not exist", &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: "regions/vasterbotten/ideas/nothere", Etag: b.GetEtag()}, codes.NotFound},
		} {
			if _, err := c.MergeIdea(adv.Ctx(t), tc.req); status.Code(err) != tc.code {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.code)
			}
		}
		if _, err := c.MergeIdea(second.Ctx(t), &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: a.GetName(), Etag: b.GetEtag()}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("a submitter merges: %v, want PERMISSION_DENIED", err)
		}
		if _, err := c.MergeIdea(e.As(t, auth.Advisor, "uppsala").Ctx(t), &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: a.GetName(), Etag: b.GetEtag()}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("another region's advisor merges: %v, want PERMISSION_DENIED", err)
		}

		merged, err := c.MergeIdea(adv.Ctx(t), &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: a.GetName(), Rationale: "Samma idé", Etag: b.GetEtag()})
		if err != nil {
			t.Fatalf("MergeIdea: %v", err)
		}
		if merged.GetStage() != ideav1.Stage_STAGE_MERGED || merged.GetMergedInto() != a.GetName() {
			t.Errorf("merged %v: want STAGE_MERGED into %s", merged, a.GetName())
		}
		// Found from its old name; final.
		got, err := c.GetIdea(second.Ctx(t), &ideav1.GetIdeaRequest{Name: b.GetName()})
		if err != nil || got.GetMergedInto() != a.GetName() {
			t.Errorf("Get of the duplicate by its submitter: %v %v, want mergedInto %s", got, err, a.GetName())
		}
		if _, err := c.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{Name: b.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: got.GetEtag()}); reason(err) != "IDEA_FINAL" {
			t.Errorf("moving a merged idea: %v, want IDEA_FINAL", err)
		}

		target, err := c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(target.GetMergedFrom(), []string{b.GetName()}) || len(target.GetCoSubmitters()) != 1 || target.GetCoSubmitters()[0].GetEmail() != "karin@example.se" {
			t.Errorf("target %v: want merged_from [%s] and Karin as co-submitter", target, b.GetName())
		}
		// B's submitter now reads A, without A's submitter's data; A's submitter does not see B's.
		asSecond, err := c.GetIdea(second.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()})
		if err != nil || asSecond.GetSubmitter() != nil || len(asSecond.GetCoSubmitters()) != 0 {
			t.Errorf("the co-submitter reads the target: %v %v, want it without anyone's personal data", asSecond, err)
		}
		list, err := c.ListIdeas(second.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetIdeas()) != 2 {
			t.Errorf("the co-submitter's list: %v %v, want their duplicate and the idea it was merged into", list, err)
		}
		asFirst, _ := c.GetIdea(first.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()})
		if len(asFirst.GetCoSubmitters()) != 0 || asFirst.GetSubmitter() == nil {
			t.Errorf("the submitter reads their idea: %v, want their own data only", asFirst)
		}

		for _, n := range []string{a.GetName(), b.GetName()} {
			h, err := c.ListIdeaHistory(adv.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: n})
			if err != nil {
				t.Fatal(err)
			}
			entries := h.GetEntries()
			if len(entries) != 2 || entries[0].GetToStage() != ideav1.Stage_STAGE_SUBMITTED || !strings.Contains(entries[1].GetRationale(), "Samma idé") {
				t.Errorf("history of %s: %v, want its submission and the merge", n, entries)
			}
		}

		// Over REST.
		c2 := e.mustCreate(t, first, "vasterbotten", sampleIdea())
		code, body := e.REST(t, adv, "POST", "/v1/"+c2.GetName()+":merge", `{"mergeInto":"`+a.GetName()+`","etag":"`+c2.GetEtag()+`"}`)
		if code != http.StatusOK || body["stage"] != "STAGE_MERGED" || body["mergedInto"] != a.GetName() {
			t.Errorf("merge over REST: %d %v", code, body)
		}
	})
}

// TestMerge_ErasureReachesTheCoSubmitter: erasing a merged duplicate's
// submitter removes them from the idea it was merged into. (The embedded
// store only: on Redis an erasure starts a file rewrite that outlives the
// test's folder; the erasure tests cover Redis.)
func TestMerge_ErasureReachesTheCoSubmitter(t *testing.T) {
	e := newEnv(t, stack.Backends()[0])
	adv := e.As(t, auth.Advisor, "vasterbotten")
	second := e.As(t, auth.Submitter, "vasterbotten", "patient-b")
	c := e.client
	a := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten", "patient-a"), "vasterbotten", sampleIdea())
	b := e.mustCreate(t, second, "vasterbotten", sampleIdea())
	if _, err := c.MergeIdea(adv.Ctx(t), &ideav1.MergeIdeaRequest{Name: b.GetName(), MergeInto: a.GetName(), Etag: b.GetEtag()}); err != nil {
		t.Fatal(err)
	}
	target, _ := c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()})
	if len(target.GetCoSubmitters()) != 1 {
		t.Fatalf("co-submitters %v, want Greta", target.GetCoSubmitters())
	}
	// Erasing the duplicate's submitter removes them from the target too.
	if _, err := c.EraseSubmitter(second.Ctx(t), &ideav1.EraseSubmitterRequest{Name: b.GetName()}); err != nil {
		t.Fatalf("EraseSubmitter: %v", err)
	}
	target, _ = c.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()})
	if len(target.GetCoSubmitters()) != 0 {
		t.Errorf("co-submitters after erasure: %v, want none", target.GetCoSubmitters())
	}

	if _, err := c.GetIdea(second.Ctx(t), &ideav1.GetIdeaRequest{Name: a.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("the erased co-submitter reads the target: %v, want NOT_FOUND", err)
	}
}
