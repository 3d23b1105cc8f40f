package needs_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	"github.com/innovationsmotorer/motor/services/needs"
)

const (
	identified     = needsv1.NeedStatus_NEED_STATUS_IDENTIFIED
	validated      = needsv1.NeedStatus_NEED_STATUS_VALIDATED
	prioritised    = needsv1.NeedStatus_NEED_STATUS_PRIORITISED
	solutionSearch = needsv1.NeedStatus_NEED_STATUS_SOLUTION_SEARCH
	matched        = needsv1.NeedStatus_NEED_STATUS_MATCHED
	addressed      = needsv1.NeedStatus_NEED_STATUS_ADDRESSED
	closed         = needsv1.NeedStatus_NEED_STATUS_CLOSED
)

// preconditionType is the type of the first PreconditionFailure violation:
// what a refused move says is missing.
func preconditionType(err error) string {
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok && len(pf.GetViolations()) > 0 {
			return pf.GetViolations()[0].GetType()
		}
	}
	return ""
}

func TestTransition_WholeWayWithHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten", "advisor-1")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		need = e.mustTransition(t, advisor, need, validated, "Bekräftat i fokusgrupp")
		e.mustScreen(t, advisor, need, 4, 4, 4, 4, 4)
		need = e.mustGet(t, advisor, need.GetName())
		need = e.mustTransition(t, advisor, need, prioritised, "")
		need = e.mustTransition(t, advisor, need, solutionSearch, "")
		need, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/vasterbotten/subprojects/golvsensor", Etag: need.GetEtag()})
		if err != nil {
			t.Fatal(err)
		}
		need = e.mustTransition(t, advisor, need, matched, "")
		need = e.mustTransition(t, advisor, need, addressed, "Infört på tre boenden")
		need = e.mustTransition(t, advisor, need, closed, "Klart")
		if need.GetStatus() != closed {
			t.Fatalf("status %v, want CLOSED", need.GetStatus())
		}

		hist, err := e.client.ListNeedHistory(advisor.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hist.GetEntries() {
			if h.GetActor() != "advisor-1" || h.GetActorName() != "advisor-1" || h.GetTime() == nil {
				t.Errorf("entry %v: want actor, name and time", h)
			}
			got = append(got, fmt.Sprintf("%v→%v %s", h.GetFromStatus(), h.GetToStatus(), h.GetReason()))
		}
		want := []string{
			"NEED_STATUS_IDENTIFIED→NEED_STATUS_VALIDATED Bekräftat i fokusgrupp",
			"NEED_STATUS_VALIDATED→NEED_STATUS_PRIORITISED ",
			"NEED_STATUS_PRIORITISED→NEED_STATUS_SOLUTION_SEARCH ",
			"NEED_STATUS_SOLUTION_SEARCH→NEED_STATUS_MATCHED ",
			"NEED_STATUS_MATCHED→NEED_STATUS_ADDRESSED Infört på tre boenden",
			"NEED_STATUS_ADDRESSED→NEED_STATUS_CLOSED Klart",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}

		// Outside the region's staff, who decided is not shown.
		national, err := e.client.ListNeedHistory(e.As(t, auth.Coordinator, auth.NationalRegion).Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName()})
		if err != nil || len(national.GetEntries()) != len(want) {
			t.Fatalf("coordinator reads history: %v, %d entries", err, len(national.GetEntries()))
		}
		for _, h := range national.GetEntries() {
			if h.GetActor() != "" || h.GetActorName() != "" {
				t.Errorf("the coordinator sees who decided: %v", h)
			}
		}

		// Paged, oldest first.
		first, err := e.client.ListNeedHistory(advisor.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName(), PageSize: 4})
		if err != nil || len(first.GetEntries()) != 4 || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v, %d entries, token %q", err, len(first.GetEntries()), first.GetNextPageToken())
		}
		rest, err := e.client.ListNeedHistory(advisor.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName(), PageSize: 4, PageToken: first.GetNextPageToken()})
		if err != nil || len(rest.GetEntries()) != 2 || rest.GetNextPageToken() != "" {
			t.Errorf("second page: %v, %d entries, token %q; want 2 and the end", err, len(rest.GetEntries()), rest.GetNextPageToken())
		}
		_, err = e.client.ListNeedHistory(advisor.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: "regions/vasterbotten/needs/other", PageToken: first.GetNextPageToken()})
		if diff := cmp.Diff([]string{"page_token"}, fieldViolations(err)); diff != "" {
			t.Errorf("token of another need's history (-want +got):\n%s", diff)
		}
	})
}

