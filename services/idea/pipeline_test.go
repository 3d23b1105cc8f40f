package idea_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// restIdea is an idea as the REST tests track it.
type restIdea struct {
	name string
	etag string
}

func (e *regionEnv) restCreate(t *testing.T, c stack.Caller) restIdea {
	t.Helper()
	code, body := restCall(t, e, c, "POST", "/v1/regions/vasterbotten/ideas", ideaJSON)
	if code != 200 {
		t.Fatalf("create: %d %v", code, body)
	}
	return restIdea{name: body["name"].(string), etag: body["etag"].(string)}
}

// move posts :transition and, on success, tracks the new etag.
func (e *regionEnv) move(t *testing.T, c stack.Caller, idea *restIdea, stage, rationale string) (int, map[string]any) {
	t.Helper()
	body := fmt.Sprintf(`{"stage":%q,"rationale":%q,"etag":%q}`, stage, rationale, idea.etag)
	code, resp := restCall(t, e, c, "POST", "/v1/"+idea.name+":transition", body)
	if code == 200 {
		idea.etag = resp["etag"].(string)
		if resp["stage"] != stage {
			t.Fatalf("moved to %v, want %s", resp["stage"], stage)
		}
	}
	return code, resp
}

func (e *regionEnv) mustMove(t *testing.T, c stack.Caller, idea *restIdea, stage, rationale string) {
	t.Helper()
	if code, body := e.move(t, c, idea, stage, rationale); code != 200 {
		t.Fatalf("move to %s: %d %v", stage, code, body)
	}
}

func (e *regionEnv) patch(t *testing.T, c stack.Caller, idea *restIdea, fields string) (int, map[string]any) {
	t.Helper()
	code, resp := restCall(t, e, c, "PATCH", "/v1/"+idea.name, fmt.Sprintf(`{%s,"etag":%q}`, fields, idea.etag))
	if code == 200 {
		idea.etag = resp["etag"].(string)
	}
	return code, resp
}

func (e *regionEnv) mustPatch(t *testing.T, c stack.Caller, idea *restIdea, fields string) {
	t.Helper()
	if code, body := e.patch(t, c, idea, fields); code != 200 {
		t.Fatalf("patch %s: %d %v", fields, code, body)
	}
}

func (e *regionEnv) mustAssess(t *testing.T, c stack.Caller, idea *restIdea) {
	t.Helper()
	code, body := restCall(t, e, c, "POST", "/v1/"+idea.name+"/assessments",
		`{"patientBenefit":5,"careBenefit":4,"feasibility":3,"novelty":4,"marketPotential":2,"risk":4,"comment":"Lovande"}`)
	if code != 200 {
		t.Fatalf("assess: %d %v", code, body)
	}
	// The summary changed, and with it the etag.
	_, got := restCall(t, e, c, "GET", "/v1/"+idea.name, "")
	idea.etag = got["etag"].(string)
}

