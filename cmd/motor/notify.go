package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/services/notify"
)

// notifyConfig turns the deployment file's notify settings into the
// notification service's: SMTP when a server is configured, else in dev
// mode the outbox folder <data>/outbox of .eml files, else no e-mail.
func notifyConfig(d deps) (notify.Config, error) {
	n := d.notify
	logger := d.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := notify.Config{
		Store: d.store, Regions: d.regions, Logger: logger, PortalURL: n.PortalURL,
		OfferDueSoonDays: n.OfferDueSoonDays, CostReportWaitDays: n.CostReportWaitDays,
		Webhooks: notify.WebhookPolicy{AllowHTTP: n.Webhooks.AllowHTTP, AllowedHosts: n.Webhooks.AllowedHosts},
		RoleMail: map[string]map[auth.Role][]notify.Recipient{},
	}
	for region, roles := range n.RoleMail {
		cfg.RoleMail[region] = map[auth.Role][]notify.Recipient{}
		for role, rs := range roles {
			for _, r := range rs {
				cfg.RoleMail[region][auth.Role(role)] = append(cfg.RoleMail[region][auth.Role(role)], notify.Recipient{Address: r.Address, Subject: r.Subject})
			}
		}
	}
	switch {
	case n.SMTP != nil:
		password := os.Getenv("MOTOR_SMTP_PASSWORD")
		if n.SMTP.Username != "" && password == "" {
			return cfg, fmt.Errorf("notify.smtp.username is %q but MOTOR_SMTP_PASSWORD is not set", n.SMTP.Username)
		}
		cfg.Mailer = notify.SMTP{Host: n.SMTP.Host, Port: n.SMTP.Port, From: n.SMTP.From, Username: n.SMTP.Username,
			Password: password, AllowPlain: n.SMTP.AllowPlain}
	case d.devMode:
		dir := filepath.Join(d.dataDir, "outbox")
		cfg.Mailer = notify.Outbox{Dir: dir, From: "Motor <motor@localhost>"}
		// Dev mode has no public webhook receivers: http is fine.
		cfg.Webhooks.AllowHTTP = true
		logger.Info("dev mode: mails are written as .eml files, not sent", "outbox", dir)
	default:
		logger.Warn("no notify.smtp in the deployment config: no e-mail is sent")
	}
	return cfg, nil
}
