package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

func (p *Portal) newIdeaPage(w http.ResponseWriter, r *http.Request, s *session) {
	v := &view{Title: "idea.new.title", Session: s, Form: p.restore(w, r)}
	if v.Form == nil {
		v.Form = url.Values{"request_id": {randomToken()}}
	}
	p.render(w, r, http.StatusOK, "idea_new", v)
}

// ideaFromForm reads the submission form. Personal details are taken only
// when the person agreed to their being kept.
func ideaFromForm(f url.Values) *ideav1.Idea {
	idea := &ideav1.Idea{
		Title:    strings.TrimSpace(f.Get("title")),
		Problem:  strings.TrimSpace(f.Get("problem")),
		Proposal: strings.TrimSpace(f.Get("proposal")),
		CareArea: strings.TrimSpace(f.Get("care_area")),
		Origin:   ideav1.Origin(ideav1.Origin_value[f.Get("origin")]),
		Consent:  &ideav1.Consent{StorePersonalData: f.Get("consent_store") != "", Contact: f.Get("consent_contact") != ""},
	}
	if idea.Consent.StorePersonalData {
		sub := &ideav1.Submitter{
			DisplayName: strings.TrimSpace(f.Get("display_name")), Email: strings.TrimSpace(f.Get("email")),
			Phone: strings.TrimSpace(f.Get("phone")), Workplace: strings.TrimSpace(f.Get("workplace")),
		}
		if sub.DisplayName != "" || sub.Email != "" || sub.Phone != "" || sub.Workplace != "" {
			idea.Submitter = sub
		}
	}
	return idea
}

func (p *Portal) createIdea(w http.ResponseWriter, r *http.Request, s *session) {
	idea := ideaFromForm(r.PostForm)
	v := &view{Title: "idea.new.title", Session: s, Form: r.PostForm}
	if !idea.Consent.StorePersonalData {
		for _, f := range []string{"display_name", "email", "phone", "workplace"} {
			if strings.TrimSpace(r.PostFormValue(f)) != "" {
				// Say so rather than drop what they typed in silence.
				v.prepare(r, p)
				v.Errors = map[string]string{"display_name": v.T("idea.personal.noconsent")}
				v.AlertKind, v.Alert = "error", v.T("err.fields")
				p.render(w, r, http.StatusBadRequest, "idea_new", v)
				return
			}
		}
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	created, err := p.cfg.Ideas.CreateIdea(ctx, &ideav1.CreateIdeaRequest{Parent: "regions/" + s.Region, Idea: idea, RequestId: r.PostFormValue("request_id")})
	if err != nil {
		p.formFailed(w, r, v, "idea_new", err)
		return
	}
	http.Redirect(w, r, "/"+created.GetName()+"?created=1", http.StatusSeeOther)
}

// formOf is the form a page shows: what was typed before a sign-in, or
// a fresh one with its own request id (so a repeated send is one change).
func (p *Portal) formOf(w http.ResponseWriter, r *http.Request) url.Values {
	if f := p.restore(w, r); f != nil {
		return f
	}
	return url.Values{"request_id": {randomToken()}}
}

// formFailed shows the form again with what was typed and what went wrong.
func (p *Portal) formFailed(w http.ResponseWriter, r *http.Request, v *view, page string, err error) {
	f := explain(err, chooseLang(r))
	if f.signin {
		p.toSignin(w, r)
		return
	}
	v.prepare(r, p)
	v.show(f)
	p.render(w, r, f.code, page, v)
}

type similarData struct {
	Ideas []*ideav1.Idea
}

// similarIdeas answers the idea form's htmx request with the region's
// similar ideas, as a fragment. Without JavaScript it is never called.
// Without a session it answers no hint rather than a sign-in, so a person
// typing is never sent away from the form; sending it keeps what they typed.
func (p *Portal) similarIdeas(w http.ResponseWriter, r *http.Request) {
	s := p.cookies.session(r, p.now())
	v := &view{Session: s, Fragment: "similar"}
	if s == nil {
		p.render(w, r, http.StatusOK, "idea_new", v)
		return
	}
	title, problem := strings.TrimSpace(r.PostFormValue("title")), strings.TrimSpace(r.PostFormValue("problem"))
	if len(title)+len(problem) < 8 {
		p.render(w, r, http.StatusOK, "idea_new", v)
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	resp, err := p.cfg.Ideas.FindSimilarIdeas(ctx, &ideav1.FindSimilarIdeasRequest{Parent: "regions/" + s.Region, Title: title, Problem: problem})
	if err != nil {
		// A hint that cannot be given is no reason to bother the person.
		p.logger.Debug("portal: similar ideas", "error", err)
		p.render(w, r, http.StatusOK, "idea_new", v)
		return
	}
	d := similarData{}
	for _, res := range resp.GetResults() {
		d.Ideas = append(d.Ideas, res.GetIdea())
	}
	v.Data = d
	p.render(w, r, http.StatusOK, "idea_new", v)
}

// listAll pages through a list call to the end (bounded).
func listAll(ctx context.Context, c ideav1.IdeaServiceClient, parent, filter string) ([]*ideav1.Idea, error) {
	return listFound(ctx, c, parent, filter, "")
}

// listFound is listAll of the ideas a search q finds, best first (all of
// them when q is empty).
func listFound(ctx context.Context, c ideav1.IdeaServiceClient, parent, filter, q string) ([]*ideav1.Idea, error) {
	return collect(func(token string) ([]*ideav1.Idea, string, error) {
		resp, err := c.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: parent, PageSize: 1000, PageToken: token, Filter: filter, Q: q})
		return resp.GetIdeas(), resp.GetNextPageToken(), err
	})
}

