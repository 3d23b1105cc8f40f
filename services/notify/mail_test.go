package notify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestMail_ConsentRationaleAndOptOut: over a real SMTP server with
// STARTTLS and AUTH, the submitter who consented to contact gets a mail of
// the rejection with the rationale and no one else's data; one who did not
// consent gets none; advisors' mail goes to the configured addresses; a
// person who turned e-mail off gets none.
func TestMail_ConsentRationaleAndOptOut(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			srv := startSMTP(t)
			e := start(t, b, func(c *notify.Config) {
				c.Mailer = srv.mailer()
				c.RoleMail = map[string]map[auth.Role][]notify.Recipient{"vasterbotten": {auth.Advisor: {{Address: "innovation@region.example", Subject: "bo"}}}}
			})
			greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
			karl := e.As(t, auth.Submitter, "vasterbotten", "karl")
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")

			gi, err := e.ideas.CreateIdea(greta.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
			if err != nil {
				t.Fatal(err)
			}
			ki, err := e.ideas.CreateIdea(karl.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("karl@example.se", false)})
			if err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)
			if got := mailTo(srv.all(), "innovation@region.example"); len(got) != 2 {
				t.Fatalf("advisors' address got %d mails, want 2 (two new ideas)", len(got))
			}
			for _, m := range srv.all() {
				if strings.Contains(m.data, "Greta") || strings.Contains(m.data, "greta@") || strings.Contains(m.data, "070-") {
					t.Errorf("advisors' mail carries the submitter's personal data:\n%s", m.data)
				}
			}

			// Bo, whose address it is, turns e-mail off.
			if _, err := e.client.UpdateNotificationSettings(e.As(t, auth.Advisor, "vasterbotten", "bo").Ctx(t), &notifyv1.UpdateNotificationSettingsRequest{
				Settings:   &notifyv1.NotificationSettings{Name: "regions/vasterbotten/users/me/notificationSettings", EmailDisabled: true},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email_disabled"}},
			}); err != nil {
				t.Fatal(err)
			}
			gi = e.transition(t, anna, gi, ideav1.Stage_STAGE_SCREENING, "")
			e.transition(t, anna, gi, ideav1.Stage_STAGE_REJECTED, "Liknande lösning finns redan.")
			ki = e.transition(t, anna, ki, ideav1.Stage_STAGE_SCREENING, "")
			e.transition(t, anna, ki, ideav1.Stage_STAGE_REJECTED, "Inte genomförbart nu.")
			if _, err := e.ideas.CreateIdea(anna.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)

			if got := mailTo(srv.all(), "karl@example.se"); len(got) != 0 {
				t.Errorf("submitter without contact consent got %d mails", len(got))
			}
			if got := mailTo(srv.all(), "innovation@region.example"); len(got) != 2 {
				t.Errorf("the address of a person who turned e-mail off got %d mails, want still 2", len(got))
			}
			gm := mailTo(srv.all(), "greta@example.se")
			if len(gm) != 2 {
				t.Fatalf("consenting submitter got %d mails, want 2 (screening, rejected)", len(gm))
			}
			var rejected string
			for _, m := range gm {
				if strings.Contains(m.data, "avslag") {
					rejected = m.data
				}
			}
			if !strings.Contains(rejected, "Liknande lösning finns redan.") || !strings.Contains(rejected, "X-Motor-Event-Id: idea:vasterbotten:") {
				t.Errorf("rejection mail lacks the rationale or the event id:\n%s", rejected)
			}
			for _, leak := range []string{"anna", "Karl", "karl@", "Inte genomförbart", "070-"} {
				if strings.Contains(rejected, leak) {
					t.Errorf("rejection mail carries %q:\n%s", leak, rejected)
				}
			}
			if gm[0].from != "motor@region.example" {
				t.Errorf("envelope from %q", gm[0].from)
			}
		})
	}
}

// outboxEnv runs the service with the dev outbox as its mailer.
func outboxEnv(t *testing.T) (*env, string) {
	dir := filepath.Join(t.TempDir(), "outbox")
	return start(t, stack.Backends()[0], func(c *notify.Config) {
		c.Mailer = notify.Outbox{Dir: dir, From: "Motor <motor@localhost>"}
	}), dir
}

