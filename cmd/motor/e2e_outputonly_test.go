package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// Output-only fields on writes (docs/architecture.md, "Contracts and REST
// routes"): every Create and Update, and every custom method whose request
// carries a resource, takes a request with each output-only field set to
// junk, answers as it answers the same request without the junk, and
// neither returns nor stores the junk. The output-only fields are the
// `readOnly` properties of the committed OpenAPI document, which the
// gateway serves and which `make generate` derives from the protos'
// "Output only" comments.

// The junk. Strings carry junkMark; a date is junkDate; numbers and times
// are values no server computes here.
const (
	junkMark    = "jnk7f3"
	junkDate    = "2001-09-09"
	junkInt     = 7_313_131
	junkDouble  = 4.3125
	junkSeconds = 1_000_000_000 // 2001-09-09T01:46:40Z
)

// noOutputOnly are the resources that have no output-only field besides
// name and etag, with why. Any other resource without a readOnly property
// fails the test: its document says nothing about what the server sets.
var noOutputOnly = map[protoreflect.FullName]string{
	"innovation.notify.v1.NotificationSettings": "every field is the person's own setting",
	"innovation.idea.v1.Category":               "display name, description and owners are all the admin's",
}

// openAPISchemas reads components.schemas of the committed document.
type oaProp struct {
	ReadOnly bool `json:"readOnly"`
}
type oaSchema struct {
	Properties map[string]oaProp `json:"properties"`
}

func openAPISchemas(t *testing.T) map[string]oaSchema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "gateway", "openapi", "motor.openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]oaSchema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// schemaOf finds a message's schema: its simple name, or, where two
// packages share the name, the package-qualified one.
func schemaOf(schemas map[string]oaSchema, md protoreflect.MessageDescriptor) (oaSchema, bool) {
	if s, ok := schemas[string(md.Name())]; ok {
		return s, true
	}
	s, ok := schemas[strings.TrimPrefix(string(md.FullName()), "innovation.")]
	return s, ok
}

// httpRule is one rule of gateway/http.yaml.
type httpRule struct {
	verb, path, body string
}

func httpRules(t *testing.T) map[string]httpRule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "gateway", "http.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]httpRule{}
	selector := regexp.MustCompile(`selector: ([\w.]+)`)
	verb := regexp.MustCompile(`^\s+(get|post|patch|put|delete): (\S+)`)
	body := regexp.MustCompile(`^\s+body: "?([\w*]+)"?`)
	method := ""
	for _, line := range strings.Split(string(raw), "\n") {
		if m := selector.FindStringSubmatch(line); m != nil {
			i := strings.LastIndex(m[1], ".")
			method = "/" + m[1][:i] + "/" + m[1][i+1:]
		} else if m := verb.FindStringSubmatch(line); m != nil && method != "" {
			out[method] = httpRule{verb: strings.ToUpper(m[1]), path: m[2]}
		} else if m := body.FindStringSubmatch(line); m != nil && method != "" {
			r := out[method]
			r.body = m[1]
			out[method] = r
		}
	}
	return out
}

// resourceField is the field of a write's request that carries a Motor
// resource, or nil.
func resourceField(md protoreflect.MethodDescriptor) protoreflect.FieldDescriptor {
	fs := md.Input().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		if f.Message() != nil && !f.IsList() && strings.HasPrefix(string(f.Message().FullName()), "innovation.") {
			return f
		}
	}
	return nil
}

// writeMethods are the methods the rule covers: every Create* and Update*,
// and every other method whose request carries a resource.
func writeMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	for _, md := range motorMethods() {
		n := string(md.Name())
		if strings.HasPrefix(n, "Create") || strings.HasPrefix(n, "Update") || resourceField(md) != nil {
			out = append(out, md)
		}
	}
	slices.SortFunc(out, func(a, b protoreflect.MethodDescriptor) int { return strings.Compare(fullMethod(a), fullMethod(b)) })
	return out
}

// junkString is plausible junk for an output-only string field.
func junkString(f protoreflect.FieldDescriptor) string {
	n := string(f.Name())
	switch {
	case strings.Contains(n, "date") || n == "respond_by":
		return junkDate
	case strings.HasSuffix(n, "email"):
		return junkMark + "@example.org"
	case f.IsList() || slices.Contains([]string{"spread_from", "merged_into", "routed_to", "partner", "subject", "test_bed", "workshop"}, n):
		return "regions/vasterbotten/ideas/" + junkMark
	}
	return junkMark + " set by a client"
}

func junkScalar(f protoreflect.FieldDescriptor) protoreflect.Value {
	switch f.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(junkString(f))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(junkInt)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(junkInt)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(junkInt)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(junkInt)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(junkDouble)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(junkDouble)
	case protoreflect.EnumKind:
		vs := f.Enum().Values()
		return protoreflect.ValueOfEnum(vs.Get(vs.Len() - 1).Number())
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(junkMark))
	}
	panic(fmt.Sprintf("no junk for %s", f.FullName()))
}

