package gateway_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unicode"

	"google.golang.org/grpc"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	"github.com/innovationsmotorer/motor/services/idea"
	"github.com/innovationsmotorer/motor/services/needs"
)

// TestCreateRequiredFields holds the document's create bodies to the real
// services: the example of each create is accepted as it stands, and the
// example without any one of the fields the body lists as required is 400
// with a BadRequest naming that field; a field not listed may be left out.
func TestCreateRequiredFields(t *testing.T) {
	served, _ := config.ParseServed("vasterbotten")
	st := stack.Backends()[0].Open(t)
	var regErr error
	e := stack.StartWith(t, st, nil, func(s *grpc.Server) {
		ideav1.RegisterIdeaServiceServer(s, idea.New(idea.Config{Store: st, Regions: served}))
		n, err := needs.New(needs.Config{Store: st, Regions: served})
		if err != nil {
			regErr = err
			return
		}
		needsv1.RegisterNeedsServiceServer(s, n)
	})
	if regErr != nil {
		t.Fatal(regErr)
	}
	tok := e.As(t, auth.Advisor, "vasterbotten").Token

	resp, raw := do(t, e.HTTP.URL, "GET", "/openapi.json", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("/openapi.json: %d", resp.StatusCode)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			RequestBody struct {
				Content map[string]struct {
					Schema struct {
						AllOf []struct {
							Ref string `json:"$ref"`
						} `json:"allOf"`
						Required []string `json:"required"`
					} `json:"schema"`
					Example map[string]any `json:"example"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for tmpl, ops := range doc.Paths {
		op, ok := ops["post"]
		if !ok {
			continue
		}
		mt := op.RequestBody.Content["application/json"]
		if len(mt.Schema.Required) == 0 || !strings.HasPrefix(tmpl, "/v1/regions/{region}/") {
			continue
		}
		if mt.Example == nil || len(mt.Schema.AllOf) != 1 {
			t.Errorf("%s: a create body with required fields but no example or resource", op.OperationID)
			continue
		}
		checked++
		// Idea → idea: the request field the body is.
		ref := mt.Schema.AllOf[0].Ref
		field := strings.ToLower(ref[strings.LastIndex(ref, "/")+1:])
		path := strings.Replace(tmpl, "{region}", "vasterbotten", 1)
		post := func(body map[string]any) (int, []string) {
			b, _ := json.Marshal(body)
			resp, raw := do(t, e.HTTP.URL, "POST", path, string(b), "Bearer "+tok, nil)
			var st struct {
				Details []struct {
					Type       string `json:"@type"`
					Violations []struct {
						Field string `json:"field"`
					} `json:"fieldViolations"`
				} `json:"details"`
			}
			_ = json.Unmarshal(raw, &st)
			var named []string
			for _, d := range st.Details {
				for _, v := range d.Violations {
					named = append(named, v.Field)
				}
			}
			if resp.StatusCode != http.StatusOK && len(named) == 0 {
				t.Logf("%s: %d %s", op.OperationID, resp.StatusCode, raw)
			}
			return resp.StatusCode, named
		}
		if code, named := post(mt.Example); code != http.StatusOK {
			t.Errorf("%s: the document's example is %d (%v)", op.OperationID, code, named)
		}
		for _, req := range mt.Schema.Required {
			body := maps.Clone(mt.Example)
			delete(body, req)
			want := field + "." + snake(req)
			if code, named := post(body); code != http.StatusBadRequest || !slices.Contains(named, want) {
				t.Errorf("%s without %s: %d naming %v, want 400 naming %s", op.OperationID, req, code, named, want)
			}
		}
		for name := range mt.Example {
			if slices.Contains(mt.Schema.Required, name) || (field == "idea" && name == "consent") {
				// An idea's consent goes with its submitter's personal
				// data: the one not required alone.
				continue
			}
			body := maps.Clone(mt.Example)
			delete(body, name)
			if code, named := post(body); code != http.StatusOK {
				t.Errorf("%s without %s, which the document does not require: %d naming %v", op.OperationID, name, code, named)
			}
		}
	}
	if checked < 2 {
		t.Errorf("checked %d creates; want at least the idea's and the need's", checked)
	}
}

// snake is the proto name of a JSON field name (reportedBy → reported_by).
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
