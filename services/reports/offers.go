package reports

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// offerFamily holds the offers' figures.
const offerFamily family = "offers"

const (
	factReceived   = "received"
	factDue        = "due"
	factInTime     = "in-time"
	factLate       = "late"
	factUnanswered = "unanswered"
	// factAnsweredAt carries when the offer was first answered, which only
	// the log knows; it counts towards no figure.
	factAnsweredAt = "answered-at"
)

// answers are the audit actions by which the region answers an offer.
var answers = map[string]bool{"RouteOffer": true, "TransitionOffer": true}

// offerFacts: the month an offer came in, and in the month of its
// respond_by day whether it was answered by then, later or not yet. An
// offer is answered by the first route or transition of it; the day is
// Swedish, as respond_by is.
func offerFacts(o *partnerv1.Offer, answeredAt time.Time, loc *time.Location) ([]fact, error) {
	due, err := time.ParseInLocation(time.DateOnly, o.GetRespondBy(), loc)
	if err != nil {
		return nil, fmt.Errorf("offer %s: respond_by %q: %w", o.GetName(), o.GetRespondBy(), err)
	}
	dm := monthOf(due)
	facts := []fact{{Month: monthOf(o.GetCreateTime().AsTime()), Kind: factReceived}, {Month: dm, Kind: factDue}}
	switch {
	case answeredAt.IsZero():
		facts = append(facts, fact{Month: dm, Kind: factUnanswered})
	case answeredAt.In(loc).Format(time.DateOnly) <= o.GetRespondBy():
		facts = append(facts, fact{Month: dm, Kind: factInTime})
	default:
		facts = append(facts, fact{Month: dm, Kind: factLate})
	}
	if !answeredAt.IsZero() {
		facts = append(facts, fact{Month: dm, Kind: factAnsweredAt, Key: answeredAt.UTC().Format(time.RFC3339Nano)})
	}
	return facts, nil
}

// OfferReader is the part of the partner service's client the reports read.
type OfferReader interface {
	GetOffer(ctx context.Context, in *partnerv1.GetOfferRequest, opts ...grpc.CallOption) (*partnerv1.Offer, error)
}

// GRPCOffers reads offers through the partner service's own API, as this
// deployment.
func GRPCOffers(c OfferReader) factsOf {
	loc := stockholm()
	return func(ctx context.Context, name string, old []fact, evs []store.Event) ([]fact, bool, error) {
		o, err := c.GetOffer(ctx, &partnerv1.GetOfferRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("GetOffer %s: %w", name, err)
		}
		var answered time.Time
		for _, f := range old {
			if f.Kind == factAnsweredAt {
				if answered, err = time.Parse(time.RFC3339Nano, f.Key); err != nil {
					return nil, false, fmt.Errorf("offer %s: stored answer time: %w", name, err)
				}
			}
		}
		for _, ev := range evs {
			if answers[ev.Action] && ev.Key == name && (answered.IsZero() || ev.Time.Before(answered)) {
				answered = ev.Time
			}
		}
		facts, err := offerFacts(o, answered, loc)
		return facts, err == nil, err
	}
}

// stockholm is the time zone of respond_by days.
func stockholm() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		return time.UTC // time/tzdata is linked in, so this does not happen
	}
	return loc
}

// offerMonth is one month's figures of a region's offers.
type offerMonth struct {
	Received   int64 `json:"received,omitempty"`
	Due        int64 `json:"due,omitempty"`
	InTime     int64 `json:"inTime,omitempty"`
	Late       int64 `json:"late,omitempty"`
	Unanswered int64 `json:"unanswered,omitempty"`
}

func (a *offerMonth) add(f fact, n int64) {
	switch f.Kind {
	case factReceived:
		a.Received += n
	case factDue:
		a.Due += n
	case factInTime:
		a.InTime += n
	case factLate:
		a.Late += n
	case factUnanswered:
		a.Unanswered += n
	}
}

func (a *offerMonth) merge(b *offerMonth) {
	a.Received += b.Received
	a.Due += b.Due
	a.InTime += b.InTime
	a.Late += b.Late
	a.Unanswered += b.Unanswered
}

func (a *offerMonth) row(label string) *reportsv1.OfferInterval {
	r := &reportsv1.OfferInterval{Interval: label, Received: a.Received, Due: a.Due, AnsweredInTime: a.InTime, AnsweredLate: a.Late, Unanswered: a.Unanswered}
	if a.Due > 0 {
		r.ShareInTime = float64(a.InTime) / float64(a.Due)
	}
	return r
}

func offerReport(region string, p period, iv interval, months map[month]*offerMonth) *reportsv1.OfferReport {
	out := &reportsv1.OfferReport{Name: "regions/" + region + "/reports/offers", Period: p.String(), Interval: string(iv)}
	total := &offerMonth{}
	var row *offerMonth
	var label string
	for m := p.from; m <= p.to; m++ {
		if l := iv.label(m); row == nil || l != label {
			if row != nil {
				out.Intervals = append(out.Intervals, row.row(label))
			}
			row, label = &offerMonth{}, l
		}
		if a := months[m]; a != nil {
			row.merge(a)
			total.merge(a)
		}
	}
	out.Intervals = append(out.Intervals, row.row(label))
	out.Total = total.row(p.String())
	return out
}
