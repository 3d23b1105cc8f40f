package main

import (
	"os"
	"path/filepath"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/services/notify"
)

// notifyConfig turns the deployment file's notify settings into the
// notification service's: SMTP when a server is configured, else in dev
// mode the outbox folder <data>/outbox of .eml files, else no e-mail.
func notifyConfig(d deps) notify.Config {
	n := d.notify
	cfg := notify.Config{
		Store: d.store, Regions: d.regions, Logger: d.logger, PortalURL: n.PortalURL,
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
		cfg.Mailer = notify.SMTP{Host: n.SMTP.Host, Port: n.SMTP.Port, From: n.SMTP.From, Username: n.SMTP.Username,
			Password: os.Getenv("MOTOR_SMTP_PASSWORD"), AllowPlain: n.SMTP.AllowPlain}
	case d.devMode:
		cfg.Mailer = notify.Outbox{Dir: filepath.Join(d.dataDir, "outbox"), From: "Motor <motor@localhost>"}
		// Dev mode has no public webhook receivers: local ones are fine.
		cfg.Webhooks.AllowHTTP = true
	}
	return cfg
}