// fillJunk sets every field of m to junk (m is inside an output-only field).
func fillJunk(m protoreflect.Message, depth int) {
	if m.Descriptor().FullName() == "google.protobuf.Timestamp" {
		m.Set(m.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(junkSeconds))
		return
	}
	fs := m.Descriptor().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		switch {
		case f.IsMap():
		case f.Message() != nil && depth > 3:
		case f.IsList() && f.Message() != nil:
			fillJunk(m.Mutable(f).List().AppendMutable().Message(), depth+1)
		case f.IsList():
			m.Mutable(f).List().Append(junkScalar(f))
		case f.Message() != nil:
			fillJunk(m.Mutable(f).Message(), depth+1)
		default:
			m.Set(f, junkScalar(f))
		}
	}
}

// junked sets the output-only fields of m, and of the messages a valid
// request already sets inside it, to junk; it returns their paths.
func (oo *outputOnly) junked(m protoreflect.Message, prefix string) []string {
	var paths []string
	fs := m.Descriptor().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		path := prefix + string(f.Name())
		switch {
		case oo.readOnly(f):
			switch {
			case f.IsMap():
				continue
			case f.IsList() && f.Message() != nil:
				fillJunk(m.Mutable(f).List().AppendMutable().Message(), 1)
			case f.IsList():
				m.Mutable(f).List().Append(junkScalar(f))
			case f.Message() != nil:
				fillJunk(m.Mutable(f).Message(), 1)
			default:
				m.Set(f, junkScalar(f))
			}
			paths = append(paths, path)
		case f.Message() != nil && !f.IsMap() && m.Has(f):
			if f.IsList() {
				l := m.Mutable(f).List()
				for j := range l.Len() {
					paths = append(paths, oo.junked(l.Get(j).Message(), fmt.Sprintf("%s[%d].", path, j))...)
				}
			} else {
				paths = append(paths, oo.junked(m.Mutable(f).Message(), path+".")...)
			}
		}
	}
	return paths
}

// outputOnly is the document's knowledge of which fields are output only.
type outputOnly struct {
	schemas map[string]oaSchema
}

func (oo *outputOnly) readOnly(f protoreflect.FieldDescriptor) bool {
	s, _ := schemaOf(oo.schemas, f.ContainingMessage())
	return s.Properties[f.JSONName()].ReadOnly
}

// described checks that the document has a schema for md and every message
// below it, with a property for every field.
func (oo *outputOnly) described(t *testing.T, md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) {
	t.Helper()
	if seen[md.FullName()] || !strings.HasPrefix(string(md.FullName()), "innovation.") {
		return
	}
	seen[md.FullName()] = true
	s, ok := schemaOf(oo.schemas, md)
	if !ok {
		t.Errorf("the OpenAPI document has no schema for %s: run `make generate`", md.FullName())
		return
	}
	fs := md.Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		if _, ok := s.Properties[f.JSONName()]; !ok {
			t.Errorf("the OpenAPI schema of %s has no property %s: run `make generate`", md.FullName(), f.JSONName())
		}
		if f.Message() != nil {
			oo.described(t, f.Message(), seen)
		}
	}
}

// leftJunk reports where got still carries junk in an output-only field.
// base is the answer to the same request without junk: a bool or an enum
// is junk when it differs from it.
func (oo *outputOnly) leftJunk(got, base protoreflect.Message, prefix string, inside bool) []string {
	var out []string
	if got.Descriptor().FullName() == "google.protobuf.Timestamp" {
		if inside && got.Get(got.Descriptor().Fields().ByName("seconds")).Int() == junkSeconds {
			out = append(out, prefix+" = the junk time")
		}
		return out
	}
	fs := got.Descriptor().Fields()
	for i := range fs.Len() {
		f := fs.Get(i)
		ro := inside || oo.readOnly(f)
		path := prefix + string(f.Name())
		if f.IsMap() || (!ro && f.Message() == nil) {
			continue
		}
		var baseV protoreflect.Value
		hasBase := base != nil && base.IsValid()
		if hasBase {
			baseV = base.Get(f)
		}
		if f.IsList() {
			l := got.Get(f).List()
			for j := range l.Len() {
				ep := fmt.Sprintf("%s[%d]", path, j)
				if f.Message() != nil {
					var be protoreflect.Message
					if hasBase && j < baseV.List().Len() {
						be = baseV.List().Get(j).Message()
					}
					out = append(out, oo.leftJunk(l.Get(j).Message(), be, ep+".", ro)...)
				} else if bad := junkLeaf(f, l.Get(j), protoreflect.Value{}); bad != "" {
					out = append(out, ep+" = "+bad)
				}
			}
			continue
		}
		if f.Message() != nil {
			if got.Has(f) {
				var bm protoreflect.Message
				if hasBase && base.Has(f) {
					bm = baseV.Message()
				}
				out = append(out, oo.leftJunk(got.Get(f).Message(), bm, path+".", ro)...)
			}
			continue
		}
		if !hasBase {
			baseV = protoreflect.Value{}
		}
		if bad := junkLeaf(f, got.Get(f), baseV); bad != "" {
			out = append(out, path+" = "+bad)
		}
	}
	return out
}