type myIdea struct {
	Idea *ideav1.Idea
	// Last is the latest decision: its rationale is the reasoned answer.
	Last *ideav1.HistoryEntry
}

func (p *Portal) myIdeas(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	// The service lists a submitter's own ideas only; staff would see the
	// whole region, so theirs are picked out by owner on the history.
	ideas, err := listAll(ctx, p.cfg.Ideas, "regions/"+s.Region, "")
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	hist, err := histories(ctx, p.cfg.Ideas, ideas)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	var mine []myIdea
	for i, idea := range ideas {
		h := hist[i]
		if s.staff() && (len(h) == 0 || h[0].GetActor() != s.Subject) {
			continue
		}
		m := myIdea{Idea: idea}
		if len(h) > 0 {
			m.Last = h[len(h)-1]
		}
		mine = append(mine, m)
	}
	p.render(w, r, http.StatusOK, "mine", &view{Title: "mine.title", Session: s, Data: mine, Done: doneKey(r.URL.Query().Get("done"))})
}

type ideaData struct {
	Idea        *ideav1.Idea
	History     []*ideav1.HistoryEntry
	Assessments []*ideav1.Assessment
	Gates       []gateOption
	Owner       bool
	Created     bool
	Final       bool
	Done        string // a message key after a successful action
}

// loadIdea reads an idea and its history for the idea page.
func (p *Portal) loadIdea(ctx context.Context, s *session, name string) (*ideaData, error) {
	idea, err := p.cfg.Ideas.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: name})
	if err != nil {
		return nil, err
	}
	h, err := history(ctx, p.cfg.Ideas, name)
	if err != nil {
		return nil, err
	}
	d := &ideaData{Idea: idea, History: h, Final: finalStage(idea.GetStage())}
	d.Owner = len(h) > 0 && h[0].GetActor() == s.Subject
	if s.staff() && s.Region == regionOf(name) {
		a, err := p.cfg.Ideas.ListAssessments(ctx, &ideav1.ListAssessmentsRequest{Parent: name, PageSize: 100})
		if err != nil {
			return nil, err
		}
		d.Assessments = a.GetAssessments()
		d.Gates = gateOptions(idea)
	}
	return d, nil
}

