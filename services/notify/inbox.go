package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// source is one inbox a caller reads: an audience in one region's store.
type source struct {
	region, audience string
}

// inboxes are the caller's inboxes for parent: in a region, their own and
// those of the roles they hold there; in "national", the coordinators' of
// every served region (the events happened there).
func (s *Server) inboxes(ctx context.Context, parent string) (*auth.Identity, []source, error) {
	region, err := resource.ParseRegion(parent)
	if err != nil {
		return nil, nil, domain.InvalidArgument("parent", err)
	}
	if region == auth.NationalRegion {
		who, err := auth.Require(ctx, region, auth.Coordinator)
		if err != nil {
			return nil, nil, err
		}
		var out []source
		for _, r := range s.cfg.Regions.IDs() {
			out = append(out, source{r, "role/" + string(auth.Coordinator)})
		}
		return who, out, nil
	}
	if err := resource.Served(domain, s.cfg.Regions, region); err != nil {
		return nil, nil, err
	}
	who, err := auth.Require(ctx, region, auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner)
	if err != nil {
		return nil, nil, err
	}
	out := []source{{region, "person/" + who.Subject}}
	if who.Has(auth.Advisor) {
		out = append(out, source{region, "role/" + string(auth.Advisor)})
	}
	if who.Has(auth.RegionAdmin) {
		out = append(out, source{region, "role/" + string(auth.RegionAdmin)})
	}
	if who.Has(auth.Partner) && strings.HasPrefix(who.Partner, "regions/"+region+"/partners/") {
		out = append(out, source{region, "partner/" + who.Partner})
	}
	return who, out, nil
}

func readKey(sub, nid string) string { return "read/" + id(sub) + "/" + nid }

func readTerm(sub, aud, nid string) string { return id(sub) + "/" + aud + "/" + nid }

// The orders of an inbox: newest first, as its index is kept, or oldest
// first, each inbox scanned backwards.
var notificationOrders = resource.Orders{"create_time desc", "create_time"}