func TestTransition_Rules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "uppsala")
		at := func(t *testing.T, s needsv1.NeedStatus, screened, linked bool) *needsv1.Need {
			t.Helper()
			need := e.mustCreate(t, advisor, "uppsala", sampleNeed())
			if screened {
				e.mustScreen(t, advisor, need, 3, 3, 3, 3, 3)
			}
			if linked {
				if _, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/uppsala/offers/o-1"}); err != nil {
					t.Fatal(err)
				}
			}
			need = e.mustGet(t, advisor, need.GetName())
			if s == closed {
				return e.mustTransition(t, advisor, need, closed, "stängt")
			}
			for _, step := range []needsv1.NeedStatus{validated, prioritised, solutionSearch, matched, addressed} {
				if need.GetStatus() == s {
					break
				}
				need = e.mustTransition(t, advisor, need, step, "")
			}
			return need
		}
		for _, tc := range []struct {
			name             string
			from             needsv1.NeedStatus
			screened, linked bool
			to               needsv1.NeedStatus
			reason           string
			wantCode         codes.Code
			wantReason       string
			wantType         string // what the refusal names as missing
			mention          string
		}{
			{"skip a step", identified, false, false, prioritised, "", codes.FailedPrecondition, "TRANSITION_NOT_ALLOWED", "STATUS", "NEED_STATUS_VALIDATED or NEED_STATUS_CLOSED"},
			{"jump to the end", identified, true, true, addressed, "", codes.FailedPrecondition, "TRANSITION_NOT_ALLOWED", "STATUS", "NEED_STATUS_VALIDATED or NEED_STATUS_CLOSED"},
			{"backwards", solutionSearch, true, false, validated, "", codes.FailedPrecondition, "TRANSITION_NOT_ALLOWED", "STATUS", "NEED_STATUS_MATCHED or NEED_STATUS_CLOSED"},
			{"to the same status", validated, false, false, validated, "", codes.FailedPrecondition, "TRANSITION_NOT_ALLOWED", "STATUS", "NEED_STATUS_PRIORITISED"},
			{"prioritised without screening", validated, false, false, prioritised, "", codes.FailedPrecondition, "SCREENING_REQUIRED", "SCREENING", "screening"},
			{"matched without link", solutionSearch, true, false, matched, "", codes.FailedPrecondition, "LINK_REQUIRED", "LINK", "link"},
			{"closed without reason", validated, false, false, closed, "  ", codes.FailedPrecondition, "REASON_REQUIRED", "REASON", "reason"},
			{"out of closed", closed, false, false, identified, "", codes.FailedPrecondition, "NEED_CLOSED", "STATUS", "closed"},
			{"closed twice", closed, false, false, closed, "igen", codes.FailedPrecondition, "NEED_CLOSED", "STATUS", "closed"},
			{"no status", identified, false, false, needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED, "", codes.InvalidArgument, "INVALID_ARGUMENT", "", "status"},
			{"unknown status", identified, false, false, needsv1.NeedStatus(42), "", codes.InvalidArgument, "INVALID_ARGUMENT", "", "status"},
			{"reason too long", identified, false, false, closed, strings.Repeat("r", 2001), codes.InvalidArgument, "INVALID_ARGUMENT", "", "reason"},
			{"prioritised with screening", validated, true, false, prioritised, "", codes.OK, "", "", ""},
			{"matched with link", solutionSearch, true, true, matched, "", codes.OK, "", "", ""},
			{"closed from addressed", addressed, true, true, closed, "löst", codes.OK, "", "", ""},
			{"closed from identified", identified, false, false, closed, "dubblett", codes.OK, "", "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				need := at(t, tc.from, tc.screened, tc.linked)
				got, err := e.client.TransitionNeed(advisor.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: tc.to, Reason: tc.reason, Etag: need.GetEtag()})
				if code := status.Code(err); code != tc.wantCode {
					t.Fatalf("code %v, want %v (%v)", code, tc.wantCode, err)
				}
				if err == nil {
					if got.GetStatus() != tc.to {
						t.Errorf("status %v, want %v", got.GetStatus(), tc.to)
					}
					return
				}
				if reason(err) != tc.wantReason || preconditionType(err) != tc.wantType || !strings.Contains(status.Convert(err).Message(), tc.mention) {
					t.Errorf("refusal %v (reason %s, type %q): want reason %s, type %q, a message naming %q", err, reason(err), preconditionType(err), tc.wantReason, tc.wantType, tc.mention)
				}
				if after := e.mustGet(t, advisor, need.GetName()); after.GetStatus() != tc.from || after.GetEtag() != need.GetEtag() {
					t.Errorf("a refused move changed the need: %v etag %s", after.GetStatus(), after.GetEtag())
				}
			})
		}
	})
}