// seesJunk checks the check: leftJunk finds the junk of every path in the
// junked request itself, but for a bool or an enum whose junk is what the
// server sets anyway (then nothing could tell them apart).
func (oo *outputOnly) seesJunk(t *testing.T, junked, base protoreflect.Message, paths []string) {
	t.Helper()
	found := strings.Join(oo.leftJunk(junked, base, "", false), "\n")
	for _, p := range paths {
		if !strings.Contains("\n"+found, "\n"+p) {
			t.Errorf("the check does not see the junk set in %s", p)
		}
	}
}

func junkLeaf(f protoreflect.FieldDescriptor, v, base protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.StringKind:
		if s := v.String(); strings.Contains(s, junkMark) || s == junkDate {
			return fmt.Sprintf("%q", s)
		}
	case protoreflect.DoubleKind, protoreflect.FloatKind:
		if math.Abs(v.Float()-junkDouble) < 1e-9 {
			return fmt.Sprint(v.Float())
		}
	case protoreflect.BoolKind, protoreflect.EnumKind:
		if base.IsValid() && !v.Equal(base) {
			return fmt.Sprintf("%v, where the same request without junk gives %v", v.Interface(), base.Interface())
		}
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		if v.Int() == junkInt {
			return fmt.Sprint(v.Int())
		}
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		if v.Uint() == junkInt {
			return fmt.Sprint(v.Uint())
		}
	}
	return ""
}

// ooEnv is the running binary and its callers.
type ooEnv struct {
	bin, data, url string
	conn           *grpc.ClientConn
	tokens         map[string]string
	seq            atomic.Int64
	// peer is the in-process deployment AdoptIdea is called on: only
	// another deployment's idea service calls it, over mTLS.
	peer *accessServer
}

func (e *ooEnv) token(t *testing.T, role string) string {
	t.Helper()
	if tok, ok := e.tokens[role]; ok {
		return tok
	}
	args := []string{"-role", role, "-region", "vasterbotten"}
	if role == "coordinator" {
		args = []string{"-role", role}
	}
	e.tokens[role] = motorToken(t, e.bin, e.data, args...)
	return e.tokens[role]
}

func (e *ooEnv) id(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, e.seq.Add(1))
}

// orgNumber is a new organisation number: one organisation is one partner
// per region. Ten digits, the last a Luhn check digit.
func (e *ooEnv) orgNumber() string {
	n := fmt.Sprintf("5590%05d", e.seq.Add(1))
	sum := 0
	for i, r := range n {
		d := int(r - '0')
		if i%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return n + fmt.Sprint((10-sum%10)%10)
}

func (e *ooEnv) invoke(t *testing.T, tok, method string, req, resp proto.Message) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok), 20*time.Second)
	defer cancel()
	return e.conn.Invoke(ctx, method, req, resp)
}

// must calls a method that sets a case up.
func must[R proto.Message](t *testing.T, e *ooEnv, role, method string, req proto.Message, resp R) R {
	t.Helper()
	if err := e.invoke(t, e.token(t, role), method, req, resp); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return resp
}

// ooCase is how to make a valid request of one method, afresh each time:
// who calls, and the request (whatever it needs is created first).
type ooCase struct {
	role    string
	request func(t *testing.T, e *ooEnv) proto.Message
}

func (e *ooEnv) idea(t *testing.T) *ideav1.Idea {
	return must(t, e, "advisor", ideav1.IdeaService_CreateIdea_FullMethodName, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten",
		Idea: &ideav1.Idea{Title: "Läkemedelspåminnelse " + e.id(""), Problem: "Patienter glömmer kvällsdosen.", Origin: ideav1.Origin_ORIGIN_STAFF}}, &ideav1.Idea{})
}

func (e *ooEnv) need(t *testing.T) *needsv1.Need {
	return must(t, e, "advisor", needsv1.NeedsService_CreateNeed_FullMethodName, &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten",
		Need: &needsv1.Need{Problem: "upptäcka fall nattetid " + e.id(""), Population: "boende på särskilda boenden", Outcome: "kortare tid på golvet",
			ReportedBy: ideav1.Origin_ORIGIN_STAFF, CareUnit: "Äldreboende Ersboda"}}, &needsv1.Need{})
}

func (e *ooEnv) partner(t *testing.T) *partnerv1.Partner {
	return must(t, e, "region_admin", partnerv1.PartnerService_CreatePartner_FullMethodName, &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten",
		Partner: &partnerv1.Partner{DisplayName: "Umeå universitet " + e.id(""), OrgNumber: e.orgNumber(), Kind: partnerv1.PartnerKind_PARTNER_KIND_ACADEMIA}}, &partnerv1.Partner{})
}

func (e *ooEnv) agreement(t *testing.T) *partnerv1.Agreement {
	return must(t, e, "region_admin", partnerv1.PartnerService_CreateAgreement_FullMethodName, &partnerv1.CreateAgreementRequest{Parent: e.partner(t).GetName(),
		Agreement: &partnerv1.Agreement{Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, ValidFrom: "2026-01-01", ValidTo: "2027-12-31"}}, &partnerv1.Agreement{})
}

