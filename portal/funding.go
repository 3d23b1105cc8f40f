package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// The region admin's subprojects: a budget editor that shows the
// co-financing arithmetic as it is typed. The portal computes it with the
// service's rule (programme share = ⌊eligible × rate / 10000⌋, own share
// the rest) only to show it; what is stored is what the service computes.

// programmeShare is the programme's part of an eligible cost at rateBp
// basis points, rounded down, without overflowing for any int64 amount.
func programmeShare(eligible int64, rateBp int32) int64 {
	const d = 10000
	q, r := eligible/d, eligible%d
	return q*int64(rateBp) + r*int64(rateBp)/d
}

// parseKronor reads an amount typed in kronor ("1 234,50", "1234.5",
// "1234 kr") as öre.
func parseKronor(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "kr"))
	s = strings.NewReplacer(" ", "", nbsp, "", "\u202f", "").Replace(s)
	s = strings.Replace(s, ",", ".", 1)
	if s == "" {
		return 0, errors.New("empty")
	}
	kr, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || kr == "" && frac == "" {
		return 0, errors.New("at most two decimals")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	k, err := strconv.ParseInt(kr, 10, 64)
	if err != nil || k < 0 || k > 1e15 {
		return 0, errors.New("not an amount")
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, errors.New("not an amount")
	}
	return k*100 + f, nil
}

// kronorInput writes öre back into a form field ("1234,50").
func kronorInput(ore int64) string {
	return strconv.FormatInt(ore/100, 10) + "," + fmt.Sprintf("%02d", ore%100)
}

type lineRow struct {
	I                               int
	Category, Description, Amount   string
	Eligible                        bool
	CategoryErr, DescErr, AmountErr string
}

type contribRow struct {
	I                            int
	Party, Kind, Amount          string
	PartyErr, KindErr, AmountErr string
}

// budgetSum is the arithmetic shown beside the editor.
type budgetSum struct {
	RateBp                                         int32
	Eligible, NotEligible, Share, Own, Contributed int64
	// Missing is how much the contributions lack of the own share.
	Missing int64
	// Unknown: no programme chosen, so no rate.
	Unknown bool
	// Bad: an amount cannot be read, so the figures leave it out.
	Bad bool
}

// Rate is the rate as a percentage with a decimal comma ("50 %").
func (b budgetSum) Rate() string {
	s := strconv.FormatFloat(float64(b.RateBp)/100, 'f', -1, 64)
	return strings.Replace(s, ".", ",", 1) + nbsp + "%"
}

// budget is what the editor holds: the rows as typed, the subproject they
// make, and its arithmetic.
type budget struct {
	Lines    []lineRow
	Contribs []contribRow
	Sum      budgetSum
	lines    []*fundingv1.BudgetLine
	contribs []*fundingv1.Contribution
	// rowOf maps a line's index in the subproject to its row in the form
	// (blank rows are left out of the subproject).
	lineRowOf, contribRowOf []int
	errs                    map[string]string
}

// Categories and ContributionKinds are the editor's choices.
func (v *view) Categories() []fundingv1.CostCategory {
	var out []fundingv1.CostCategory
	for i := int32(1); fundingv1.CostCategory_name[i] != ""; i++ {
		out = append(out, fundingv1.CostCategory(i))
	}
	return out
}

func (v *view) ContributionKinds() []fundingv1.ContributionKind {
	return []fundingv1.ContributionKind{fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH, fundingv1.ContributionKind_CONTRIBUTION_KIND_IN_KIND}
}

