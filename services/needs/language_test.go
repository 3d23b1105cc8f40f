package needs_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/innovationsmotorer/motor/internal/auth"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TestStatement_InTheRequestLanguage: the statement follows the request's
// Accept-Language, over gRPC metadata and through the gateway; Swedish when
// nothing or something else is asked for.
func TestStatement_InTheRequestLanguage(t *testing.T) {
	const (
		sv = "Ett sätt att upptäcka fall nattetid hos boende på särskilda boenden för att korta tiden en person ligger på golvet"
		en = "A way to upptäcka fall nattetid in boende på särskilda boenden in order to korta tiden en person ligger på golvet"
	)
	forEachBackend(t, func(t *testing.T, e *env) {
		adv := e.As(t, auth.Advisor, "vasterbotten")
		n := e.mustCreate(t, adv, "vasterbotten", sampleNeed())
		for _, tc := range []struct{ header, want string }{
			{"", sv}, {"en-GB,en;q=0.9", en}, {"sv-SE,en;q=0.5", sv}, {"de", sv}, {"fi, en;q=0.8", en}, {"nonsense;;", sv},
		} {
			ctx := adv.Ctx(t)
			if tc.header != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "accept-language", tc.header)
			}
			got, err := e.client.GetNeed(ctx, &needsv1.GetNeedRequest{Name: n.GetName()})
			if err != nil || got.GetStatement() != tc.want {
				t.Errorf("gRPC with %q: %q (err %v), want %q", tc.header, got.GetStatement(), err, tc.want)
			}
			list, err := e.client.ListNeeds(ctx, &needsv1.ListNeedsRequest{Parent: "regions/vasterbotten"})
			if err != nil || len(list.GetNeeds()) != 1 || list.GetNeeds()[0].GetStatement() != tc.want {
				t.Errorf("list with %q: %v (err %v)", tc.header, list.GetNeeds(), err)
			}

			req, err := http.NewRequestWithContext(t.Context(), "GET", e.HTTP.URL+"/v1/"+n.GetName(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+adv.Token)
			if tc.header != "" {
				req.Header.Set("Accept-Language", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil || resp.StatusCode != http.StatusOK || body["statement"] != tc.want {
				t.Errorf("REST with Accept-Language %q: %d %v, want %q", tc.header, resp.StatusCode, body["statement"], tc.want)
			}
		}
	})
}
