package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// personRequest checks an internal call about a person: a served region,
// a subject, and this process as the caller (access.go lets nobody else in).
func (s *Server) personRequest(ctx context.Context, parent, subject string) (string, error) {
	return resource.PersonRegion(ctx, domain, s.cfg.Regions, parent, subject)
}

// each calls f with every item of q, page by page.
func (s *Server) each(ctx context.Context, region string, q store.Query, f func(store.Item) error) error {
	q.Limit = 500
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return fmt.Errorf("store.Scan %s: %w", q.Index, err)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			if err := f(it); err != nil {
				return err
			}
		}
		if !page.More || len(page.Items) == 0 {
			return nil
		}
	}
}

// mailFor reports whether a waiting mail job goes to the person.
func mailFor(v []byte, subject, email string) bool {
	var j mailJob
	if json.Unmarshal(v, &j) != nil {
		return false
	}
	return j.Subject == subject || email != "" && strings.EqualFold(j.To, email)
}

// ExportPersonData returns the person's own inbox, their settings and how
// many mails to them wait to be sent.
func (s *Server) ExportPersonData(ctx context.Context, req *notifyv1.ExportPersonDataRequest) (*notifyv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	out := &notifyv1.ExportPersonDataResponse{}
	err = s.each(ctx, region, store.Query{Index: "inbox", Prefix: "person/" + sub + "/"}, func(it store.Item) error {
		n := &notifyv1.Notification{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(it.Record.Value, n); err != nil {
			return fmt.Errorf("notification %s: %w", it.Record.Key, err)
		}
		_, rerr := s.store.Get(ctx, ns(region), readKey(sub, lastSegment(n.GetName())))
		n.Read = rerr == nil
		n.Audience = "me"
		out.Notifications = append(out.Notifications, n)
		return nil
	})
	if err == nil {
		var version int64
		var set *notifyv1.NotificationSettings
		if set, version, err = s.loadSettings(ctx, region, sub); err == nil && version > 0 {
			out.Settings = set
		}
	}
	if err == nil {
		err = s.each(ctx, region, store.Query{Index: "due"}, func(it store.Item) error {
			if strings.HasPrefix(it.Record.Key, "mail/") && mailFor(it.Record.Value, sub, req.GetEmail()) {
				out.MailsPending++
			}
			return nil
		})
	}
	if err != nil {
		return nil, domain.Store(err, "NOTIFICATION", "notifications of a person")
	}
	return out, nil
}

// ErasePersonData deletes the person's inbox in person with its read
// marks, their read marks in the role inboxes, their settings and the mails
// to them not yet sent, and takes their subject out of the audit log.
// Notifications to roles stay: they name the resource, not the person.
func (s *Server) ErasePersonData(ctx context.Context, req *notifyv1.ErasePersonDataRequest) (*notifyv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	var dels []store.Put
	seen := map[string]bool{}
	del := func(rec store.Record) {
		if !seen[rec.Key] {
			seen[rec.Key] = true
			dels = append(dels, store.Put{Key: rec.Key, Version: rec.Version, Delete: true})
		}
	}
	get := func(key string) error {
		rec, err := s.store.Get(ctx, ns(region), key)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store.Get: %w", err)
		}
		del(rec)
		return nil
	}
	err = s.each(ctx, region, store.Query{Index: "inbox", Prefix: "person/" + sub + "/"}, func(it store.Item) error {
		del(it.Record)
		return get(readKey(sub, lastSegment(it.Record.Key)))
	})
	if err == nil {
		err = s.each(ctx, region, store.Query{Index: "read", Prefix: id(sub) + "/"}, func(it store.Item) error {
			del(it.Record)
			return nil
		})
	}
	if err == nil {
		err = s.each(ctx, region, store.Query{Index: "due"}, func(it store.Item) error {
			if strings.HasPrefix(it.Record.Key, "mail/") && mailFor(it.Record.Value, sub, req.GetEmail()) {
				del(it.Record)
			}
			return nil
		})
	}
	if err == nil {
		err = get(settingsKey(sub))
	}
	resp := &notifyv1.ErasePersonDataResponse{}
	for len(dels) > 0 && err == nil {
		batch := dels[:min(len(dels), 100)]
		dels = dels[len(batch):]
		_, err = s.store.Commit(ctx, ns(region), store.Write{Puts: batch})
		if errors.Is(err, store.ErrConflict) {
			// A delivery or a read mark moved on meanwhile: the caller's
			// retry finds what is left.
			err = fmt.Errorf("a record changed during the erasure; erase again: %w", err)
		}
		if err == nil {
			resp.RecordsChanged += int32(len(batch))
		}
	}
	if err == nil {
		var n int
		n, err = audit.ErasePerson(ctx, s.store, ns(region), sub)
		resp.AuditEventsRedacted = int32(n)
	}
	if err != nil {
		return nil, domain.Store(err, "NOTIFICATION", "notifications of a person")
	}
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
	return resp, nil
}