// readBudget reads the editor's rows; extraLines and extraContribs add
// blank rows (the "add a line" buttons).
func readBudget(f url.Values, rateBp int32, lang string, extraLines, extraContribs int) *budget {
	b := &budget{errs: map[string]string{}, Sum: budgetSum{RateBp: rateBp, Unknown: rateBp == 0}}
	badAmount := translate(lang, "budget.err.amount")
	cats, descs, amounts, elig := f["line_category"], f["line_description"], f["line_amount"], f["line_eligible"]
	for i := range max(len(cats), len(descs), len(amounts)) {
		row := lineRow{I: i, Category: at(cats, i), Description: strings.TrimSpace(at(descs, i)), Amount: strings.TrimSpace(at(amounts, i)), Eligible: at(elig, i) != "no"}
		if row.Description == "" && row.Amount == "" {
			continue
		}
		l := &fundingv1.BudgetLine{Category: fundingv1.CostCategory(fundingv1.CostCategory_value[row.Category]), Description: row.Description, Eligible: row.Eligible}
		if ore, err := parseKronor(row.Amount); err != nil {
			row.AmountErr, b.Sum.Bad = badAmount, true
		} else {
			l.AmountOre = ore
			if row.Eligible {
				b.Sum.Eligible += ore
			} else {
				b.Sum.NotEligible += ore
			}
		}
		row.I = len(b.Lines)
		b.Lines = append(b.Lines, row)
		b.lines = append(b.lines, l)
		b.lineRowOf = append(b.lineRowOf, row.I)
	}
	parties, kinds, camounts := f["contrib_party"], f["contrib_kind"], f["contrib_amount"]
	for i := range max(len(parties), len(camounts)) {
		row := contribRow{Party: strings.TrimSpace(at(parties, i)), Kind: at(kinds, i), Amount: strings.TrimSpace(at(camounts, i))}
		if row.Party == "" && row.Amount == "" {
			continue
		}
		c := &fundingv1.Contribution{Party: row.Party, Kind: fundingv1.ContributionKind(fundingv1.ContributionKind_value[row.Kind])}
		if ore, err := parseKronor(row.Amount); err != nil {
			row.AmountErr, b.Sum.Bad = badAmount, true
		} else {
			c.AmountOre = ore
			b.Sum.Contributed += ore
		}
		row.I = len(b.Contribs)
		b.Contribs = append(b.Contribs, row)
		b.contribs = append(b.contribs, c)
		b.contribRowOf = append(b.contribRowOf, row.I)
	}
	for range extraLines {
		b.Lines = append(b.Lines, lineRow{I: len(b.Lines), Eligible: true})
	}
	for range extraContribs {
		b.Contribs = append(b.Contribs, contribRow{I: len(b.Contribs), Kind: fundingv1.ContributionKind_CONTRIBUTION_KIND_CASH.String()})
	}
	b.Sum.Share = programmeShare(b.Sum.Eligible, rateBp)
	b.Sum.Own = b.Sum.Eligible - b.Sum.Share
	b.Sum.Missing = max(0, b.Sum.Own-b.Sum.Contributed)
	return b
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

// budgetForm is the editor's form filled from a stored subproject.
func budgetForm(sp *fundingv1.Subproject) url.Values {
	f := url.Values{"title": {sp.GetTitle()}, "description": {sp.GetDescription()}, "programme": {sp.GetProgramme()}, "etag": {sp.GetEtag()}}
	for _, l := range sp.GetBudgetLines() {
		f.Add("line_category", l.GetCategory().String())
		f.Add("line_description", l.GetDescription())
		f.Add("line_amount", kronorInput(l.GetAmountOre()))
		f.Add("line_eligible", map[bool]string{true: "yes", false: "no"}[l.GetEligible()])
	}
	for _, c := range sp.GetContributions() {
		f.Add("contrib_party", c.GetParty())
		f.Add("contrib_kind", c.GetKind().String())
		f.Add("contrib_amount", kronorInput(c.GetAmountOre()))
	}
	return f
}

// placeErrors puts the service's field errors on the editor's rows.
func (b *budget) placeErrors(errs map[string]string) {
	for k, msg := range errs {
		parts := strings.Split(k, ".")
		if len(parts) != 3 {
			continue
		}
		i, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		// The row's error fields by the violation's last part.
		var fields map[string]*string
		switch {
		case parts[0] == "budget_lines" && i < len(b.lineRowOf):
			row := &b.Lines[b.lineRowOf[i]]
			fields = map[string]*string{"category": &row.CategoryErr, "description": &row.DescErr, "amount_ore": &row.AmountErr}
		case parts[0] == "contributions" && i < len(b.contribRowOf):
			row := &b.Contribs[b.contribRowOf[i]]
			fields = map[string]*string{"party": &row.PartyErr, "kind": &row.KindErr, "amount_ore": &row.AmountErr}
		}
		if f := fields[parts[2]]; f != nil {
			*f = msg
		}
	}
}

// editorData is the budget editor's page.
type editorData struct {
	Subproject *fundingv1.Subproject // nil for a new one
	Programmes []*fundingv1.Programme
	Budget     *budget
	Action     string // where the form posts
}

func (p *Portal) listProgrammes(ctx context.Context) ([]*fundingv1.Programme, error) {
	if p.cfg.Programmes == nil {
		return nil, nil
	}
	return collect(func(token string) ([]*fundingv1.Programme, string, error) {
		resp, err := p.cfg.Programmes.ListProgrammes(ctx, &fundingv1.ListProgrammesRequest{PageSize: 1000, PageToken: token})
		return resp.GetProgrammes(), resp.GetNextPageToken(), err
	})
}

// rateOf is the co-financing rate of the subproject (it keeps its
// programme's) or of the chosen programme.
func rateOf(sp *fundingv1.Subproject, programmes []*fundingv1.Programme, chosen string) int32 {
	if sp != nil && sp.GetProgramme() == chosen && sp.GetCoFinancingRateBp() > 0 {
		return sp.GetCoFinancingRateBp()
	}
	for _, pr := range programmes {
		if pr.GetName() == chosen {
			return pr.GetCoFinancingRateBp()
		}
	}
	return 0
}

func (p *Portal) adminOnly(w http.ResponseWriter, r *http.Request, s *session) bool {
	if !s.has(auth.RegionAdmin) || p.cfg.Subprojects == nil {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return false
	}
	return true
}

type subprojectsData struct {
	Subprojects []*fundingv1.Subproject
}

func (p *Portal) listSubprojects(ctx context.Context, c fundingv1.SubprojectServiceClient, region, filter string) ([]*fundingv1.Subproject, error) {
	return collect(func(token string) ([]*fundingv1.Subproject, string, error) {
		resp, err := c.ListSubprojects(ctx, &fundingv1.ListSubprojectsRequest{Parent: "regions/" + region, PageSize: 1000, PageToken: token, Filter: filter})
		return resp.GetSubprojects(), resp.GetNextPageToken(), err
	})
}

// collect pages through a list call to its end (bounded: 50 pages).
func collect[T any](page func(token string) ([]T, string, error)) ([]T, error) {
	var out []T
	token := ""
	for range 50 {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if token = next; token == "" {
			break
		}
	}
	return out, nil
}

// splitTags reads a comma separated list of tags.
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (p *Portal) subprojects(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.adminOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	list, err := p.listSubprojects(ctx, p.cfg.Subprojects, s.Region, "")
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "subprojects", &view{Title: "sp.list.title", Session: s, Data: subprojectsData{Subprojects: list}})
}

