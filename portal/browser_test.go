package portal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/innovationsmotorer/motor/internal/testenv"
)

// The browser tests drive Debian's Chromium against the real binary. They
// skip where Chromium is missing, unless MOTOR_REQUIRE_BROWSER=1 (CI).

func chromiumPath(t *testing.T) string { return testenv.Chromium(t) }

// motorPortal runs `motor serve` built from this module (with args after
// the defaults, which they override) and returns the portal's URL.
func motorPortal(t testing.TB, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "motor")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/innovationsmotorer/motor/cmd/motor").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"serve", "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0", "-data", t.TempDir()}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	urlc := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		var u string
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "motor: portal "); ok {
				u = strings.TrimSuffix(strings.Fields(rest)[0], "/")
			}
			if sc.Text() == "motor: ready" {
				urlc <- u
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case u := <-urlc:
		if u == "" {
			t.Fatal("motor did not say where the portal is")
		}
		return u
	case <-exited:
		t.Fatalf("motor exited before serving\n%s", stderr.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("motor did not start within 90s\n%s", stderr.String())
	}
	return ""
}

// browserEnv is one Chromium; each person gets a browser context of their
// own (their own cookies).
type browserEnv struct {
	t        *testing.T
	alloc    context.Context
	base     string
	axe      string
	shots    string
	shotSeen map[string]bool
}

func newBrowserEnv(t *testing.T) *browserEnv {
	path := chromiumPath(t)
	base := motorPortal(t)
	axe, err := os.ReadFile("testdata/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("MOTOR_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s (set MOTOR_SCREENSHOTS to keep them)", shots)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "sv-SE"), chromedp.Flag("accept-lang", "sv-SE,sv"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	)
	t.Cleanup(cancel)
	// The first context starts the browser; people get contexts in it.
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &browserEnv{t: t, alloc: root, base: base, axe: string(axe), shots: shots, shotSeen: map[string]bool{}}
}

// person is one signed-in browser context.
type person struct {
	b   *browserEnv
	ctx context.Context
}

func (b *browserEnv) person(role, region, name string) *person {
	b.t.Helper()
	return b.personOf(role, region, name, "")
}

// personOf signs in a company user of partner (its id), or anyone else
// with partner "".
func (b *browserEnv) personOf(role, region, name, partner string) *person {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.alloc, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	p := b.tab(ctx)
	p.open("/signin")
	p.do(chromedp.Click(chromedp.CSS(`input[name=role][value=`+role+`]`)),
		chromedp.SetValue(chromedp.CSS(`#f-region`), region),
		chromedp.SendKeys(chromedp.CSS(`#f-name`), name))
	if partner != "" {
		p.do(chromedp.SendKeys(chromedp.CSS(`#f-partner`), partner))
	}
	p.submit(`form[action="/signin"] button`)
	if got := p.text("header"); !strings.Contains(got, name) {
		b.t.Fatalf("signed in as %s, the header says %q", name, got)
	}
	return p
}

// tab opens the context's tab. The first action on a chromedp context
// binds the tab to the context it was given, so it must be one that lives
// as long as the person, not a step's timeout.
func (b *browserEnv) tab(ctx context.Context) *person {
	b.t.Helper()
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("open a tab: %v", err)
	}
	return &person{b: b, ctx: ctx}
}

func (p *person) do(steps ...chromedp.Action[chromedp.Void]) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.b.t.Fatalf("browser: %v", err)
	}
}

func (p *person) open(path string) {
	p.b.t.Helper()
	p.do(chromedp.Navigate(p.b.base + path))
}

// submit clicks a form's button and waits for the next page to load.
func (p *person) submit(button string) {
	p.b.t.Helper()
	p.await(func() { p.do(chromedp.Click(chromedp.CSS(button))) }, "clicking "+button)
}

// await runs act and waits for the page it loads.
func (p *person) await(act func(), what string) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__motorOld = true`)); err != nil {
		p.b.t.Fatal(err)
	}
	act()
	// Evaluations fail while the page navigates; ask again until the new
	// page is there.
	var last error
	for ctx.Err() == nil {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.__motorOld && document.readyState === "complete"`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	p.b.t.Fatalf("no new page after %s: %v", what, last)
}

// active is the class of the focused element; activeHref its link.
func (p *person) active() string {
	return p.eval(`document.activeElement.className`)
}

func (p *person) activeHref() string {
	return p.eval(`document.activeElement.getAttribute("href") || ""`)
}

func (p *person) eval(js string) string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		p.b.t.Fatal(err)
	}
	return s
}

