package portal

import (
	"context"
	"net/http"

	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

type offerRow struct {
	Offer    *partnerv1.Offer
	DaysLeft int
	Overdue  bool
	// RespondBy is the answer date in the page's words.
	RespondBy string
}

type offersData struct {
	Offers    []offerRow
	Published []*needsv1.Need
	Done      string
}

func (p *Portal) loadOffers(ctx context.Context, s *session, lang string) (*offersData, error) {
	d := &offersData{}
	rows, err := p.offerRows(ctx, s, lang)
	if err != nil {
		return nil, err
	}
	d.Offers = rows
	published, err := listNeeds(ctx, p.cfg.Needs, "regions/"+s.Region, "published = true")
	if err != nil {
		return nil, err
	}
	d.Published = published
	return d, nil
}

func (p *Portal) offers(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.staff() {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadOffers(ctx, s, chooseLang(r))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	d.Done = doneKey(r.URL.Query().Get("done"))
	p.render(w, r, http.StatusOK, "offers", &view{Title: "offers.title", Session: s, Data: d})
}

func (p *Portal) routeOffer(w http.ResponseWriter, r *http.Request, s *session) {
	name := "regions/" + r.PathValue("region") + "/offers/" + r.PathValue("offer")
	p.act(w, r, s, "/offers?done=routed", "offers", "offers.title",
		func(ctx context.Context) error {
			_, err := p.cfg.Partners.RouteOffer(ctx, &partnerv1.RouteOfferRequest{Name: name, Need: r.PostFormValue("need"), Etag: r.PostFormValue("etag")})
			return err
		},
		func(ctx context.Context) (any, error) { return p.loadOffers(ctx, s, chooseLang(r)) })
}