func TestTransition_StaleEtag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		e.mustTransition(t, advisor, need, validated, "")

		// need still carries etag 1.
		_, err := e.client.TransitionNeed(advisor.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: closed, Reason: "x", Etag: need.GetEtag()})
		if status.Code(err) != codes.Aborted || reason(err) != "ETAG_MISMATCH" {
			t.Errorf("stale etag: %v, want Aborted ETAG_MISMATCH", err)
		}
		// A stale etag wins over a rule the move would break: the caller
		// must look again first.
		_, err = e.client.TransitionNeed(advisor.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: matched, Etag: need.GetEtag()})
		if status.Code(err) != codes.Aborted {
			t.Errorf("stale etag and a forbidden move: %v, want Aborted", err)
		}
		_, err = e.client.TransitionNeed(advisor.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: closed, Reason: "x", Etag: "W/abc"})
		if diff := cmp.Diff([]string{"etag"}, fieldViolations(err)); diff != "" {
			t.Errorf("malformed etag (-want +got):\n%s", diff)
		}

		// Two advisors move the same need at once with the same etag: one wins.
		need = e.mustGet(t, advisor, need.GetName())
		var wg sync.WaitGroup
		codesSeen := make(chan codes.Code, 6)
		for range 6 {
			wg.Go(func() {
				_, err := e.client.TransitionNeed(advisor.Ctx(t), &needsv1.TransitionNeedRequest{Name: need.GetName(), Status: closed, Reason: "samtidigt", Etag: need.GetEtag()})
				codesSeen <- status.Code(err)
			})
		}
		wg.Wait()
		close(codesSeen)
		wins := 0
		for c := range codesSeen {
			switch c {
			case codes.OK:
				wins++
			case codes.Aborted:
			default:
				t.Errorf("concurrent move: %v, want OK or Aborted", c)
			}
		}
		if wins != 1 {
			t.Errorf("%d concurrent moves with one etag succeeded, want 1", wins)
		}
		hist, err := e.client.ListNeedHistory(advisor.Ctx(t), &needsv1.ListNeedHistoryRequest{Parent: need.GetName()})
		if err != nil || len(hist.GetEntries()) != 2 {
			t.Errorf("history holds %d decisions (err %v), want 2", len(hist.GetEntries()), err)
		}
	})
}

func TestScreening_PriorityIsLatestRound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten", "advisor-1")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())

		first := e.mustScreen(t, advisor, need, 5, 4, 3, 2, 1)
		if first.GetWeightedScore() != 3 || first.GetReviewer() != "advisor-1" || first.GetName() != need.GetName()+"/screenings/1" {
			t.Errorf("first round %v: want score 3, reviewer advisor-1, round 1", first)
		}
		if got := e.mustGet(t, advisor, need.GetName()); got.GetPriorityScore() != 3 || got.GetEtag() != "2" {
			t.Errorf("after round 1: priority %v etag %s, want 3 and 2", got.GetPriorityScore(), got.GetEtag())
		}
		// The latest round counts, not the mean of all rounds.
		e.mustScreen(t, advisor, need, 2, 2, 2, 2, 1)
		if got := e.mustGet(t, advisor, need.GetName()); math.Abs(got.GetPriorityScore()-1.8) > 1e-9 {
			t.Errorf("after round 2: priority %v, want 1.8", got.GetPriorityScore())
		}

		list, err := e.client.ListScreenings(advisor.Ctx(t), &needsv1.ListScreeningsRequest{Parent: need.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.GetScreenings()) != 2 || list.GetScreenings()[0].GetName() != first.GetName() {
			t.Errorf("screenings %v: want both rounds, oldest first", list.GetScreenings())
		}
		if diff := cmp.Diff(first, list.GetScreenings()[0], protocmp.Transform()); diff != "" {
			t.Errorf("stored round 1 (-want +got):\n%s", diff)
		}
		national, err := e.client.ListScreenings(e.As(t, auth.Coordinator, auth.NationalRegion).Ctx(t), &needsv1.ListScreeningsRequest{Parent: need.GetName()})
		if err != nil || national.GetScreenings()[0].GetReviewer() != "" {
			t.Errorf("coordinator sees reviewer %q (err %v), want it hidden", national.GetScreenings()[0].GetReviewer(), err)
		}
	})
}

