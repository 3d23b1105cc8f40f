package portal

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// The company contact node ("one way in"): a company user (role partner)
// reads the region's published needs, sends an offer and follows it.

type companyData struct {
	Query  string
	Needs  []*needsv1.Need
	Offers []offerRow
	// ByName are the published needs by name, to show a routed need's
	// statement.
	ByName map[string]*needsv1.Need
	Done   string
}

func (p *Portal) offerRows(ctx context.Context, s *session, lang string) ([]offerRow, error) {
	offers, err := collect(func(token string) ([]*partnerv1.Offer, string, error) {
		resp, err := p.cfg.Partners.ListOffers(ctx, &partnerv1.ListOffersRequest{Parent: "regions/" + s.Region, PageSize: 1000, PageToken: token})
		return resp.GetOffers(), resp.GetNextPageToken(), err
	})
	if err != nil {
		return nil, err
	}
	rows := make([]offerRow, 0, len(offers))
	for _, o := range offers {
		rows = append(rows, p.offerRow(o, lang))
	}
	return rows, nil
}

// offerRow is an offer with the days left to its answer.
func (p *Portal) offerRow(o *partnerv1.Offer, lang string) offerRow {
	row := offerRow{Offer: o}
	if t, err := time.ParseInLocation("2006-01-02", o.GetRespondBy(), stockholm); err == nil {
		row.DaysLeft = daysBetween(p.now(), t)
		row.Overdue = row.DaysLeft < 0
		row.RespondBy = formatDate(t, lang)
	}
	return row
}

func (p *Portal) loadCompany(ctx context.Context, s *session, query, lang string) (*companyData, error) {
	d := &companyData{Query: query, ByName: map[string]*needsv1.Need{}}
	needs, err := listNeeds(ctx, p.cfg.Needs, "regions/"+s.Region, "published = true")
	if err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(query))
	for _, n := range needs {
		d.ByName[n.GetName()] = n
		text := strings.ToLower(n.GetProblem() + " " + n.GetPopulation() + " " + n.GetOutcome() + " " + n.GetCareUnit())
		if q == "" || strings.Contains(text, q) {
			d.Needs = append(d.Needs, n)
		}
	}
	if d.Offers, err = p.offerRows(ctx, s, lang); err != nil {
		return nil, err
	}
	return d, nil
}

func (p *Portal) company(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.has(auth.Partner) {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadCompany(ctx, s, r.URL.Query().Get("q"), chooseLang(r))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	d.Done = doneKey(r.URL.Query().Get("done"))
	v := &view{Title: "company.title", Session: s, Data: d, Form: p.formOf(w, r)}
	v.Form.Set("q", d.Query)
	p.render(w, r, http.StatusOK, "company", v)
}

func (p *Portal) sendOffer(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.has(auth.Partner) {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	f := r.PostForm
	o := &partnerv1.Offer{Partner: s.Partner, Title: strings.TrimSpace(f.Get("title")), Description: strings.TrimSpace(f.Get("description"))}
	o.Capabilities = splitTags(f.Get("capabilities"))
	p.act(w, r, s, "/company?done=offered", "company", "company.title",
		func(ctx context.Context) error {
			_, err := p.cfg.Partners.CreateOffer(ctx, &partnerv1.CreateOfferRequest{Parent: "regions/" + s.Region, Offer: o, RequestId: f.Get("request_id")})
			return err
		},
		func(ctx context.Context) (any, error) { return p.loadCompany(ctx, s, "", chooseLang(r)) })
}
