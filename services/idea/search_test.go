package idea_test

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
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// search lists every page of ideas q finds for c, size at a time.
func (e *regionEnv) search(t *testing.T, c stack.Caller, q, filter string, size int32) []string {
	t.Helper()
	var names []string
	token := ""
	for range 20 {
		resp, err := e.client.ListIdeas(c.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: q, Filter: filter, PageSize: size, PageToken: token})
		if err != nil {
			t.Fatalf("ListIdeas q=%q filter=%q: %v", q, filter, err)
		}
		for _, i := range resp.GetIdeas() {
			names = append(names, i.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			return names
		}
	}
	t.Fatalf("q=%q: more than 20 pages", q)
	return nil
}

// TestListIdeas_Search: q finds the ideas holding its words, folded for
// case and accents, best first (named by the words before mentioning
// them), newest first among equals, over pages bound to q, with a filter,
// never an idea the caller may not list, and the ideas merged duplicates
// went into.
func TestListIdeas_Search(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		p1 := e.As(t, auth.Submitter, "vasterbotten", "patient-1")
		p2 := e.As(t, auth.Submitter, "vasterbotten", "patient-2")
		mk := func(c stack.Caller, title, problem, area string) string {
			in := sampleIdea()
			in.Title, in.Problem, in.Proposal, in.CareArea = title, problem, "", area
			got := e.mustCreate(t, c, "vasterbotten", in)
			time.Sleep(2 * time.Millisecond) // distinct create times
			return got.GetName()
		}
		home := mk(p1, "Dialys i hemmet", "Patienter reser långt till dialysen varje vecka.", "Njurmedicin")
		taxi := mk(p1, "Samordnad sjukresa", "Många i dialys väntar på taxi efter behandlingen.", "Ambulans")
		video := mk(p2, "Videobesök för KOL-kontroller", "Långa resor till kontroller som kunde ske på distans.", "Lungmedicin")
		fall := mk(p1, "Fallsensor i golvet", "Fall nattetid upptäcks sent på boendet.", "Äldreomsorg")
		twin := mk(p1, "Dialys i hemmet", "Patienter reser långt till dialysen varje vecka.", "Njurmedicin")
		ear := mk(p2, "Ont i öra och näsa", "Lång väntan på specialist.", "ÖNH")

		for _, tc := range []struct {
			c      stack.Caller
			q      string
			filter string
			want   []string
		}{
			// Named by the word first, the twins newest first; unrelated ideas not at all.
			{adv, "Dialys", "", []string{twin, home, taxi}},
			{adv, "  dialys  ", "", []string{twin, home, taxi}},
			{adv, "DIALYS", "", []string{twin, home, taxi}},
			{adv, "videobesok", "", []string{video}},
			{adv, "VIDEOBESÖK kol", "", []string{video}},
			{adv, "ora nasa", "", []string{ear}}, // unfolded, "öra" holds one trigram of four of "ora"
			{adv, "aldreomsorg", "", nil},        // care area is not searched
			{adv, "dialys hemmet", "", []string{twin, home}},
			{adv, "fallsensr", "", []string{fall}}, // misspelt
			{adv, "kommun", "", nil},
			{adv, "dialys", `care_area = "Ambulans"`, []string{taxi}},
			// A submitter finds their own ideas only.
			{p1, "videobesok", "", nil},
			{p2, "dialys", "", nil},
			{p2, "videobesok", "", []string{video}},
		} {
			for _, size := range []int32{1, 50} {
				if got := e.search(t, tc.c, tc.q, tc.filter, size); !slices.Equal(got, tc.want) {
					t.Errorf("%s q=%q filter=%q page size %d: %v, want %v", tc.c.Sub, tc.q, tc.filter, size, got, tc.want)
				}
			}
		}

		// An empty q is the list, newest first.
		if got := e.search(t, adv, " \t", "", 50); !slices.Equal(got, []string{ear, twin, fall, video, taxi, home}) {
			t.Errorf("blank q: %v, want the whole list newest first", got)
		}

		// A page token belongs to its q and filter.
		first, err := e.client.ListIdeas(adv.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "dialys", PageSize: 1})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v %v", first, err)
		}
		plain, err := e.client.ListIdeas(adv.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			req  *ideav1.ListIdeasRequest
			want string
		}{
			{"token of another q", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "hemmet", PageToken: first.GetNextPageToken()}, "page_token"},
			{"token of another filter", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "dialys", Filter: "stage = STAGE_SUBMITTED", PageToken: first.GetNextPageToken()}, "page_token"},
			{"token of the list without q", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "dialys", PageToken: plain.GetNextPageToken()}, "page_token"},
			{"token of q on the list without", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", PageToken: first.GetNextPageToken()}, "page_token"},
			{"q with order_by", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "dialys", OrderBy: "create_time desc"}, "order_by"},
			{"q too long", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: strings.Repeat("dialys ", 29)}, "q"},
			{"q of punctuation", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "?!"}, "q"},
			{"q with a bad filter", &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Q: "dialys", Filter: "colour = RED"}, "filter"},
		} {
			_, err := e.client.ListIdeas(adv.Ctx(t), tc.req)
			if status.Code(err) != codes.InvalidArgument || !slices.Equal(fieldViolations(err), []string{tc.want}) {
				t.Errorf("%s: %v (fields %v), want INVALID_ARGUMENT naming %s", tc.name, err, fieldViolations(err), tc.want)
			}
		}
		if got := e.search(t, adv, strings.Repeat("dialys ", 29)[:200], "", 50); !slices.Equal(got, []string{twin, home, taxi}) {
			t.Errorf("q of 200 characters: %v", got)
		}

		// The fall sensor is merged into the video visits: its title finds
		// both, the duplicate first (its own title). Its submitter, now a
		// co-submitter of the video visits, sees both; the other submitter
		// only their own idea, found by the duplicate's title.
		got, err := e.client.GetIdea(adv.Ctx(t), &ideav1.GetIdeaRequest{Name: fall})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.MergeIdea(adv.Ctx(t), &ideav1.MergeIdeaRequest{Name: fall, MergeInto: video, Etag: got.GetEtag()}); err != nil {
			t.Fatalf("MergeIdea: %v", err)
		}
		for _, tc := range []struct {
			c    stack.Caller
			want []string
		}{
			{adv, []string{fall, video}},
			{p1, []string{fall, video}},
			{p2, []string{video}},
		} {
			if got := e.search(t, tc.c, "fallsensor golvet", "", 1); !slices.Equal(got, tc.want) {
				t.Errorf("%s after the merge: %v, want %v", tc.c.Sub, got, tc.want)
			}
		}
		// The duplicate's problem is not the idea's text.
		if got := e.search(t, p2, "nattetid", "", 50); len(got) != 0 {
			t.Errorf("the duplicate's problem found %v for the other submitter", got)
		}
	})
}

// TestREST_Search: ?q= is a query parameter of the list through the
// gateway, and its refusals name the field.
func TestREST_Search(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		want := e.mustCreate(t, adv, "vasterbotten", sampleIdea())
		in := sampleIdea()
		in.Title, in.Problem = "Fallsensor i golvet", "Fall nattetid upptäcks sent."
		e.mustCreate(t, adv, "vasterbotten", in)
		code, body := e.REST(t, adv, "GET", "/v1/regions/vasterbotten/ideas?q=videobesok&pageSize=10", "")
		ideas, _ := body["ideas"].([]any)
		if code != http.StatusOK || len(ideas) != 1 || ideas[0].(map[string]any)["name"] != want.GetName() {
			t.Errorf("?q=videobesok: %d %v, want %s alone", code, body, want.GetName())
		}
		code, body = e.REST(t, adv, "GET", "/v1/regions/vasterbotten/ideas?q=Videobes%C3%B6k&orderBy=create_time", "")
		if msg, _ := body["message"].(string); code != http.StatusBadRequest || !strings.Contains(msg, "order_by") {
			t.Errorf("?q with orderBy: %d %v, want 400 naming order_by", code, body)
		}
	})
}