// showEditor renders the editor from the form as typed.
func (p *Portal) showEditor(w http.ResponseWriter, r *http.Request, s *session, code int, v *view, sp *fundingv1.Subproject, programmes []*fundingv1.Programme, extraLines, extraContribs int) {
	v.prepare(r, p)
	b := readBudget(v.Form, rateOf(sp, programmes, v.Form.Get("programme")), v.Lang, extraLines, extraContribs)
	b.placeErrors(v.Errors)
	action := "/subprojects/new"
	title := "sp.new.title"
	if sp != nil {
		action = "/" + sp.GetName() + "/edit"
		title = "sp.edit.title"
	}
	v.Title, v.Session = title, s
	v.Data = &editorData{Subproject: sp, Programmes: programmes, Budget: b, Action: action}
	p.render(w, r, code, "subproject_edit", v)
}

func (p *Portal) newSubprojectPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.adminOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	programmes, err := p.listProgrammes(ctx)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	form := url.Values(p.restore(w, r))
	if form == nil {
		form = url.Values{"request_id": {randomToken()}}
		if len(programmes) > 0 {
			form.Set("programme", programmes[0].GetName())
		}
	}
	p.showEditor(w, r, s, http.StatusOK, &view{Form: form}, nil, programmes, 2, 1)
}

// budgetSummary answers the editor's htmx request with the arithmetic
// for the rows as they are typed.
func (p *Portal) budgetSummary(w http.ResponseWriter, r *http.Request, s *session) {
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	programmes, err := p.listProgrammes(ctx)
	if err != nil {
		programmes = nil // the figures say the rate is unknown
	}
	var sp *fundingv1.Subproject
	if name := r.PostFormValue("subproject"); name != "" && p.cfg.Subprojects != nil {
		sp, _ = p.cfg.Subprojects.GetSubproject(ctx, &fundingv1.GetSubprojectRequest{Name: name})
	}
	v := &view{Session: s, Form: r.PostForm, Fragment: "budget-summary"}
	v.prepare(r, p)
	v.Data = &editorData{Budget: readBudget(r.PostForm, rateOf(sp, programmes, r.PostFormValue("programme")), v.Lang, 0, 0)}
	p.render(w, r, http.StatusOK, "subproject_edit", v)
}

// editorStep handles the editor's buttons other than saving: recalculate
// (the arithmetic without JavaScript) and add a row.
func editorStep(f url.Values) (lines, contribs int, ok bool) {
	switch f.Get("step") {
	case "recalc":
		return 0, 0, true
	case "addline":
		return 1, 0, true
	case "addcontrib":
		return 0, 1, true
	}
	return 0, 0, false
}

