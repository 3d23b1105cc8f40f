// Package notify owns telling people what happened: it follows every
// service's audit log (the outbox, docs/architecture.md) with a cursor kept in the
// store, turns events into notifications by one rules table (rules.go),
// keeps each person's in-portal inbox, sends e-mail over SMTP and signed
// CloudEvents to a region's webhooks, and fires the time-based rules
// (offers near or past respond_by, cost reports left waiting).
//
// Delivery is at-least-once: a notification and the jobs that deliver it
// are written in the same commit that moves the cursor (compare-and-set, so
// of several replicas one wins each step), and a job is removed only after
// its delivery succeeded. Every notification carries the id of the event it
// comes from, so a receiver that sees it twice can tell.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

const domain errs.Domain = "notify.motor"

// Service is this package's store namespace service.
const Service = "notify"

// Sources are the services whose audit logs are followed.
var sources = []string{"idea", "needs", "partner", "funding"}

// Clock is the time the dispatcher, the delivery worker and the time rules
// go by; tests pass one they move themselves.
type Clock func() time.Time

// Recipient is one address a role's mail goes to, from the deployment
// config. Subject, when given, is the person's token subject, so their own
// e-mail setting applies to it.
type Recipient struct {
	Address string
	Subject string
}

// Config is what the notification service is given.
type Config struct {
	Store   store.Store
	Regions config.Served
	Logger  *slog.Logger
	Now     Clock
	// Mailer sends e-mail (nil: no e-mail).
	Mailer Mailer
	// RoleMail lists who receives a role's mail, by region ("national" for
	// coordinators) and role.
	RoleMail map[string]map[auth.Role][]Recipient
	// PortalURL is where links in mails point ("" leaves them out).
	PortalURL string
	// Webhooks is how deliveries reach receivers.
	Webhooks WebhookPolicy
	// Thresholds of the time rules, in working days.
	OfferDueSoonDays   int // default 2
	CostReportWaitDays int // default 10
	// Poll is how often the logs are read and due deliveries sent
	// (default 250 ms).
	Poll time.Duration
	// DeadlineEvery is how often the time rules are checked (default 1 min):
	// they scan every open offer and cost report.
	DeadlineEvery time.Duration
}

// Server implements notifyv1.NotificationServiceServer and runs the
// dispatcher, the delivery worker and the time rules.
type Server struct {
	notifyv1.UnimplementedNotificationServiceServer
	cfg    Config
	store  store.Store
	logger *slog.Logger
	now    Clock
	hooks  *webhookClient
}

// New checks cfg and returns the service.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("notify.New: no store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OfferDueSoonDays == 0 {
		cfg.OfferDueSoonDays = 2
	}
	if cfg.CostReportWaitDays == 0 {
		cfg.CostReportWaitDays = 10
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.DeadlineEvery <= 0 {
		cfg.DeadlineEvery = time.Minute
	}
	for region, roles := range cfg.RoleMail {
		for role, rs := range roles {
			for _, r := range rs {
				if _, err := mail.ParseAddress(r.Address); err != nil {
					return nil, fmt.Errorf("notify.New: mail of %s in %s: %q is not an e-mail address", role, region, r.Address)
				}
			}
		}
	}
	for i, h := range cfg.Webhooks.AllowedHosts {
		cfg.Webhooks.AllowedHosts[i] = strings.ToLower(strings.Trim(h, "[]"))
	}
	s := &Server{cfg: cfg, store: cfg.Store, logger: cfg.Logger, now: cfg.Now}
	s.hooks = newWebhookClient(cfg.Webhooks)
	return s, nil
}

func ns(region string) store.Namespace { return store.Namespace{Service: Service, Region: region} }

// id derives a stable identifier from its parts: the same event and rule
// always give the same notification, so a repeat collapses onto the first.
func id(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:10])
}

// newestFirst is a term that sorts later times first.
func newestFirst(t time.Time) string {
	return fmt.Sprintf("%019d", int64(1<<62)-t.UnixNano())
}

// sortable is a term that sorts earlier times first.
func sortable(t time.Time) string { return fmt.Sprintf("%019d", t.UnixNano()) }

// Run dispatches, delivers and checks the time rules until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	var checked time.Time
	for {
		for _, region := range s.cfg.Regions.IDs() {
			for _, src := range sources {
				if _, err := s.Dispatch(ctx, src, region); err != nil && ctx.Err() == nil {
					s.logger.Warn("notify: dispatch failed; retrying", "service", src, "region", region, "error", err)
				}
			}
		}
		if now := time.Now(); now.Sub(checked) >= s.cfg.DeadlineEvery {
			if err := s.CheckDeadlines(ctx); err != nil && ctx.Err() == nil {
				s.logger.Warn("notify: time rules failed; retrying", "error", err)
			} else {
				checked = now
			}
		}
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("notify: delivery failed; retrying", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