func regionOf(name string) string {
	parts := strings.Split(name, "/")
	if len(parts) >= 2 {
		return parts[1]
	}
	return ""
}

func ideaName(r *http.Request) string {
	return "regions/" + r.PathValue("region") + "/ideas/" + r.PathValue("idea")
}

func (p *Portal) ideaPage(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadIdea(ctx, s, ideaName(r))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	d.Created = r.URL.Query().Get("created") != ""
	d.Done = doneKey(r.URL.Query().Get("done"))
	v := &view{Title: "idea.details", Session: s, Data: d, Form: p.restore(w, r)}
	if v.Form == nil {
		v.Form = editForm(d.Idea)
	}
	p.render(w, r, http.StatusOK, "idea", v)
}

// doneKey turns ?done= into the message of what just succeeded (only known
// keys, so the query cannot put words on the page).
func doneKey(done string) string {
	switch done {
	case "moved":
		return "gate.moved"
	case "assessed":
		return "assess.saved"
	case "edited":
		return "edit.saved"
	case "withdrawn":
		return "idea.withdrawn"
	case "screened":
		return "screen.saved"
	case "linked":
		return "link.saved"
	case "routed":
		return "offer.routed"
	case "erased":
		return "idea.erased"
	case "saved", "submitted", "closed", "reported", "reportsubmitted", "registered", "agreed", "offered", "approved", "certified", "signed", "terminated":
		return "done." + done
	}
	return ""
}

// editForm fills the working-details form from the idea as read.
func editForm(idea *ideav1.Idea) url.Values {
	f := url.Values{
		"tags":             {strings.Join(idea.GetTags(), ", ")},
		"ip_owner":         {idea.GetIpOwner().String()},
		"test_environment": {idea.GetTestEnvironment()},
		"partner":          {idea.GetPartner()},
	}
	return f
}

// ideaAction runs a change on an idea and shows the idea again.
func (p *Portal) ideaAction(w http.ResponseWriter, r *http.Request, s *session, done string, call func(ctx context.Context, name string) error) {
	name := ideaName(r)
	success := "/" + name + "?done=" + done
	if done == "erased" {
		// The person no longer owns the idea: back to their list.
		success = "/ideas/mine?done=erased"
	}
	p.act(w, r, s, success, "idea", "idea.details",
		func(ctx context.Context) error { return call(ctx, name) },
		func(ctx context.Context) (any, error) { return p.loadIdea(ctx, s, name) })
}

// act runs a change. On success the person goes to success; on failure the
// page is shown again, freshly loaded, with the form as they typed it and
// the reason next to it (or a sign-in that keeps the form).
func (p *Portal) act(w http.ResponseWriter, r *http.Request, s *session, success, page, title string,
	call func(context.Context) error, load func(context.Context) (any, error)) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	err := call(ctx)
	if err == nil {
		http.Redirect(w, r, success, http.StatusSeeOther)
		return
	}
	f := explain(err, chooseLang(r))
	if f.signin {
		p.toSignin(w, r)
		return
	}
	d, lerr := load(ctx)
	if lerr != nil {
		p.failRPC(w, r, lerr)
		return
	}
	v := &view{Title: title, Session: s, Data: d, Form: r.PostForm}
	v.prepare(r, p)
	v.show(f)
	p.render(w, r, f.code, page, v)
}

func (p *Portal) withdrawIdea(w http.ResponseWriter, r *http.Request, s *session) {
	p.ideaAction(w, r, s, "withdrawn", func(ctx context.Context, name string) error {
		_, err := p.cfg.Ideas.TransitionIdea(ctx, &ideav1.TransitionIdeaRequest{Name: name, Stage: ideav1.Stage_STAGE_WITHDRAWN, Etag: r.PostFormValue("etag")})
		return err
	})
}

