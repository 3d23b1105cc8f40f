package notify_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/testenv/stack"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// TestAuthorization_EveryRPC: for every RPC, over gRPC and REST, no token
// is 401, and a token of another region or of a role that may not make the
// call is 403.
func TestAuthorization_EveryRPC(t *testing.T) {
	for _, b := range stack.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := start(t, b, nil)
			admin := e.As(t, auth.RegionAdmin, "vasterbotten")
			rcv := newReceiver(t, "0123456789abcdef", "200")
			h := e.subscribe(t, rcv.srv.URL, "0123456789abcdef")
			if _, err := e.ideas.CreateIdea(admin.Ctx(t), &ideav1.CreateIdeaRequest{Parent: "regions/vasterbotten", Idea: newIdea("", false)}); err != nil {
				t.Fatal(err)
			}
			e.pump(t, e.notify)
			d := e.deliveries(t, h, 0)[0]
			hn, dn := h.GetName(), d.GetName()
			settings := "regions/vasterbotten/users/me/notificationSettings"
			staffOnly := []auth.Role{auth.Submitter, auth.Advisor, auth.Partner, auth.Coordinator, auth.Service}
			people := []auth.Role{auth.Coordinator, auth.Service}
			rpcs := []struct {
				name         string
				grpc         func(ctx context.Context) error
				method, path string
				body         string
				denied       []auth.Role
			}{
				{"ListNotifications", func(ctx context.Context) error {
					_, err := e.client.ListNotifications(ctx, &notifyv1.ListNotificationsRequest{Parent: "regions/vasterbotten"})
					return err
				}, "GET", "/v1/regions/vasterbotten/notifications", "", people},
				{"ListNotifications national", func(ctx context.Context) error {
					_, err := e.client.ListNotifications(ctx, &notifyv1.ListNotificationsRequest{Parent: "regions/national"})
					return err
				}, "GET", "/v1/regions/national/notifications", "", []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Service}},
				{"MarkNotificationsRead", func(ctx context.Context) error {
					_, err := e.client.MarkNotificationsRead(ctx, &notifyv1.MarkNotificationsReadRequest{Parent: "regions/vasterbotten", All: true})
					return err
				}, "POST", "/v1/regions/vasterbotten/notifications:markRead", `{"all":true}`, people},
				{"GetNotificationSettings", func(ctx context.Context) error {
					_, err := e.client.GetNotificationSettings(ctx, &notifyv1.GetNotificationSettingsRequest{Name: settings})
					return err
				}, "GET", "/v1/" + settings, "", []auth.Role{auth.Service}},
				{"GetNotificationSettings of another", func(ctx context.Context) error {
					_, err := e.client.GetNotificationSettings(ctx, &notifyv1.GetNotificationSettingsRequest{Name: "regions/vasterbotten/users/someone/notificationSettings"})
					return err
				}, "GET", "/v1/regions/vasterbotten/users/someone/notificationSettings", "", []auth.Role{auth.Submitter, auth.Advisor, auth.RegionAdmin}},
				{"UpdateNotificationSettings", func(ctx context.Context) error {
					_, err := e.client.UpdateNotificationSettings(ctx, &notifyv1.UpdateNotificationSettingsRequest{
						Settings: &notifyv1.NotificationSettings{Name: settings, EmailDisabled: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email_disabled"}}})
					return err
				}, "PATCH", "/v1/" + settings, `{"emailDisabled":true}`, []auth.Role{auth.Service}},
				{"CreateWebhookSubscription", func(ctx context.Context) error {
					_, err := e.client.CreateWebhookSubscription(ctx, &notifyv1.CreateWebhookSubscriptionRequest{Parent: "regions/vasterbotten",
						Subscription: &notifyv1.WebhookSubscription{Url: rcv.srv.URL, Secret: "0123456789abcdef"}})
					return err
				}, "POST", "/v1/regions/vasterbotten/webhookSubscriptions", `{"url":"` + rcv.srv.URL + `","secret":"0123456789abcdef"}`, staffOnly},
				{"GetWebhookSubscription", func(ctx context.Context) error {
					_, err := e.client.GetWebhookSubscription(ctx, &notifyv1.GetWebhookSubscriptionRequest{Name: hn})
					return err
				}, "GET", "/v1/" + hn, "", staffOnly},
				{"ListWebhookSubscriptions", func(ctx context.Context) error {
					_, err := e.client.ListWebhookSubscriptions(ctx, &notifyv1.ListWebhookSubscriptionsRequest{Parent: "regions/vasterbotten"})
					return err
				}, "GET", "/v1/regions/vasterbotten/webhookSubscriptions", "", staffOnly},
				{"UpdateWebhookSubscription", func(ctx context.Context) error {
					_, err := e.client.UpdateWebhookSubscription(ctx, &notifyv1.UpdateWebhookSubscriptionRequest{
						Subscription: &notifyv1.WebhookSubscription{Name: hn, Disabled: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"disabled"}}})
					return err
				}, "PATCH", "/v1/" + hn, `{"disabled":true}`, staffOnly},
				{"ListWebhookDeliveries", func(ctx context.Context) error {
					_, err := e.client.ListWebhookDeliveries(ctx, &notifyv1.ListWebhookDeliveriesRequest{Parent: hn})
					return err
				}, "GET", "/v1/" + hn + "/deliveries", "", staffOnly},
				{"RedeliverWebhookDelivery", func(ctx context.Context) error {
					_, err := e.client.RedeliverWebhookDelivery(ctx, &notifyv1.RedeliverWebhookDeliveryRequest{Name: dn})
					return err
				}, "POST", "/v1/" + dn + ":redeliver", `{}`, staffOnly},
				{"DeleteWebhookSubscription", func(ctx context.Context) error {
					_, err := e.client.DeleteWebhookSubscription(ctx, &notifyv1.DeleteWebhookSubscriptionRequest{Name: hn})
					return err
				}, "DELETE", "/v1/" + hn, "", staffOnly},
			}
			for _, r := range rpcs {
				t.Run(r.name, func(t *testing.T) {
					type caller struct {
						who      string
						c        stack.Caller
						wantCode codes.Code
						wantHTTP int
					}
					callers := []caller{
						{"no token", stack.Caller{}, codes.Unauthenticated, 401},
						{"advisor of uppsala", e.As(t, auth.Advisor, "uppsala"), codes.PermissionDenied, 403},
						{"admin of uppsala", e.As(t, auth.RegionAdmin, "uppsala"), codes.PermissionDenied, 403},
						{"submitter of uppsala", e.As(t, auth.Submitter, "uppsala"), codes.PermissionDenied, 403},
					}
					if r.name == "ListNotifications national" {
						callers = callers[:1] // a coordinator's list; the roles below cover the rest
					}
					for _, role := range r.denied {
						region := "vasterbotten"
						if role == auth.Coordinator {
							region = auth.NationalRegion
						}
						callers = append(callers, caller{string(role) + " of " + region, e.As(t, role, region), codes.PermissionDenied, 403})
					}
					for _, c := range callers {
						if got := status.Code(r.grpc(c.c.Ctx(t))); got != c.wantCode {
							t.Errorf("gRPC as %s: %v, want %v", c.who, got, c.wantCode)
						}
						if code, body := e.REST(t, c.c, r.method, r.path, r.body); code != c.wantHTTP {
							t.Errorf("REST as %s: %d, want %d (%v)", c.who, code, c.wantHTTP, body)
						}
					}
				})
			}
		})
	}
}