// editorInput reads the editor's post: the buttons that only show the
// editor again (recalculate, add a row) and amounts that cannot be read
// answer here, and ok is false; otherwise the budget is ready to save.
func (p *Portal) editorInput(ctx context.Context, w http.ResponseWriter, r *http.Request, s *session, sp *fundingv1.Subproject) ([]*fundingv1.Programme, *view, *budget, bool) {
	programmes, err := p.listProgrammes(ctx)
	if err != nil {
		p.failRPC(w, r, err)
		return nil, nil, nil, false
	}
	v := &view{Form: r.PostForm}
	if lines, contribs, ok := editorStep(r.PostForm); ok {
		p.showEditor(w, r, s, http.StatusOK, v, sp, programmes, lines, contribs)
		return nil, nil, nil, false
	}
	b := readBudget(r.PostForm, 0, chooseLang(r), 0, 0)
	if b.Sum.Bad {
		v.prepare(r, p)
		v.AlertKind, v.Alert = "error", v.T("err.fields")
		p.showEditor(w, r, s, http.StatusBadRequest, v, sp, programmes, 0, 0)
		return nil, nil, nil, false
	}
	return programmes, v, b, true
}

func (p *Portal) createSubproject(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.adminOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	programmes, v, b, ok := p.editorInput(ctx, w, r, s, nil)
	if !ok {
		return
	}
	sp := &fundingv1.Subproject{
		Title: strings.TrimSpace(r.PostFormValue("title")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Programme: r.PostFormValue("programme"), BudgetLines: b.lines, Contributions: b.contribs,
	}
	created, err := p.cfg.Subprojects.CreateSubproject(ctx, &fundingv1.CreateSubprojectRequest{Parent: "regions/" + s.Region, Subproject: sp, RequestId: r.PostFormValue("request_id")})
	if err != nil {
		p.editorFailed(w, r, s, v, nil, programmes, err)
		return
	}
	http.Redirect(w, r, "/"+created.GetName()+"?done=saved", http.StatusSeeOther)
}

func (p *Portal) editorFailed(w http.ResponseWriter, r *http.Request, s *session, v *view, sp *fundingv1.Subproject, programmes []*fundingv1.Programme, err error) {
	f := explain(err, chooseLang(r))
	if f.signin {
		p.toSignin(w, r)
		return
	}
	v.prepare(r, p)
	v.show(f)
	p.showEditor(w, r, s, f.code, v, sp, programmes, 0, 0)
}

func subprojectName(r *http.Request) string {
	return "regions/" + r.PathValue("region") + "/subprojects/" + r.PathValue("subproject")
}

type subprojectData struct {
	Subproject *fundingv1.Subproject
	Reports    []*fundingv1.CostReport
	Budget     *budget
	Done       string
	Admin      bool
}

func (p *Portal) loadSubproject(ctx context.Context, s *session, name string) (*subprojectData, error) {
	sp, err := p.cfg.Subprojects.GetSubproject(ctx, &fundingv1.GetSubprojectRequest{Name: name})
	if err != nil {
		return nil, err
	}
	reports, err := p.cfg.Subprojects.ListCostReports(ctx, &fundingv1.ListCostReportsRequest{Parent: name, PageSize: 1000})
	if err != nil {
		return nil, err
	}
	return &subprojectData{Subproject: sp, Reports: reports.GetCostReports(), Budget: readBudget(budgetForm(sp), sp.GetCoFinancingRateBp(), langSV, 0, 0),
		Admin: s.has(auth.RegionAdmin) && s.Region == regionOf(name)}, nil
}

func (p *Portal) subprojectPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.adminOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	name := subprojectName(r)
	d, err := p.loadSubproject(ctx, s, name)
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	if d.Subproject.GetStatus() == fundingv1.SubprojectStatus_SUBPROJECT_STATUS_DRAFT && r.URL.Query().Get("view") == "" {
		programmes, err := p.listProgrammes(ctx)
		if err != nil {
			p.failRPC(w, r, err)
			return
		}
		form := p.restore(w, r)
		if form == nil {
			form = budgetForm(d.Subproject)
		}
		v := &view{Form: form}
		v.Done = doneKey(r.URL.Query().Get("done"))
		p.showEditor(w, r, s, http.StatusOK, v, d.Subproject, programmes, 1, 1)
		return
	}
	d.Done = doneKey(r.URL.Query().Get("done"))
	v := &view{Title: "sp.title", Session: s, Data: d, Form: p.formOf(w, r)}
	p.render(w, r, http.StatusOK, "subproject", v)
}