// press sends a key that loads another page, and waits for it.
func (p *person) press(key string) {
	p.b.t.Helper()
	p.await(func() { p.do(chromedp.KeyEvent(key)) }, "pressing a key")
}

func (p *person) text(sel string) string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (p *person) path() string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		p.b.t.Fatal(err)
	}
	return s
}

type axeResult struct {
	Violations []struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
	Passes []struct {
		ID string `json:"id"`
	} `json:"passes"`
}

// check runs axe-core on the page for WCAG 2.1 A and AA, failing with every
// violation, and saves screenshots at desktop and phone size.
func (p *person) check(name string) {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	// The completion value is a boolean, not axe's object graph.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](p.b.axe+"\n;true")); err != nil {
		p.b.t.Fatalf("inject axe-core on %s: %v", name, err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}).then(r => JSON.stringify(r))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		p.b.t.Fatalf("axe.run on %s: %v", name, err)
	}
	var res axeResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		p.b.t.Fatal(err)
	}
	if len(res.Passes) < 5 {
		p.b.t.Fatalf("axe-core on %s checked only %d rules: it did not run", name, len(res.Passes))
	}
	for _, v := range res.Violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target...))
		}
		p.b.t.Errorf("%s (%s): WCAG violation %s: %s at %s", name, p.path(), v.ID, v.Help, strings.Join(where, ", "))
	}
	if p.b.shotSeen[name] {
		return
	}
	p.b.shotSeen[name] = true
	for _, size := range []struct {
		w, h int64
		tag  string
	}{{1280, 800, "desktop"}, {390, 844, "phone"}} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(size.w, size.h)); err != nil {
			p.b.t.Fatal(err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			p.b.t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(p.b.shots, name+"-"+size.tag+".png"), png, 0o644); err != nil {
			p.b.t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		p.b.t.Fatal(err)
	}
}

