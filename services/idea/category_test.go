package idea_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestCategories_VocabularyAndFocusGroup: a region's admins keep its
// categories, tags outside them are refused naming the allowed ones, a
// focus-group session categorises a batch of ideas, and ideas list by
// category.
func TestCategories_VocabularyAndFocusGroup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		admin := e.As(t, auth.RegionAdmin, "vasterbotten")
		adv := e.As(t, auth.Advisor, "vasterbotten", "anna")
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")

		// Before a region has categories, its advisors tag freely.
		free := sampleIdea()
		free.Tags = []string{"KOL", "Distans"}
		if got := e.mustCreate(t, adv, "vasterbotten", free); !slices.Equal(got.GetTags(), free.Tags) {
			t.Errorf("free tags before any category: %v, want %v", got.GetTags(), free.Tags)
		}

		for _, c := range []struct{ id, display string }{{"digital-vard", "Digital vård"}, {"egenvard", "Egenvård"}} {
			got, err := e.client.CreateCategory(admin.Ctx(t), &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: c.id,
				Category: &ideav1.Category{DisplayName: c.display, Owners: []string{"anna"}}})
			if err != nil {
				t.Fatalf("CreateCategory %s: %v", c.id, err)
			}
			if got.GetName() != "regions/vasterbotten/categories/"+c.id || got.GetEtag() == "" {
				t.Errorf("created %v", got)
			}
		}
		if _, err := e.client.CreateCategory(admin.Ctx(t), &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: "egenvard",
			Category: &ideav1.Category{DisplayName: "Igen"}}); status.Code(err) != codes.AlreadyExists {
			t.Errorf("the same id twice: %v, want ALREADY_EXISTS", err)
		}
		if _, err := e.client.CreateCategory(adv.Ctx(t), &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: "x",
			Category: &ideav1.Category{DisplayName: "X"}}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("an advisor creates a category: %v, want PERMISSION_DENIED", err)
		}
		if _, err := e.client.CreateCategory(e.As(t, auth.RegionAdmin, "uppsala").Ctx(t), &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: "x",
			Category: &ideav1.Category{DisplayName: "X"}}); status.Code(err) != codes.PermissionDenied {
			t.Errorf("another region's admin creates a category: %v, want PERMISSION_DENIED", err)
		}

		// From now on a tag must be a category; the answer names the allowed ones.
		bad := sampleIdea()
		bad.Tags = []string{"Egenvard", "Robotar"}
		_, err := e.client.CreateIdea(adv.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: bad})
		if status.Code(err) != codes.InvalidArgument || !slices.Contains(fieldViolations(err), "idea.tags") ||
			!strings.Contains(status.Convert(err).Message(), "digital-vard, egenvard") || !strings.Contains(status.Convert(err).Message(), "Robotar") {
			t.Errorf("a tag outside the vocabulary: %v, want INVALID_ARGUMENT on idea.tags naming Robotar and the allowed categories", err)
		}
		good := sampleIdea()
		good.Tags = []string{"Egenvard"}
		tagged := e.mustCreate(t, adv, "vasterbotten", good)
		if !slices.Equal(tagged.GetTags(), []string{"egenvard"}) {
			t.Errorf("tags %v, want the category id [egenvard]", tagged.GetTags())
		}
		upd := &ideav1.Idea{Name: tagged.GetName(), Etag: tagged.GetEtag(), Tags: []string{"okänd"}}
		if _, err := e.client.UpdateIdea(adv.Ctx(t), &ideav1.UpdateIdeaRequest{Idea: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tags"}}}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("update to a tag outside the vocabulary: %v, want INVALID_ARGUMENT", err)
		}
		// Uppsala has no categories: its tags stay free.
		up := sampleIdea()
		up.Tags = []string{"Robotar"}
		e.mustCreate(t, e.As(t, auth.Advisor, "uppsala"), "uppsala", up)

		// A focus group categorises a batch at once.
		a := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		b := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		session, err := e.client.CreateFocusGroupSession(adv.Ctx(t), &ideav1.CreateFocusGroupSessionRequest{Parent: "regions/vasterbotten", Session: &ideav1.FocusGroupSession{
			Date: "2026-04-02", Participants: []string{"anna", "Fokusgrupp KOL"},
			Assignments: []*ideav1.CategoryAssignment{
				{Idea: a.GetName(), Categories: []string{"digital-vard", "egenvard"}},
				{Idea: b.GetName(), Categories: []string{"digital-vard"}},
			},
		}})
		if err != nil {
			t.Fatalf("CreateFocusGroupSession: %v", err)
		}
		if !strings.HasPrefix(session.GetName(), "regions/vasterbotten/focusGroupSessions/") {
			t.Errorf("session name %q", session.GetName())
		}
		_, err = e.client.CreateFocusGroupSession(adv.Ctx(t), &ideav1.CreateFocusGroupSessionRequest{Parent: "regions/vasterbotten", Session: &ideav1.FocusGroupSession{
			Date: "2026-04-02", Assignments: []*ideav1.CategoryAssignment{{Idea: a.GetName(), Categories: []string{"robotar"}}, {Idea: "regions/uppsala/ideas/x1", Categories: []string{"egenvard"}}},
		}})
		if f := fieldViolations(err); status.Code(err) != codes.InvalidArgument || !slices.Contains(f, "session.assignments[0].categories") || !slices.Contains(f, "session.assignments[1].idea") {
			t.Errorf("a bad session: %v (fields %v), want both bad assignments named", err, f)
		}

		byCategory := func(cat string) []string {
			list, err := e.client.ListIdeas(adv.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Filter: "category = " + cat})
			if err != nil {
				t.Fatalf("list by category %s: %v", cat, err)
			}
			var names []string
			for _, i := range list.GetIdeas() {
				names = append(names, i.GetName())
			}
			slices.Sort(names)
			return names
		}
		want := []string{a.GetName(), b.GetName()}
		slices.Sort(want)
		if got := byCategory("digital-vard"); !slices.Equal(got, want) {
			t.Errorf("digital-vard lists %v, want %v", got, want)
		}
		want = []string{a.GetName(), tagged.GetName()}
		slices.Sort(want)
		if got := byCategory("egenvard"); !slices.Equal(got, want) {
			t.Errorf("egenvard lists %v, want %v", got, want)
		}

		// Owners change; a stale etag is refused naming the current one.
		cat, err := e.client.GetCategory(sub.Ctx(t), &ideav1.GetCategoryRequest{Name: "regions/vasterbotten/categories/egenvard"})
		if err != nil {
			t.Fatalf("a submitter reads a category: %v", err)
		}
		changed, err := e.client.UpdateCategory(admin.Ctx(t), &ideav1.UpdateCategoryRequest{
			Category:   &ideav1.Category{Name: cat.GetName(), Etag: cat.GetEtag(), Owners: []string{"anna", "bo"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owners"}}})
		if err != nil || !slices.Equal(changed.GetOwners(), []string{"anna", "bo"}) || changed.GetDisplayName() != "Egenvård" {
			t.Fatalf("UpdateCategory: %v %v", changed, err)
		}
		_, err = e.client.DeleteCategory(admin.Ctx(t), &ideav1.DeleteCategoryRequest{Name: cat.GetName(), Etag: cat.GetEtag()})
		if status.Code(err) != codes.Aborted || !strings.Contains(status.Convert(err).Message(), changed.GetEtag()) {
			t.Errorf("delete with a stale etag: %v, want ABORTED naming etag %s", err, changed.GetEtag())
		}
		if _, err := e.client.DeleteCategory(admin.Ctx(t), &ideav1.DeleteCategoryRequest{Name: cat.GetName(), Etag: changed.GetEtag()}); err != nil {
			t.Fatalf("DeleteCategory: %v", err)
		}

		// Over REST.
		code, body := e.REST(t, adv, "GET", "/v1/regions/vasterbotten/categories", "")
		if cs, _ := body["categories"].([]any); code != http.StatusOK || len(cs) != 1 {
			t.Errorf("list categories: %d %v, want only digital-vard left", code, body)
		}
		code, body = e.REST(t, adv, "POST", "/v1/regions/vasterbotten/ideas",
			`{"title":"t","problem":"p","origin":"ORIGIN_STAFF","tags":["robotar"]}`)
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "digital-vard") {
			t.Errorf("a tag outside the vocabulary over REST: %d %v", code, body)
		}
		code, body = e.REST(t, adv, "GET", "/v1/regions/vasterbotten/ideas?filter=category%20%3D%20digital-vard", "")
		if ideas, _ := body["ideas"].([]any); code != http.StatusOK || len(ideas) != 2 {
			t.Errorf("list by category over REST: %d %v", code, body)
		}
	})
}
