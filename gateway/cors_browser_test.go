package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/innovationsmotorer/motor/gateway"
	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestCORS_Browser: a page served from another origin calls the gateway
// with a bearer token (so the browser sends a preflight) and reads the
// exposed headers; a page from an origin not listed cannot.
func TestCORS_Browser(t *testing.T) {
	path := testenv.Chromium(t)
	c := startConventions(t)
	created := c.create(t, "Från en annan origin")

	page := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>portal</title>")
	}
	allowed := httptest.NewServer(http.HandlerFunc(page))
	t.Cleanup(allowed.Close)
	other := httptest.NewServer(http.HandlerFunc(page))
	t.Cleanup(other.Close)

	h, err := gateway.New(t.Context(), gateway.Config{
		Upstreams: gateway.AllOn(c.e.Conn),
		CORS:      gateway.CORS{AllowedOrigins: []string{allowed.URL}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(h)
	t.Cleanup(api.Close)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	type result struct {
		OK        bool   `json:"ok"`
		Status    int    `json:"status"`
		ETag      string `json:"etag"`
		RequestID string `json:"requestId"`
		Name      string `json:"name"`
		Error     string `json:"error"`
	}
	call := func(t *testing.T, origin string) result {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatal(err)
		}
		js := `window.__r = null;
fetch(` + jsString(api.URL+"/v1/"+created["name"].(string)) + `, {headers: {"Authorization": ` + jsString("Bearer "+c.tok) + `, "X-Request-Id": "from-the-page"}})
  .then(async r => { const b = await r.json(); window.__r = JSON.stringify({ok: true, status: r.status, etag: r.headers.get("ETag") || "", requestId: r.headers.get("X-Request-Id") || "", name: b.name || ""}); })
  .catch(e => { window.__r = JSON.stringify({ok: false, error: String(e)}); });
true`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil {
			t.Fatal(err)
		}
		for {
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__r || ""`))
			if err != nil {
				t.Fatal(err)
			}
			if s != "" {
				var r result
				if err := json.Unmarshal([]byte(s), &r); err != nil {
					t.Fatal(err)
				}
				return r
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	got := call(t, allowed.URL)
	if !got.OK || got.Status != 200 || got.Name != created["name"] {
		t.Fatalf("from the allowed origin: %+v", got)
	}
	if got.ETag != `"`+created["etag"].(string)+`"` || got.RequestID != "from-the-page" {
		t.Errorf("exposed headers read by the page: ETag %q, X-Request-Id %q", got.ETag, got.RequestID)
	}
	if got := call(t, other.URL); got.OK || !strings.Contains(got.Error, "Failed to fetch") {
		t.Errorf("from an origin not listed: %+v, want the browser to refuse", got)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
