package idea_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// TestList_ControlCharacterInFilter: a NUL (or any control character) in a
// filter value is bad input naming the filter, over gRPC and REST, on both
// stores; never an internal error.
func TestList_ControlCharacterInFilter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		e.mustCreate(t, advisor, "vasterbotten", sampleIdea())
		for _, filter := range []string{"tag=\x00", "tag=a\x00b", "care_area=x\x01", "stage=STAGE_SUBMITTED AND tag=\x7f"} {
			_, err := e.client.ListIdeas(advisor.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", Filter: filter})
			if status.Code(err) != codes.InvalidArgument || !slices.Equal(fieldViolations(err), []string{"filter"}) {
				t.Errorf("gRPC filter %q: %v (fields %v), want InvalidArgument naming filter", filter, err, fieldViolations(err))
			}
			code, body := e.REST(t, advisor, "GET", "/v1/regions/vasterbotten/ideas?filter="+url.QueryEscape(filter), "")
			if code != 400 || !strings.Contains(fmt.Sprint(body["details"]), "filter") {
				t.Errorf("REST filter %q: %d %v, want 400 naming filter", filter, code, body)
			}
		}
	})
}

// TestList_PageBoundedInBytes: a page of large ideas ends before it grows
// past resource.MaxPageBytes, with a token that goes on where it stopped.
func TestList_PageBoundedInBytes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *regionEnv) {
		advisor := e.As(t, auth.Advisor, "vasterbotten")
		const n = 240
		big := strings.Repeat("Lång beskrivning. ", 270) // about 5 000 bytes
		for i := range n {
			in := sampleIdea()
			in.Title = fmt.Sprintf("Idé %d", i)
			in.Problem, in.Proposal = big, big
			e.mustCreate(t, advisor, "vasterbotten", in)
		}
		seen := map[string]bool{}
		token, pages := "", 0
		for {
			resp, err := e.client.ListIdeas(advisor.Ctx(t), &ideav1.ListIdeasRequest{Parent: "regions/vasterbotten", PageSize: 1000, PageToken: token})
			if err != nil {
				t.Fatalf("ListIdeas page %d: %v", pages, err)
			}
			pages++
			largest := 0
			for _, idea := range resp.GetIdeas() {
				seen[idea.GetName()] = true
				largest = max(largest, proto.Size(idea))
			}
			if size := proto.Size(resp); size > resource.MaxPageBytes+largest+64 {
				t.Errorf("page %d is %d bytes, want at most %d and one idea", pages, size, resource.MaxPageBytes)
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
			if pages > n {
				t.Fatal("pages never end")
			}
		}
		if len(seen) != n || pages < 2 {
			t.Errorf("%d ideas on %d pages, want all %d on more than one page", len(seen), pages, n)
		}
	})
}