func TestScreening_Validation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		sc := &needsv1.Screening{ClinicalImpact: 0, PatientsAffected: 6, ProblemCost: -1, StrategicFit: 3, Feasibility: 5, Comment: strings.Repeat("c", 2001)}
		_, err := e.client.CreateScreening(advisor.Ctx(t), &needsv1.CreateScreeningRequest{Parent: need.GetName(), Screening: sc, RequestId: "a/b"})
		want := []string{"request_id", "screening.clinical_impact", "screening.comment", "screening.patients_affected", "screening.problem_cost"}
		if diff := cmp.Diff(want, fieldViolations(err)); diff != "" {
			t.Errorf("violations (-want +got):\n%s", diff)
		}
		_, err = e.client.CreateScreening(advisor.Ctx(t), &needsv1.CreateScreeningRequest{Parent: need.GetName()})
		if diff := cmp.Diff([]string{"screening"}, fieldViolations(err)); diff != "" {
			t.Errorf("no screening (-want +got):\n%s", diff)
		}
		if got := e.mustGet(t, advisor, need.GetName()); got.GetPriorityScore() != 0 || got.GetEtag() != "1" {
			t.Errorf("refused screenings changed the need: %v", got)
		}

		closedNeed := e.mustTransition(t, advisor, need, closed, "inaktuellt")
		_, err = e.client.CreateScreening(advisor.Ctx(t), &needsv1.CreateScreeningRequest{Parent: closedNeed.GetName(), Screening: screening(3, 3, 3, 3, 3)})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "NEED_CLOSED" {
			t.Errorf("screening a closed need: %v, want FailedPrecondition NEED_CLOSED", err)
		}
	})
}

func TestScreening_RegionWeights(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *needs.Config) {
				c.Weights = map[string]needs.Weights{"uppsala": {ClinicalImpact: 3, PatientsAffected: 1, ProblemCost: 0, StrategicFit: 0, Feasibility: 1}}
			})
			for _, tc := range []struct {
				region string
				want   float64
			}{
				{"uppsala", (3*5 + 1*1 + 1*2) / 5.0}, // 3.6
				{"vasterbotten", (5 + 1 + 4 + 4 + 2) / 5.0},
			} {
				advisor := e.As(t, auth.Advisor, tc.region)
				need := e.mustCreate(t, advisor, tc.region, sampleNeed())
				sc := e.mustScreen(t, advisor, need, 5, 1, 4, 4, 2)
				got := e.mustGet(t, advisor, need.GetName())
				if math.Abs(sc.GetWeightedScore()-tc.want) > 1e-9 || math.Abs(got.GetPriorityScore()-tc.want) > 1e-9 {
					t.Errorf("%s: screening %v, priority %v, want %v", tc.region, sc.GetWeightedScore(), got.GetPriorityScore(), tc.want)
				}
			}
		})
	}
}

func TestScreening_ConcurrentRoundsAndReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "uppsala")
		need := e.mustCreate(t, advisor, "uppsala", sampleNeed())

		// Rounds carry no etag: concurrent ones all land, each with its own
		// round number, and the need's score is one of theirs.
		var wg sync.WaitGroup
		errc := make(chan error, 6)
		for i := range 6 {
			wg.Go(func() {
				_, err := e.client.CreateScreening(advisor.Ctx(t), &needsv1.CreateScreeningRequest{Parent: need.GetName(), Screening: screening(int32(i%5+1), 3, 3, 3, 3)})
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Error(err)
			}
		}
		list, err := e.client.ListScreenings(advisor.Ctx(t), &needsv1.ListScreeningsRequest{Parent: need.GetName(), PageSize: 4})
		if err != nil {
			t.Fatal(err)
		}
		more, err := e.client.ListScreenings(advisor.Ctx(t), &needsv1.ListScreeningsRequest{Parent: need.GetName(), PageSize: 4, PageToken: list.GetNextPageToken()})
		if err != nil {
			t.Fatal(err)
		}
		all := append(list.GetScreenings(), more.GetScreenings()...)
		if len(all) != 6 {
			t.Fatalf("%d rounds stored, want 6", len(all))
		}
		last := all[len(all)-1]
		if !strings.HasSuffix(last.GetName(), "/screenings/6") {
			t.Errorf("last round %s, want round 6", last.GetName())
		}
		if got := e.mustGet(t, advisor, need.GetName()); got.GetPriorityScore() != last.GetWeightedScore() || got.GetEtag() != "7" {
			t.Errorf("priority %v etag %s, want the last round's %v and etag 7", got.GetPriorityScore(), got.GetEtag(), last.GetWeightedScore())
		}

		req := &needsv1.CreateScreeningRequest{Parent: need.GetName(), Screening: screening(5, 5, 5, 5, 5), RequestId: "workshop-3"}
		first, err := e.client.CreateScreening(advisor.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.client.CreateScreening(advisor.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
			t.Errorf("replayed screening (-first +replay):\n%s", diff)
		}
		req.Screening.Feasibility = 1
		if _, err := e.client.CreateScreening(advisor.Ctx(t), req); status.Code(err) != codes.AlreadyExists {
			t.Errorf("same request_id, other scores: %v, want AlreadyExists", err)
		}
		if got := e.mustGet(t, advisor, need.GetName()); got.GetEtag() != "8" {
			t.Errorf("etag %s after a replay, want 8 (one more round only)", got.GetEtag())
		}
	})
}

func TestUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())

		got, err := e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{
			Need:       &needsv1.Need{Name: need.GetName(), Etag: need.GetEtag(), Outcome: "larma personalen inom fem minuter", Published: true, Problem: "ignored: not in the mask"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"outcome", "published", "etag"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := proto.Clone(need).(*needsv1.Need)
		want.Outcome = "larma personalen inom fem minuter"
		want.Statement = "Ett sätt att upptäcka fall nattetid hos boende på särskilda boenden för att larma personalen inom fem minuter"
		want.Published = true
		want.Etag = "2"
		if diff := cmp.Diff(want, got, protocmp.Transform(), protocmp.IgnoreFields(&needsv1.Need{}, "update_time")); diff != "" {
			t.Errorf("updated need (-want +got):\n%s", diff)
		}

		// Without a mask, the fields set in the request are updated.
		got, err = e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), PatientsAffectedPerYear: 1200}})
		if err != nil || got.GetPatientsAffectedPerYear() != 1200 || got.GetOutcome() != want.Outcome {
			t.Errorf("implied mask: %v %v", got, err)
		}

		for _, tc := range []struct {
			name   string
			req    *needsv1.UpdateNeedRequest
			code   codes.Code
			fields []string
		}{
			{"stale etag", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Etag: "1", CareUnit: "x"}}, codes.Aborted, nil},
			{"empty required part", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"problem", "population"}}}, codes.InvalidArgument, []string{"need.population", "need.problem"}},
			{"status alone in the mask", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Status: matched}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status"}}}, codes.InvalidArgument, []string{"update_mask"}},
			{"priority alone in the mask", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), PriorityScore: 5}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority_score"}}}, codes.InvalidArgument, []string{"update_mask"}},
			{"links alone in the mask", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Links: []string{"regions/vasterbotten/offers/x"}}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"links"}}}, codes.InvalidArgument, []string{"update_mask"}},
			{"unknown path", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"colour"}}}, codes.InvalidArgument, []string{"update_mask"}},
			{"nothing to update", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Etag: "2"}}, codes.InvalidArgument, []string{"update_mask"}},
			{"bad name", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: "needs/x", CareUnit: "x"}}, codes.InvalidArgument, []string{"need.name"}},
			{"no such need", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: "regions/vasterbotten/needs/nope", CareUnit: "x"}}, codes.NotFound, nil},
			{"bad origin", &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), ReportedBy: ideav1.Origin(50)}}, codes.InvalidArgument, []string{"need.reported_by"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.UpdateNeed(advisor.Ctx(t), tc.req)
				if status.Code(err) != tc.code {
					t.Fatalf("code %v, want %v (%v)", status.Code(err), tc.code, err)
				}
				if diff := cmp.Diff(tc.fields, fieldViolations(err), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("violations (-want +got):\n%s", diff)
				}
			})
		}
		// Output-only fields in the mask are ignored (AIP-203), changed or not:
		// the status, score and links change only through their methods.
		current := e.mustGet(t, advisor, need.GetName())
		sent := proto.Clone(current).(*needsv1.Need)
		sent.CareUnit = "Äldreomsorg Skellefteå"
		sent.Status, sent.PriorityScore, sent.Links = matched, 5, []string{"regions/vasterbotten/offers/x"}
		got, err = e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{Need: sent, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"care_unit", "status", "links", "priority_score"}}})
		if err != nil || got.GetCareUnit() != sent.GetCareUnit() || got.GetStatus() != current.GetStatus() || got.GetPriorityScore() != current.GetPriorityScore() || len(got.GetLinks()) != len(current.GetLinks()) {
			t.Errorf("update with output-only fields changed in the mask: %v %v, want the care unit changed and the rest as it was", got, err)
		}

		// A closed need keeps its statement; only published may change.
		current = e.mustGet(t, advisor, need.GetName())
		current = e.mustTransition(t, advisor, current, closed, "löst på annat sätt")
		_, err = e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Problem: "ändrat"}})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "NEED_CLOSED" {
			t.Errorf("update of a closed need: %v, want FailedPrecondition NEED_CLOSED", err)
		}
		got, err = e.client.UpdateNeed(advisor.Ctx(t), &needsv1.UpdateNeedRequest{Need: &needsv1.Need{Name: need.GetName(), Etag: current.GetEtag()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"published"}}})
		if err != nil || got.GetPublished() {
			t.Errorf("unpublishing a closed need: %v published=%v", err, got.GetPublished())
		}
	})
}

