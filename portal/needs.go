package portal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

func listNeeds(ctx context.Context, c needsv1.NeedsServiceClient, parent, filter string) ([]*needsv1.Need, error) {
	return findNeeds(ctx, c, parent, filter, "")
}

// findNeeds lists the needs by priority, or those a search q finds, best
// first (a search has its own order).
func findNeeds(ctx context.Context, c needsv1.NeedsServiceClient, parent, filter, q string) ([]*needsv1.Need, error) {
	order := "priority_score desc"
	if q != "" {
		order = ""
	}
	return collect(func(token string) ([]*needsv1.Need, string, error) {
		resp, err := c.ListNeeds(ctx, &needsv1.ListNeedsRequest{Parent: parent, PageSize: 1000, PageToken: token, Filter: filter, OrderBy: order, Q: q})
		return resp.GetNeeds(), resp.GetNextPageToken(), err
	})
}

func (p *Portal) needsList(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	// The service orders by priority, or by relevance for a search, and
	// shows a submitter their own needs and the published ones.
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	list, err := findNeeds(ctx, p.cfg.Needs, "regions/"+s.Region, "", q)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "needs", &view{Title: "needs.title", Session: s, Data: list, Form: url.Values{"q": {q}}})
}

func (p *Portal) newNeedPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := &view{Title: "need.new.title", Session: s, Form: p.restore(w, r)}
	if v.Form == nil {
		v.Form = url.Values{"request_id": {randomToken()}}
	}
	p.render(w, r, http.StatusOK, "need_new", v)
}

func (p *Portal) createNeed(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	n := &needsv1.Need{
		Problem: strings.TrimSpace(f.Get("problem")), Population: strings.TrimSpace(f.Get("population")),
		Outcome: strings.TrimSpace(f.Get("outcome")), CareUnit: strings.TrimSpace(f.Get("care_unit")),
		ReportedBy: ideav1.Origin(ideav1.Origin_value[f.Get("reported_by")]), Evidence: strings.TrimSpace(f.Get("evidence")),
	}
	v := &view{Title: "need.new.title", Session: s, Form: f}
	if raw := strings.TrimSpace(f.Get("patients_affected_per_year")); raw != "" {
		k, err := strconv.ParseInt(raw, 10, 32)
		if err != nil || k < 0 {
			v.prepare(r, p)
			v.Errors = map[string]string{"patients_affected_per_year": v.T("err.badform")}
			v.AlertKind, v.Alert = "error", v.T("err.fields")
			p.render(w, r, http.StatusBadRequest, "need_new", v)
			return
		}
		n.PatientsAffectedPerYear = int32(k)
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	created, err := p.cfg.Needs.CreateNeed(ctx, &needsv1.CreateNeedRequest{Parent: "regions/" + s.Region, Need: n, RequestId: f.Get("request_id")})
	if err != nil {
		p.formFailed(w, r, v, "need_new", err)
		return
	}
	http.Redirect(w, r, "/"+created.GetName()+"?created=1", http.StatusSeeOther)
}

type needData struct {
	Need       *needsv1.Need
	Screenings []*needsv1.Screening
	Ideas      []*ideav1.Idea // the region's ideas an advisor may link
	Created    bool
	Done       string
}

func needName(r *http.Request) string {
	return "regions/" + r.PathValue("region") + "/needs/" + r.PathValue("need")
}

func (p *Portal) loadNeed(ctx context.Context, s *session, name string) (*needData, error) {
	n, err := p.cfg.Needs.GetNeed(ctx, &needsv1.GetNeedRequest{Name: name})
	if err != nil {
		return nil, err
	}
	d := &needData{Need: n}
	if s.staff() && s.Region == regionOf(name) {
		sc, err := p.cfg.Needs.ListScreenings(ctx, &needsv1.ListScreeningsRequest{Parent: name, PageSize: 100})
		if err != nil {
			return nil, err
		}
		d.Screenings = sc.GetScreenings()
		ideas, err := listAll(ctx, p.cfg.Ideas, "regions/"+s.Region, "")
		if err != nil {
			return nil, err
		}
		for _, idea := range ideas {
			linked := false
			for _, l := range n.GetLinks() {
				linked = linked || l == idea.GetName()
			}
			if !linked {
				d.Ideas = append(d.Ideas, idea)
			}
		}
	}
	return d, nil
}

func (p *Portal) needPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadNeed(ctx, s, needName(r))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	d.Created = r.URL.Query().Get("created") != ""
	d.Done = doneKey(r.URL.Query().Get("done"))
	p.render(w, r, http.StatusOK, "need", &view{Title: "need.statement", Session: s, Data: d, Form: p.restore(w, r)})
}

func (p *Portal) needAction(w http.ResponseWriter, r *http.Request, s *session, done string, call func(ctx context.Context, name string) error) {
	name := needName(r)
	p.act(w, r, s, "/"+name+"?done="+done, "need", "need.statement",
		func(ctx context.Context) error { return call(ctx, name) },
		func(ctx context.Context) (any, error) { return p.loadNeed(ctx, s, name) })
}

func (p *Portal) screenNeed(w http.ResponseWriter, r *http.Request, s *session) {
	p.needAction(w, r, s, "screened", func(ctx context.Context, name string) error {
		_, err := p.cfg.Needs.CreateScreening(ctx, &needsv1.CreateScreeningRequest{Parent: name, RequestId: r.PostFormValue("request_id"), Screening: &needsv1.Screening{
			ClinicalImpact: score(r, "clinical_impact"), PatientsAffected: score(r, "patients_affected"), ProblemCost: score(r, "problem_cost"),
			StrategicFit: score(r, "strategic_fit"), Feasibility: score(r, "feasibility"), Comment: strings.TrimSpace(r.PostFormValue("comment")),
		}})
		return err
	})
}

func (p *Portal) linkNeed(w http.ResponseWriter, r *http.Request, s *session) {
	p.needAction(w, r, s, "linked", func(ctx context.Context, name string) error {
		_, err := p.cfg.Needs.LinkNeed(ctx, &needsv1.LinkNeedRequest{Name: name, Target: r.PostFormValue("target"), Etag: r.PostFormValue("etag")})
		return err
	})
}
