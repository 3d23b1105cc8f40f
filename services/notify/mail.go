package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
)

// Mail is one message to one address.
type Mail struct {
	To, Subject, Body string
	// ID is the Message-ID: the notification's and the recipient's, so a
	// repeat carries the same one.
	ID string
	// EventID goes out as the X-Motor-Event-Id header.
	EventID string
}

// Mailer sends mail.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// SMTP sends over an SMTP server with STARTTLS (required unless
// AllowPlain) and, when Username is set, AUTH PLAIN.
type SMTP struct {
	Host       string
	Port       int
	From       string
	Username   string
	Password   string
	AllowPlain bool        // opportunistic STARTTLS: dev servers only
	TLS        *tls.Config // nil: the system's roots, ServerName Host
}

func message(from string, m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, fmt.Errorf("mail From %q: %w", from, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail To: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetGenHeader("X-Motor-Event-Id", m.EventID)
	msg.SetDate()
	return msg, nil
}

// Send implements Mailer.
func (s SMTP) Send(ctx context.Context, m Mail) error {
	msg, err := message(s.From, m)
	if err != nil {
		return err
	}
	policy := gomail.TLSMandatory
	if s.AllowPlain {
		policy = gomail.TLSOpportunistic
	}
	opts := []gomail.Option{gomail.WithPort(s.Port), gomail.WithTLSPolicy(policy), gomail.WithTimeout(30 * time.Second)}
	tc := s.TLS
	if tc == nil {
		tc = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail.NewClient: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s: %w", s.Host, err)
	}
	return nil
}

// Outbox writes every mail as an .eml file into Dir: dev mode, where no
// SMTP server is at hand and a developer opens the files to read them.
type Outbox struct {
	Dir  string
	From string
}

// Send implements Mailer.
func (o Outbox) Send(_ context.Context, m Mail) error {
	msg, err := message(o.From, m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := filepath.Join(o.Dir, time.Now().UTC().Format("20060102T150405.000000000")+"-"+id(m.ID)+".eml")
	return msg.WriteToFile(name)
}

// mailJob is one mail waiting to go out. To is the address, or "" for the
// idea's submitter, whose address and consent are read only when it is
// sent (so an erasure in between stops it).
type mailJob struct {
	Note      string    `json:"note"`
	To        string    `json:"to,omitempty"`
	Subject   string    `json:"subject,omitempty"` // the person's token subject, for their settings
	Attempts  int       `json:"attempts,omitempty"`
	Created   time.Time `json:"created"`
	LastError string    `json:"lastError,omitempty"`
}

func (j mailJob) key() string { return "mail/" + j.Note + "/" + id(j.To, j.Subject) }

func (j mailJob) put(version int64, due time.Time) store.Put {
	v, _ := json.Marshal(j)
	return store.Put{Key: j.key(), Value: v, Version: version, Index: []store.IndexEntry{dueEntry(due, j.key())}}
}

func dueEntry(due time.Time, key string) store.IndexEntry {
	return store.IndexEntry{Index: "due", Term: sortable(due) + "/" + key}
}

// mailTargets are who a rule's mail goes to: the submitter (resolved when
// sent), or the addresses the deployment lists for the role.
func (s *Server) mailTargets(region string, to audience, f facts) []Recipient {
	if s.cfg.Mailer == nil {
		return nil
	}
	switch to {
	case toSubmitter:
		if f.owner == "" {
			return nil
		}
		return []Recipient{{Subject: f.owner}}
	case toAdvisors:
		return s.cfg.RoleMail[region][auth.Advisor]
	case toAdmins:
		return s.cfg.RoleMail[region][auth.RegionAdmin]
	case toCoordinators:
		return s.cfg.RoleMail[auth.NationalRegion][auth.Coordinator]
	}
	return nil
}
