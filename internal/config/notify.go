package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
)

// Notify is the notification service's part of the deployment file.
type Notify struct {
	// SMTP is the mail server; without it a dev-mode deployment writes
	// mails into an outbox folder, and any other sends none.
	SMTP *SMTP `json:"smtp"`
	// PortalURL is where links in mails point.
	PortalURL string `json:"portalURL"`
	// RoleMail lists who receives a role's mail, by region ("national" for
	// coordinators) and role (advisor, region_admin, coordinator).
	RoleMail map[string]map[string][]RoleRecipient `json:"roleMail"`
	Webhooks Webhooks                              `json:"webhooks"`
	// Thresholds of the time rules, in working days (0: the defaults, 2
	// and 10).
	OfferDueSoonDays   int `json:"offerDueSoonDays"`
	CostReportWaitDays int `json:"costReportWaitDays"`
}

// SMTP is a mail server. The password is never in the file: it comes
// from the environment variable MOTOR_SMTP_PASSWORD.
type SMTP struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	From     string `json:"from"`
	Username string `json:"username"`
	// AllowPlain lets mail go without STARTTLS when the server offers none
	// (a dev server); by default STARTTLS is required.
	AllowPlain bool `json:"allowPlain"`
}

// RoleRecipient is one address of a role; Subject, when given, is the
// person's token subject, so their own e-mail setting applies.
type RoleRecipient struct {
	Address string `json:"address"`
	Subject string `json:"subject"`
}

// Webhooks say where webhook deliveries may go.
type Webhooks struct {
	// AllowedHosts may resolve to loopback, private or link-local
	// addresses (a region's internal systems).
	AllowedHosts []string `json:"allowedHosts"`
	// AllowHTTP accepts http:// URLs: dev only.
	AllowHTTP bool `json:"allowHTTP"`
}

var notifyRoles = []string{"advisor", "region_admin", "coordinator"}

// parseNotify decodes and checks the notify member, naming every problem.
func parseNotify(raw json.RawMessage, n *Notify) []string {
	var problems []string
	m := members(&problems, "notify.", raw, []string{"smtp", "portalURL", "roleMail", "webhooks", "offerDueSoonDays", "costReportWaitDays"})
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "smtp":
			sm := members(&problems, "notify.smtp.", v, []string{"host", "port", "from", "username", "allowPlain"})
			s := &SMTP{}
			for name, dst := range map[string]any{"host": &s.Host, "port": &s.Port, "from": &s.From, "username": &s.Username, "allowPlain": &s.AllowPlain} {
				if f, ok := sm[name]; ok {
					field(&problems, "notify.smtp."+name, f, dst)
				}
			}
			n.SMTP = s
		case "webhooks":
			wm := members(&problems, "notify.webhooks.", v, []string{"allowedHosts", "allowHTTP"})
			for name, dst := range map[string]any{"allowedHosts": &n.Webhooks.AllowedHosts, "allowHTTP": &n.Webhooks.AllowHTTP} {
				if f, ok := wm[name]; ok {
					field(&problems, "notify.webhooks."+name, f, dst)
				}
			}
		case "portalURL":
			field(&problems, "notify.portalURL", v, &n.PortalURL)
		case "roleMail":
			field(&problems, "notify.roleMail", v, &n.RoleMail)
		case "offerDueSoonDays":
			field(&problems, "notify.offerDueSoonDays", v, &n.OfferDueSoonDays)
		case "costReportWaitDays":
			field(&problems, "notify.costReportWaitDays", v, &n.CostReportWaitDays)
		}
	}
	slices.Sort(problems)
	return append(problems, n.check()...)
}

func (n Notify) check() []string {
	var problems []string
	if s := n.SMTP; s != nil {
		if s.Host == "" {
			problems = append(problems, "notify.smtp.host: required (the SMTP server's host name)")
		} else if strings.ContainsAny(s.Host, ":/ ") {
			problems = append(problems, fmt.Sprintf("notify.smtp.host: %q is not a host name (give the port in notify.smtp.port)", s.Host))
		}
		if s.Port < 1 || s.Port > 65535 {
			problems = append(problems, fmt.Sprintf("notify.smtp.port: %d is not a port (587 for STARTTLS submission)", s.Port))
		}
		if _, err := mail.ParseAddress(s.From); err != nil {
			problems = append(problems, fmt.Sprintf("notify.smtp.from: %q is not an e-mail address", s.From))
		}
	}
	if n.PortalURL != "" {
		if u, err := url.Parse(n.PortalURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("notify.portalURL: %q is not an http(s) URL", n.PortalURL))
		}
	}
	for _, region := range slices.Sorted(maps.Keys(n.RoleMail)) {
		if region != "national" && !KnownRegion(region) {
			problems = append(problems, fmt.Sprintf("notify.roleMail.%s: unknown region", region))
		}
		for _, role := range slices.Sorted(maps.Keys(n.RoleMail[region])) {
			if !slices.Contains(notifyRoles, role) {
				problems = append(problems, fmt.Sprintf("notify.roleMail.%s.%s: not a role that gets mail (%s)", region, role, strings.Join(notifyRoles, ", ")))
			}
			for i, r := range n.RoleMail[region][role] {
				if _, err := mail.ParseAddress(r.Address); err != nil {
					problems = append(problems, fmt.Sprintf("notify.roleMail.%s.%s[%d].address: %q is not an e-mail address", region, role, i, r.Address))
				}
			}
		}
	}
	for i, h := range n.Webhooks.AllowedHosts {
		if h == "" || strings.ContainsAny(h, ":/ ") && net.ParseIP(h) == nil {
			problems = append(problems, fmt.Sprintf("notify.webhooks.allowedHosts[%d]: %q is not a host name or IP address", i, h))
		}
	}
	if n.OfferDueSoonDays < 0 || n.OfferDueSoonDays > 10 {
		problems = append(problems, fmt.Sprintf("notify.offerDueSoonDays: %d is not between 0 and 10 working days", n.OfferDueSoonDays))
	}
	if n.CostReportWaitDays < 0 || n.CostReportWaitDays > 250 {
		problems = append(problems, fmt.Sprintf("notify.costReportWaitDays: %d is not between 0 and 250 working days", n.CostReportWaitDays))
	}
	return problems
}