// TestGateTable_EveryPathOverREST walks every allowed path of the
// gate table through the gateway.
func TestGateTable_EveryPathOverREST(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		sub := e.As(t, auth.Submitter, "vasterbotten", "submitter-1")

		toTesting := func(t *testing.T) restIdea {
			idea := e.restCreate(t, sub)
			e.mustMove(t, adv, &idea, "STAGE_SCREENING", "")
			e.mustAssess(t, adv, &idea)
			e.mustMove(t, adv, &idea, "STAGE_SELECTED", "Valdes på urvalsworkshop")
			e.mustPatch(t, adv, &idea, `"ipOwner":"IP_OWNER_REGION","agreementsInPlace":true`)
			e.mustMove(t, adv, &idea, "STAGE_DEVELOPMENT", "")
			idea.etag = approvedPlan(t, e.Env, e.client, idea.name).GetEtag()
			e.mustMove(t, adv, &idea, "STAGE_TESTING", "")
			return idea
		}
		t.Run("to implemented", func(t *testing.T) {
			idea := toTesting(t)
			e.mustMove(t, adv, &idea, "STAGE_DEVELOPMENT", "Tillbaka efter test") // TESTING → DEVELOPMENT
			e.mustMove(t, adv, &idea, "STAGE_TESTING", "")
			e.mustMove(t, adv, &idea, "STAGE_IMPLEMENTED", "")
		})
		t.Run("to commercialised", func(t *testing.T) {
			idea := toTesting(t)
			e.mustPatch(t, adv, &idea, `"partner":"Norrsken Medtech AB"`)
			e.mustMove(t, adv, &idea, "STAGE_COMMERCIALISED", "")
		})
		t.Run("park and resume", func(t *testing.T) {
			idea := e.restCreate(t, sub)
			e.mustMove(t, adv, &idea, "STAGE_PARKED", "Väntar på budget")
			e.mustMove(t, adv, &idea, "STAGE_SCREENING", "")
			e.mustMove(t, adv, &idea, "STAGE_PARKED", "Igen")
			e.mustMove(t, adv, &idea, "STAGE_REJECTED", "Finns redan i regionen")
		})
		t.Run("withdrawn by the submitter", func(t *testing.T) {
			idea := e.restCreate(t, sub)
			e.mustMove(t, adv, &idea, "STAGE_SCREENING", "")
			e.mustMove(t, sub, &idea, "STAGE_WITHDRAWN", "")
		})
		for _, from := range []string{"STAGE_SCREENING", "STAGE_SELECTED", "STAGE_DEVELOPMENT", "STAGE_TESTING"} {
			t.Run("park from "+from, func(t *testing.T) {
				idea := toTesting(t)
				if from != "STAGE_TESTING" {
					// Walk a fresh idea only as far as needed.
					idea = e.restCreate(t, sub)
					for _, step := range []string{"STAGE_SCREENING", "STAGE_SELECTED", "STAGE_DEVELOPMENT"} {
						if step == "STAGE_SELECTED" {
							e.mustAssess(t, adv, &idea)
						}
						if step == "STAGE_DEVELOPMENT" {
							e.mustPatch(t, adv, &idea, `"ipOwner":"IP_OWNER_SHARED","agreementsInPlace":true`)
						}
						e.mustMove(t, adv, &idea, step, "")
						if step == from {
							break
						}
					}
				}
				e.mustMove(t, adv, &idea, "STAGE_PARKED", "Pausad")
			})
		}
	})
}

