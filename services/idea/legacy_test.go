package idea_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// The records of testdata/legacy-records.json, as the service stored them
// in protojson before the repository's envelope.
const (
	legacyIdea     = "regions/vasterbotten/ideas/iaohi4qabrmzkk4i" // anna's, in screening, assessed once, with bo's duplicate merged in
	legacyDup      = "regions/vasterbotten/ideas/7uxlfsz3cfbafdnn" // bo's, merged
	legacyWorkshop = "regions/vasterbotten/workshops/mvrr27dbuypocrz6"
	legacyCategory = "regions/vasterbotten/categories/egenvard"
	legacyTestBed  = "regions/vasterbotten/testBeds/zwmxduqgxqicieo2"
	legacyTestPlan = legacyIdea + "/testPlans/fhrydg5fyljgfoa3"
)

var ideaNS = store.Namespace{Service: "idea", Region: "vasterbotten"}

func storedAsJSON(t *testing.T, e *regionEnv, key string) bool {
	t.Helper()
	rec, err := e.Store.Get(t.Context(), ideaNS, key)
	if err != nil {
		t.Fatal(err)
	}
	return strings.HasPrefix(string(rec.Value), "{")
}

// TestLegacyRecordsStayReadable: ideas and the records kept beside them as
// earlier code stored them are read (owners, co-submitters, history,
// scores and index entries included), changed, and rewritten in the
// current form on their change; the request ids that code kept for ever go.
func TestLegacyRecordsStayReadable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		e.LoadRecords(t, ideaNS, "testdata/legacy-records.json")
		legacyKey := &store.Idempotency{Key: "create/89876f8740f3fc59/form-1", Fingerprint: "f", Result: []byte(legacyIdea)}
		if _, err := e.Store.Commit(t.Context(), ideaNS, store.Write{Idempotency: legacyKey, Events: []store.Event{{Action: "CreateIdea"}}}); err != nil {
			t.Fatal(err)
		}
		c := e.client
		anna := e.As(t, auth.Submitter, "vasterbotten", "patient-anna")
		bo := e.As(t, auth.Submitter, "vasterbotten", "patient-bo")
		adv := e.As(t, auth.Advisor, "vasterbotten", "advisor-cia")
		admin := e.As(t, auth.RegionAdmin, "vasterbotten", "admin-dan")

		got, err := c.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: legacyIdea})
		if err != nil {
			t.Fatalf("the submitter reads a legacy idea: %v", err)
		}
		if got.GetStage() != ideav1.Stage_STAGE_SCREENING || got.GetEtag() != "1" || got.GetSubmitter().GetEmail() == "" ||
			got.GetAssessmentSummary().GetCount() != 1 || len(got.GetMergedFrom()) != 1 || !slicesContain(got.GetTags(), "egenvard") {
			t.Fatalf("legacy idea read as %v", got)
		}
		if _, err := c.GetIdea(bo.Ctx(t), &ideav1.GetIdeaRequest{Name: legacyIdea}); err != nil {
			t.Errorf("the co-submitter of a legacy idea cannot read it: %v", err)
		}
		list, err := c.ListIdeas(anna.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten"})
		if err != nil || len(list.GetIdeas()) != 1 || list.GetIdeas()[0].GetName() != legacyIdea {
			t.Errorf("the submitter lists %v, %v; want their legacy idea", list.GetIdeas(), err)
		}
		if list, err := c.ListIdeas(adv.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Filter: "tag = egenvard"}); err != nil || len(list.GetIdeas()) != 1 {
			t.Errorf("filtered on the legacy tag index: %v, %v", list.GetIdeas(), err)
		}
		hist, err := c.ListIdeaHistory(adv.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: legacyIdea})
		if err != nil || len(hist.GetEntries()) != 3 {
			t.Fatalf("legacy history: %v, %v", hist.GetEntries(), err)
		}
		as, err := c.ListAssessments(adv.Ctx(t), &ideav1.ListAssessmentsRequest{Parent: legacyIdea})
		if err != nil || len(as.GetAssessments()) != 1 || as.GetAssessments()[0].GetReviewer() != "advisor-cia" {
			t.Errorf("legacy assessments: %v, %v", as.GetAssessments(), err)
		}
		if w, err := c.GetWorkshop(adv.Ctx(t), &ideav1.GetWorkshopRequest{Name: legacyWorkshop}); err != nil || w.GetEtag() != "1" || len(w.GetAgenda()) != 1 {
			t.Errorf("legacy workshop: %v, %v", w, err)
		}
		if b, err := c.GetTestBed(adv.Ctx(t), &ideav1.GetTestBedRequest{Name: legacyTestBed}); err != nil || b.GetCapacity() != 2 {
			t.Errorf("legacy test bed: %v, %v", b, err)
		}
		plans, err := c.ListTestPlans(adv.Ctx(t), &ideav1.ListTestPlansRequest{Parent: legacyTestBed})
		if err != nil || len(plans.GetTestPlans()) != 1 || plans.GetTestPlans()[0].GetName() != legacyTestPlan {
			t.Fatalf("legacy test plans of the bed: %v, %v", plans.GetTestPlans(), err)
		}

		// A change rewrites the record in the current form and keeps what
		// the service computes from: the scores, the history, the co-owner.
		if _, err := c.CreateAssessment(admin.Ctx(t), &ideav1.CreateAssessmentRequest{Parent: legacyIdea, Assessment: scorecard(2, 2, 2, 2, 2, 2)}); err != nil {
			t.Fatal(err)
		}
		got, err = c.GetIdea(anna.Ctx(t), &ideav1.GetIdeaRequest{Name: legacyIdea})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetAssessmentSummary().GetCount() != 2 || got.GetEtag() != "2" {
			t.Errorf("after a second assessment: summary %v etag %s, want 2 reviewers at etag 2", got.GetAssessmentSummary(), got.GetEtag())
		}
		if storedAsJSON(t, e, "idea/iaohi4qabrmzkk4i") {
			t.Error("the changed idea is still stored as protojson")
		}
		if _, err := c.GetIdea(bo.Ctx(t), &ideav1.GetIdeaRequest{Name: legacyIdea}); err != nil {
			t.Errorf("the co-submitter lost the rewritten idea: %v", err)
		}
		if hist, err := c.ListIdeaHistory(anna.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: legacyIdea}); err != nil || len(hist.GetEntries()) != 3 {
			t.Errorf("history after the rewrite: %v, %v", hist.GetEntries(), err)
		}
		if _, err := c.ApproveTestPlan(adv.Ctx(t), &ideav1.ApproveTestPlanRequest{Name: legacyTestPlan, Etag: "1"}); err != nil {
			t.Fatalf("approving a legacy test plan: %v", err)
		}
		if storedAsJSON(t, e, "testplan/iaohi4qabrmzkk4i/fhrydg5fyljgfoa3") {
			t.Error("the approved test plan is still stored as protojson")
		}
		cat, err := c.UpdateCategory(admin.Ctx(t), &ideav1.UpdateCategoryRequest{
			Category: &ideav1.Category{Name: legacyCategory, DisplayName: "Egenvård och hemmet", Etag: "1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
		if err != nil || cat.GetEtag() != "2" || len(cat.GetOwners()) != 1 {
			t.Fatalf("updating a legacy category: %v, %v", cat, err)
		}
		if storedAsJSON(t, e, "category/egenvard") {
			t.Error("the changed category is still stored as protojson")
		}

		// The merged duplicate is erased: its submitter leaves the idea it
		// was merged into too.
		if _, err := c.EraseSubmitter(bo.Ctx(t), &ideav1.EraseSubmitterRequest{Name: legacyDup}); err != nil {
			t.Fatalf("erasing the submitter of a legacy duplicate: %v", err)
		}
		if _, err := c.GetIdea(bo.Ctx(t), &ideav1.GetIdeaRequest{Name: legacyIdea}); status.Code(err) != codes.NotFound {
			t.Errorf("the erased co-submitter still reads the idea: %v", err)
		}

		if res, err := e.Store.Commit(t.Context(), ideaNS, store.Write{Idempotency: &store.Idempotency{Key: legacyKey.Key, Fingerprint: "other"}}); err != nil || res.Replayed {
			t.Errorf("a request id earlier code kept for ever outlived the upgrade: %+v, %v", res, err)
		}
	})
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestErase_ForgetsRequestIDs: after an erasure the person's request ids
// are gone with them; the same request_id is a new create.
// It runs on bbolt: on Redis the erasure starts a rewrite of the server's
// files that outlives the test's folder (the conformance suite covers
// Forget on both stores).
func TestErase_ForgetsRequestIDs(t *testing.T) {
	func(t *testing.T, e *regionEnv) {
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-erased")
		create := func(title string) (*ideav1.Idea, error) {
			in := sampleIdea()
			in.Title = title
			return e.client.CreateIdea(sub.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: in, RequestId: "form-1"})
		}
		first, err := create("Första")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := create("Andra"); status.Code(err) != codes.AlreadyExists {
			t.Fatalf("the same request_id with another idea before the erasure: %v, want ALREADY_EXISTS", err)
		}
		if _, err := e.client.EraseSubmitter(sub.Ctx(t), &ideav1.EraseSubmitterRequest{Name: first.GetName()}); err != nil {
			t.Fatal(err)
		}
		second, err := create("Andra")
		if err != nil || second.GetName() == first.GetName() {
			t.Errorf("after the erasure the request_id still answers: %v, %v", second, err)
		}
	}(t, newEnv(t, stack.Backends()[0]))
}