func (e *ooEnv) subproject(t *testing.T) *fundingv1.Subproject {
	return must(t, e, "region_admin", fundingv1.SubprojectService_CreateSubproject_FullMethodName, e.subprojectRequest(), &fundingv1.Subproject{})
}

func (e *ooEnv) subprojectRequest() *fundingv1.CreateSubprojectRequest {
	return &fundingv1.CreateSubprojectRequest{Parent: "regions/vasterbotten", Subproject: &fundingv1.Subproject{
		Title: "Digital remiss " + e.id(""), Programme: demoProgramme,
		BudgetLines:   []*fundingv1.BudgetLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 200_000, Eligible: true, Description: "Projektledare"}},
		Contributions: []*fundingv1.Contribution{{Party: "Region Västerbotten", Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, AmountOre: 100_000}},
	}}
}

func (e *ooEnv) category(t *testing.T) *ideav1.Category {
	return must(t, e, "region_admin", ideav1.IdeaService_CreateCategory_FullMethodName, &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten",
		CategoryId: e.id("kat"), Category: &ideav1.Category{DisplayName: "Egenvård"}}, &ideav1.Category{})
}

func (e *ooEnv) webhook(t *testing.T) *notifyv1.WebhookSubscription {
	return must(t, e, "region_admin", notifyv1.NotificationService_CreateWebhookSubscription_FullMethodName, &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten",
		Subscription: &notifyv1.WebhookSubscription{Url: "https://hooks.example.org/motor", Secret: "0123456789abcdef", Disabled: true}}, &notifyv1.WebhookSubscription{})
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// outputOnlyCases: a valid request for every method writeMethods finds.
func outputOnlyCases() map[string]ooCase {
	return map[string]ooCase{
		ideav1.IdeaService_CreateIdea_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{Title: "Nattlarm " + e.id(""), Problem: "Larmen hörs inte.",
				Origin: ideav1.Origin_ORIGIN_STAFF, Submitter: &ideav1.Submitter{DisplayName: "Anna"}, Consent: &ideav1.Consent{StorePersonalData: true}}}
		}},
		ideav1.IdeaService_UpdateIdea_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			i := e.idea(t)
			return &ideav1.UpdateIdeaRequest{Idea: &ideav1.Idea{Name: i.GetName(), Etag: i.GetEtag(), Title: i.GetTitle() + " (ny)"}, UpdateMask: mask("title")}
		}},
		ideav1.IdeaService_AdoptIdea_FullMethodName: {"peer", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.AdoptIdeaRequest{Parent: "regions/uppsala", SpreadFrom: "regions/vasterbotten/ideas/" + e.id("src"),
				Idea: &ideav1.Idea{Title: "Videobesök", Problem: "Långa resor.", Origin: ideav1.Origin_ORIGIN_STAFF}}
		}},
		ideav1.IdeaService_CreateAssessment_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.CreateAssessmentRequest{Parent: e.idea(t).GetName(), Assessment: &ideav1.Assessment{
				PatientBenefit: 4, CareBenefit: 3, Feasibility: 4, Novelty: 2, MarketPotential: 3, Risk: 2, Comment: "Lovande"}}
		}},
		ideav1.IdeaService_CreateWorkshop_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.CreateWorkshopRequest{Parent: "regions/vasterbotten", Workshop: &ideav1.Workshop{Title: "Urval " + e.id(""), Date: "2026-03-19",
				Participants: []string{"dev-advisor-vasterbotten"}, Agenda: []string{e.idea(t).GetName()}}}
		}},
		ideav1.IdeaService_CreateCategory_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.CreateCategoryRequest{Parent: "regions/vasterbotten", CategoryId: e.id("kat"), Category: &ideav1.Category{DisplayName: "Digital vård"}}
		}},
		ideav1.IdeaService_UpdateCategory_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			c := e.category(t)
			return &ideav1.UpdateCategoryRequest{Category: &ideav1.Category{Name: c.GetName(), Etag: c.GetEtag(), Description: "Vård på distans"}, UpdateMask: mask("description")}
		}},
		ideav1.IdeaService_CreateFocusGroupSession_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			c := e.category(t)
			return &ideav1.CreateFocusGroupSessionRequest{Parent: "regions/vasterbotten", Session: &ideav1.FocusGroupSession{Date: "2026-04-02",
				Participants: []string{"Fokusgrupp KOL"}, Assignments: []*ideav1.CategoryAssignment{{Idea: e.idea(t).GetName(), Categories: []string{strings.TrimPrefix(c.GetName(), "regions/vasterbotten/categories/")}}}}}
		}},
		ideav1.IdeaService_CreateTestBed_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{DisplayName: "Innovationsklinik " + e.id(""),
				Unit: "Norrlands universitetssjukhus", Kind: ideav1.TestBedKind_TEST_BED_KIND_INNOVATION_CLINIC, Capacity: 5}}
		}},
		ideav1.IdeaService_CreateTestPlan_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			bed := must(t, e, "advisor", ideav1.IdeaService_CreateTestBed_FullMethodName, &ideav1.CreateTestBedRequest{Parent: "regions/vasterbotten", TestBed: &ideav1.TestBed{
				DisplayName: "Hälsocentral " + e.id(""), Unit: "Primärvård Umeå", Kind: ideav1.TestBedKind_TEST_BED_KIND_PRIMARY_CARE_CENTRE, Capacity: 3}}, &ideav1.TestBed{})
			return &ideav1.CreateTestPlanRequest{Parent: e.idea(t).GetName(), TestPlan: &ideav1.TestPlan{TestBed: bed.GetName(),
				StartDate: "2026-05-01", EndDate: "2026-08-31", Protocol: "Tjugo patienter, enkät före och efter."}}
		}},
		needsv1.NeedsService_CreateNeed_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &needsv1.CreateNeedRequest{Parent: "regions/vasterbotten", Need: &needsv1.Need{Problem: "hitta lediga vårdplatser " + e.id(""),
				Population: "patienter på akuten", Outcome: "kortare väntan", ReportedBy: ideav1.Origin_ORIGIN_STAFF, PatientsAffectedPerYear: 1200}}
		}},
		needsv1.NeedsService_UpdateNeed_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			n := e.need(t)
			return &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: n.GetName(), Etag: n.GetEtag(), Evidence: "Avvikelserapporter 2025"}, UpdateMask: mask("evidence")}
		}},
		needsv1.NeedsService_CreateScreening_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &needsv1.CreateScreeningRequest{Parent: e.need(t).GetName(), Screening: &needsv1.Screening{
				ClinicalImpact: 4, PatientsAffected: 3, ProblemCost: 3, StrategicFit: 4, Feasibility: 2, Comment: "Workshop"}}
		}},
		fundingv1.ProgrammeService_CreateProgramme_FullMethodName: {"coordinator", func(t *testing.T, e *ooEnv) proto.Message {
			return &fundingv1.CreateProgrammeRequest{ProgrammeId: e.id("prog"), Programme: &fundingv1.Programme{Title: "Utlysning",
				BudgetOre: 10_000_000_00, StartDate: "2026-01-01", EndDate: "2028-12-31"}}
		}},
		fundingv1.SubprojectService_CreateSubproject_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return e.subprojectRequest()
		}},
		fundingv1.SubprojectService_UpdateSubproject_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			sp := e.subproject(t)
			return &fundingv1.UpdateSubprojectRequest{Subproject: &fundingv1.Subproject{Name: sp.GetName(), Etag: sp.GetEtag(), Description: "Remisser mellan vårdnivåer"}, UpdateMask: mask("description")}
		}},
		fundingv1.SubprojectService_CreateCostReport_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			sp := e.subproject(t)
			sp = must(t, e, "region_admin", fundingv1.SubprojectService_SubmitSubproject_FullMethodName, &fundingv1.SubmitSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}, &fundingv1.Subproject{})
			sp = must(t, e, "coordinator", fundingv1.SubprojectService_ApproveSubproject_FullMethodName, &fundingv1.ApproveSubprojectRequest{Name: sp.GetName(), Etag: sp.GetEtag()}, &fundingv1.Subproject{})
			return &fundingv1.CreateCostReportRequest{Parent: sp.GetName(), CostReport: &fundingv1.CostReport{PeriodStart: "2026-01-01", PeriodEnd: "2026-03-31",
				Lines: []*fundingv1.CostReportLine{{Category: fundingv1.CostCategory_COST_CATEGORY_STAFF, AmountOre: 50_000, Description: "Projektledare"}}}}
		}},
		partnerv1.PartnerService_CreatePartner_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return &partnerv1.CreatePartnerRequest{Parent: "regions/vasterbotten", Partner: &partnerv1.Partner{DisplayName: "Norrsken " + e.id(""), OrgNumber: e.orgNumber(),
				Kind: partnerv1.PartnerKind_PARTNER_KIND_COMPANY, Size: partnerv1.CompanySize_COMPANY_SIZE_SMALL, Contacts: []*partnerv1.Contact{{Name: "Sara", Email: "sara@example.se"}}}}
		}},
		partnerv1.PartnerService_UpdatePartner_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			p := e.partner(t)
			return &partnerv1.UpdatePartnerRequest{Partner: &partnerv1.Partner{Name: p.GetName(), Etag: p.GetEtag(), Capabilities: []string{"kliniska studier"}}, UpdateMask: mask("capabilities")}
		}},
		partnerv1.PartnerService_CreateAgreement_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return &partnerv1.CreateAgreementRequest{Parent: e.partner(t).GetName(), Agreement: &partnerv1.Agreement{
				Kind: partnerv1.AgreementKind_AGREEMENT_KIND_NDA, ValidFrom: "2026-01-01", ValidTo: "2027-12-31"}}
		}},
		partnerv1.PartnerService_AmendAgreement_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			a := e.agreement(t)
			return &partnerv1.AmendAgreementRequest{Agreement: &partnerv1.Agreement{Name: a.GetName(), Etag: a.GetEtag(), ValidTo: "2028-06-30"},
				UpdateMask: mask("valid_to"), Note: "Förlängt ett halvår"}
		}},
		partnerv1.PartnerService_CreateOffer_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return &partnerv1.CreateOfferRequest{Parent: "regions/vasterbotten", Offer: &partnerv1.Offer{Partner: e.partner(t).GetName(),
				Title: "Fallsensor", Description: "Larmar vid fall.", Capabilities: []string{"sensorer"}}}
		}},
		notifyv1.NotificationService_UpdateNotificationSettings_FullMethodName: {"advisor", func(t *testing.T, e *ooEnv) proto.Message {
			return &notifyv1.UpdateNotificationSettingsRequest{Settings: &notifyv1.NotificationSettings{Name: "regions/vasterbotten/users/me/notificationSettings",
				Language: "en"}, UpdateMask: mask("language")}
		}},
		notifyv1.NotificationService_CreateWebhookSubscription_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			return &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten", Subscription: &notifyv1.WebhookSubscription{
				Url: "https://hooks.example.org/" + e.id("h"), Secret: "0123456789abcdef", Disabled: true}}
		}},
		notifyv1.NotificationService_UpdateWebhookSubscription_FullMethodName: {"region_admin", func(t *testing.T, e *ooEnv) proto.Message {
			w := e.webhook(t)
			return &notifyv1.UpdateWebhookSubscriptionRequest{Subscription: &notifyv1.WebhookSubscription{Name: w.GetName(), Etag: w.GetEtag(),
				EventTypes: []string{notify.TypeIdeaCreated}}, UpdateMask: mask("event_types")}
		}},
	}
}

