package portal

import (
	"context"
	"net/http"
	"time"

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
	token := ""
	for range 50 {
		resp, err := p.cfg.Partners.ListOffers(ctx, &partnerv1.ListOffersRequest{Parent: "regions/" + s.Region, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range resp.GetOffers() {
			row := offerRow{Offer: o}
			if t, err := time.ParseInLocation("2006-01-02", o.GetRespondBy(), stockholm); err == nil {
				row.DaysLeft = daysBetween(p.now(), t)
				row.Overdue = row.DaysLeft < 0
				row.RespondBy = formatDate(t, lang)
			}
			d.Offers = append(d.Offers, row)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
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