// newerIdeaSchema is the idea as a newer replica's schema has it: the same
// fields and one the current code does not know (field 900, a string).
func newerIdeaSchema(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	in := protodesc.ToDescriptorProto((&ideav1.Idea{}).ProtoReflect().Descriptor())
	in.Field = append(in.Field, &descriptorpb.FieldDescriptorProto{
		Name: proto.String("newer_field"), Number: proto.Int32(900), JsonName: proto.String("newerField"),
		Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
	})
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("ideatest/v2/idea.proto"), Package: proto.String("ideatest.v2"), Syntax: proto.String("proto3"),
		Dependency:  []string{"innovation/idea/v1/idea.proto", "google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{in},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Idea")
}

// TestRollingUpgrade: an idea a newer replica wrote with a field the
// current code does not know is read, changed and written back by the
// current service, and the newer field is still there for the newer
// replica, with what the service keeps beside the idea.
func TestRollingUpgrade(t *testing.T) {
	ideaMD := newerIdeaSchema(t)
	newerField := ideaMD.Fields().ByName("newer_field")
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		newer := repo.New(repo.Config[*dynamicpb.Message]{
			Store: e.Store, Service: "idea", Domain: errs.Domain("idea.motor"), Kind: "idea",
			New:  func() *dynamicpb.Message { return dynamicpb.NewMessage(ideaMD) },
			Side: func() proto.Message { return &ideav1.IdeaRecord{} },
		})
		sub := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		adv := e.As(t, auth.Advisor, "vasterbotten")
		created := e.mustCreate(t, sub, "vasterbotten", sampleIdea())
		ref := repo.Ref{Region: "vasterbotten", Key: "idea/" + created.GetName()[strings.LastIndex(created.GetName(), "/")+1:], Name: created.GetName()}

		// The newer replica sets its field.
		if _, _, err := newer.Update(context.Background(), ref, created.GetEtag(), "newer-replica", func(r *repo.Entry[*dynamicpb.Message], _ time.Time) (repo.Change, error) {
			r.Msg.Set(newerField, protoreflect.ValueOfString("från en nyare version"))
			return repo.Change{Action: "UpdateIdea"}, nil
		}); err != nil {
			t.Fatal(err)
		}

		// The current service reads it, moves it and writes it back.
		cur, err := e.client.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: created.GetName()})
		if err != nil {
			t.Fatalf("the current service reads the newer record: %v", err)
		}
		moved, err := e.client.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{Name: cur.GetName(), Stage: ideav1.Stage_STAGE_SCREENING, Etag: cur.GetEtag()})
		if err != nil {
			t.Fatalf("the current service changes the newer record: %v", err)
		}

		after, err := newer.Get(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := after.Msg.Get(newerField).String(); got != "från en nyare version" {
			t.Errorf("the newer field after the current service's write: %q", got)
		}
		if st := after.Msg.Get(ideaMD.Fields().ByName("stage")).Enum(); st != protoreflect.EnumNumber(ideav1.Stage_STAGE_SCREENING) || after.Etag() != moved.GetEtag() || after.Owner != "patient-1" {
			t.Errorf("the newer replica reads stage %v etag %s owner %q, want the move at etag %s of patient-1's idea", st, after.Etag(), after.Owner, moved.GetEtag())
		}
		if n := len(after.Side.(*ideav1.IdeaRecord).GetHistory()); n != 2 {
			t.Errorf("history of %d entries after the move, want 2", n)
		}
	})
}
