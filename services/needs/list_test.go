package needs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// listAll pages through a list with pageSize and returns the names in order.
func listAll(t *testing.T, e *env, c stack.Caller, req *needsv1.ListNeedsRequest) []string {
	t.Helper()
	var names []string
	for pages := 0; ; pages++ {
		resp, err := e.client.ListNeeds(c.Ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if req.GetPageSize() > 0 && len(resp.GetNeeds()) > int(req.GetPageSize()) {
			t.Fatalf("page of %d, want at most %d", len(resp.GetNeeds()), req.GetPageSize())
		}
		for _, n := range resp.GetNeeds() {
			names = append(names, n.GetName())
		}
		if resp.GetNextPageToken() == "" {
			return names
		}
		if pages > 20 {
			t.Fatal("pagination does not end")
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestList_ByPriorityPaged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "uppsala")
		// Scores by creation order; -1 is never screened.
		scores := []int32{2, 5, -1, 3, 5, 1, 4}
		names := make([]string, len(scores))
		for i, score := range scores {
			in := sampleNeed()
			in.Problem = fmt.Sprintf("behov %d", i)
			in.Published = i%2 == 0
			need := e.mustCreate(t, advisor, "uppsala", in)
			names[i] = need.GetName()
			if score > 0 {
				e.mustScreen(t, advisor, need, score, score, score, score, score)
			}
			time.Sleep(2 * time.Millisecond) // distinct create times
		}
		// Equal scores: the newest first. Unscreened needs last.
		want := []string{names[4], names[1], names[6], names[3], names[0], names[5], names[2]}
		for _, order := range []string{"priority_score desc", "  priority_score   desc ", "priorityScore desc"} {
			got := listAll(t, e, advisor, &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: order, PageSize: 2})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("order_by %q (-want +got):\n%s", order, diff)
			}
		}
		newest := []string{names[6], names[5], names[4], names[3], names[2], names[1], names[0]}
		for _, order := range []string{"", "create_time desc"} {
			got := listAll(t, e, advisor, &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: order, PageSize: 3})
			if diff := cmp.Diff(newest, got); diff != "" {
				t.Errorf("order_by %q (-want +got):\n%s", order, diff)
			}
		}
		// Partners page through the published ones, by priority.
		got := listAll(t, e, e.As(t, auth.Partner, "uppsala"), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: "priority_score desc", PageSize: 1})
		if diff := cmp.Diff([]string{names[4], names[6], names[0], names[2]}, got); diff != "" {
			t.Errorf("partner by priority (-want +got):\n%s", diff)
		}
		// A new screening moves a need in the order.
		e.mustScreen(t, advisor, e.mustGet(t, advisor, names[5]), 5, 5, 5, 5, 5)
		resp, err := e.client.ListNeeds(advisor.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: "priority_score desc", PageSize: 1})
		if err != nil || resp.GetNeeds()[0].GetName() != names[5] {
			t.Errorf("after rescreening: first %v (err %v), want %s", resp.GetNeeds(), err, names[5])
		}
	})
}

func TestList_Filters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		add := func(unit string, published bool, to needsv1.NeedStatus) string {
			return e.addListed(t, advisor, unit, published, to)
		}
		a := add("Akutmottagningen, NUS", true, validated)
		b := add("Akutmottagningen, NUS", false, identified)
		c := add("Geriatrik AND rehab", true, identified)
		d := add("Barnkliniken", false, validated)

		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"", []string{d, c, b, a}},
			{"status = NEED_STATUS_VALIDATED", []string{d, a}},
			{`status="NEED_STATUS_IDENTIFIED"`, []string{c, b}},
			{"published = true", []string{c, a}},
			{"published = false", []string{d, b}},
			{`care_unit = "akutmottagningen, nus"`, []string{b, a}},
			{`careUnit = "Geriatrik AND rehab"`, []string{c}},
			{`care_unit = "Akutmottagningen, NUS" AND published = true AND status = NEED_STATUS_VALIDATED`, []string{a}},
			{`status = NEED_STATUS_VALIDATED AND published = false`, []string{d}},
			{`care_unit = "Finns inte"`, nil},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				for _, order := range []string{"", "priority_score desc"} {
					got := listAll(t, e, advisor, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Filter: tc.filter, OrderBy: order, PageSize: 1})
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("order %q (-want +got):\n%s", order, diff)
					}
				}
			})
		}
	})
}

func TestList_BadParameters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "uppsala")
		for range 3 {
			e.mustCreate(t, advisor, "uppsala", sampleNeed())
		}
		first, err := e.client.ListNeeds(advisor.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageSize: 1})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v, token %q", err, first.GetNextPageToken())
		}
		tok := first.GetNextPageToken()
		for _, tc := range []struct {
			name   string
			req    *needsv1.ListNeedsRequest
			fields []string
		}{
			{"garbage token", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageToken: "!!!"}, []string{"page_token"}},
			{"token with another filter", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageToken: tok, Filter: "published = true"}, []string{"page_token"}},
			{"token with another order", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageToken: tok, OrderBy: "priority_score desc"}, []string{"page_token"}},
			{"unknown filter field", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "colour = RED"}, []string{"filter"}},
			{"unknown status", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "status = NEED_STATUS_DONE"}, []string{"filter"}},
			{"published not a bool", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "published = yes"}, []string{"filter"}},
			{"dangling AND", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "published = true AND"}, []string{"filter"}},
			{"field twice", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: "published = true AND published = false"}, []string{"filter"}},
			{"unclosed quote", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", Filter: `care_unit = "Akut`}, []string{"filter"}},
			{"two orders at once", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: "priority_score desc, create_time"}, []string{"order_by"}},
			{"unknown order", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", OrderBy: "title desc"}, []string{"order_by"}},
			{"negative page size", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageSize: -1}, []string{"page_size"}},
			{"everything at once", &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageSize: -5, Filter: "x", OrderBy: "y", PageToken: "z"}, []string{"filter", "order_by", "page_size", "page_token"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.client.ListNeeds(advisor.Ctx(t), tc.req)
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("code %v, want InvalidArgument (%v)", status.Code(err), err)
				}
				if diff := cmp.Diff(tc.fields, fieldViolations(err)); diff != "" {
					t.Errorf("violations (-want +got):\n%s", diff)
				}
			})
		}
		// A token is the list's own: another caller class may not reuse it.
		_, err = e.client.ListNeeds(e.As(t, auth.Partner, "uppsala").Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageToken: tok})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("staff token used by a partner: %v, want InvalidArgument", err)
		}
		// Page sizes above the maximum are capped, not refused.
		big, err := e.client.ListNeeds(advisor.Ctx(t), &needsv1.ListNeedsRequest{Parent: "regions/uppsala", PageSize: 100000})
		if err != nil || len(big.GetNeeds()) != 3 {
			t.Errorf("page_size 100000: %v, %d needs", err, len(big.GetNeeds()))
		}
	})
}
