package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/innovationsmotorer/motor/internal/store"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// stockholm is the time zone deadlines are counted in.
func stockholm() *time.Location {
	if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return loc
	}
	return time.UTC
}

// CheckDeadlines fires the time rules: an offer not yet answered
// (OFFER_STATUS_NEW or ROUTED) two working days before respond_by and when
// it is past; a cost report waiting for certification more than ten working
// days. Each firing is named after its rule and object, and is written
// create-if-absent, so however many replicas check, each fires once.
func (s *Server) CheckDeadlines(ctx context.Context) error {
	loc := stockholm()
	today := civil(s.now(), loc)
	for _, region := range s.cfg.Regions.IDs() {
		hooks, err := s.subscriptions(ctx, region)
		if err != nil {
			return err
		}
		if err := s.offerDeadlines(ctx, region, today, hooks); err != nil {
			return err
		}
		if err := s.waitingReports(ctx, region, today, loc, hooks); err != nil {
			return err
		}
	}
	return nil
}

// scanAll walks one index of a service's namespace.
func (s *Server) scanAll(ctx context.Context, n store.Namespace, index, prefix string, each func(store.Record) error) error {
	q := store.Query{Index: index, Prefix: prefix, Limit: 500}
	for {
		p, err := s.store.Scan(ctx, n, q)
		if err != nil {
			return fmt.Errorf("store.Scan %s %s: %w", n, index, err)
		}
		for _, it := range p.Items {
			if err := each(it.Record); err != nil {
				return err
			}
			q.After = it.Cursor
		}
		if !p.More {
			return nil
		}
	}
}

func (s *Server) offerDeadlines(ctx context.Context, region string, today time.Time, hooks []*hook) error {
	partners := store.Namespace{Service: "partner", Region: region}
	for _, status := range []partnerv1.OfferStatus{partnerv1.OfferStatus_OFFER_STATUS_NEW, partnerv1.OfferStatus_OFFER_STATUS_ROUTED} {
		err := s.scanAll(ctx, partners, "offer_status", status.String()+"/", func(rec store.Record) error {
			o := &partnerv1.Offer{}
			if _, err := readRecord(rec.Value, o, ""); err != nil {
				return nil
			}
			due, err := time.Parse(time.DateOnly, o.GetRespondBy())
			if err != nil {
				return nil
			}
			f := facts{title: o.GetTitle(), details: map[string]string{"respondBy": o.GetRespondBy(), "status": o.GetStatus().String()}}
			switch {
			case today.After(due):
				return s.fire(ctx, region, TypeOfferOverdue, o.GetName(), o.GetRespondBy(), f, hooks)
			case workingDaysBetween(today, due) <= s.cfg.OfferDueSoonDays:
				return s.fire(ctx, region, TypeOfferDueSoon, o.GetName(), o.GetRespondBy(), f, hooks)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) waitingReports(ctx context.Context, region string, today time.Time, loc *time.Location, hooks []*hook) error {
	funding := store.Namespace{Service: "funding", Region: region}
	return s.scanAll(ctx, funding, "reports", "", func(rec store.Record) error {
		c := &fundingv1.CostReport{}
		if _, err := readRecord(rec.Value, c, ""); err != nil || c.GetStatus() != fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
			return nil
		}
		var since time.Time
		for _, h := range c.GetHistory() {
			if h.GetTo() == fundingv1.CostReportStatus_COST_REPORT_STATUS_SUBMITTED {
				since = h.GetTime().AsTime()
			}
		}
		if since.IsZero() || workingDaysBetween(civil(since, loc), today) <= s.cfg.CostReportWaitDays {
			return nil
		}
		f := facts{title: c.GetPeriodStart() + "–" + c.GetPeriodEnd(), details: map[string]string{
			"status": c.GetStatus().String(), "waitingDays": strconv.Itoa(s.cfg.CostReportWaitDays), "submitted": since.UTC().Format(time.RFC3339),
		}}
		// Submitted again after a return, it is another wait.
		return s.fire(ctx, region, TypeReportWaiting, c.GetName(), since.UTC().Format(time.RFC3339Nano), f, hooks)
	})
}

// fire writes a time rule's notification once: its event id names the
// rule, the object and the deadline, and the write is create-if-absent.
func (s *Server) fire(ctx context.Context, region, typ, subject, deadline string, f facts, hooks []*hook) error {
	eventID := "timed:" + typ[len(typePrefix):] + ":" + subject + ":" + deadline
	puts, err := s.notice(region, eventID, subject, ruleOf(typ), f, time.Time{}, hooks)
	if err != nil || len(puts) == 0 {
		return err
	}
	if _, err := s.store.Get(ctx, ns(region), puts[0].Key); err == nil {
		return nil // fired before
	}
	_, err = s.store.Commit(ctx, ns(region), store.Write{Puts: puts})
	if errors.Is(err, store.ErrExists) {
		return nil // another replica fired it first
	}
	if err != nil {
		return fmt.Errorf("store.Commit %s: %w", typ, err)
	}
	return nil
}
