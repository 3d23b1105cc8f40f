package needs_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestListNeeds_Search: q finds the needs whose statement holds its words,
// folded for case and accents, best first and newest first among equals,
// over pages bound to q, with a filter, never a need the caller may not
// list.
func TestListNeeds_Search(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		p1 := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		p2 := e.As(t, auth.Submitter, "vasterbotten", "patient-2")
		partner := e.As(t, auth.Partner, "vasterbotten")
		mk := func(c stack.Caller, problem, population, outcome string, published bool) string {
			in := sampleNeed()
			in.Problem, in.Population, in.Outcome, in.Published = problem, population, outcome, published
			got := e.mustCreate(t, c, "vasterbotten", in)
			time.Sleep(2 * time.Millisecond) // distinct create times
			return got.GetName()
		}
		home := mk(adv, "behandla dialysen i hemmet", "patienter med njursvikt", "färre resor", false)
		taxi := mk(adv, "boka sjukresa", "patienter i dialys", "kortare väntan på taxi", true)
		ear := mk(p1, "undersöka öra och näsa på distans", "boende i inlandet", "färre resor", false)
		fall := mk(adv, "upptäcka fall nattetid", "boende på särskilda boenden", "kortare tid på golvet", true)
		twin := mk(adv, "boka sjukresa", "patienter i dialys", "kortare väntan på taxi", true)

		for _, tc := range []struct {
			c      stack.Caller
			q      string
			filter string
			want   []string
		}{
			// "dialys" holds 6 of the 9 trigrams of "dialysen", "dialysen" 6 of the 7 of "dialys".
			{adv, "Dialys", "", []string{twin, taxi, home}},
			{adv, "DIALYSEN", "", []string{home, twin, taxi}},
			{adv, "ora nasa", "", []string{ear}},
			{adv, "ÖRA NÄSA", "", []string{ear}},
			{adv, "dialys taxi", "", []string{twin, taxi}},
			{adv, "kommun", "", nil},
			{adv, "dialys", "published = true", []string{twin, taxi}},
			{adv, "dialys", "status = NEED_STATUS_CLOSED", nil},
			// Partners the published needs, submitters those and their own.
			{partner, "dialys", "", []string{twin, taxi}},
			{partner, "ora nasa", "", nil},
			{p1, "ora nasa", "", []string{ear}},
			{p1, "resor", "", []string{ear}},
			{p2, "ora nasa", "", nil},
			{p2, "nattetid", "", []string{fall}},
		} {
			for _, size := range []int32{1, 50} {
				got := listAll(t, e, tc.c, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: tc.q, Filter: tc.filter, PageSize: size})
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s q=%q filter=%q page size %d: %v, want %v", tc.c.Sub, tc.q, tc.filter, size, got, tc.want)
				}
			}
		}
		if got := listAll(t, e, adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "  "}); !slices.Equal(got, []string{twin, fall, ear, taxi, home}) {
			t.Errorf("blank q: %v, want the whole list newest first", got)
		}

		first, err := e.client.ListNeeds(adv.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "dialys", PageSize: 1})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v %v", first, err)
		}
		for _, tc := range []struct {
			name string
			c    stack.Caller
			req  *needsv1.ListNeedsRequest
			want string
		}{
			{"token of another q", adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "taxi", PageToken: first.GetNextPageToken()}, "page_token"},
			{"token of q on the list without", adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", PageToken: first.GetNextPageToken()}, "page_token"},
			{"token of another caller's view", partner, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "dialys", PageToken: first.GetNextPageToken()}, "page_token"},
			{"q with order_by", adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "dialys", OrderBy: "priority_score desc"}, "order_by"},
			{"q too long", adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: strings.Repeat("a", 201)}, "q"},
			{"q of punctuation", adv, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Q: "--"}, "q"},
		} {
			_, err := e.client.ListNeeds(tc.c.Ctx(t), tc.req)
			if status.Code(err) != codes.InvalidArgument || !slices.Equal(fieldViolations(err), []string{tc.want}) {
				t.Errorf("%s: %v (fields %v), want INVALID_ARGUMENT naming %s", tc.name, err, fieldViolations(err), tc.want)
			}
		}

		// Through the gateway, ?q= is the same search.
		code, body := restCall(t, e, partner, "GET", "/v1/regions/vasterbotten/needs?q=Dialys&pageSize=10", "")
		needs, _ := body["needs"].([]any)
		if code != http.StatusOK || len(needs) != 2 || needs[0].(map[string]any)["name"] != twin {
			t.Errorf("REST ?q=Dialys: %d %v, want %s and %s", code, body, twin, taxi)
		}
		code, body = restCall(t, e, partner, "GET", "/v1/regions/vasterbotten/needs?q=dialys&orderBy=create_time", "")
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "order_by") {
			t.Errorf("REST ?q with orderBy: %d %v, want 400 naming order_by", code, body)
		}
	})
}
