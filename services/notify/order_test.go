package notify_test

import (
	"slices"
	"testing"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// TestInbox_Orders: an advisor's inbox (their own notifications merged
// with their role's) newest first, the default, and oldest first, over
// pages on both stores, with a token of one order refused in the other
// and a bad order refused over REST naming both.
func TestInbox_Orders(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := start(t, b, nil)
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
			for range 3 {
				i, err := e.ideas.CreateIdea(anna.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)})
				if err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond) // distinct event times
				e.transition(t, anna, i, ideav1.Stage_STAGE_SCREENING, "")
				time.Sleep(2 * time.Millisecond)
			}
			e.pump(t, e.notify)
			all, err := e.client.ListNotifications(anna.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten", PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			// What newest first means, from the notifications' own times:
			// three created ideas (the role's inbox) and three decisions
			// on Anna's own ideas (her inbox).
			notes := all.GetNotifications()
			if len(notes) != 6 {
				t.Fatalf("%d notifications, want 6", len(notes))
			}
			slices.SortStableFunc(notes, func(a, b *notifyv1.Notification) int {
				return b.GetCreateTime().AsTime().Compare(a.GetCreateTime().AsTime())
			})
			var newest []string
			for _, n := range notes {
				newest = append(newest, n.GetName())
			}
			list := func(t testing.TB, order string, size int32, token string) ([]string, string, error) {
				r, err := e.client.ListNotifications(anna.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten", OrderBy: order, PageSize: size, PageToken: token})
				var names []string
				for _, n := range r.GetNotifications() {
					names = append(names, n.GetName())
				}
				return names, r.GetNextPageToken(), err
			}
			oldest := slices.Clone(newest)
			slices.Reverse(oldest)
			stack.CheckOrders(t, list,
				stack.Ordered{Order: "", Want: newest},
				stack.Ordered{Order: "createTime", Want: oldest},
			)
			stack.CheckOrders(t, list,
				stack.Ordered{Order: "create_time desc", Want: newest},
				stack.Ordered{Order: "create_time asc", Want: oldest},
			)
			e.CheckBadOrderREST(t, anna, "/v1/regions/vasterbotten/notifications", "create_time desc (the default)", "create_time")
			code, body := e.REST(t, anna, "GET", "/v1/regions/vasterbotten/notifications?orderBy=create_time&pageSize=1", "")
			if got, _ := body["notifications"].([]any); code != 200 || len(got) != 1 || got[0].(map[string]any)["name"] != oldest[0] {
				t.Errorf("REST oldest first: %d %v, want %s first", code, body, oldest[0])
			}
		})
	}
}
