package notify

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// adminOf checks that the caller is an admin of the served region.
func (s *Server) adminOf(ctx context.Context, region string) (*auth.Identity, error) {
	if err := resource.Served(domain, s.cfg.Regions, region); err != nil {
		return nil, err
	}
	return auth.Require(ctx, region, auth.RegionAdmin)
}

func (s *Server) checkHook(v *errs.Violations, h *notifyv1.WebhookSubscription, secret string, paths []string) {
	for _, p := range paths {
		switch p {
		case "url":
			if msg := s.hooks.checkURL(h.GetUrl()); msg != "" {
				v.Add("subscription.url", "%s", msg)
			}
		case "event_types":
			for i, t := range h.GetEventTypes() {
				if _, ok := texts()[t]; !ok {
					v.Add("subscription.event_types["+strconv.Itoa(i)+"]", "%q is not an event type (they start %s)", t, typePrefix)
				}
			}
		case "secret":
			if len(secret) < 16 {
				v.Add("subscription.secret", "must be at least 16 characters")
			}
		case "disabled":
		default:
			v.Add("update_mask", "%q cannot be changed (url, event_types, secret, disabled)", p)
		}
	}
}

// CreateWebhookSubscription implements notifyv1.NotificationServiceServer.
func (s *Server) CreateWebhookSubscription(ctx context.Context, req *notifyv1.CreateWebhookSubscriptionRequest) (*notifyv1.WebhookSubscription, error) {
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	who, err := s.adminOf(ctx, region)
	if err != nil {
		return nil, err
	}
	in := req.GetSubscription()
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	s.checkHook(&v, in, in.GetSecret(), []string{"url", "event_types", "secret"})
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	subID := resource.NewID()
	var idem *store.Idempotency
	if rid := req.GetRequestId(); rid != "" {
		subID = id(who.Subject, rid)[:16]
		idem = &store.Idempotency{Key: "create-hook/" + id(who.Subject, rid), Fingerprint: resource.Fingerprint(req), Result: []byte(subID)}
	}
	h := &hook{Secret: in.GetSecret(), Sub: &notifyv1.WebhookSubscription{
		Name: "regions/" + region + "/webhookSubscriptions/" + subID, Url: in.GetUrl(), EventTypes: in.GetEventTypes(),
		Disabled: in.GetDisabled(), CreateTime: timestamppb.New(s.now()),
	}}
	p, err := h.put(0)
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	res, err := s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{p}, Idempotency: idem,
		Events: []store.Event{{Time: s.now(), Actor: who.Subject, Action: "CreateWebhookSubscription", Key: h.Sub.GetName(), EtagAfter: "1"}}})
	switch {
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return nil, domain.New(codes.AlreadyExists, "REQUEST_ID_REUSED", "request_id %q was used for another subscription", req.GetRequestId())
	case err != nil:
		return nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	case res.Replayed:
		return s.GetWebhookSubscription(ctx, &notifyv1.GetWebhookSubscriptionRequest{Name: "regions/" + region + "/webhookSubscriptions/" + string(res.Result)})
	}
	h.Sub.Etag = "1"
	return h.Sub, nil
}