func TestLink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		idea, err := e.ideas.CreateIdea(advisor.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
			Title: "Golvsensor", Problem: "Fall upptäcks sent.", Origin: ideav1.Origin_ORIGIN_STAFF,
		}})
		if err != nil {
			t.Fatal(err)
		}
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())

		linked, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: idea.GetName(), Etag: need.GetEtag()})
		if err != nil {
			t.Fatalf("link to an existing idea: %v", err)
		}
		if diff := cmp.Diff([]string{idea.GetName()}, linked.GetLinks()); diff != "" {
			t.Errorf("links (-want +got):\n%s", diff)
		}
		// The same link again, even with the etag the first link made stale,
		// changes nothing.
		again, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: idea.GetName(), Etag: need.GetEtag()})
		if err != nil || again.GetEtag() != linked.GetEtag() || len(again.GetLinks()) != 1 {
			t.Errorf("repeated link: %v etag %s links %v; want no change", err, again.GetEtag(), again.GetLinks())
		}
		linked, err = e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/vasterbotten/offers/acme-17", Etag: linked.GetEtag()})
		if err != nil {
			t.Fatal(err)
		}
		linked, err = e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/vasterbotten/subprojects/golvsensor-2025"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{idea.GetName(), "regions/vasterbotten/offers/acme-17", "regions/vasterbotten/subprojects/golvsensor-2025"}
		if diff := cmp.Diff(want, linked.GetLinks()); diff != "" {
			t.Errorf("links (-want +got):\n%s", diff)
		}

		for _, tc := range []struct {
			name   string
			target string
			etag   string
			code   codes.Code
			reason string
		}{
			{"idea that does not exist", "regions/vasterbotten/ideas/nothere", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"idea of another region", "regions/uppsala/ideas/x", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"no target", "", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"not a resource name", "https://example.se/offer", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"another kind", "regions/vasterbotten/partners/acme", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"bad id", "regions/vasterbotten/offers/ACME!", "", codes.InvalidArgument, "INVALID_ARGUMENT"},
			{"stale etag", "regions/vasterbotten/offers/other", "1", codes.Aborted, "ETAG_MISMATCH"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: tc.target, Etag: tc.etag})
				if status.Code(err) != tc.code || reason(err) != tc.reason {
					t.Fatalf("%v (reason %s), want %v %s", err, reason(err), tc.code, tc.reason)
				}
				if tc.code == codes.InvalidArgument {
					if diff := cmp.Diff([]string{"target"}, fieldViolations(err)); diff != "" {
						t.Errorf("violations (-want +got):\n%s", diff)
					}
				}
			})
		}
		if got := e.mustGet(t, advisor, need.GetName()); len(got.GetLinks()) != 3 {
			t.Errorf("refused links changed the need: %v", got.GetLinks())
		}

		closedNeed := e.mustTransition(t, advisor, e.mustGet(t, advisor, need.GetName()), closed, "klart")
		_, err = e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: closedNeed.GetName(), Target: "regions/vasterbotten/offers/late"})
		if status.Code(err) != codes.FailedPrecondition || reason(err) != "NEED_CLOSED" {
			t.Errorf("link to a closed need: %v, want FailedPrecondition NEED_CLOSED", err)
		}
	})
}

