package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// SignatureHeader carries a delivery's signature:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed by the secret>".
const SignatureHeader = "Motor-Signature"

// WebhookPolicy is where deliveries may go and how hard they are retried.
type WebhookPolicy struct {
	// AllowHTTP accepts http:// URLs (dev only; production is https only).
	AllowHTTP bool
	// AllowedHosts may resolve to loopback, link-local or private addresses;
	// every other host must resolve to a public address, checked when the
	// connection is made.
	AllowedHosts []string
	// Timeout of one attempt (default 10 s).
	Timeout time.Duration
	// FirstRetry is the gap after the first failure (default 30 s); each
	// next gap doubles, with ±20 % jitter, up to MaxGap (default 1 h).
	FirstRetry, MaxGap time.Duration
	// GiveUp ends retries this long after the first attempt (default 24 h):
	// the delivery is dead-lettered.
	GiveUp time.Duration
}

type webhookClient struct {
	policy  WebhookPolicy
	open    *http.Client // for allowed hosts
	guarded *http.Client // every other host: public addresses only
}

func newWebhookClient(p WebhookPolicy) *webhookClient {
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	if p.FirstRetry <= 0 {
		p.FirstRetry = 30 * time.Second
	}
	if p.MaxGap <= 0 {
		p.MaxGap = time.Hour
	}
	if p.GiveUp <= 0 {
		p.GiveUp = 24 * time.Hour
	}
	client := func(control func(network, address string, c syscall.RawConn) error) *http.Client {
		d := &net.Dialer{Timeout: p.Timeout, Control: control}
		tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: p.Timeout, ResponseHeaderTimeout: p.Timeout, MaxIdleConnsPerHost: 4}
		return &http.Client{Transport: tr, Timeout: p.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect could lead anywhere
		}}
	}
	return &webhookClient{policy: p, open: client(nil), guarded: client(publicOnly)}
}

// publicOnly refuses a connection to an address that is not a public one.
// It runs on the resolved address at dial time, so a name that resolves
// to a private address (or is changed to, after the URL was checked) is
// refused all the same.
func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook: %q is not an IP address", host)
	}
	if !public(ip) {
		return fmt.Errorf("webhook: address %s is not public (loopback, private or link-local); allow its host in the deployment config to deliver there", ip)
	}
	return nil
}

func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(ip) && !netip.MustParsePrefix("fc00::/7").Contains(ip)
}

// checkURL says what is wrong with a subscription URL ("" when nothing).
func (c *webhookClient) checkURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return "must be an absolute URL"
	case u.Scheme == "http" && !c.policy.AllowHTTP:
		return "must use https"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must use https"
	case u.User != nil:
		return "must not carry credentials"
	}
	if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && !public(ip) && !c.allowed(u.Hostname()) {
		return "points at a loopback, private or link-local address; the deployment config must allow the host"
	}
	return ""
}

func (c *webhookClient) allowed(host string) bool {
	return slices.Contains(c.policy.AllowedHosts, strings.ToLower(host))
}