func (p *Portal) editSubproject(w http.ResponseWriter, r *http.Request, s *session) {
	if !p.adminOnly(w, r, s) {
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	name := subprojectName(r)
	sp, err := p.cfg.Subprojects.GetSubproject(ctx, &fundingv1.GetSubprojectRequest{Name: name})
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	programmes, v, b, ok := p.editorInput(ctx, w, r, s, sp)
	if !ok {
		return
	}
	in := &fundingv1.Subproject{Name: name, Etag: r.PostFormValue("etag"),
		Title: strings.TrimSpace(r.PostFormValue("title")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Programme: r.PostFormValue("programme"), BudgetLines: b.lines, Contributions: b.contribs}
	updated, err := p.cfg.Subprojects.UpdateSubproject(ctx, &fundingv1.UpdateSubprojectRequest{Subproject: in,
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "description", "programme", "budget_lines", "contributions"}}})
	if err != nil {
		p.editorFailed(w, r, s, v, sp, programmes, err)
		return
	}
	if r.PostFormValue("step") == "submit" {
		if _, err := p.cfg.Subprojects.SubmitSubproject(ctx, &fundingv1.SubmitSubprojectRequest{Name: name, Etag: updated.GetEtag()}); err != nil {
			v.Form.Set("etag", updated.GetEtag())
			p.editorFailed(w, r, s, v, updated, programmes, err)
			return
		}
		http.Redirect(w, r, "/"+name+"?view=1&done=submitted", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/"+name+"?done=saved", http.StatusSeeOther)
}

func (p *Portal) subprojectAction(w http.ResponseWriter, r *http.Request, s *session, done string, call func(ctx context.Context, name string) error) {
	if !p.adminOnly(w, r, s) {
		return
	}
	name := subprojectName(r)
	p.act(w, r, s, "/"+name+"?view=1&done="+done, "subproject", "sp.title",
		func(ctx context.Context) error { return call(ctx, name) },
		func(ctx context.Context) (any, error) { return p.loadSubproject(ctx, s, name) })
}

func (p *Portal) closeSubproject(w http.ResponseWriter, r *http.Request, s *session) {
	p.subprojectAction(w, r, s, "closed", func(ctx context.Context, name string) error {
		_, err := p.cfg.Subprojects.CloseSubproject(ctx, &fundingv1.CloseSubprojectRequest{Name: name, Etag: r.PostFormValue("etag")})
		return err
	})
}

func (p *Portal) createCostReport(w http.ResponseWriter, r *http.Request, s *session) {
	p.subprojectAction(w, r, s, "reported", func(ctx context.Context, name string) error {
		f := r.PostForm
		var lines []*fundingv1.CostReportLine
		cats, descs, amounts := f["report_category"], f["report_description"], f["report_amount"]
		for i := range max(len(cats), len(amounts)) {
			if strings.TrimSpace(at(amounts, i)) == "" && strings.TrimSpace(at(descs, i)) == "" {
				continue
			}
			ore, err := parseKronor(at(amounts, i))
			if err != nil {
				return badField("amount", translate(chooseLang(r), "budget.err.amount"))
			}
			lines = append(lines, &fundingv1.CostReportLine{Category: fundingv1.CostCategory(fundingv1.CostCategory_value[at(cats, i)]),
				Description: strings.TrimSpace(at(descs, i)), AmountOre: ore})
		}
		_, err := p.cfg.Subprojects.CreateCostReport(ctx, &fundingv1.CreateCostReportRequest{Parent: name, RequestId: f.Get("request_id"),
			CostReport: &fundingv1.CostReport{PeriodStart: f.Get("period_start"), PeriodEnd: f.Get("period_end"), Lines: lines}})
		return err
	})
}

func (p *Portal) submitCostReport(w http.ResponseWriter, r *http.Request, s *session) {
	p.subprojectAction(w, r, s, "reportsubmitted", func(ctx context.Context, name string) error {
		_, err := p.cfg.Subprojects.SubmitCostReport(ctx, &fundingv1.SubmitCostReportRequest{Name: name + "/costReports/" + r.PathValue("report"), Etag: r.PostFormValue("etag")})
		return err
	})
}

// ReturnReason is why a cost report was sent back.
func (v *view) ReturnReason(cr *fundingv1.CostReport) string {
	for _, h := range cr.GetHistory() {
		if h.GetTo() == fundingv1.CostReportStatus_COST_REPORT_STATUS_RETURNED {
			return h.GetReason()
		}
	}
	return ""
}

// badField is a refusal of the portal's own reading of a form, shaped as
// the services' BadRequest so it is shown next to its field.
func badField(field, msg string) error {
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "form." + field, Description: msg}}})
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}