func TestLink_IdeaServiceUnreachable(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(c *needs.Config) {
				c.Ideas = dialClosed(t)
				c.IdeaTimeout = 2 * time.Second
			})
			advisor := e.As(t, auth.Advisor, "uppsala")
			need := e.mustCreate(t, advisor, "uppsala", sampleNeed())
			start := time.Now()
			_, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/uppsala/ideas/abc", Etag: need.GetEtag()})
			if status.Code(err) != codes.Unavailable || reason(err) != "IDEA_SERVICE_UNAVAILABLE" {
				t.Fatalf("%v, want Unavailable IDEA_SERVICE_UNAVAILABLE", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v: the idea call is not bounded", d)
			}
			if got := e.mustGet(t, advisor, need.GetName()); len(got.GetLinks()) != 0 || got.GetEtag() != need.GetEtag() {
				t.Errorf("link written although the idea was not checked: %v", got)
			}
			// Offers and subprojects need no remote check.
			if _, err := e.client.LinkNeed(advisor.Ctx(t), &needsv1.LinkNeedRequest{Name: need.GetName(), Target: "regions/uppsala/offers/o-1"}); err != nil {
				t.Errorf("offer link with the idea service down: %v", err)
			}
		})
	}
}

// TestLink_ForwardsTheCallersToken: the idea service sees the caller, not
// the needs service, so its own rules apply to the check.
func TestLink_ForwardsTheCallersToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		need := e.mustCreate(t, advisor, "vasterbotten", sampleNeed())
		idea, err := e.ideas.CreateIdea(advisor.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
			Title: "t", Problem: "p", Origin: ideav1.Origin_ORIGIN_STAFF,
		}})
		if err != nil {
			t.Fatal(err)
		}
		spy := &spyIdeas{IdeaServiceClient: e.ideas}
		srv, err := needs.New(needs.Config{Store: e.Store, Regions: mustServed(t, "vasterbotten"), Ideas: spy})
		if err != nil {
			t.Fatal(err)
		}
		ctx := auth.NewContext(t.Context(), &auth.Identity{Subject: "advisor-vasterbotten", Region: "vasterbotten", Roles: []auth.Role{auth.Advisor}, Token: advisor.Token})
		if _, err := srv.LinkNeed(ctx, &needsv1.LinkNeedRequest{Name: need.GetName(), Target: idea.GetName()}); err != nil {
			t.Fatal(err)
		}
		if spy.token != "Bearer "+advisor.Token {
			t.Errorf("idea service called with authorization %q, want the caller's token", spy.token)
		}
		if dl, ok := spy.deadline(); !ok || time.Until(dl) > 3*time.Second {
			t.Errorf("idea call deadline %v (set %v), want at most 3 s", dl, ok)
		}
	})
}

// spyIdeas notes how the needs service calls the idea service.
type spyIdeas struct {
	ideav1.IdeaServiceClient
	mu    sync.Mutex
	token string
	dl    time.Time
	hasDL bool
}

func (s *spyIdeas) GetIdea(ctx context.Context, req *ideav1.GetIdeaRequest, opts ...grpc.CallOption) (*ideav1.Idea, error) {
	md, _ := metadata.FromOutgoingContext(ctx)
	s.mu.Lock()
	s.token = strings.Join(md.Get("authorization"), ",")
	s.dl, s.hasDL = ctx.Deadline()
	s.mu.Unlock()
	return s.IdeaServiceClient.GetIdea(ctx, req, opts...)
}

func (s *spyIdeas) deadline() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dl, s.hasDL
}

func mustServed(t *testing.T, list string) config.Served {
	t.Helper()
	served, err := config.ParseServed(list)
	if err != nil {
		t.Fatal(err)
	}
	return served
}
