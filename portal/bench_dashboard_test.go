package portal

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/testenv"
	coordinatorv1 "github.com/innovationsmotorer/motor/proto/innovation/coordinator/v1"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// BenchmarkNationalDashboard compares, in one run, the national
// dashboard's page for all 21 regions (each a served region of a real
// `motor serve` with its demo content) with the coordinator's fan-out call
// alone, and reports the page's weight.
func BenchmarkNationalDashboard(b *testing.B) {
	data := b.TempDir()
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b))
	motorPortal(b, "-regions", strings.Join(config.RegionIDs(), ","), "-grpc", grpcAddr, "-data", data)
	signer, err := auth.LoadOrCreateDevKey(data)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	p, err := newPortal(b.Context(), Config{
		Ideas: ideav1.NewIdeaServiceClient(conn), Needs: needsv1.NewNeedsServiceClient(conn), Partners: partnerv1.NewPartnerServiceClient(conn),
		Subprojects: fundingv1.NewSubprojectServiceClient(conn), Programmes: fundingv1.NewProgrammeServiceClient(conn),
		Coordinator: coordinatorv1.NewCoordinatorServiceClient(conn), Regions: config.RegionIDs(), DevSigner: signer,
		SessionKey: []byte(strings.Repeat("k", 32)),
	})
	if err != nil {
		b.Fatal(err)
	}
	roles := []auth.Role{auth.Coordinator}
	tok, err := signer.Sign(auth.Claims{Subject: "coordinator", Name: "Cora", Region: auth.NationalRegion, Roles: roles}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	s := &session{Token: tok, Subject: "coordinator", Name: "Cora", Region: auth.NationalRegion, Roles: roles, Expires: time.Now().Add(time.Hour), CSRF: "x"}
	cookie, err := p.cookies.sealer.seal(sessionCookie, s)
	if err != nil {
		b.Fatal(err)
	}
	ctx := withToken(b.Context(), s)
	page := func() (int, string) {
		req := httptest.NewRequest(http.MethodGet, "/dashboard", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		w := httptest.NewRecorder()
		p.Handler().ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	if code, body := page(); code != http.StatusOK || strings.Count(body, `class="state-row-up"`) != len(config.RegionIDs()) {
		b.Fatalf("dashboard: %d with %d regions up, want every one of %d", code, strings.Count(body, `class="state-row-up"`), len(config.RegionIDs()))
	}

	var fanout, whole time.Duration
	var html int
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := p.cfg.Coordinator.GetDashboard(ctx, &coordinatorv1.GetDashboardRequest{}); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		code, body := page()
		end := time.Now()
		if code != http.StatusOK {
			b.Fatalf("dashboard: %d", code)
		}
		fanout += mid.Sub(start)
		whole += end.Sub(mid)
		html = len(body)
	}
	b.StopTimer()
	iters := float64(b.N)
	b.ReportMetric(float64(fanout.Nanoseconds())/iters, "fanout-ns/op")
	b.ReportMetric(float64(whole.Nanoseconds())/iters, "page-ns/op")
	b.ReportMetric(float64(whole)/float64(fanout), "page/fanout")
	css, _ := fs.ReadFile(staticFS, "static/motor.css")
	js, _ := fs.ReadFile(staticFS, "static/vendor/htmx.min.js")
	b.ReportMetric(float64(html+len(css)+len(js)), "page-bytes")
	b.Logf("dashboard of %d regions: the page takes %.2f× the time of the fan-out call alone (%v vs %v); page weight %d bytes = HTML %d + CSS %d + JS %d (uncompressed)",
		len(config.RegionIDs()), float64(whole)/float64(fanout), whole/time.Duration(b.N), fanout/time.Duration(b.N), html+len(css)+len(js), html, len(css), len(js))
}