func (s *Server) loadHook(ctx context.Context, name string) (*auth.Identity, string, *hook, error) {
	ids, err := resource.Split(name, "regions", "webhookSubscriptions")
	if err != nil {
		return nil, "", nil, domain.InvalidArgument("name", err)
	}
	who, err := s.adminOf(ctx, ids[0])
	if err != nil {
		return nil, "", nil, err
	}
	rec, err := s.store.Get(ctx, ns(ids[0]), hookKey(ids[1]))
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil, domain.NotFound("WEBHOOK_SUBSCRIPTION_NOT_FOUND", "webhook subscription %s not found", name)
	}
	if err != nil {
		return nil, "", nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	h, err := decodeHook(rec)
	if err != nil {
		return nil, "", nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	return who, ids[0], h, nil
}

// GetWebhookSubscription implements notifyv1.NotificationServiceServer.
func (s *Server) GetWebhookSubscription(ctx context.Context, req *notifyv1.GetWebhookSubscriptionRequest) (*notifyv1.WebhookSubscription, error) {
	_, _, h, err := s.loadHook(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	return h.Sub, nil
}

// Webhook subscriptions are listed by name (their index's order) and
// deliveries newest first, or either the other way round (a reversed scan).
var (
	hookOrders     = resource.Orders{"name", "name desc"}
	deliveryOrders = resource.Orders{"create_time desc", "create_time"}
)

// ListWebhookSubscriptions implements notifyv1.NotificationServiceServer.
func (s *Server) ListWebhookSubscriptions(ctx context.Context, req *notifyv1.ListWebhookSubscriptionsRequest) (*notifyv1.ListWebhookSubscriptionsResponse, error) {
	var v errs.Violations
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		v.Add("parent", "%v", err)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	o := hookOrders.Parse(&v, req.GetOrderBy())
	query := resource.Digest("hooks", req.GetParent(), hookOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.adminOf(ctx, region); err != nil {
		return nil, err
	}
	p, err := s.store.Scan(ctx, ns(region), store.Query{Index: "hooks", After: after, Limit: size, Reverse: o == 1})
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook subscriptions")
	}
	resp := &notifyv1.ListWebhookSubscriptionsResponse{}
	for _, it := range p.Items {
		h, err := decodeHook(it.Record)
		if err != nil {
			return nil, domain.Store(err, "WEBHOOK", "webhook subscriptions")
		}
		resp.Subscriptions = append(resp.Subscriptions, h.Sub)
	}
	if p.More && len(p.Items) > 0 {
		resp.NextPageToken = resource.EncodeToken(p.Items[len(p.Items)-1].Cursor, query)
	}
	return resp, nil
}

// UpdateWebhookSubscription implements notifyv1.NotificationServiceServer.
func (s *Server) UpdateWebhookSubscription(ctx context.Context, req *notifyv1.UpdateWebhookSubscriptionRequest) (*notifyv1.WebhookSubscription, error) {
	in := req.GetSubscription()
	who, region, h, err := s.loadHook(ctx, in.GetName())
	if err != nil {
		return nil, err
	}
	// create_time is output only: named in the mask, it is ignored (AIP-203).
	paths, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(req.GetUpdateMask().GetPaths()), func(f string) bool { return f == "create_time" })
	var v errs.Violations
	if len(paths) == 0 {
		v.Add("update_mask", "name the fields to change%s", resource.IgnoredNote(ignored, nil))
	}
	s.checkHook(&v, in, in.GetSecret(), paths)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if in.GetEtag() != "" && in.GetEtag() != h.Sub.GetEtag() {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "subscription %s was changed by someone else: read it again and retry", in.GetName())
	}
	for _, p := range paths {
		switch p {
		case "url":
			h.Sub.Url = in.GetUrl()
		case "event_types":
			h.Sub.EventTypes = in.GetEventTypes()
		case "secret":
			h.Secret = in.GetSecret()
		case "disabled":
			h.Sub.Disabled = in.GetDisabled()
		}
	}
	before := h.Sub.GetEtag()
	h.Sub.Etag = ""
	p, err := h.put(h.version)
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	res, err := s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{p},
		Events: []store.Event{{Time: s.now(), Actor: who.Subject, Action: "UpdateWebhookSubscription", Key: h.Sub.GetName(),
			EtagBefore: before, EtagAfter: strconv.FormatInt(h.version+1, 10), Detail: strings.Join(paths, ",")}}})
	if errors.Is(err, store.ErrConflict) {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "subscription %s was changed by someone else: read it again and retry", in.GetName())
	}
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	h.Sub.Etag = strconv.FormatInt(res.Versions[0], 10)
	return h.Sub, nil
}

