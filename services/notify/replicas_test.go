package notify_test

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
	"github.com/innovationsmotorer/motor/services/notify"
)

// TestReplicas_NoDoubleSend: three replicas dispatch and deliver the same
// logs at the same time, while changes keep coming; every change is told
// once in the inbox and delivered once to the webhook.
func TestReplicas_NoDoubleSend(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var cfg notify.Config
			e := start(t, b, func(c *notify.Config) { cfg = *c })
			replicas := []*notify.Server{e.notify, e.newNotif(cfg), e.newNotif(cfg)}
			rcv := newReceiver(t, "0123456789abcdef", "200")
			e.subscribe(t, rcv.srv.URL, "0123456789abcdef")
			anna := e.As(t, auth.Advisor, "vasterbotten", "anna")
			const changes = 60
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for _, r := range replicas {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := r.Dispatch(t.Context(), "idea", "vasterbotten"); err != nil {
							t.Error(err)
							return
						}
						if _, err := r.Deliver(t.Context()); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			for k := 0; k < changes; k++ {
				if _, err := e.ideas.CreateIdea(anna.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
					t.Fatal(err)
				}
			}
			close(stop)
			wg.Wait()
			e.pump(t, e.notify)
			r, err := e.client.ListNotifications(anna.Ctx(t), &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten", PageSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if n := len(r.GetNotifications()); n != changes {
				t.Errorf("%d notifications for %d changes", n, changes)
			}
			seen := map[string]int{}
			for _, ev := range rcv.events() {
				seen[ev["id"].(string)]++
			}
			if len(seen) != changes {
				t.Errorf("%d events delivered, want %d", len(seen), changes)
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s delivered %d times", id, n)
				}
			}
		})
	}
}

// TestSubscriptions_Manage: the secret never leaves, a retried create
// with one request_id makes one subscription, a disabled or deleted one
// receives nothing, and bad input names every bad field.
func TestSubscriptions_Manage(t *testing.T) {
	e := start(t, stack.Backends()[0], nil)
	admin := e.As(t, auth.RegionAdmin, "vasterbotten")
	rcv := newReceiver(t, "0123456789abcdef", "200")
	req := &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten", RequestId: "r1",
		Subscription: &notifyv1.WebhookSubscription{Url: rcv.srv.URL, Secret: "0123456789abcdef"}}
	h, err := e.client.CreateWebhookSubscription(admin.Ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.CreateWebhookSubscription(admin.Ctx(t), req)
	if err != nil || again.GetName() != h.GetName() {
		t.Errorf("retried create: %v, %v; want %s", again, err, h.GetName())
	}
	l, err := e.client.ListWebhookSubscriptions(admin.Ctx(t), &notifyv1.ListWebhookSubscriptionsRequest{Parent: "regions/vasterbotten"})
	if err != nil || len(l.GetSubscriptions()) != 1 {
		t.Fatalf("list: %v %v", l, err)
	}
	_, body := e.REST(t, admin, "GET", "/v1/"+h.GetName(), "")
	if h.GetSecret() != "" || l.GetSubscriptions()[0].GetSecret() != "" || body["secret"] != nil {
		t.Errorf("the secret came back: %v %v %v", h, l, body)
	}

	_, err = e.client.CreateWebhookSubscription(admin.Ctx(t), &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten",
		Subscription: &notifyv1.WebhookSubscription{Url: "ftp://x", Secret: "short", EventTypes: []string{"idea.created"}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad subscription: %v", err)
	}
	for _, f := range []string{"subscription.url", "subscription.secret", "subscription.event_types[0]"} {
		if !hasViolation(err, f) {
			t.Errorf("bad subscription: %v does not name %s", err, f)
		}
	}

	if _, err := e.client.UpdateWebhookSubscription(admin.Ctx(t), &notifyv1.UpdateWebhookSubscriptionRequest{
		Subscription: &notifyv1.WebhookSubscription{Name: h.GetName(), Disabled: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"disabled"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ideas.CreateIdea(admin.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
		t.Fatal(err)
	}
	e.pump(t, e.notify)
	if len(rcv.events()) != 0 {
		t.Errorf("a disabled subscription received %v", rcv.events())
	}
	if _, err := e.client.DeleteWebhookSubscription(admin.Ctx(t), &notifyv1.DeleteWebhookSubscriptionRequest{Name: h.GetName()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetWebhookSubscription(admin.Ctx(t), &notifyv1.GetWebhookSubscriptionRequest{Name: h.GetName()}); status.Code(err) != codes.NotFound {
		t.Errorf("deleted subscription: %v, want NotFound", err)
	}
}
