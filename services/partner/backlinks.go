package partner

import (
	"context"
	"log/slog"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// An offer routed to a need is the offer's link (routed_to); the need shows
// it among its referenced_by. The route commits, with the offer, a message
// for the needs service in the offer's outbox — the new need referred to,
// and the need it was routed to before no longer — delivered right after
// and swept again until the needs service has it (internal/backlink).

// routeOffer routes the offer to need and tells the needs service.
func (s *Server) routeOffer(ctx context.Context, who *auth.Identity, name offerName, etag, need string) (*partnerv1.Offer, error) {
	if _, err := s.loadOffer(ctx, who, name); err != nil {
		return nil, err
	}
	var msgs []backlink.Message
	out, _, err := s.offers.Update(ctx, name.ref(), etag, who.Subject, func(e *repo.Entry[*partnerv1.Offer], _ time.Time) (repo.Change, error) {
		if err := routable(name, e.Msg); err != nil {
			return repo.Change{}, err
		}
		var before []string
		if e.Msg.GetRoutedTo() != "" {
			before = []string{e.Msg.GetRoutedTo()}
		}
		msgs = backlink.Changes(name.String(), before, []string{need}, e.Version+1)
		puts := make([]store.Put, 0, len(msgs))
		for _, m := range msgs {
			p, err := backlink.Outbox(m)
			if err != nil {
				return repo.Change{}, err
			}
			puts = append(puts, p)
		}
		e.Msg.Status, e.Msg.RoutedTo = partnerv1.OfferStatus_OFFER_STATUS_ROUTED, need
		return repo.Change{Action: "RouteOffer", Detail: e.Msg.GetStatus().String(), Puts: puts}, nil
	})
	if err != nil {
		return nil, err
	}
	s.flushBacklinks(ctx, name.Region, msgs)
	return out.Msg, nil
}

// flushBacklinks delivers the messages a route just committed; a failure
// leaves them in the outbox for the sweep, and the route stands.
func (s *Server) flushBacklinks(ctx context.Context, region string, msgs []backlink.Message) {
	if len(msgs) == 0 || s.needBacklinks == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.needsTimeout)
	defer cancel()
	if err := backlink.Flush(ctx, s.store, s.offers.NS(region), s.deliverToNeed, msgs...); err != nil {
		s.logger.Warn("back-reference left in the outbox for the sweep", "region", region, "error", err)
	}
}

// deliverToNeed is the Deliver of the offers' outbox.
func (s *Server) deliverToNeed(ctx context.Context, m backlink.Message) error {
	_, err := s.needBacklinks.SetBacklink(ctx, &needsv1.SetBacklinkRequest{
		Target: m.Target, Source: m.Source, Linked: m.Linked, SourceVersion: m.Version,
	})
	return err
}

// RunBacklinkSweep delivers what the outbox of every served region still
// holds, every interval, until ctx ends.
func (s *Server) RunBacklinkSweep(ctx context.Context, interval time.Duration) {
	if s.needBacklinks == nil {
		return
	}
	var nss []store.Namespace
	for _, region := range s.regions.IDs() {
		nss = append(nss, s.offers.NS(region))
	}
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backlink.Run(ctx, interval, s.store, nss, s.deliverToNeed, logger)
}