// DeleteWebhookSubscription implements notifyv1.NotificationServiceServer.
func (s *Server) DeleteWebhookSubscription(ctx context.Context, req *notifyv1.DeleteWebhookSubscriptionRequest) (*notifyv1.DeleteWebhookSubscriptionResponse, error) {
	who, region, h, err := s.loadHook(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetEtag() != "" && req.GetEtag() != h.Sub.GetEtag() {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "subscription %s was changed by someone else: read it again and retry", req.GetName())
	}
	_, err = s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{{Key: hookKey(lastSegment(req.GetName())), Version: h.version, Delete: true}},
		Events: []store.Event{{Time: s.now(), Actor: who.Subject, Action: "DeleteWebhookSubscription", Key: req.GetName(), EtagBefore: h.Sub.GetEtag()}}})
	if errors.Is(err, store.ErrConflict) {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "subscription %s was changed by someone else: read it again and retry", req.GetName())
	}
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook subscription")
	}
	return &notifyv1.DeleteWebhookSubscriptionResponse{}, nil
}

// ListWebhookDeliveries implements notifyv1.NotificationServiceServer.
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *notifyv1.ListWebhookDeliveriesRequest) (*notifyv1.ListWebhookDeliveriesResponse, error) {
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := deliveryOrders.Parse(&v, req.GetOrderBy())
	query := resource.Digest("deliveries", req.GetParent(), req.GetState().String(), deliveryOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	_, region, h, err := s.loadHook(ctx, req.GetParent())
	if err != nil {
		return nil, err
	}
	subID := lastSegment(h.Sub.GetName())
	index := "deliveries"
	filter := req.GetState()
	if filter == notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED {
		index, filter = "dead", notifyv1.DeliveryState_DELIVERY_STATE_UNSPECIFIED
	}
	resp := &notifyv1.ListWebhookDeliveriesResponse{}
	q := store.Query{Index: index, Prefix: subID + "/", After: after, Limit: size, Reverse: o == 1}
	for len(resp.Deliveries) < size {
		p, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return nil, domain.Store(err, "WEBHOOK", "webhook deliveries")
		}
		for _, it := range p.Items {
			d, _, err := decodeDelivery(it.Record)
			if err != nil {
				return nil, domain.Store(err, "WEBHOOK", "webhook deliveries")
			}
			q.After = it.Cursor
			if filter == notifyv1.DeliveryState_DELIVERY_STATE_UNSPECIFIED || d.GetState() == filter {
				resp.Deliveries = append(resp.Deliveries, d)
				if len(resp.Deliveries) == size {
					break
				}
			}
		}
		if !p.More {
			return resp, nil
		}
	}
	resp.NextPageToken = resource.EncodeToken(q.After, query)
	return resp, nil
}

// RedeliverWebhookDelivery implements notifyv1.NotificationServiceServer.
func (s *Server) RedeliverWebhookDelivery(ctx context.Context, req *notifyv1.RedeliverWebhookDeliveryRequest) (*notifyv1.WebhookDelivery, error) {
	i := strings.Index(req.GetName(), "/deliveries/")
	if i < 0 {
		return nil, domain.New(codes.InvalidArgument, "BAD_NAME", "name %q is not of the form regions/{region}/webhookSubscriptions/{subscription}/deliveries/{delivery}", req.GetName())
	}
	who, region, h, err := s.loadHook(ctx, req.GetName()[:i])
	if err != nil {
		return nil, err
	}
	key := deliveryKey(lastSegment(h.Sub.GetName()), lastSegment(req.GetName()))
	rec, err := s.store.Get(ctx, ns(region), key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, domain.NotFound("WEBHOOK_DELIVERY_NOT_FOUND", "delivery %s not found", req.GetName())
	}
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook delivery")
	}
	d, body, err := decodeDelivery(rec)
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook delivery")
	}
	// Sent again from now, with a fresh 24 hours of retries.
	now := s.now()
	d.State, d.NextAttemptTime, d.CreateTime = notifyv1.DeliveryState_DELIVERY_STATE_PENDING, timestamppb.New(now), timestamppb.New(now)
	p, err := deliveryPut(d, body, rec.Version)
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook delivery")
	}
	_, err = s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{p},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "RedeliverWebhookDelivery", Key: d.GetName()}}})
	if errors.Is(err, store.ErrConflict) {
		return nil, domain.New(codes.Aborted, "DELIVERY_BUSY", "delivery %s is being sent right now: try again", req.GetName())
	}
	if err != nil {
		return nil, domain.Store(err, "WEBHOOK", "webhook delivery")
	}
	return d, nil
}