// readBack finds the read of what a write answered: the service's Get of
// the resource, or its List under the resource's parent. It returns nil
// when the service has neither.
func readBack(md protoreflect.MethodDescriptor, res protoreflect.MessageDescriptor) (protoreflect.MethodDescriptor, string) {
	sd := md.Parent().(protoreflect.ServiceDescriptor)
	if g := sd.Methods().ByName(protoreflect.Name("Get" + res.Name())); g != nil && g.Output().FullName() == res.FullName() {
		return g, "get"
	}
	plural := string(res.Name()) + "s"
	if strings.HasSuffix(string(res.Name()), "y") {
		plural = strings.TrimSuffix(string(res.Name()), "y") + "ies"
	}
	if l := sd.Methods().ByName(protoreflect.Name("List" + plural)); l != nil {
		return l, "list"
	}
	return nil, ""
}

// TestOutputOnly_IgnoredOnEveryWrite sends every write, over gRPC and over
// REST through the gateway, with each output-only field set to junk, and
// checks it is accepted, and that neither the answer nor a later read
// carries the junk.
func TestOutputOnly_IgnoredOnEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	oo := &outputOnly{schemas: openAPISchemas(t)}
	rules := httpRules(t)
	cases := outputOnlyCases()
	methods := writeMethods()
	for _, md := range methods {
		if _, ok := cases[fullMethod(md)]; !ok {
			t.Errorf("%s writes a resource and has no case here: add a valid request for it to outputOnlyCases", fullMethod(md))
		}
		rf := resourceField(md)
		if rf == nil {
			t.Errorf("%s is a write without a resource in its request", fullMethod(md))
			continue
		}
		oo.described(t, rf.Message(), map[protoreflect.FullName]bool{})
		s, _ := schemaOf(oo.schemas, rf.Message())
		if !slices.ContainsFunc(slices.Collect(func(yield func(oaProp) bool) {
			for _, p := range s.Properties {
				if !yield(p) {
					return
				}
			}
		}), func(p oaProp) bool { return p.ReadOnly }) && noOutputOnly[rf.Message().FullName()] == "" {
			t.Errorf("%s (written by %s) has no readOnly property in the OpenAPI document: mark its output-only fields \"Output only\" in the proto, or list it in noOutputOnly with why it has none", rf.Message().FullName(), fullMethod(md))
		}
	}
	for m := range cases {
		if !slices.ContainsFunc(methods, func(md protoreflect.MethodDescriptor) bool { return fullMethod(md) == m }) {
			t.Errorf("outputOnlyCases has %s, which is not a write of any service", m)
		}
	}
	if len(methods) < 20 {
		t.Fatalf("found only %d writes in the descriptors", len(methods))
	}
	if t.Failed() {
		t.FailNow()
	}

	bin := buildMotor(t)
	data := t.TempDir()
	// Every write is made three times, each with what it needs first: more
	// calls than a person's default share of the admission limit.
	cfg := filepath.Join(data, "motor.json")
	if err := os.WriteFile(cfg, []byte(`{"name":"motor","regions":["vasterbotten","uppsala"],"limits":{"ratePerSecond":1000,"burst":1000}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startMotor(t, bin, "-data", data, "-config", cfg)
	conn, err := rpc.Dial(p.grpc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	e := &ooEnv{bin: bin, data: data, url: p.url, conn: conn, tokens: map[string]string{}, peer: startAccessServer(t)}

	var covered, viaREST, junkFields int
	for _, md := range methods {
		method := fullMethod(md)
		c := cases[method]
		rf := resourceField(md)
		t.Run(string(md.Parent().Name())+"."+string(md.Name()), func(t *testing.T) {
			call := e.grpcCaller(t, c.role)
			read := e.reader(t, md, rf.Message(), c.role)
			// The same request without junk, for what the server sets.
			base := newResponse(t, md)
			if err := call(method, c.request(t, e), base); err != nil {
				t.Fatalf("the valid request without junk: %v", err)
			}
			transports := []string{"gRPC"}
			if _, ok := rules[method]; ok {
				transports = append(transports, "REST")
			}
			for _, via := range transports {
				req := c.request(t, e).ProtoReflect()
				paths := oo.junked(req.Mutable(rf).Message(), "")
				if len(paths) == 0 && noOutputOnly[rf.Message().FullName()] == "" {
					t.Fatalf("no output-only field to set in %s", rf.Message().FullName())
				}
				junkFields = max(junkFields, len(paths))
				if via == "gRPC" {
					oo.seesJunk(t, req.Get(rf).Message(), base.ProtoReflect(), paths)
				}
				got := newResponse(t, md)
				if via == "gRPC" {
					// AIP-203: output-only fields named in an update mask are
					// ignored too.
					if mf := md.Input().Fields().ByName("update_mask"); mf != nil {
						m := req.Get(mf).Message().Interface().(*fieldmaskpb.FieldMask)
						for _, p := range paths {
							if top, _, _ := strings.Cut(p, "."); !strings.Contains(top, "[") {
								m.Paths = append(m.Paths, top)
							}
						}
					}
					err = call(method, req.Interface(), got)
				} else {
					err = e.rest(t, c.role, rules[method], md, req.Interface(), got)
					viaREST++
				}
				if err != nil {
					t.Errorf("%s with junk in %v: refused: %v", via, paths, err)
					continue
				}
				res := got.ProtoReflect()
				baseRes := base.ProtoReflect()
				if md.Output().FullName() != rf.Message().FullName() {
					t.Fatalf("%s answers %s, not the resource", method, md.Output().FullName())
				}
				if left := oo.leftJunk(res, baseRes, "", false); len(left) > 0 {
					t.Errorf("%s: the answer carries the junk: %s", via, strings.Join(left, "; "))
				}
				if read != nil {
					stored := read(res)
					if left := oo.leftJunk(stored.ProtoReflect(), baseRes, "", false); len(left) > 0 {
						t.Errorf("%s: a later read carries the junk: %s", via, strings.Join(left, "; "))
					}
				}
			}
			covered++
		})
	}
	// Junk in output-only fields does not hide an input rule: submitter
	// details without consent to store them stay a 400 naming
	// consent.storePersonalData, over gRPC and over REST.
	t.Run("IdeaService.CreateIdea without consent", func(t *testing.T) {
		method := ideav1.IdeaService_CreateIdea_FullMethodName
		md := writeMethods()[slices.IndexFunc(writeMethods(), func(md protoreflect.MethodDescriptor) bool { return fullMethod(md) == method })]
		req := &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{Title: "Nattlarm", Problem: "Larmen hörs inte.",
			Origin: ideav1.Origin_ORIGIN_PATIENT, Submitter: &ideav1.Submitter{DisplayName: "Anna", Email: "anna@example.se"}}}
		oo.junked(req.ProtoReflect().Mutable(resourceField(md)).Message(), "")
		err := e.invoke(t, e.token(t, "submitter"), method, req, &ideav1.Idea{})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "consent.storePersonalData") {
			t.Errorf("gRPC: %v, want INVALID_ARGUMENT naming consent.storePersonalData", err)
		}
		err = e.rest(t, "submitter", rules[method], md, req, &ideav1.Idea{})
		if err == nil || !strings.Contains(err.Error(), ": 400 ") || !strings.Contains(err.Error(), "consent.storePersonalData") {
			t.Errorf("REST: %v, want 400 naming consent.storePersonalData", err)
		}
	})
	t.Logf("%d writes with junk in every output-only field (up to %d fields a request), %d of them also over REST", covered, junkFields, viaREST)
}

func newResponse(t *testing.T, md protoreflect.MethodDescriptor) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if err != nil {
		t.Fatal(err)
	}
	return mt.New().Interface()
}

// grpcCaller calls as role; "peer" is another deployment's idea service,
// which alone calls AdoptIdea: the in-process deployment's peer norr.
func (e *ooEnv) grpcCaller(t *testing.T, role string) func(method string, req, resp proto.Message) error {
	if role == "peer" {
		conn := e.peer.dialCert(t, "norr")
		return func(method string, req, resp proto.Message) error {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			return conn.Invoke(ctx, method, req, resp)
		}
	}
	return func(method string, req, resp proto.Message) error {
		return e.invoke(t, e.token(t, role), method, req, resp)
	}
}

// reader reads back what a write answered.
func (e *ooEnv) reader(t *testing.T, md protoreflect.MethodDescriptor, res protoreflect.MessageDescriptor, role string) func(protoreflect.Message) proto.Message {
	rd, kind := readBack(md, res)
	if rd == nil {
		t.Logf("%s has no Get or List: only its answer is checked", res.FullName())
		return nil
	}
	invoke := func(req, resp proto.Message) error { return e.invoke(t, e.token(t, role), fullMethod(rd), req, resp) }
	if role == "peer" {
		// The adopted idea is read by an advisor of the adopting region.
		tok, err := e.peer.signer.Sign(auth.Claims{Subject: "advisor-uppsala", Region: "uppsala", Roles: []auth.Role{auth.Advisor}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := rpc.Dial(e.peer.plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = plain.Close() })
		invoke = func(req, resp proto.Message) error {
			ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+tok), 20*time.Second)
			defer cancel()
			return plain.Invoke(ctx, fullMethod(rd), req, resp)
		}
	}
	return func(written protoreflect.Message) proto.Message {
		t.Helper()
		name := written.Get(written.Descriptor().Fields().ByName("name")).String()
		rt, err := protoregistry.GlobalTypes.FindMessageByName(rd.Input().FullName())
		if err != nil {
			t.Fatal(err)
		}
		req := rt.New()
		field := "name"
		if kind == "list" {
			field = "parent"
			name = name[:strings.LastIndex(name[:strings.LastIndex(name, "/")], "/")]
			if f := req.Descriptor().Fields().ByName("page_size"); f != nil {
				req.Set(f, protoreflect.ValueOfInt32(1000))
			}
		}
		req.Set(req.Descriptor().Fields().ByName(protoreflect.Name(field)), protoreflect.ValueOfString(name))
		resp := newResponse(t, rd)
		if err := invoke(req.Interface(), resp); err != nil {
			t.Fatalf("%s: %v", rd.Name(), err)
		}
		if kind == "get" {
			return resp
		}
		rm := resp.ProtoReflect()
		fs := rm.Descriptor().Fields()
		for i := range fs.Len() {
			if f := fs.Get(i); f.IsList() && f.Message() != nil && f.Message().FullName() == res.FullName() {
				l := rm.Get(f).List()
				for j := range l.Len() {
					if m := l.Get(j).Message(); m.Get(m.Descriptor().Fields().ByName("name")).String() == written.Get(written.Descriptor().Fields().ByName("name")).String() {
						return m.Interface()
					}
				}
			}
		}
		t.Fatalf("%s does not list %s", rd.Name(), written.Get(written.Descriptor().Fields().ByName("name")).String())
		return nil
	}
}

// rest sends req through the gateway by its HTTP rule: the bound fields in
// the path, the body field (or the rest of the request) as JSON, the other
// fields as query parameters. A PATCH sends no update mask: the gateway
// makes one of the fields in the body, junk included.
func (e *ooEnv) rest(t *testing.T, role string, rule httpRule, md protoreflect.MethodDescriptor, req, resp proto.Message) error {
	t.Helper()
	m := proto.Clone(req).ProtoReflect()
	binding := regexp.MustCompile(`\{([\w.]+)(=[^}]+)?\}`)
	bound := map[string]bool{}
	path := binding.ReplaceAllStringFunc(rule.path, func(s string) string {
		field := binding.FindStringSubmatch(s)[1]
		bound[field] = true
		target := m
		parts := strings.Split(field, ".")
		for _, p := range parts[:len(parts)-1] {
			target = target.Get(target.Descriptor().Fields().ByName(protoreflect.Name(p))).Message()
		}
		return target.Get(target.Descriptor().Fields().ByName(protoreflect.Name(parts[len(parts)-1]))).String()
	})
	query := url.Values{}
	var body []byte
	var err error
	fs := m.Descriptor().Fields()
	if rule.body == "*" {
		for field := range bound {
			if !strings.Contains(field, ".") {
				m.Clear(fs.ByName(protoreflect.Name(field)))
			}
		}
		body, err = protojson.Marshal(m.Interface())
	} else {
		for i := range fs.Len() {
			f := fs.Get(i)
			switch {
			case string(f.Name()) == rule.body || bound[string(f.Name())] || !m.Has(f):
			case f.Name() == "update_mask":
				// Left to the gateway.
			case f.Message() == nil && !f.IsList():
				query.Set(f.JSONName(), fmt.Sprint(m.Get(f).Interface()))
			default:
				t.Fatalf("%s: no query form for %s", md.FullName(), f.Name())
			}
		}
		if rule.body != "" {
			body, err = protojson.Marshal(m.Get(fs.ByName(protoreflect.Name(rule.body))).Message().Interface())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	u := e.url + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	hr, err := http.NewRequestWithContext(t.Context(), rule.verb, u, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+e.token(t, role))
	hr.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", rule.verb, path, res.StatusCode, raw)
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(raw, resp)
}