// ListNotifications implements notifyv1.NotificationServiceServer.
func (s *Server) ListNotifications(ctx context.Context, req *notifyv1.ListNotificationsRequest) (*notifyv1.ListNotificationsResponse, error) {
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := notificationOrders.Parse(&v, req.GetOrderBy())
	oldestFirst := o == 1
	query := resource.Digest("notifications", req.GetParent(), strconv.FormatBool(req.GetUnreadOnly()), notificationOrders[o])
	after := map[int]string{}
	if tok := resource.DecodeToken(&v, req.GetPageToken(), query); tok != "" {
		if json.Unmarshal([]byte(tok), &after) != nil {
			v.Add("page_token", "is not a page token returned by this list")
		}
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	who, srcs, err := s.inboxes(ctx, req.GetParent())
	if err != nil {
		return nil, err
	}
	// Merge the inboxes newest first: a page of each, then the newest of
	// all, remembering where each inbox stopped. Oldest first is the same
	// merge of the inboxes scanned backwards.
	type hit struct {
		src  int
		item store.Item
	}
	var hits []hit
	more := map[int]bool{}
	for i, src := range srcs {
		if after[i] == "-" {
			continue // this inbox was read to its end
		}
		p, err := s.store.Scan(ctx, ns(src.region), store.Query{Index: "inbox", Prefix: src.audience + "/", After: after[i], Limit: size, Reverse: oldestFirst})
		if err != nil {
			return nil, domain.Store(err, "NOTIFICATION", "notifications")
		}
		more[i] = p.More
		for _, it := range p.Items {
			hits = append(hits, hit{i, it})
		}
	}
	stamp := func(h hit) string { return strings.TrimPrefix(h.item.Term, srcs[h.src].audience+"/") }
	slices.SortStableFunc(hits, func(a, b hit) int {
		if oldestFirst {
			return strings.Compare(stamp(b), stamp(a))
		}
		return strings.Compare(stamp(a), stamp(b))
	})
	resp := &notifyv1.ListNotificationsResponse{}
	next := map[int]string{}
	for i := range srcs {
		next[i] = after[i]
	}
	taken := hits
	if len(hits) > size {
		taken = hits[:size]
	}
	for _, h := range taken {
		next[h.src] = h.item.Cursor
		n, err := s.present(ctx, who, srcs[h.src], h.item.Record)
		if err != nil {
			return nil, err
		}
		if req.GetUnreadOnly() && n.GetRead() {
			continue
		}
		resp.Notifications = append(resp.Notifications, n)
	}
	rest := len(hits) > size
	for i := range srcs {
		if !more[i] && next[i] != "-" {
			// Whatever this inbox had is taken or on the next page.
			if !slices.ContainsFunc(hits[len(taken):], func(h hit) bool { return h.src == i }) {
				next[i] = "-"
			}
		}
		if more[i] {
			rest = true
		}
	}
	if rest {
		b, _ := json.Marshal(next)
		resp.NextPageToken = resource.EncodeToken(string(b), query)
	}
	if resp.UnreadCount, err = s.unread(ctx, who, srcs); err != nil {
		return nil, err
	}
	return resp, nil
}

// present is a stored notification as its reader sees it, with their own
// read mark.
func (s *Server) present(ctx context.Context, who *auth.Identity, src source, rec store.Record) (*notifyv1.Notification, error) {
	n := &notifyv1.Notification{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rec.Value, n); err != nil {
		return nil, domain.Store(err, "NOTIFICATION", "notification "+rec.Key)
	}
	_, err := s.store.Get(ctx, ns(src.region), readKey(who.Subject, lastSegment(n.GetName())))
	switch {
	case err == nil:
		n.Read = true
	case !errors.Is(err, store.ErrNotFound):
		return nil, domain.Store(err, "NOTIFICATION", "read marks")
	}
	if strings.HasPrefix(n.GetAudience(), "person/") {
		n.Audience = "me"
	}
	return n, nil
}

func (s *Server) unread(ctx context.Context, who *auth.Identity, srcs []source) (int64, error) {
	var total int64
	for _, src := range srcs {
		all, err := s.store.Count(ctx, ns(src.region), "inbox", src.audience+"/")
		if err != nil {
			return 0, domain.Store(err, "NOTIFICATION", "notifications")
		}
		read, err := s.store.Count(ctx, ns(src.region), "read", id(who.Subject)+"/"+src.audience+"/")
		if err != nil {
			return 0, domain.Store(err, "NOTIFICATION", "read marks")
		}
		total += max(all-read, 0)
	}
	return total, nil
}

// MarkNotificationsRead implements notifyv1.NotificationServiceServer.
func (s *Server) MarkNotificationsRead(ctx context.Context, req *notifyv1.MarkNotificationsReadRequest) (*notifyv1.MarkNotificationsReadResponse, error) {
	who, srcs, err := s.inboxes(ctx, req.GetParent())
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if len(req.GetNames()) == 0 && !req.GetAll() {
		v.Add("names", "name the notifications to mark, or set all")
	}
	if len(req.GetNames()) > resource.MaxPageSize {
		v.Add("names", "at most %d at a time", resource.MaxPageSize)
	}
	type mark struct{ region, nid string }
	var marks []mark
	for i, name := range req.GetNames() {
		ids, err := resource.Split(name, "regions", "notifications")
		if err != nil {
			v.Add(fmt.Sprintf("names[%d]", i), "%v", err)
			continue
		}
		marks = append(marks, mark{ids[0], ids[1]})
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	mine := func(region, aud string) bool {
		return slices.Contains(srcs, source{region, aud})
	}
	for _, m := range marks {
		if !slices.ContainsFunc(srcs, func(src source) bool { return src.region == m.region }) {
			return nil, domain.NotFound("NOTIFICATION_NOT_FOUND", "notification regions/%s/notifications/%s not found", m.region, m.nid)
		}
		n, err := s.readNote(ctx, m.region, m.nid)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !mine(m.region, n.GetAudience())) {
			// Someone else's: as if it did not exist.
			return nil, domain.NotFound("NOTIFICATION_NOT_FOUND", "notification regions/%s/notifications/%s not found", m.region, m.nid)
		}
		if err != nil {
			return nil, domain.Store(err, "NOTIFICATION", "notification")
		}
		if err := s.markRead(ctx, who, m.region, n.GetAudience(), m.nid); err != nil {
			return nil, err
		}
	}
	if req.GetAll() {
		for _, src := range srcs {
			q := store.Query{Index: "inbox", Prefix: src.audience + "/", Limit: 1000}
			for {
				p, err := s.store.Scan(ctx, ns(src.region), q)
				if err != nil {
					return nil, domain.Store(err, "NOTIFICATION", "notifications")
				}
				for _, it := range p.Items {
					if err := s.markRead(ctx, who, src.region, src.audience, it.Record.Key[len("note/"):]); err != nil {
						return nil, err
					}
					q.After = it.Cursor
				}
				if !p.More {
					break
				}
			}
		}
	}
	count, err := s.unread(ctx, who, srcs)
	if err != nil {
		return nil, err
	}
	return &notifyv1.MarkNotificationsReadResponse{UnreadCount: count}, nil
}

func (s *Server) markRead(ctx context.Context, who *auth.Identity, region, aud, nid string) error {
	_, err := s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{{
		Key: readKey(who.Subject, nid), Value: []byte("{}"),
		Index: []store.IndexEntry{{Index: "read", Term: readTerm(who.Subject, aud, nid)}},
	}}})
	if err != nil && !errors.Is(err, store.ErrExists) {
		return domain.Store(err, "NOTIFICATION", "read marks")
	}
	return nil
}

