package needs_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestList_FilterGrammar: the AIP-160 forms beyond `=` and AND, over gRPC
// and over REST as the README shows them.
func TestList_FilterGrammar(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		add := func(unit string, published bool, to needsv1.NeedStatus) string {
			return e.addListed(t, advisor, unit, published, to)
		}
		a := add("Akuten", true, validated)
		b := add("Akuten", false, identified)
		c := add("IVA", true, identified)
		d := add("Barnkliniken", false, validated)

		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{"status != NEED_STATUS_VALIDATED", []string{c, b}},
			{"NOT published = true", []string{d, b}},
			{"-published = true", []string{d, b}},
			{"care_unit = iva OR care_unit = barnkliniken", []string{d, c}},
			{"(status = NEED_STATUS_VALIDATED OR care_unit = IVA) AND published = true", []string{c, a}},
			{"status = NEED_STATUS_IDENTIFIED care_unit = akuten", []string{b}},
			{"NOT (published = true OR care_unit = akuten)", []string{d}},
		} {
			t.Run(tc.filter, func(t *testing.T) {
				got := listAll(t, e, advisor, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten", Filter: tc.filter, PageSize: 1})
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}

		q := url.Values{"filter": {"(status = NEED_STATUS_VALIDATED OR status = NEED_STATUS_IDENTIFIED) AND NOT published = true"}}
		code, body := e.REST(t, advisor, "GET", "/v1/regions/vasterbotten/needs?"+q.Encode(), "")
		if code != 200 {
			t.Fatalf("REST filter: %d %v", code, body)
		}
		if needs, _ := body["needs"].([]any); len(needs) != 2 {
			t.Errorf("REST filter listed %d needs, want 2", len(needs))
		}
		for _, bad := range []string{"status > NEED_STATUS_VALIDATED", "care_unit = \"a\x01\""} {
			code, body := e.REST(t, advisor, "GET", "/v1/regions/vasterbotten/needs?"+url.Values{"filter": {bad}}.Encode(), "")
			if code != 400 {
				t.Errorf("filter %q: %d %v, want 400", bad, code, body)
			}
		}
	})
}

// addListed records a need of vasterbotten with a care unit, published or
// not, validated or not, and waits so that create times differ.
func (e *env) addListed(t *testing.T, advisor stack.Caller, unit string, published bool, to needsv1.NeedStatus) string {
	t.Helper()
	in := sampleNeed()
	in.CareUnit, in.Published = unit, published
	need := e.mustCreate(t, advisor, "vasterbotten", in)
	if to == validated {
		need = e.mustTransition(t, advisor, need, validated, "")
	}
	time.Sleep(2 * time.Millisecond)
	return need.GetName()
}