// screeningMail moves a new idea of the submitter to screening and returns
// the one mail that lands in the outbox, decoded.
func screeningMail(t *testing.T, e *env, dir string, submitter stack.Caller) string {
	t.Helper()
	i, err := e.ideas.CreateIdea(submitter.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
	if err != nil {
		t.Fatal(err)
	}
	e.transition(t, e.As(t, auth.Advisor, "vasterbotten"), i, ideav1.Stage_STAGE_SCREENING, "")
	e.pump(t, e.notify)
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("outbox has %d files, want 1", len(files))
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	return decodeMail(string(raw))
}

// TestMail_DevOutbox: without an SMTP server the mails are .eml files.
func TestMail_DevOutbox(t *testing.T) {
	e, dir := outboxEnv(t)
	b := screeningMail(t, e, dir, e.As(t, auth.Submitter, "vasterbotten", "greta"))
	if !strings.Contains(b, "To: <greta@example.se>") || !strings.Contains(b, "har nu status: bedömning") {
		t.Errorf("outbox mail:\n%s", b)
	}
}

// TestMail_English: a person who chose English is written to in English.
func TestMail_English(t *testing.T) {
	e, dir := outboxEnv(t)
	greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
	set, err := e.client.UpdateNotificationSettings(greta.Ctx(t), &notifyv1.UpdateNotificationSettingsRequest{
		Settings:   &notifyv1.NotificationSettings{Name: "regions/vasterbotten/users/me/notificationSettings", Language: "en"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"language"}},
	})
	if err != nil || set.GetLanguage() != "en" || set.GetEmailDisabled() {
		t.Fatalf("settings: %v, %v", set, err)
	}
	if b := screeningMail(t, e, dir, greta); !strings.Contains(b, "now has the status: screening") || !strings.Contains(b, "turn e-mail off") {
		t.Errorf("English mail:\n%s", b)
	}
	_, err = e.client.UpdateNotificationSettings(greta.Ctx(t), &notifyv1.UpdateNotificationSettingsRequest{
		Settings: &notifyv1.NotificationSettings{Name: "regions/vasterbotten/users/me/notificationSettings", Language: "fi"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"language"}}})
	if !hasViolation(err, "settings.language") {
		t.Errorf("language fi: %v, want a violation of settings.language", err)
	}
}

// TestMail_RetriedAfterATransientFailure: a mail the server refuses for
// now is sent again after the gap, with the same Message-ID and event id.
func TestMail_RetriedAfterATransientFailure(t *testing.T) {
	srv := startSMTP(t)
	srv.mu.Lock()
	srv.refuse = 2 // the first attempt and its first retry
	srv.mu.Unlock()
	e := start(t, stack.Backends()[0], func(c *notify.Config) {
		c.Mailer = srv.mailer()
		c.RoleMail = map[string]map[auth.Role][]notify.Recipient{"vasterbotten": {auth.Advisor: {{Address: "innovation@region.example"}}}}
		c.Webhooks.FirstRetry = time.Minute
	})
	if _, err := e.ideas.CreateIdea(e.As(t, auth.Submitter, "vasterbotten").Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
		t.Fatal(err)
	}
	e.pump(t, e.notify)
	e.pump(t, e.notify) // not yet due again
	if n := len(srv.all()); n != 0 {
		t.Fatalf("%d mails while the server refused", n)
	}
	for k := 0; k < 5 && len(srv.all()) == 0; k++ {
		e.clock.Add(5 * time.Minute)
		e.pump(t, e.notify)
	}
	got := srv.all()
	if len(got) != 1 || !strings.Contains(got[0].data, "X-Motor-Event-Id: idea:vasterbotten:1") {
		t.Fatalf("after the retries: %v", got)
	}
	e.clock.Add(time.Hour)
	e.pump(t, e.notify)
	if n := len(srv.all()); n != 1 {
		t.Errorf("%d mails after delivery, want still 1", n)
	}
}