func (p *Portal) eraseIdea(w http.ResponseWriter, r *http.Request, s *session) {
	p.ideaAction(w, r, s, "erased", func(ctx context.Context, name string) error {
		_, err := p.cfg.Ideas.EraseSubmitter(ctx, &ideav1.EraseSubmitterRequest{Name: name, Etag: r.PostFormValue("etag")})
		return err
	})
}

func (p *Portal) transitionIdea(w http.ResponseWriter, r *http.Request, s *session) {
	p.ideaAction(w, r, s, "moved", func(ctx context.Context, name string) error {
		_, err := p.cfg.Ideas.TransitionIdea(ctx, &ideav1.TransitionIdeaRequest{
			Name: name, Stage: ideav1.Stage(ideav1.Stage_value[r.PostFormValue("stage")]),
			Rationale: strings.TrimSpace(r.PostFormValue("rationale")), Etag: r.PostFormValue("etag"),
		})
		return err
	})
}

func (p *Portal) assessIdea(w http.ResponseWriter, r *http.Request, s *session) {
	p.ideaAction(w, r, s, "assessed", func(ctx context.Context, name string) error {
		_, err := p.cfg.Ideas.CreateAssessment(ctx, &ideav1.CreateAssessmentRequest{Parent: name, RequestId: r.PostFormValue("request_id"), Assessment: &ideav1.Assessment{
			PatientBenefit: score(r, "patient_benefit"), CareBenefit: score(r, "care_benefit"), Feasibility: score(r, "feasibility"),
			Novelty: score(r, "novelty"), MarketPotential: score(r, "market_potential"), Risk: score(r, "risk"),
			Comment: strings.TrimSpace(r.PostFormValue("comment")),
		}})
		return err
	})
}

func (p *Portal) editIdea(w http.ResponseWriter, r *http.Request, s *session) {
	p.ideaAction(w, r, s, "edited", func(ctx context.Context, name string) error {
		var tags []string
		for _, t := range strings.Split(r.PostFormValue("tags"), ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
		_, err := p.cfg.Ideas.UpdateIdea(ctx, &ideav1.UpdateIdeaRequest{
			Idea: &ideav1.Idea{
				Name: name, Etag: r.PostFormValue("etag"), Tags: tags,
				IpOwner:         ideav1.IpOwner(ideav1.IpOwner_value[r.PostFormValue("ip_owner")]),
				TestEnvironment: strings.TrimSpace(r.PostFormValue("test_environment")),
				Partner:         strings.TrimSpace(r.PostFormValue("partner")),
			},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tags", "ip_owner", "test_environment", "partner"}},
		})
		return err
	})
}

// score reads a scorecard value; anything but 1–5 goes to the service as 0,
// which it names as the bad field.
func score(r *http.Request, field string) int32 {
	switch v := r.PostFormValue(field); v {
	case "1", "2", "3", "4", "5":
		return int32(v[0] - '0')
	}
	return 0
}

// history reads an idea's whole history, oldest first.
func history(ctx context.Context, c ideav1.IdeaServiceClient, name string) ([]*ideav1.HistoryEntry, error) {
	var out []*ideav1.HistoryEntry
	token := ""
	for range 20 {
		resp, err := c.ListIdeaHistory(ctx, &ideav1.ListIdeaHistoryRequest{Parent: name, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetEntries()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}

// histories reads the histories of ideas, a few at a time.
func histories(ctx context.Context, c ideav1.IdeaServiceClient, ideas []*ideav1.Idea) ([][]*ideav1.HistoryEntry, error) {
	out := make([][]*ideav1.HistoryEntry, len(ideas))
	errc := make(chan error, len(ideas))
	sem := make(chan struct{}, 8)
	for i, idea := range ideas {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			h, err := history(ctx, c, idea.GetName())
			out[i] = h
			errc <- err
		}()
	}
	var first error
	for range ideas {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return out, first
}
