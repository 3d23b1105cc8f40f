package funding_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	"github.com/innovationsmotorer/motor/services/funding"
)

// newerSubproject is the Subproject of a newer schema, built at run time:
// today's fields and one more, risk_class, that this code does not know.
func newerSubproject(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	cur := fundingv1.File_innovation_funding_v1_funding_proto
	msg := protodesc.ToDescriptorProto((&fundingv1.Subproject{}).ProtoReflect().Descriptor())
	msg.Field = append(msg.Field, &descriptorpb.FieldDescriptorProto{
		Name: proto.String("risk_class"), Number: proto.Int32(900), JsonName: proto.String("riskClass"),
		Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
	})
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("fundingtest/newer.proto"), Package: proto.String("fundingtest.v2"), Syntax: proto.String("proto3"),
		Dependency:  []string{cur.Path(), "google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{msg},
	}, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Subproject")
}

// TestRollingUpgrade_KeepsNewerFields: a subproject that a newer replica
// wrote with a field this code does not know is read, updated and written
// back by this code, and the newer replica still finds its field.
func TestRollingUpgrade_KeepsNewerFields(t *testing.T) {
	md := newerSubproject(t)
	risk := md.Fields().ByName("risk_class")
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			p := e.mustProgramme(t, "p", 10_000_000, -1)
			sp := e.mustCreate(t, vb, sampleSubproject(p.GetName(), 1000))
			// The newer replica, with its own schema, on the same store.
			newer := repo.New(repo.Config[*dynamicpb.Message]{
				Store: e.Store, Service: "funding", Domain: "funding.motor", Kind: "subproject",
				New: func() *dynamicpb.Message { return dynamicpb.NewMessage(md) },
				Index: func(en *repo.Entry[*dynamicpb.Message]) []store.IndexEntry {
					b, err := proto.Marshal(en.Msg)
					if err != nil {
						t.Error(err)
					}
					cur := &fundingv1.Subproject{}
					if err := proto.Unmarshal(b, cur); err != nil {
						t.Error(err)
					}
					return funding.SubprojectIndex(en.Ref, cur)
				},
			})
			ref := repo.Ref{Region: vb, Key: "subproject/" + strings.TrimPrefix(sp.GetName(), "regions/vasterbotten/subprojects/"), Name: sp.GetName()}
			if _, _, err := newer.Update(t.Context(), ref, sp.GetEtag(), "newer-replica", func(en *repo.Entry[*dynamicpb.Message], _ time.Time) (repo.Change, error) {
				en.Msg.Set(risk, protoreflect.ValueOfString("B"))
				return repo.Change{Action: "ClassifyRisk"}, nil
			}); err != nil {
				t.Fatal(err)
			}

			got := e.get(t, sp.GetName())
			upd, err := e.subs.UpdateSubproject(e.admin(t, vb).Ctx(t), &fundingv1.UpdateSubprojectRequest{
				Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: got.GetEtag(), Title: "Ny titel"},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
			})
			if err != nil {
				t.Fatalf("this code updates the newer record: %v", err)
			}
			list, err := e.subs.ListSubprojects(e.coordinator(t).Ctx(t), &fundingv1.ListSubprojectsRequest{Parent: "regions/" + vb, Filter: "status = SUBPROJECT_STATUS_DRAFT"})
			if err != nil || len(list.GetSubprojects()) != 1 {
				t.Fatalf("the newer record is listed: %v, %v", list, err)
			}

			after, err := newer.Get(t.Context(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if v := after.Msg.Get(risk).String(); v != "B" {
				t.Errorf("risk_class after this code's update = %q, want B", v)
			}
			if title := after.Msg.Get(md.Fields().ByName("title")).String(); title != "Ny titel" || after.Etag() != upd.GetEtag() {
				t.Errorf("the newer replica reads title %q etag %s, want this code's update (etag %s)", title, after.Etag(), upd.GetEtag())
			}
		})
	}
}
