package portal

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// BenchmarkAdvisorBoard compares, in one run, rendering the advisor board
// of 200 ideas with the gRPC calls that fetch them (one ListIdeas and each
// idea's history, over loopback through the full interceptor chain), and
// reports the page's weight: its HTML, the stylesheet and htmx.
func BenchmarkAdvisorBoard(b *testing.B) {
	e := newEnv(b)
	const n = 200
	for i := range n {
		ctx := e.ctxAs(b, auth.Submitter, "vasterbotten", fmt.Sprintf("person-%d", i%20))
		_, err := e.ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: &ideav1.Idea{
			Title: fmt.Sprintf("Idé nummer %d om bättre vård", i), Problem: "Något som observerades på avdelningen, med några ord till.",
			Origin: ideav1.Origin(1 + i%7), CareArea: []string{"Äldreomsorg", "Akutsjukvård", "Primärvård"}[i%3],
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	tok := e.stack.Token(b, auth.Claims{Subject: "advisor", Name: "Anna Rådgivare", Region: "vasterbotten", Roles: []auth.Role{auth.Advisor, auth.Submitter}})
	s := &session{Token: tok, Subject: "advisor", Name: "Anna Rådgivare", Region: "vasterbotten", Roles: []auth.Role{auth.Advisor, auth.Submitter}, Expires: time.Now().Add(time.Hour), CSRF: "x"}
	cookie, err := e.portal.cookies.sealer.seal(sessionCookie, s)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/board", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	ctx := withToken(b.Context(), s)

	d, err := e.portal.loadBoard(ctx, s, "", "")
	if err != nil {
		b.Fatal(err)
	}
	if d.Total != n {
		b.Fatalf("board of %d ideas, want %d", d.Total, n)
	}

	var grpcTime, renderTime time.Duration
	var html int
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		d, err := e.portal.loadBoard(ctx, s, "", "")
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		w := httptest.NewRecorder()
		e.portal.render(w, req, http.StatusOK, "board", &view{Title: "board.title", Session: s, Data: d})
		end := time.Now()
		if w.Code != http.StatusOK {
			b.Fatalf("render: %d", w.Code)
		}
		grpcTime += mid.Sub(start)
		renderTime += end.Sub(mid)
		html = w.Body.Len()
	}
	b.StopTimer()
	iters := float64(b.N)
	b.ReportMetric(float64(grpcTime.Nanoseconds())/iters, "grpc-ns/op")
	b.ReportMetric(float64(renderTime.Nanoseconds())/iters, "render-ns/op")
	b.ReportMetric(float64(renderTime)/float64(grpcTime), "render/grpc")

	css, _ := fs.ReadFile(staticFS, "static/motor.css")
	js, _ := fs.ReadFile(staticFS, "static/vendor/htmx.min.js")
	b.ReportMetric(float64(html+len(css)+len(js)), "page-bytes")
	b.Logf("board of %d ideas: rendering takes %.3f× the time of its gRPC calls (%v vs %v per page); page weight %d bytes = HTML %d + CSS %d + JS %d (uncompressed)",
		n, float64(renderTime)/float64(grpcTime), renderTime/time.Duration(b.N), grpcTime/time.Duration(b.N), html+len(css)+len(js), html, len(css), len(js))
}
