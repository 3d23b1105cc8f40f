package portal

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// waitText waits until the text of sel contains want (an htmx answer
// arriving), failing with what it last saw.
func (p *person) waitText(sel, want string) string {
	p.b.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	var got string
	for ctx.Err() == nil {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if got = plain(s); err == nil && strings.Contains(got, want) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.b.t.Fatalf("%s never showed %q; it shows %q", sel, want, got)
	return ""
}

// clickIn clicks the button in the element of sel that holds text, and
// waits for the page it loads.
func (p *person) clickIn(sel, text string) {
	p.b.t.Helper()
	js := `(() => { const el = [...document.querySelectorAll(` + strconv.Quote(sel) + `)].find(e => e.textContent.includes(` + strconv.Quote(text) + `));
		if (!el) return "missing"; el.querySelector("button").click(); return ""; })()`
	p.await(func() {
		if got := p.eval(js); got != "" {
			p.b.t.Fatalf("no %s holding %q", sel, text)
		}
	}, "clicking in "+sel)
}

// plain turns no-break spaces into spaces.
func plain(s string) string { return strings.ReplaceAll(s, "\u00a0", " ") }

// ore reads an amount as the page writes it ("1 234,50 kr").
func (p *person) ore(sel string) int64 {
	p.b.t.Helper()
	v, err := parseKronor(plain(p.text(sel)))
	if err != nil {
		p.b.t.Fatalf("%s: %q is not an amount: %v", sel, p.text(sel), err)
	}
	return v
}

// TestBrowserWorkFlows: a region admin builds and submits a subproject,
// the national coordinator approves it on the dashboard, a company sends an
// offer that an advisor routes, each page checked with axe-core and
// photographed.
func TestBrowserWorkFlows(t *testing.T) {
	b := newBrowserEnv(t)

	// The region admin's budget editor, with an odd eligible total: the
	// programme share is rounded down and the own share is the rest.
	admin := b.person("region_admin", "vasterbotten", "Ada Admin")
	admin.open("/subprojects/new")
	title := "Sensorer i hemtjänsten"
	admin.do(chromedp.SendKeys(chromedp.CSS(`#f-title`), title),
		chromedp.SetValue(chromedp.CSS(`#lc-0`), "COST_CATEGORY_STAFF"),
		chromedp.SendKeys(chromedp.CSS(`#ld-0`), "Projektledare"),
		chromedp.SendKeys(chromedp.CSS(`#la-0`), "1000,01"),
		chromedp.SetValue(chromedp.CSS(`#lc-1`), "COST_CATEGORY_EQUIPMENT"),
		chromedp.SendKeys(chromedp.CSS(`#ld-1`), "Sensorer"),
		chromedp.SendKeys(chromedp.CSS(`#la-1`), "250"),
		chromedp.SendKeys(chromedp.CSS(`#cp-0`), "Region Västerbotten"),
		chromedp.SendKeys(chromedp.CSS(`#ca-0`), "625,01"))
	// 125 001 öre eligible at 50 %: ⌊125001 × 5000 / 10000⌋ = 62 500.
	const eligible, share = 125001, 62500
	admin.waitText(`#sum-eligible`, "1 250,01 kr")
	if got := admin.waitText(`#budget-summary`, "50 %"); !strings.Contains(got, "625,00 kr") {
		t.Fatalf("the summary as typed: %q", got)
	}
	if got, want := admin.ore(`#sum-share`), int64(programmeShare(eligible, 5000)); got != want || got != share {
		t.Fatalf("programme share shown %d öre, want %d", got, share)
	}
	if got := admin.ore(`#sum-own`); got != eligible-share {
		t.Fatalf("own share shown %d öre, want %d", got, eligible-share)
	}
	admin.check("subproject-new")
	admin.submit(`button[name=step][value=save]`)
	if got := admin.text(`[role=status]`); !strings.Contains(got, "Sparat") {
		t.Fatalf("after saving: %q", got)
	}
	spPath := admin.path()
	admin.submit(`button[name=step][value=submit]`)
	if got := admin.text("main"); !strings.Contains(got, "Inskickat") {
		t.Fatalf("after submitting: %q", got)
	}
	admin.check("subproject")
	admin.open("/subprojects")
	admin.check("subprojects")
	admin.open("/reports")
	admin.check("reports")

	// The coordinator approves it on the dashboard; the programme's
	// figures move by exactly the share.
	coord := b.person("coordinator", "vasterbotten", "Cora Samordnare")
	if got := coord.path(); got != "/dashboard" {
		t.Fatalf("the coordinator starts at %s", got)
	}
	if got := coord.eval(`document.getElementById("live").getAttribute("hx-trigger")`); got != "every 30s" {
		t.Fatalf("the dashboard refreshes on %q", got)
	}
	prog := `table.prog`
	availBefore, reservedBefore := coord.ore(prog+` .prog-available`), coord.ore(prog+` .prog-reserved`)
	coord.check("dashboard")
	coord.clickIn(`li.approval`, title)
	if got := coord.text(`[role=status]`); !strings.Contains(got, "beviljat") {
		t.Fatalf("after approving: %q", got)
	}
	if got := coord.ore(prog + ` .prog-available`); availBefore-got != share {
		t.Fatalf("available went from %d to %d öre, want down by %d", availBefore, got, share)
	}
	if got := coord.ore(prog + ` .prog-reserved`); got-reservedBefore != share {
		t.Fatalf("reserved went from %d to %d öre, want up by %d", reservedBefore, got, share)
	}
	admin.open(spPath + "?view=1")
	if got := admin.text("main"); !strings.Contains(got, "Beviljat") {
		t.Fatalf("the admin's subproject after approval: %q", got)
	}

	// The admin registers a company; the organisation number is checked
	// as it is typed.
	admin.open("/partners")
	admin.do(chromedp.SendKeys(chromedp.CSS(`#f-display_name`), "Sensorbolaget AB"),
		chromedp.SendKeys(chromedp.CSS(`#f-org_number`), "559123-4562"))
	admin.waitText(`#f-org_number-err`, "Kontrollsiffran")
	admin.check("partners")
	admin.eval(`document.getElementById("f-org_number").value = ""`)
	admin.do(chromedp.SendKeys(chromedp.CSS(`#f-org_number`), "559123-4561"), chromedp.SetValue(chromedp.CSS(`#f-size`), "COMPANY_SIZE_SMALL"))
	admin.waitText(`#f-org_number-err`, "ser rätt ut")
	admin.submit(`form[action="/partners"] > button`)
	if got := admin.text("main"); !strings.Contains(got, "Organisationen är registrerad") {
		t.Fatalf("after registering: %q", got)
	}
	href := admin.eval(`[...document.querySelectorAll("table a")].find(a => a.textContent.includes("Sensorbolaget")).getAttribute("href")`)
	id := href[strings.LastIndex(href, "/")+1:]
	admin.open(href)
	admin.check("partner")
	admin.open("/audit?service=partner")
	if got := admin.text("table"); !strings.Contains(got, "CreatePartner") {
		t.Fatalf("the audit log lacks the registration: %q", got)
	}
	admin.check("audit")

	// The company sends an offer and sees its deadline.
	company := b.personOf("partner", "vasterbotten", "Kim Företag", id)
	company.open("/company")
	company.do(chromedp.SendKeys(chromedp.CSS(`#f-title`), "Golvsensor som larmar"),
		chromedp.SendKeys(chromedp.CSS(`#f-description`), "En sensor i golvet som larmar nattpersonalen vid fall."),
		chromedp.SendKeys(chromedp.CSS(`#f-capabilities`), "sensorer, larm"))
	company.submit(`form[action="/company/offers"] button`)
	offer := company.text(`.offer`)
	if !strings.Contains(offer, "dagar kvar") || !strings.Contains(offer, "Svara senast") || !strings.Contains(offer, "Nytt") {
		t.Fatalf("the company's offer: %q", offer)
	}
	company.check("company")

	// An advisor routes it; the company sees it routed.
	advisor := b.person("advisor", "vasterbotten", "Anna Rådgivare")
	advisor.open("/offers")
	advisor.clickIn(`li.card`, "Golvsensor som larmar")
	company.open("/company")
	if got := company.text(`.offer`); !strings.Contains(got, "Skickat till behov:") {
		t.Fatalf("the company's offer after routing: %q", got)
	}
}