// settingsName parses regions/{region}/users/{user}/notificationSettings
// and checks that the user is the caller.
func (s *Server) settingsName(ctx context.Context, name string) (*auth.Identity, string, error) {
	ids, err := resource.Split(strings.TrimSuffix(name, "/notificationSettings"), "regions", "users")
	if err != nil || !strings.HasSuffix(name, "/notificationSettings") {
		return nil, "", domain.New(codes.InvalidArgument, "BAD_NAME", "name %q is not of the form regions/{region}/users/{user}/notificationSettings", name)
	}
	region := ids[0]
	if err := resource.Served(domain, s.cfg.Regions, region); err != nil {
		return nil, "", err
	}
	who, err := auth.Require(ctx, region, auth.Submitter, auth.Advisor, auth.RegionAdmin, auth.Partner, auth.Coordinator)
	if err != nil {
		return nil, "", err
	}
	if ids[1] != "me" && ids[1] != who.Subject {
		return nil, "", domain.New(codes.PermissionDenied, "OTHER_USER", "you may read and change only your own notification settings")
	}
	return who, region, nil
}

func settingsKey(sub string) string { return "settings/" + id(sub) }

// settings are a person's settings in a region (the defaults when unset).
func (s *Server) settings(ctx context.Context, region, sub string) (*notifyv1.NotificationSettings, error) {
	set, _, err := s.loadSettings(ctx, region, sub)
	return set, err
}

func (s *Server) loadSettings(ctx context.Context, region, sub string) (*notifyv1.NotificationSettings, int64, error) {
	set := &notifyv1.NotificationSettings{Name: "regions/" + region + "/users/" + sub + "/notificationSettings", Language: "sv"}
	rec, err := s.store.Get(ctx, ns(region), settingsKey(sub))
	if errors.Is(err, store.ErrNotFound) {
		set.Etag = "0"
		return set, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store.Get settings: %w", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rec.Value, set); err != nil {
		return nil, 0, fmt.Errorf("settings: %w", err)
	}
	set.Etag = strconv.FormatInt(rec.Version, 10)
	return set, rec.Version, nil
}

// GetNotificationSettings implements notifyv1.NotificationServiceServer.
func (s *Server) GetNotificationSettings(ctx context.Context, req *notifyv1.GetNotificationSettingsRequest) (*notifyv1.NotificationSettings, error) {
	who, region, err := s.settingsName(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	set, err := s.settings(ctx, region, who.Subject)
	if err != nil {
		return nil, domain.Store(err, "SETTINGS", "notification settings")
	}
	return set, nil
}

// UpdateNotificationSettings implements notifyv1.NotificationServiceServer.
func (s *Server) UpdateNotificationSettings(ctx context.Context, req *notifyv1.UpdateNotificationSettingsRequest) (*notifyv1.NotificationSettings, error) {
	who, region, err := s.settingsName(ctx, req.GetSettings().GetName())
	if err != nil {
		return nil, err
	}
	in := req.GetSettings()
	paths := resource.UpdatePaths(req.GetUpdateMask().GetPaths())
	var v errs.Violations
	if len(paths) == 0 {
		v.Add("update_mask", "name the fields to change (email_disabled, language)")
	}
	for _, p := range paths {
		switch p {
		case "email_disabled":
		case "language":
			if in.GetLanguage() != "sv" && in.GetLanguage() != "en" {
				v.Add("settings.language", "must be sv or en")
			}
		default:
			v.Add("update_mask", "%q cannot be changed (email_disabled, language)", p)
		}
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	set, version, err := s.loadSettings(ctx, region, who.Subject)
	if err != nil {
		return nil, domain.Store(err, "SETTINGS", "notification settings")
	}
	if in.GetEtag() != "" && in.GetEtag() != set.GetEtag() {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "your notification settings were changed elsewhere: read them again and retry")
	}
	for _, p := range paths {
		switch p {
		case "email_disabled":
			set.EmailDisabled = in.GetEmailDisabled()
		case "language":
			set.Language = in.GetLanguage()
		}
	}
	set.Etag = ""
	b, err := protojson.Marshal(set)
	if err != nil {
		return nil, domain.Store(err, "SETTINGS", "notification settings")
	}
	res, err := s.store.Commit(ctx, ns(region), store.Write{
		Puts: []store.Put{{Key: settingsKey(who.Subject), Value: b, Version: version}},
		// The event names the settings as "me": a person changes only
		// their own, the actor says whose, and an erasure can redact an
		// actor but not a key.
		Events: []store.Event{{Time: s.now(), Actor: who.Subject, Action: "UpdateNotificationSettings", Key: "regions/" + region + "/users/me/notificationSettings", EtagBefore: strconv.FormatInt(version, 10), EtagAfter: strconv.FormatInt(version+1, 10)}},
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "your notification settings were changed elsewhere: read them again and retry")
	}
	if err != nil {
		return nil, domain.Store(err, "SETTINGS", "notification settings")
	}
	set.Etag = strconv.FormatInt(res.Versions[0], 10)
	return set, nil
}