// TestGateTable_Refusals: every refused move gets the right status and a
// message naming what is missing or what is allowed.
func TestGateTable_Refusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		sub := e.As(t, auth.Submitter, "vasterbotten", "submitter-1")

		screening := e.restCreate(t, sub)
		e.mustMove(t, adv, &screening, "STAGE_SCREENING", "")
		selected := e.restCreate(t, sub)
		e.mustMove(t, adv, &selected, "STAGE_SCREENING", "")
		e.mustAssess(t, adv, &selected)
		e.mustMove(t, adv, &selected, "STAGE_SELECTED", "")
		development := selected
		development.name = ""
		{
			d := e.restCreate(t, sub)
			e.mustMove(t, adv, &d, "STAGE_SCREENING", "")
			e.mustAssess(t, adv, &d)
			e.mustMove(t, adv, &d, "STAGE_SELECTED", "")
			e.mustPatch(t, adv, &d, `"ipOwner":"IP_OWNER_REGION","agreementsInPlace":true`)
			e.mustMove(t, adv, &d, "STAGE_DEVELOPMENT", "")
			development = d
		}
		testing_ := development
		{
			d := e.restCreate(t, sub)
			e.mustMove(t, adv, &d, "STAGE_SCREENING", "")
			e.mustAssess(t, adv, &d)
			e.mustMove(t, adv, &d, "STAGE_SELECTED", "")
			e.mustPatch(t, adv, &d, `"ipOwner":"IP_OWNER_REGION","agreementsInPlace":true`)
			e.mustMove(t, adv, &d, "STAGE_DEVELOPMENT", "")
			d.etag = approvedPlan(t, e.Env, e.client, d.name).GetEtag()
			e.mustMove(t, adv, &d, "STAGE_TESTING", "")
			testing_ = d
		}
		rejected := e.restCreate(t, sub)
		e.mustMove(t, adv, &rejected, "STAGE_REJECTED", "Utanför uppdraget")
		submitted := e.restCreate(t, sub)

		for _, tc := range []struct {
			name    string
			caller  stack.Caller
			idea    restIdea
			stage   string
			reason  string
			want    int
			mention []string
		}{
			{"selected without assessment", adv, screening, "STAGE_SELECTED", "", 400, []string{"assessment"}},
			{"development without ip owner", adv, selected, "STAGE_DEVELOPMENT", "", 400, []string{"ip_owner"}},
			{"testing without an approved test plan", adv, development, "STAGE_TESTING", "", 400, []string{"approved test plan"}},
			{"commercialised without partner", adv, testing_, "STAGE_COMMERCIALISED", "", 400, []string{"partner"}},
			{"skipping gates", adv, submitted, "STAGE_TESTING", "", 400, []string{"STAGE_SCREENING", "STAGE_PARKED", "STAGE_REJECTED", "STAGE_WITHDRAWN"}},
			{"spread by hand", adv, testing_, "STAGE_SPREAD", "", 400, []string{":spread"}},
			{"back to submitted", adv, screening, "STAGE_SUBMITTED", "", 400, []string{"stage"}},
			{"park without rationale", adv, screening, "STAGE_PARKED", "", 400, []string{"rationale"}},
			{"reject without rationale", adv, screening, "STAGE_REJECTED", "  ", 400, []string{"rationale"}},
			{"from a final stage", adv, rejected, "STAGE_SCREENING", "", 400, []string{"final"}},
			{"withdraw by an advisor", adv, screening, "STAGE_WITHDRAWN", "", 403, []string{"submitted"}},
			{"screening by the submitter", sub, submitted, "STAGE_SCREENING", "", 403, []string{"advisors"}},
			{"stale etag", adv, restIdea{name: submitted.name, etag: "999"}, "STAGE_SCREENING", "", 409, []string{"etag"}},
			{"no etag", adv, restIdea{name: submitted.name}, "STAGE_SCREENING", "", 400, []string{"etag"}},
			{"advisor of another region", e.As(t, auth.Advisor, "uppsala"), submitted, "STAGE_SCREENING", "", 403, []string{"uppsala"}},
			{"no token", stack.Caller{}, submitted, "STAGE_SCREENING", "", 401, []string{"token"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				idea := tc.idea
				code, body := e.move(t, tc.caller, &idea, tc.stage, tc.reason)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				msg, _ := body["message"].(string)
				for _, m := range tc.mention {
					if !strings.Contains(msg, m) {
						t.Errorf("message %q does not mention %q", msg, m)
					}
				}
			})
		}
	})
}

func TestTransition_ConcurrentSameEtag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		idea := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", sampleIdea())
		var wg sync.WaitGroup
		results := make(chan codes.Code, 16)
		for range 16 {
			wg.Go(func() {
				_, err := e.client.TransitionIdea(adv.Ctx(t), &ideav1.TransitionIdeaRequest{
					Name: idea.GetName(), Stage: ideav1.Stage_STAGE_REJECTED, Rationale: "dubblett", Etag: idea.GetEtag(),
				})
				results <- status.Code(err)
			})
		}
		wg.Wait()
		close(results)
		won := 0
		for c := range results {
			switch c {
			case codes.OK:
				won++
			case codes.Aborted:
			default:
				t.Errorf("concurrent transition: %v, want OK or Aborted", c)
			}
		}
		if won != 1 {
			t.Errorf("%d transitions with one etag won, want exactly 1", won)
		}
		hist, err := e.client.ListIdeaHistory(adv.Ctx(t), &ideav1.ListIdeaHistoryRequest{Parent: idea.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(hist.GetEntries()); n != 2 {
			t.Errorf("history has %d entries, want 2 (submitted, rejected once)", n)
		}
	})
}

func TestHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		sub := e.As(t, auth.Submitter, "vasterbotten", "submitter-1")
		idea := e.restCreate(t, sub)
		e.mustMove(t, adv, &idea, "STAGE_SCREENING", "")
		e.mustMove(t, adv, &idea, "STAGE_REJECTED", "Liknande lösning finns redan")

		code, body := restCall(t, e, sub, "GET", "/v1/"+idea.name+"/history?pageSize=2", "")
		if code != 200 {
			t.Fatalf("history: %d %v", code, body)
		}
		entries, _ := body["entries"].([]any)
		if len(entries) != 2 || body["nextPageToken"] == "" {
			t.Fatalf("first page %v, want 2 entries and a token", body)
		}
		first := entries[0].(map[string]any)
		if first["toStage"] != "STAGE_SUBMITTED" || first["actor"] != "submitter-1" {
			t.Errorf("first entry %v, want the submission by submitter-1", first)
		}
		code, body = restCall(t, e, sub, "GET", "/v1/"+idea.name+"/history?pageToken="+body["nextPageToken"].(string), "")
		entries, _ = body["entries"].([]any)
		if code != 200 || len(entries) != 1 {
			t.Fatalf("second page: %d %v", code, body)
		}
		last := entries[0].(map[string]any)
		if last["fromStage"] != "STAGE_SCREENING" || last["toStage"] != "STAGE_REJECTED" || last["rationale"] != "Liknande lösning finns redan" || last["actor"] != "advisor-vasterbotten" {
			t.Errorf("rejection entry %v", last)
		}
		// stageTime is when the idea entered its stage, in the idea itself
		// and in every list, so a board needs no history call per idea.
		_, got := restCall(t, e, adv, "GET", "/v1/"+idea.name, "")
		if got["stageTime"] == nil || got["stageTime"] != last["time"] {
			t.Errorf("stageTime %v, want the rejection's time %v", got["stageTime"], last["time"])
		}
		_, list := restCall(t, e, adv, "GET", "/v1/regions/vasterbotten/ideas", "")
		for _, it := range list["ideas"].([]any) {
			if m := it.(map[string]any); m["name"] == idea.name && m["stageTime"] != last["time"] {
				t.Errorf("listed stageTime %v, want %v", m["stageTime"], last["time"])
			}
		}
		// The coordinator sees the decisions, not who submitted.
		_, body = restCall(t, e, e.As(t, auth.Coordinator, auth.NationalRegion), "GET", "/v1/"+idea.name+"/history", "")
		entries, _ = body["entries"].([]any)
		if a := entries[0].(map[string]any)["actor"]; a != nil {
			t.Errorf("coordinator sees the submitter's subject %v in history", a)
		}
		if code, _ := restCall(t, e, e.As(t, auth.Submitter, "vasterbotten", "someone-else"), "GET", "/v1/"+idea.name+"/history", ""); code != 404 {
			t.Errorf("another submitter reads history: %d, want 404", code)
		}
	})
}

func TestUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		sub := e.As(t, auth.Submitter, "vasterbotten", "submitter-1")
		idea := e.restCreate(t, sub)

		e.mustPatch(t, sub, &idea, `"title":"Bättre titel","careArea":"Akutsjukvård"`)
		e.mustPatch(t, adv, &idea, `"tags":["akut","logistik"],"ipOwner":"IP_OWNER_SHARED"`)
		_, got := restCall(t, e, adv, "GET", "/v1/"+idea.name, "")
		if got["title"] != "Bättre titel" || got["ipOwner"] != "IP_OWNER_SHARED" || len(got["tags"].([]any)) != 2 {
			t.Errorf("after patches: %v", got)
		}

		for _, tc := range []struct {
			name    string
			caller  stack.Caller
			fields  string
			etag    string
			want    int
			mention string
		}{
			{"submitter sets a working field", sub, `"tags":["x"]`, idea.etag, 400, "advisors"},
			{"advisor rewrites the submitter's words", adv, `"title":"Annan"`, idea.etag, 400, "submitter"},
			{"output-only field", adv, `"stage":"STAGE_TESTING"`, idea.etag, 400, "transition"},
			{"bad value", sub, `"title":""`, idea.etag, 400, "idea.title"},
			{"stale etag", adv, `"partner":"X AB"`, "1", 409, "etag"},
			{"no etag", adv, `"partner":"X AB"`, "", 400, "etag"},
			{"another region", e.As(t, auth.Advisor, "uppsala"), `"partner":"X AB"`, idea.etag, 403, "uppsala"},
			{"another submitter", e.As(t, auth.Submitter, "vasterbotten", "other"), `"title":"Min nu"`, idea.etag, 404, "not found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tracked := restIdea{name: idea.name, etag: tc.etag}
				code, body := e.patch(t, tc.caller, &tracked, tc.fields)
				if code != tc.want {
					t.Fatalf("status %d, want %d: %v", code, tc.want, body)
				}
				if msg, _ := body["message"].(string); !strings.Contains(msg, tc.mention) {
					t.Errorf("message %q does not mention %q", msg, tc.mention)
				}
			})
		}

		// Once screening starts, the submitter's text is fixed.
		e.mustMove(t, adv, &idea, "STAGE_SCREENING", "")
		if code, body := e.patch(t, sub, &idea, `"title":"Sent"`); code != 400 || !strings.Contains(body["message"].(string), "STAGE_SUBMITTED") {
			t.Errorf("submitter edit after screening: %d %v", code, body)
		}

		// Withdrawing consent to store personal data drops it.
		fresh := e.restCreate(t, sub)
		e.mustPatch(t, sub, &fresh, `"consent":{"contact":false,"storePersonalData":false}`)
		_, got = restCall(t, e, adv, "GET", "/v1/"+fresh.name, "")
		if got["submitter"] != nil {
			t.Errorf("personal data kept after consent was withdrawn: %v", got["submitter"])
		}
	})
}

func TestUpdate_gRPCMask(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		idea := e.mustCreate(t, e.As(t, auth.Submitter, "vasterbotten"), "vasterbotten", sampleIdea())
		_, err := e.client.UpdateIdea(adv.Ctx(t), &ideav1.UpdateIdeaRequest{
			Idea:       &ideav1.Idea{Name: idea.GetName(), Etag: idea.GetEtag(), Partner: "X AB"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"partner", "colour", "create_time"}},
		})
		if got := uniqueSorted(fieldViolations(err)); status.Code(err) != codes.InvalidArgument || len(got) != 1 || got[0] != "update_mask" {
			t.Errorf("bad mask: %v %v", err, got)
		}
		_, err = e.client.UpdateIdea(adv.Ctx(t), &ideav1.UpdateIdeaRequest{Idea: &ideav1.Idea{Name: idea.GetName(), Etag: idea.GetEtag()}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("empty mask: %v, want InvalidArgument", err)
		}
	})
}

func TestListFilters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "uppsala")
		mk := func(origin ideav1.Origin, area string, tags ...string) string {
			in := sampleIdea()
			in.Origin, in.CareArea, in.Tags = origin, area, tags
			return e.mustCreate(t, adv, "uppsala", in).GetName()
		}
		a := mk(ideav1.Origin_ORIGIN_STAFF, "Primärvård", "digitalt", "KOL")
		b := mk(ideav1.Origin_ORIGIN_PATIENT, "primärvård", "kol")
		c := mk(ideav1.Origin_ORIGIN_STAFF, "Akutsjukvård", "digitalt")
		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`tag = "kol"`, []string{b, a}},
			{`tag = "digitalt" AND origin = ORIGIN_STAFF`, []string{c, a}},
			{`care_area = "Primärvård"`, []string{b, a}},
			{`care_area = "primärvård" AND tag = "digitalt"`, []string{a}},
			{`origin = ORIGIN_PATIENT AND stage = STAGE_SUBMITTED`, []string{b}},
			{`stage = STAGE_SCREENING`, nil},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				resp, err := e.client.ListIdeas(adv.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/uppsala", Filter: tc.filter})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, i := range resp.GetIdeas() {
					got = append(got, i.GetName())
				}
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		code, body := restCall(t, e, adv, "GET", "/v1/regions/uppsala/ideas?filter=priority%3D1", "")
		if code != http.StatusBadRequest || !strings.Contains(body["message"].(string), "priority") {
			t.Errorf("unknown filter field over REST: %d %v", code, body)
		}
	})
}
