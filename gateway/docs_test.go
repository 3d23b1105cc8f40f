package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// The vendored Redoc bundle is what its npm package shipped, byte for byte.
// To update it: `npm pack redoc@VERSION` in a temporary folder, copy
// package/bundles/redoc.standalone.js, its .LICENSE.txt and package/LICENSE
// (as redoc.LICENSE) into docs/vendor, and change the pin here.
const (
	redocPackage = "redoc@2.5.4"
	redocSHA256  = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
)

func TestDocsVendoredRedocMatchesItsPin(t *testing.T) {
	data, err := os.ReadFile("docs/vendor/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != redocSHA256 {
		t.Errorf("docs/vendor/redoc.standalone.js: SHA-256 %s, want %s (the file of %s)", got, redocSHA256, redocPackage)
	}
	for _, lic := range []string{"docs/vendor/redoc.LICENSE", "docs/vendor/redoc.standalone.js.LICENSE.txt"} {
		if _, err := os.Stat(lic); err != nil {
			t.Errorf("licence %s: %v", lic, err)
		}
	}
}

func docsServer(t *testing.T, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	h, err := gateway.New(t.Context(), gateway.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(h))
	t.Cleanup(srv.Close)
	return srv
}

// The page and the bundle come from the binary, under a policy that runs
// no script but the bundle.
func TestDocsServed(t *testing.T) {
	srv := docsServer(t, func(h http.Handler) http.Handler { return h })
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, page := get("/docs")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("/docs CSP %q", csp)
	}
	if !strings.Contains(page, `spec-url="openapi.json"`) || !strings.Contains(page, `lang="sv"`) || strings.Contains(page, "<script>") {
		t.Errorf("/docs page: %s", page)
	}
	resp, js := get("/docs/vendor/redoc.standalone.js")
	sum := sha256.Sum256([]byte(js))
	if resp.StatusCode != 200 || hex.EncodeToString(sum[:]) != redocSHA256 {
		t.Errorf("/docs/vendor/redoc.standalone.js: %d, %d bytes, not the pinned bundle", resp.StatusCode, len(js))
	}
	if resp, _ := get("/docs/vendor/redoc.LICENSE"); resp.StatusCode != 404 {
		t.Errorf("/docs/vendor/redoc.LICENSE: %d; only the bundle is embedded", resp.StatusCode)
	}
}

// TestDocs_Browser renders /docs in headless Chromium under the gateway's
// own policy, with a report-uri added so that anything the policy blocks
// is reported to the test.
func TestDocs_Browser(t *testing.T) {
	path := testenv.Chromium(t)
	var mu sync.Mutex
	var reports []string
	srv := docsServer(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/csp-report" {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				reports = append(reports, string(b))
				mu.Unlock()
				return
			}
			h.ServeHTTP(reportingCSP{w}, r)
		})
	})

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	ctx, cancelRun := context.WithTimeout(browser, 60*time.Second)
	defer cancelRun()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/docs")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	// Redoc has rendered the document: an operation's summary, from the
	// protos, and the bearer scheme.
	const rendered = `document.body.innerText.includes("ListIdeas pages through a region's ideas") && document.body.innerText.includes("bearer")`
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](rendered))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 500)`))
			t.Fatalf("Redoc did not render the document; the page says %q; CSP reports %v", text, reports)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Reports travel on their own request; give them a moment.
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reports {
		// Redoc's sidebar shows its maker's logo from their CDN and hides
		// it when it does not load: the policy keeping the page offline,
		// as meant.
		if strings.Contains(r, `"effective-directive":"img-src"`) && strings.Contains(r, `"blocked-uri":"https://cdn.redoc.ly/`) {
			continue
		}
		t.Errorf("the page broke its policy: %s", r)
	}
}

// reportingCSP adds a report-uri to the Content-Security-Policy the
// gateway sets.
type reportingCSP struct{ http.ResponseWriter }

func (w reportingCSP) WriteHeader(code int) {
	if p := w.Header().Get("Content-Security-Policy"); p != "" {
		w.Header().Set("Content-Security-Policy", p+"; report-uri /csp-report")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w reportingCSP) Write(b []byte) (int, error) {
	if p := w.Header().Get("Content-Security-Policy"); p != "" && !strings.Contains(p, "report-uri") {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// /openapi.json names the build it is served by; without one, the API's
// major version the document was generated with.
func TestOpenAPIVersionFromTheBuild(t *testing.T) {
	for _, want := range []string{"v1.2.3-test", ""} {
		h, err := gateway.New(t.Context(), gateway.Config{Version: want})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
		var doc struct {
			OpenAPI string `json:"openapi"`
			Info    struct {
				Title, Version string
			} `json:"info"`
			Paths map[string]any `json:"paths"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if want == "" {
			want = "v1"
		}
		if doc.OpenAPI != "3.1.0" || doc.Info.Version != want || doc.Info.Title != "Motor API" || len(doc.Paths) < 50 {
			t.Errorf("Version %q: openapi %s, info %+v, %d paths", want, doc.OpenAPI, doc.Info, len(doc.Paths))
		}
	}
}
