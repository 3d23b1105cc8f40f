package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// TestMultiRegion_DashboardInBrowser: the national deployment's portal
// shows both regions with their figures over mTLS, a stopped region as
// unreachable with its stale figures next to the other's current ones,
// and the region up again once it is back.
func TestMultiRegion_DashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three deployments and a browser")
	}
	path := testenv.Chromium(t)
	m := startMultiRegion(t)
	// Two ideas in Västerbotten, one in Uppsala.
	for _, r := range []struct {
		region *region
		n      int
	}{{m.vb, 2}, {m.up, 1}} {
		tok := m.token(t, "-role", "submitter", "-region", r.region.name, "-sub", "pia")
		for range r.n {
			mustCall(t, "POST", r.region.proc.url+"/v1/regions/"+r.region.name+"/ideas", tok,
				`{"title":"Fallsensor i golvet","problem":"Fall nattetid upptäcks sent.","origin":"ORIGIN_STAFF"}`)
		}
	}

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "sv-SE"), chromedp.Flag("accept-lang", "sv-SE,sv"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	defer cancel()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	// The first action binds the tab to the context it is given: this one.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	run := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(c, steps...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	rowText := func(region string) string {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(`#region-`+region)))
		if err != nil {
			t.Fatalf("the row of %s: %v", region, err)
		}
		return strings.ReplaceAll(s, "\u00a0", " ")
	}
	// waitRow reloads the dashboard until the row of region says want.
	waitRow := func(region, want string) string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := chromedp.Do(c, chromedp.Navigate(m.national.proc.url+"/dashboard"))
			cancel()
			got := ""
			if err == nil {
				got = rowText(region)
			}
			if err == nil && strings.Contains(got, want) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("the row of %s never said %q; it says %q", region, want, got)
			}
			time.Sleep(time.Second)
		}
	}

	run(chromedp.Navigate(m.national.proc.url+"/signin"),
		chromedp.Click(chromedp.CSS(`input[name=role][value=coordinator]`)),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Cora Samordnare"),
		chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
	for i := 0; ; i++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		p, err := chromedp.Run(c, chromedp.Evaluate[string](`location.pathname`))
		cancel()
		if err == nil && p == "/dashboard" {
			break
		}
		if i > 100 {
			t.Fatalf("after signing in the coordinator is at %q (%v)", p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	vb := waitRow("vasterbotten", "Svarar")
	up := waitRow("uppsala", "Svarar")
	// Ideas is the third column: 2 and 1, the ideas just created.
	if f := strings.Fields(vb); !strings.Contains(vb, "Västerbotten") || !containsField(f, "2") {
		t.Errorf("Västerbotten's row: %q, want its 2 ideas", vb)
	}
	if f := strings.Fields(up); !containsField(f, "1") {
		t.Errorf("Uppsala's row: %q, want its 1 idea", up)
	}

	// The coordinator approves an Uppsala subproject from the national
	// portal: the decision goes to Uppsala's funding service over mTLS and
	// reserves the share on the national ledger.
	coord := m.token(t, "-role", "coordinator")
	mustCall(t, "POST", m.national.proc.url+"/v1/programmes?programmeId=e2e-portal&requestId=p", coord,
		`{"title":"Portalprogrammet","budgetOre":"1000000","startDate":"2026-01-01","endDate":"2028-12-31"}`)
	m.subproject(t, m.up, "programmes/e2e-portal", 123_457, "portal-1")
	waitRow("uppsala", "Svarar")
	c, cancelClick := context.WithTimeout(ctx, 30*time.Second)
	got, err := chromedp.Run(c, chromedp.Evaluate[string](`(() => {
		const card = [...document.querySelectorAll("li.approval")].find(e => e.textContent.includes("Delprojekt portal-1"));
		if (!card) return "missing"; card.querySelector("button").click(); return ""; })()`))
	cancelClick()
	if err != nil || got != "" {
		t.Fatalf("the Uppsala subproject is not offered for approval (%q, %v)", got, err)
	}
	for i := 0; ; i++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		q, err := chromedp.Run(c, chromedp.Evaluate[string](`location.search`))
		cancel()
		if err == nil && q == "?done=approved" {
			break
		}
		if i > 100 {
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			main, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
			cancel()
			t.Fatalf("approving from the national portal: at %q (%v): %s", q, err, main)
		}
		time.Sleep(200 * time.Millisecond)
	}
	prog := mustCall(t, "GET", m.national.proc.url+"/v1/programmes/e2e-portal", coord, "")
	if b, _ := prog["balance"].(map[string]any); jsonField(b, "reservedOre") != "123457" {
		t.Errorf("after approving on the page the programme holds %v, want 123457 öre reserved", prog["balance"])
	}

	// Uppsala stops: unreachable, with its last figures marked stale; the
	// other region's figures stay current.
	m.kill(t, m.up)
	up = waitRow("uppsala", "Nås inte")
	if !strings.Contains(up, "gamla siffror") || !containsField(strings.Fields(up), "1") {
		t.Errorf("Uppsala down: %q, want stale figures with its 1 idea", up)
	}
	if vb := rowText("vasterbotten"); !strings.Contains(vb, "Svarar") || strings.Contains(vb, "gamla siffror") {
		t.Errorf("Västerbotten while Uppsala is down: %q", vb)
	}
	if shots := os.Getenv("MOTOR_SCREENSHOTS"); shots != "" {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
		cancel()
		if err == nil {
			_ = os.WriteFile(filepath.Join(shots, "national-dashboard-partial.png"), png, 0o644)
		}
	}

	// Uppsala is back: up again.
	m.restart(t, m.up)
	up = waitRow("uppsala", "Svarar")
	if strings.Contains(up, "gamla siffror") {
		t.Errorf("Uppsala back: %q still marked stale", up)
	}
}

func containsField(fields []string, want string) bool {
	for _, f := range fields {
		if f == want {
			return true
		}
	}
	return false
}