func TestBrowserFlows(t *testing.T) {
	b := newBrowserEnv(t)

	anon, cancel := chromedp.NewContext(b.alloc, chromedp.WithNewBrowserContext())
	defer cancel()
	visitor := b.tab(anon)
	visitor.open("/")
	visitor.check("home")
	visitor.open("/signin")
	visitor.check("signin")

	// A patient submits an idea and sees it under "my ideas"; the
	// duplicate hint appears while they type (the demo has a fall sensor).
	patient := b.person("submitter", "vasterbotten", "Pia Patient")
	patient.open("/ideas/new")
	title := "Fallsensor i golvet på boendet"
	patient.do(chromedp.SendKeys(chromedp.CSS(`#f-title`), title),
		chromedp.SendKeys(chromedp.CSS(`#f-problem`), "Fall nattetid upptäcks ofta först vid nästa tillsyn."),
		chromedp.WaitVisible(chromedp.CSS(`#similar .similar`)))
	patient.check("idea-new")
	patient.do(chromedp.SendKeys(chromedp.CSS(`#f-proposal`), "En sensor i golvet som larmar nattpersonalen."),
		chromedp.SendKeys(chromedp.CSS(`#f-care_area`), "Äldreomsorg"),
		chromedp.SetValue(chromedp.CSS(`#f-origin`), "ORIGIN_PATIENT"),
		chromedp.Focus(chromedp.CSS(`form[action="/ideas/new"] > button`)))
	patient.press(kb.Enter) // sent with the keyboard
	ideaPath := patient.path()
	if !strings.HasPrefix(ideaPath, "/regions/vasterbotten/ideas/") {
		t.Fatalf("after submitting, at %s", ideaPath)
	}
	patient.check("idea-submitter")
	patient.open("/ideas/mine")
	if got := patient.text("main"); !strings.Contains(got, title) || !strings.Contains(got, "Inskickad") {
		t.Fatalf("my ideas: %q", got)
	}
	patient.check("my-ideas")
	// What Motor keeps about them, as a page they can read and download.
	patient.open("/me/data")
	if got := patient.text("main"); !strings.Contains(got, title) {
		t.Fatalf("my data does not show the idea: %q", got)
	}
	patient.check("my-data")

	// An advisor of the same region finds it on the board and works it.
	advisor := b.person("advisor", "vasterbotten", "Anna Rådgivare")
	advisor.open("/board")
	if got := advisor.text(".board"); !strings.Contains(got, title) {
		t.Fatalf("the board lacks the idea: %q", got)
	}
	advisor.check("advisor-board")
	// The keyboard alone: the skip link comes first, and Tab reaches the
	// idea's card, whose link Enter opens.
	advisor.open("/board")
	advisor.do(chromedp.KeyEvent(kb.Tab))
	if got := advisor.active(); got != "skip" {
		t.Fatalf("the first Tab focuses %q, want the skip link", got)
	}
	for i := 0; advisor.activeHref() != ideaPath; i++ {
		if i > 60 {
			t.Fatalf("Tab never reached the card of %s", ideaPath)
		}
		advisor.do(chromedp.KeyEvent(kb.Tab))
	}
	advisor.press(kb.Enter)
	if got := advisor.path(); got != ideaPath {
		t.Fatalf("Enter on the card went to %s", got)
	}
	advisor.submit(`button[value=STAGE_SCREENING]`)
	// A refused gate shows its reason: SELECTED needs the workshop's scores.
	if got := advisor.text(".gates"); !strings.Contains(got, "minst en bedömning") {
		t.Fatalf("SELECTED's missing assessment is not shown: %q", got)
	}
	advisor.check("idea-advisor")
	for _, f := range []string{"patient_benefit", "care_benefit", "feasibility", "novelty", "market_potential", "risk"} {
		advisor.do(chromedp.SetValue(chromedp.CSS(`#f-`+f), "4"))
	}
	advisor.submit(`form[action$="/assess"] button`)
	advisor.do(chromedp.SendKeys(chromedp.CSS(`form[action$="/transition"] #f-rationale`), "Urvalsworkshopen valde idén."))
	advisor.submit(`button[value=STAGE_SELECTED]`)
	if got := advisor.text("main"); !strings.Contains(got, "Utvald") {
		t.Fatalf("the idea is not shown SELECTED: %q", got)
	}

	// The service's own message on a refused move: rejecting needs a rationale.
	advisor.submit(`button[value=STAGE_REJECTED]`)
	if got := advisor.text(`#f-rationale-err`); got == "" {
		t.Fatal("a rejection without rationale shows no reason next to the rationale box")
	}
	advisor.check("idea-refused")

	// A stale edit offers a reload and keeps what was typed.
	advisor.open(ideaPath)
	other := b.person("advisor", "vasterbotten", "Bo Kollega")
	other.open(ideaPath)
	other.do(chromedp.SendKeys(chromedp.CSS(`#f-test_environment`), "Innovationsklinik"))
	other.submit(`form[action$="/edit"] button`)
	advisor.do(chromedp.SendKeys(chromedp.CSS(`#f-tags`), "sensorer"))
	advisor.submit(`form[action$="/edit"] button`)
	if got := advisor.text(`[role=alert]`); !strings.Contains(got, "Någon annan har ändrat") {
		t.Fatalf("stale edit: %q", got)
	}
	ctx, cancelV := context.WithTimeout(advisor.ctx, 10*time.Second)
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#f-tags`)))
	cancelV()
	if err != nil || v != "sensorer" {
		t.Fatalf("typed tags after the conflict: %q, %v", v, err)
	}
	advisor.check("idea-conflict")

	// The patient sees the new stage and the rationale.
	patient.open("/ideas/mine")
	if got := patient.text("main"); !strings.Contains(got, "Utvald") || !strings.Contains(got, "Urvalsworkshopen valde idén.") {
		t.Fatalf("my ideas after the decision: %q", got)
	}
	patient.open(ideaPath)
	if got := patient.text(".timeline"); !strings.Contains(got, "Granskning") || !strings.Contains(got, "Utvald") {
		t.Fatalf("the timeline: %q", got)
	}

	// An advisor of another region cannot open it.
	stranger := b.person("advisor", "uppsala", "Ulf Uppsala")
	stranger.open(ideaPath)
	if got := stranger.text("main"); strings.Contains(got, title) || !strings.Contains(got, "inte tillgång") && !strings.Contains(got, "behörighet") {
		t.Fatalf("another region's advisor sees: %q", got)
	}
	stranger.check("not-found")

	// The other pages, checked and photographed.
	for _, page := range []struct{ name, path string }{
		{"needs", "/needs"}, {"need-new", "/needs/new"}, {"offers", "/offers"},
	} {
		advisor.open(page.path)
		advisor.check(page.name)
	}
	advisor.open("/needs")
	advisor.submit(`table a`)
	advisor.check("need")
	// The language switch works without JavaScript, on a plain form.
	patient.open("/ideas/mine")
	patient.submit(`form[action="/lang"] button`)
	if got := patient.text("main h1"); got != "My ideas" {
		t.Fatalf("after the switch the heading is %q", got)
	}
}
