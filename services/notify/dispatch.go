package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/store"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// batch is how many audit events one dispatch step reads and commits.
const batch = 100

// cursorKey keeps how far the dispatcher of one service has read the
// region's audit log. It lives in the notify namespace of the region, so it
// commits atomically with the notifications of the events it passes.
func cursorKey(service string) string { return "cursor/" + service }

type cursor struct {
	Seq int64 `json:"seq"`
}

// EventID names an audit event across services and regions.
func EventID(service, region string, seq int64) string {
	return service + ":" + region + ":" + strconv.FormatInt(seq, 10)
}

// Dispatch turns the audit events of service in region written since the
// cursor into notifications and delivery jobs, committing them with the
// moved cursor (compare-and-set: when another replica moved it first, the
// step is read again). It returns how many events it passed.
func (s *Server) Dispatch(ctx context.Context, service, region string) (int, error) {
	passed := 0
	for conflicts := 0; ; {
		rec, err := s.store.Get(ctx, ns(region), cursorKey(service))
		var cur cursor
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return passed, fmt.Errorf("store.Get cursor: %w", err)
		default:
			if err := json.Unmarshal(rec.Value, &cur); err != nil {
				return passed, fmt.Errorf("cursor of %s in %s: %w", service, region, err)
			}
		}
		evs, err := s.store.Events(ctx, store.Namespace{Service: service, Region: region}, cur.Seq, batch)
		if err != nil {
			return passed, fmt.Errorf("store.Events: %w", err)
		}
		if len(evs) == 0 {
			return passed, nil
		}
		hooks, err := s.subscriptions(ctx, region)
		if err != nil {
			return passed, err
		}
		var puts []store.Put
		for _, ev := range evs {
			if service == "idea" && ev.Action == "EraseSubmitter" {
				if puts, err = s.forget(ctx, region, ev.Key, puts); err != nil {
					return passed, err
				}
				continue
			}
			r, ok := ruleFor(service, ev)
			if !ok {
				continue
			}
			f, err := s.readFacts(ctx, service, region, ev, r)
			if err != nil {
				return passed, err
			}
			p, err := s.notice(region, EventID(service, region, ev.Seq), ev.Key, r, f, ev.Time, hooks)
			if err != nil {
				return passed, err
			}
			puts = append(puts, p...)
		}
		next, _ := json.Marshal(cursor{Seq: evs[len(evs)-1].Seq})
		puts = append(puts, store.Put{Key: cursorKey(service), Value: next, Version: rec.Version})
		_, err = s.store.Commit(ctx, ns(region), store.Write{Puts: puts})
		// Another replica passed these events first: the store may say so
		// of the cursor (a version conflict) or of a notification it wrote
		// with it (exists), whichever it checks first.
		if (errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists)) && conflicts < 100 {
			conflicts++
			continue
		}
		if err != nil {
			return passed, fmt.Errorf("store.Commit notifications: %w", err)
		}
		passed += len(evs)
		if len(evs) < batch {
			return passed, nil
		}
	}
}

// notice builds what one rule firing writes: the notification in the
// audience's inbox, a mail job per recipient and a delivery per matching
// webhook subscription. Everything is named after eventID, so writing it
// twice collapses.
func (s *Server) notice(region, eventID, subject string, r rule, f facts, at time.Time, hooks []*hook) ([]store.Put, error) {
	aud := audienceKey(r.To, f)
	if aud == "" {
		return nil, nil
	}
	if at.IsZero() {
		at = s.now()
	}
	details := f.details
	if f.title != "" {
		details["title"] = f.title
	}
	if r.To != toSubmitter {
		// The rationale of a decision on an idea is the submitter's to read.
		delete(details, "rationale")
	}
	nid := id(eventID, r.Type)
	sv, en := summaries(r.Type, details)
	n := &notifyv1.Notification{
		Name: "regions/" + region + "/notifications/" + nid, Type: r.Type, Subject: subject, EventId: eventID,
		SummarySv: sv, SummaryEn: en, Details: details, Audience: aud, CreateTime: timestamppb.New(at),
	}
	v, err := protojson.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("protojson.Marshal: %w", err)
	}
	puts := []store.Put{{Key: noteKey(nid), Value: v, Index: []store.IndexEntry{
		{Index: "inbox", Term: aud + "/" + newestFirst(at) + "/" + nid},
		{Index: "about", Term: subject + "/" + nid},
	}}}
	now := s.now()
	for _, to := range s.mailTargets(region, r.To, f) {
		j := mailJob{Note: nid, To: to.Address, Subject: to.Subject, Created: now}
		puts = append(puts, j.put(0, now))
	}
	for _, h := range hooks {
		if !h.wants(r.Type) {
			continue
		}
		p, err := newDelivery(h, n, region, now)
		if err != nil {
			return nil, err
		}
		puts = append(puts, p)
	}
	return puts, nil
}

func noteKey(nid string) string { return "note/" + nid }

// forget removes what the inbox keeps of an idea's submitter when they are
// erased: the notifications addressed to them in person, their read marks
// and the mails not yet sent. It adds the deletions to puts, the step's
// writes, and drops from puts what the step itself was about to write for
// them.
func (s *Server) forget(ctx context.Context, region, subject string, puts []store.Put) ([]store.Put, error) {
	personal := func(v []byte) (*notifyv1.Notification, bool) {
		n := &notifyv1.Notification{}
		if (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(v, n) != nil {
			return nil, false
		}
		return n, n.GetSubject() == subject && strings.HasPrefix(n.GetAudience(), "person/")
	}
	drop := map[string]bool{}
	for _, p := range puts {
		if strings.HasPrefix(p.Key, "note/") && !p.Delete {
			if _, ok := personal(p.Value); ok {
				drop[p.Key] = true
				drop["mail/"+p.Key[len("note/"):]] = true
			}
		}
	}
	kept := puts[:0]
	for _, p := range puts {
		if !drop[p.Key] && !drop[p.Key[:min(len(p.Key), len("mail/")+20)]] {
			kept = append(kept, p)
		}
	}
	puts = kept
	q := store.Query{Index: "about", Prefix: subject + "/", Limit: 1000}
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return nil, fmt.Errorf("store.Scan about: %w", err)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			n, ok := personal(it.Record.Value)
			if !ok || slices.ContainsFunc(puts, func(p store.Put) bool { return p.Key == it.Record.Key }) {
				continue
			}
			sub := strings.TrimPrefix(n.GetAudience(), "person/")
			nid := lastSegment(n.GetName())
			puts = append(puts, store.Put{Key: it.Record.Key, Version: it.Record.Version, Delete: true})
			for _, key := range []string{readKey(sub, nid), mailJob{Note: nid, Subject: sub}.key()} {
				rec, err := s.store.Get(ctx, ns(region), key)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("store.Get %s: %w", key, err)
				}
				puts = append(puts, store.Put{Key: key, Version: rec.Version, Delete: true})
			}
		}
		if !page.More {
			return puts, nil
		}
	}
}
