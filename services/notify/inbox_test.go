package notify_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

func newIdea(email string, contact bool) *ideav1.Idea {
	return &ideav1.Idea{
		Title: "Videobesök för KOL-kontroller", Problem: "Långa resor till kontroller.", Origin: ideav1.Origin_ORIGIN_PATIENT,
		Submitter: &ideav1.Submitter{DisplayName: "Greta Lindqvist", Email: email, Phone: "070-123 45 67"},
		Consent:   &ideav1.Consent{Contact: contact, StorePersonalData: true},
	}
}

func (e *env) transition(t *testing.T, c stack.Caller, i *ideav1.Idea, to ideav1.Stage, why string) *ideav1.Idea {
	t.Helper()
	out, err := e.ideas.TransitionIdea(c.Ctx(t), &ideav1.TransitionIdeaRequest{Name: i.GetName(), Stage: to, Rationale: why, Etag: i.GetEtag()})
	if err != nil {
		t.Fatalf("TransitionIdea %v: %v", to, err)
	}
	return out
}

// TestInbox_EachPersonSeesTheirOwn: the submitter is told of their idea's
// decisions with the rationale; advisors of the new idea (without the
// rationale of later decisions); nobody else sees either; read marks are
// each person's own, over gRPC and REST.
func TestInbox_EachPersonSeesTheirOwn(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := start(t, b, nil)
			greta := e.As(t, auth.Submitter, "vasterbotten", "greta")
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
			bo := e.As(t, auth.Advisor, "vasterbotten", "bo")
			other := e.As(t, auth.Submitter, "vasterbotten", "olle")
			uppsala := e.As(t, auth.Advisor, "uppsala", "ulla")

			i, err := e.ideas.CreateIdea(greta.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("greta@example.se", true)})
			if err != nil {
				t.Fatal(err)
			}
			i = e.transition(t, anna, i, ideav1.Stage_STAGE_SCREENING, "")
			e.transition(t, anna, i, ideav1.Stage_STAGE_REJECTED, "Liknande lösning finns redan i regionen.")
			e.pump(t, e.notify)
			e.pump(t, e.notify) // a second pass adds nothing

			mine := e.inbox(t, greta, "regions/vasterbotten")
			if got, want := types(mine), []string{notify.TypeIdeaStage, notify.TypeIdeaStage}; !slices.Equal(got, want) {
				t.Fatalf("submitter's inbox: %v, want %v", got, want)
			}
			newest := mine.GetNotifications()[0]
			if newest.GetDetails()["stage"] != "STAGE_REJECTED" || newest.GetDetails()["rationale"] != "Liknande lösning finns redan i regionen." ||
				newest.GetSubject() != i.GetName() || newest.GetAudience() != "me" || !strings.HasPrefix(newest.GetEventId(), "idea:vasterbotten:") {
				t.Errorf("rejection notification: %v", newest)
			}
			if mine.GetUnreadCount() != 2 {
				t.Errorf("unread %d, want 2", mine.GetUnreadCount())
			}

			adv := e.inbox(t, anna, "regions/vasterbotten")
			if got, want := types(adv), []string{notify.TypeIdeaCreated}; !slices.Equal(got, want) {
				t.Fatalf("advisor's inbox: %v, want %v", got, want)
			}
			if strings.Contains(adv.String(), "Greta") || strings.Contains(adv.String(), "greta@") {
				t.Errorf("advisor notification carries the submitter's personal data: %v", adv)
			}
			if n := e.inbox(t, other, "regions/vasterbotten"); len(n.GetNotifications()) != 0 || n.GetUnreadCount() != 0 {
				t.Errorf("another submitter sees %v", n)
			}
			if n := e.inbox(t, uppsala, "regions/uppsala"); len(n.GetNotifications()) != 0 {
				t.Errorf("Uppsala's advisor sees %v", n)
			}
			if _, err := e.client.ListNotifications(uppsala.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten"}); status.Code(err) != codes.PermissionDenied {
				t.Errorf("Uppsala's advisor listing Västerbotten: %v, want PermissionDenied", err)
			}

			// Someone else's notification cannot be marked, and does not leak.
			if _, err := e.client.MarkNotificationsRead(other.Ctx(t), &notifyv1.MarkNotificationsReadRequest{Parent: "regions/vasterbotten", Names: []string{newest.GetName()}}); status.Code(err) != codes.NotFound {
				t.Errorf("marking another's notification: %v, want NotFound", err)
			}
			r, err := e.client.MarkNotificationsRead(greta.Ctx(t), &notifyv1.MarkNotificationsReadRequest{Parent: "regions/vasterbotten", Names: []string{newest.GetName()}})
			if err != nil || r.GetUnreadCount() != 1 {
				t.Fatalf("mark read: %v, %v; want unread 1", r, err)
			}
			// A role's inbox: Anna's mark is hers, Bo still has it unread.
			if _, err := e.client.MarkNotificationsRead(anna.Ctx(t), &notifyv1.MarkNotificationsReadRequest{Parent: "regions/vasterbotten", All: true}); err != nil {
				t.Fatal(err)
			}
			if a, b := e.inbox(t, anna, "regions/vasterbotten"), e.inbox(t, bo, "regions/vasterbotten"); a.GetUnreadCount() != 0 || b.GetUnreadCount() != 1 ||
				!a.GetNotifications()[0].GetRead() || b.GetNotifications()[0].GetRead() {
				t.Errorf("after Anna marked all: Anna %v, Bo %v", a, b)
			}

			// REST: the same inbox.
			code, body := e.REST(t, greta, "GET", "/v1/regions/vasterbotten/notifications", "")
			if code != 200 || body["unreadCount"] != "1" || len(body["notifications"].([]any)) != 2 {
				t.Errorf("REST inbox: %d %v", code, body)
			}
			code, body = e.REST(t, greta, "POST", "/v1/regions/vasterbotten/notifications:markRead", `{"all":true}`)
			if code != 200 || body["unreadCount"] != nil && body["unreadCount"] != "0" {
				t.Errorf("REST mark all read: %d %v", code, body)
			}
			code, _ = e.REST(t, stack.Caller{}, "GET", "/v1/regions/vasterbotten/notifications", "")
			if code != 401 {
				t.Errorf("REST inbox without a token: %d, want 401", code)
			}
		})
	}
}

// TestInbox_Pages: a person's inbox and the inbox of their role merge,
// newest first, across pages without loss or repeat.
func TestInbox_Pages(t *testing.T) {
	b := stack.Backends()[0]
	e := start(t, b, nil)
	anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
	var want []string
	for k := 0; k < 7; k++ {
		i, err := e.ideas.CreateIdea(anna.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)})
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Add(1)
		e.transition(t, anna, i, ideav1.Stage_STAGE_SCREENING, "")
		want = append(want, notify.TypeIdeaCreated, notify.TypeIdeaStage)
	}
	e.pump(t, e.notify)
	var got []*notifyv1.Notification
	token := ""
	for page := 0; page < 20; page++ {
		r, err := e.client.ListNotifications(anna.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten", PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.GetNotifications()...)
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d notifications over the pages, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for k, n := range got {
		if seen[n.GetName()] {
			t.Errorf("%s twice", n.GetName())
		}
		seen[n.GetName()] = true
		if k > 0 && n.GetCreateTime().AsTime().After(got[k-1].GetCreateTime().AsTime()) {
			t.Errorf("notification %d is newer than the one before", k)
		}
	}
}
