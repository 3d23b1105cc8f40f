package portal

import (
	"net/http"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// A region's reports over time: ideas per month, the funnel with the
// conversion between stages, days in each stage, needs and offers, as
// server-drawn SVG with the same figures in tables, and the region's
// exports. Staff see their own region; a coordinator picks one.

// exportFiles are the downloads offered, as the gateway's export routes
// name them.
var exportFiles = []struct{ Collection, Label string }{
	{"ideas", "reports.export.ideas"}, {"needs", "reports.export.needs"},
	{"subprojects", "reports.export.subprojects"}, {"costReports", "reports.export.costreports"},
	{"partners", "reports.export.partners"}, {"offers", "reports.export.offers"},
}

type reportsData struct {
	Region, Period, Interval string
	Regions                  []string
	Ideas                    *reportsv1.IdeaReport
	Needs                    *reportsv1.NeedReport
	Offers                   *reportsv1.OfferReport
	Submitted, Funnel        barChart
	Reported                 barChart
	// Missing names the parts that did not answer (message keys).
	Missing []string
	Exports []struct{ Collection, Label string }
}

func (p *Portal) reportsRegion(r *http.Request, s *session) (string, bool) {
	if s.has(auth.Coordinator) {
		region := r.URL.Query().Get("region")
		if region == "" && len(p.cfg.Regions) > 0 {
			region = p.cfg.Regions[0]
		}
		return region, region != ""
	}
	return s.Region, s.staff()
}

func (p *Portal) reportsPage(w http.ResponseWriter, r *http.Request, s *session) {
	region, ok := p.reportsRegion(r, s)
	if !ok || p.cfg.Reports == nil {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	q := r.URL.Query()
	period, interval := strings.TrimSpace(q.Get("period")), q.Get("interval")
	if !slices.Contains([]string{"month", "quarter", "year"}, interval) {
		interval = "month"
	}
	d := &reportsData{Region: region, Period: period, Interval: interval, Regions: p.cfg.Regions, Exports: exportFiles}
	v := &view{Title: "reports.title", Session: s, Data: d,
		Form: map[string][]string{"period": {period}, "interval": {interval}, "region": {region}}}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	parent := "regions/" + region
	ideas, err := p.cfg.Reports.GetIdeaReport(ctx, &reportsv1.GetIdeaReportRequest{Parent: parent, Period: period, Interval: interval})
	if err != nil {
		f := explain(err, chooseLang(r))
		if f.signin {
			p.toSignin(w, r)
			return
		}
		if f.code != http.StatusBadRequest {
			p.failRPC(w, r, err)
			return
		}
		// A period the service does not understand is shown at its field,
		// with the form as typed.
		v.prepare(r, p)
		v.show(f)
		p.render(w, r, f.code, "reports", v)
		return
	}
	d.Ideas = ideas
	d.Period = ideas.GetPeriod()
	lang := chooseLang(r)
	var labels []string
	var values []int64
	for _, iv := range ideas.GetIntervals() {
		labels, values = append(labels, iv.GetInterval()), append(values, iv.GetSubmitted())
	}
	d.Submitted = newBarChart(labels, values)
	labels, values = nil, nil
	for _, c := range ideas.GetFunnel() {
		labels, values = append(labels, translate(lang, strings.ToLower(c.GetKey()))), append(values, c.GetCount())
	}
	d.Funnel = newBarChart(labels, values)
	// The needs and offers reports are parts of their own: one that fails
	// is named, the rest of the page stands.
	if needs, err := p.cfg.Reports.GetNeedReport(ctx, &reportsv1.GetNeedReportRequest{Parent: parent, Period: period, Interval: interval}); err == nil {
		d.Needs = needs
		labels, values = nil, nil
		for _, iv := range needs.GetIntervals() {
			labels, values = append(labels, iv.GetInterval()), append(values, iv.GetReported())
		}
		d.Reported = newBarChart(labels, values)
	} else {
		d.Missing = append(d.Missing, "reports.needs")
		p.logger.Warn("portal: needs report failed", "region", region, "error", err)
	}
	if offers, err := p.cfg.Reports.GetOfferReport(ctx, &reportsv1.GetOfferReportRequest{Parent: parent, Period: period, Interval: interval}); err == nil {
		d.Offers = offers
	} else {
		d.Missing = append(d.Missing, "reports.offers")
		p.logger.Warn("portal: offers report failed", "region", region, "error", err)
	}
	p.render(w, r, http.StatusOK, "reports", v)
}

// export hands a download to the gateway's export handler with the
// signed-in person's token, so rows, columns and redaction are exactly what
// the API gives them, and the export is audited the same way.
func (p *Portal) export(w http.ResponseWriter, r *http.Request, s *session) {
	if p.cfg.Exports == nil {
		p.fail(w, r, http.StatusNotFound, "err.notfound")
		return
	}
	// The handler forwards the header as the call's token. No deadline of
	// the portal's pages: an export streams for as long as its rows come.
	r.Header.Set("Authorization", "Bearer "+s.Token)
	p.cfg.Exports.ServeHTTP(w, r)
}

// Percent is a share in [0,1] as a whole percentage.
func (v *view) Percent(f float64) int { return int(f*100 + 0.5) }
