package notify_test

import (
	"testing"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestErasure_ReachesTheInbox: when a submitter is erased, the
// notifications addressed to them about the idea go, and so do the mails
// not yet sent, also those of changes the dispatcher had not seen yet.
func TestErasure_ReachesTheInbox(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			srv := startSMTP(t)
			e := start(t, b, func(c *notify.Config) { c.Mailer = srv.mailer() })
			greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
			i, err := e.ideas.CreateIdea(greta.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
			if err != nil {
				t.Fatal(err)
			}
			i = e.transition(t, anna, i, ideav1.Stage_STAGE_SCREENING, "")
			e.pump(t, e.notify)
			if n := len(e.inbox(t, greta, "regions/vasterbotten").GetNotifications()); n != 1 || len(mailTo(srv.all(), "greta@example.se")) != 1 {
				t.Fatalf("before erasure: %d notifications, %d mails; want 1 and 1", n, len(mailTo(srv.all(), "greta@example.se")))
			}
			// A decision and the erasure, both before the dispatcher runs.
			e.transition(t, anna, i, ideav1.Stage_STAGE_PARKED, "Väntar på budget.")
			if _, err := e.ideas.EraseSubmitter(greta.Ctx(t), &ideav1.EraseSubmitterRequest{Name: i.GetName()}); err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)
			if n := e.inbox(t, greta, "regions/vasterbotten"); len(n.GetNotifications()) != 0 || n.GetUnreadCount() != 0 {
				t.Errorf("after erasure the submitter's inbox holds %v", n)
			}
			if got := mailTo(srv.all(), "greta@example.se"); len(got) != 1 {
				t.Errorf("after erasure %d mails in all, want still 1", len(got))
			}
			// The advisors' notification of the new idea stays: it names no one.
			if n := len(e.inbox(t, anna, "regions/vasterbotten").GetNotifications()); n != 1 {
				t.Errorf("advisors' inbox: %d, want 1", n)
			}
		})
	}
}