// Sign returns the signature header value of body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// post makes one attempt; it returns the HTTP status (0 without an answer).
func (c *webhookClient) post(ctx context.Context, rawURL, secret string, body []byte, now time.Time) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, err
	}
	if msg := c.checkURL(rawURL); msg != "" {
		return 0, fmt.Errorf("webhook URL %s", msg)
	}
	client := c.guarded
	if c.allowed(u.Hostname()) {
		client = c.open
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	req.Header.Set(SignatureHeader, Sign(secret, now, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// gap is the wait after the n-th failed attempt.
func (c *webhookClient) gap(n int) time.Duration {
	g := c.policy.FirstRetry
	for i := 1; i < n && g < c.policy.MaxGap; i++ {
		g *= 2
	}
	g = min(g, c.policy.MaxGap)
	jitter := time.Duration((rand.Float64()*0.4 - 0.2) * float64(g))
	return g + jitter
}

// hook is a subscription as stored.
type hook struct {
	Sub *notifyv1.WebhookSubscription
	// Secret is kept apart from the resource, which never carries it out.
	Secret  string
	version int64
}

func (h *hook) wants(typ string) bool {
	return !h.Sub.GetDisabled() && (len(h.Sub.GetEventTypes()) == 0 || slices.Contains(h.Sub.GetEventTypes(), typ))
}

type storedHook struct {
	Sub    json.RawMessage `json:"sub"`
	Secret string          `json:"secret"`
}

func hookKey(subID string) string { return "hook/" + subID }

func decodeHook(rec store.Record) (*hook, error) {
	var st storedHook
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return nil, fmt.Errorf("webhook subscription %s: %w", rec.Key, err)
	}
	h := &hook{Sub: &notifyv1.WebhookSubscription{}, Secret: st.Secret, version: rec.Version}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(st.Sub, h.Sub); err != nil {
		return nil, fmt.Errorf("webhook subscription %s: %w", rec.Key, err)
	}
	h.Sub.Etag = strconv.FormatInt(rec.Version, 10)
	return h, nil
}

func (h *hook) put(version int64) (store.Put, error) {
	sub, err := protojson.Marshal(h.Sub)
	if err != nil {
		return store.Put{}, err
	}
	v, _ := json.Marshal(storedHook{Sub: sub, Secret: h.Secret})
	return store.Put{Key: hookKey(lastSegment(h.Sub.GetName())), Value: v, Version: version,
		Index: []store.IndexEntry{{Index: "hooks", Term: lastSegment(h.Sub.GetName())}}}, nil
}

func lastSegment(name string) string { return name[strings.LastIndex(name, "/")+1:] }

// subscriptions are the region's webhook subscriptions.
func (s *Server) subscriptions(ctx context.Context, region string) ([]*hook, error) {
	var out []*hook
	q := store.Query{Index: "hooks", Limit: 1000}
	for {
		p, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return nil, fmt.Errorf("store.Scan hooks: %w", err)
		}
		for _, it := range p.Items {
			h, err := decodeHook(it.Record)
			if err != nil {
				return nil, err
			}
			out = append(out, h)
			q.After = it.Cursor
		}
		if !p.More {
			return out, nil
		}
	}
}

// delivery is one event on its way to one subscription, with its body
// fixed when it was made, so every attempt sends the same bytes.
type delivery struct {
	D    json.RawMessage `json:"d"`
	Body []byte          `json:"body"`
}

func deliveryKey(subID, did string) string { return "delivery/" + subID + "/" + did }

// cloudEvent is the CloudEvents 1.0 structured JSON of a notification.
type cloudEvent struct {
	SpecVersion     string            `json:"specversion"`
	ID              string            `json:"id"`
	Source          string            `json:"source"`
	Type            string            `json:"type"`
	Subject         string            `json:"subject"`
	Time            string            `json:"time"`
	DataContentType string            `json:"datacontenttype"`
	Data            map[string]string `json:"data"`
}

func newDelivery(h *hook, n *notifyv1.Notification, region string, now time.Time) (store.Put, error) {
	data := map[string]string{}
	for k, v := range n.GetDetails() {
		if k != "rationale" { // the submitter's to read, not the region's systems'
			data[k] = v
		}
	}
	body, err := json.Marshal(cloudEvent{
		SpecVersion: "1.0", ID: n.GetEventId(), Source: "/motor/regions/" + region, Type: n.GetType(), Subject: n.GetSubject(),
		Time: n.GetCreateTime().AsTime().UTC().Format(time.RFC3339Nano), DataContentType: "application/json", Data: data,
	})
	if err != nil {
		return store.Put{}, err
	}
	did := id(n.GetEventId(), n.GetType())
	d := &notifyv1.WebhookDelivery{
		Name: h.Sub.GetName() + "/deliveries/" + did, EventId: n.GetEventId(), Type: n.GetType(),
		State: notifyv1.DeliveryState_DELIVERY_STATE_PENDING, NextAttemptTime: timestamppb.New(now), CreateTime: timestamppb.New(now),
	}
	return deliveryPut(d, body, 0)
}

func deliveryPut(d *notifyv1.WebhookDelivery, body []byte, version int64) (store.Put, error) {
	dj, err := protojson.Marshal(d)
	if err != nil {
		return store.Put{}, err
	}
	v, _ := json.Marshal(delivery{D: dj, Body: body})
	p := strings.Split(d.GetName(), "/")
	subID, did := p[3], p[5]
	key := deliveryKey(subID, did)
	idx := []store.IndexEntry{{Index: "deliveries", Term: subID + "/" + newestFirst(d.GetCreateTime().AsTime()) + "/" + did}}
	switch d.GetState() {
	case notifyv1.DeliveryState_DELIVERY_STATE_PENDING:
		idx = append(idx, dueEntry(d.GetNextAttemptTime().AsTime(), key))
	case notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED:
		idx = append(idx, store.IndexEntry{Index: "dead", Term: subID + "/" + newestFirst(d.GetCreateTime().AsTime()) + "/" + did})
	}
	return store.Put{Key: key, Value: v, Version: version, Index: idx}, nil
}

func decodeDelivery(rec store.Record) (*notifyv1.WebhookDelivery, []byte, error) {
	var st delivery
	if err := json.Unmarshal(rec.Value, &st); err != nil {
		return nil, nil, fmt.Errorf("delivery %s: %w", rec.Key, err)
	}
	d := &notifyv1.WebhookDelivery{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(st.D, d); err != nil {
		return nil, nil, fmt.Errorf("delivery %s: %w", rec.Key, err)
	}
	return d, st.Body, nil
}
