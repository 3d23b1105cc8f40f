package idea

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// FuzzCreateRequest decodes request bodies the way the gateway does and runs
// them through validation: nothing may panic, and whatever validation lets
// through must build an idea that satisfies the rules it checked.
func FuzzCreateRequest(f *testing.F) {
	for _, seed := range []string{
		`{"idea":{"title":"t","problem":"p","origin":"ORIGIN_STAFF"}}`,
		`{"idea":{"title":" ","problem":"","origin":99,"tags":["a","A"]},"requestId":"x/y"}`,
		`{"idea":{"title":"t","problem":"p","origin":"ORIGIN_PATIENT","submitter":{"email":"a@b.se","phone":"+46 70-123 45 67"},"consent":{"contact":true,"storePersonalData":true}}}`,
		`{"idea":{"title":"\u00e5\u00e4\u00f6","problem":"p","origin":"ORIGIN_OTHER","consent":{"contact":true}}}`,
		`{}`,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, body string, staff bool) {
		var req ideav1.CreateIdeaRequest
		if err := (protojson.UnmarshalOptions{}).Unmarshal([]byte(body), &req); err != nil {
			return
		}
		if validateCreate(&req, staff).Len() > 0 {
			return
		}
		idea := newIdea(req.GetIdea(), staff)
		if strings.TrimSpace(idea.GetTitle()) == "" || strings.TrimSpace(idea.GetProblem()) == "" {
			t.Errorf("accepted an idea without title or problem: %q", body)
		}
		if idea.GetStage() != ideav1.Stage_STAGE_SUBMITTED {
			t.Errorf("new idea at %v", idea.GetStage())
		}
		if !idea.GetConsent().GetStorePersonalData() && idea.GetSubmitter() != nil {
			t.Errorf("personal data kept without consent: %q", body)
		}
		if !staff && (len(idea.GetTags()) > 0 || idea.GetPartner() != "" || idea.GetTestEnvironment() != "") {
			t.Errorf("submitter set working fields: %q", body)
		}
	})
}

// FuzzListParams: filters and page tokens come straight from query strings.
func FuzzListParams(f *testing.F) {
	f.Add("stage = STAGE_SCREENING AND origin = ORIGIN_STAFF", "")
	f.Add("origin=ORIGIN_PATIENT", "eyJhIjoieCIsInEiOiJ5In0")
	f.Add(" AND ", "!!")
	f.Add("stage = \"STAGE_SUBMITTED\"", resource.EncodeToken("a", "q"))
	f.Fuzz(func(t *testing.T, filterText, token string) {
		if plan, err := filter.Compile(filterText, store.Query{Index: "created"}, filterFields()); err == nil && strings.TrimSpace(filterText) == "" && plan.Match != nil {
			t.Errorf("empty filter %q parsed to %q", filterText, plan.Filter)
		}
		var v errs.Violations
		after := resource.DecodeToken(&v, token, "q")
		if v.Len() == 0 && token != "" && after == "" {
			t.Errorf("token %q accepted with no position", token)
		}
	})
}
