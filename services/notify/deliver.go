package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	notifyv1 "github.com/innovationsmotorer/motor/proto/innovation/notify/v1"
)

// Deliver sends every mail and webhook delivery that is due, in every
// served region, and returns how many it attempted. A job is first claimed
// by compare-and-set (moving it a lease into the future), so of several
// replicas one sends it; a replica that dies after sending and before
// recording leaves the job to be sent again when the lease ends: at least
// once, with the same event id.
func (s *Server) Deliver(ctx context.Context) (int, error) {
	n := 0
	for _, region := range s.cfg.Regions.IDs() {
		for {
			now := s.now()
			p, err := s.store.Scan(ctx, ns(region), store.Query{Index: "due", Limit: 100})
			if err != nil {
				return n, fmt.Errorf("store.Scan due: %w", err)
			}
			// Up to 16 at a time: a slow receiver does not hold up the
			// others, and the embedded store batches their commits.
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				first error
				sem   = make(chan struct{}, 16)
				done  int
			)
			for _, it := range p.Items {
				if it.Term[:19] > sortable(now) {
					break
				}
				done++
				sem <- struct{}{}
				wg.Add(1)
				go func(rec store.Record) {
					defer func() { <-sem; wg.Done() }()
					ok, err := s.deliverOne(ctx, region, rec, now)
					mu.Lock()
					defer mu.Unlock()
					if err != nil && first == nil {
						first = err
					}
					if ok {
						n++
					}
				}(it.Record)
			}
			wg.Wait()
			if first != nil {
				return n, first
			}
			if done < len(p.Items) || !p.More || done == 0 {
				break
			}
		}
	}
	return n, nil
}

// lease is how long a claimed job is left to its claimant: longer than an
// attempt can take, so only a claimant that died loses it.
func (s *Server) lease() time.Duration { return 2*s.hooks.policy.Timeout + 10*time.Second }

func (s *Server) deliverOne(ctx context.Context, region string, rec store.Record, now time.Time) (bool, error) {
	switch {
	case strings.HasPrefix(rec.Key, "mail/"):
		return s.sendMail(ctx, region, rec, now)
	case strings.HasPrefix(rec.Key, "delivery/"):
		return s.sendHook(ctx, region, rec, now)
	}
	return false, nil
}

// commitJob writes a job's next state; a lost compare-and-set means
// another replica took it over, which is not an error.
func (s *Server) commitJob(ctx context.Context, region string, p store.Put) (int64, bool, error) {
	res, err := s.store.Commit(ctx, ns(region), store.Write{Puts: []store.Put{p}})
	if errors.Is(err, store.ErrConflict) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("store.Commit job: %w", err)
	}
	return res.Versions[0], true, nil
}

func (s *Server) sendMail(ctx context.Context, region string, rec store.Record, now time.Time) (bool, error) {
	var j mailJob
	if err := json.Unmarshal(rec.Value, &j); err != nil {
		return false, fmt.Errorf("mail job %s: %w", rec.Key, err)
	}
	version, ok, err := s.commitJob(ctx, region, j.put(rec.Version, now.Add(s.lease())))
	if err != nil || !ok {
		return false, err
	}
	drop := store.Put{Key: j.key(), Version: version, Delete: true}
	m, send, err := s.composeMail(ctx, region, j)
	if err != nil {
		return false, err
	}
	if !send {
		_, _, err := s.commitJob(ctx, region, drop)
		return false, err
	}
	if err := s.cfg.Mailer.Send(ctx, m); err != nil {
		j.Attempts++
		j.LastError = err.Error()
		if now.Sub(j.Created) > s.hooks.policy.GiveUp {
			s.logger.Error("notify: mail given up", "note", j.Note, "attempts", j.Attempts, "error", err)
			_, _, err := s.commitJob(ctx, region, drop)
			return true, err
		}
		s.logger.Warn("notify: mail failed; will retry", "note", j.Note, "attempts", j.Attempts, "error", err)
		_, _, err := s.commitJob(ctx, region, j.put(version, now.Add(s.hooks.gap(j.Attempts))))
		return true, err
	}
	_, _, err = s.commitJob(ctx, region, drop)
	return true, err
}

// composeMail reads what a mail says and to whom; send is false when it
// must not go out: no contact consent or address, the person turned e-mail
// off, the notification is gone.
func (s *Server) composeMail(ctx context.Context, region string, j mailJob) (Mail, bool, error) {
	n, err := s.readNote(ctx, region, j.Note)
	if errors.Is(err, store.ErrNotFound) {
		return Mail{}, false, nil
	}
	if err != nil {
		return Mail{}, false, err
	}
	set := &notifyv1.NotificationSettings{}
	if j.Subject != "" {
		if set, err = s.settings(ctx, region, j.Subject); err != nil {
			return Mail{}, false, err
		}
		if set.GetEmailDisabled() {
			return Mail{}, false, nil
		}
	}
	to := j.To
	if to == "" {
		// The submitter: mailed only with consent to contact, at the
		// address on the idea as it stands now.
		key, _ := recordKey(n.GetSubject())
		rec, err := s.store.Get(ctx, store.Namespace{Service: "idea", Region: region}, key)
		if errors.Is(err, store.ErrNotFound) {
			return Mail{}, false, nil
		}
		if err != nil {
			return Mail{}, false, fmt.Errorf("store.Get %s: %w", n.GetSubject(), err)
		}
		i := &ideav1.Idea{}
		if _, err := readRecord(rec.Value, i, "idea"); err != nil {
			return Mail{}, false, nil
		}
		if !i.GetConsent().GetContact() || i.GetSubmitter().GetEmail() == "" {
			return Mail{}, false, nil
		}
		to = i.GetSubmitter().GetEmail()
	}
	subject, body := mailText(n, set.GetLanguage(), s.cfg.PortalURL)
	return Mail{To: to, Subject: subject, Body: body, ID: id(n.GetName(), to) + "@motor", EventID: n.GetEventId()}, true, nil
}

func (s *Server) readNote(ctx context.Context, region, nid string) (*notifyv1.Notification, error) {
	rec, err := s.store.Get(ctx, ns(region), noteKey(nid))
	if err != nil {
		return nil, err
	}
	n := &notifyv1.Notification{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rec.Value, n); err != nil {
		return nil, fmt.Errorf("notification %s: %w", nid, err)
	}
	return n, nil
}

func (s *Server) sendHook(ctx context.Context, region string, rec store.Record, now time.Time) (bool, error) {
	d, body, err := decodeDelivery(rec)
	if err != nil {
		return false, err
	}
	subID := strings.Split(d.GetName(), "/")[3]
	hrec, err := s.store.Get(ctx, ns(region), hookKey(subID))
	if errors.Is(err, store.ErrNotFound) {
		// The subscription was deleted: its deliveries stop.
		_, _, err := s.commitJob(ctx, region, store.Put{Key: rec.Key, Version: rec.Version, Delete: true})
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("store.Get subscription: %w", err)
	}
	h, err := decodeHook(hrec)
	if err != nil {
		return false, err
	}
	d.NextAttemptTime = timestamppb.New(now.Add(s.lease()))
	claim, err := deliveryPut(d, body, rec.Version)
	if err != nil {
		return false, err
	}
	version, ok, err := s.commitJob(ctx, region, claim)
	if err != nil || !ok {
		return false, err
	}
	code, err := s.hooks.post(ctx, h.Sub.GetUrl(), h.Secret, body, now)
	a := &notifyv1.WebhookAttempt{Time: timestamppb.New(now), StatusCode: int32(code)}
	switch {
	case err == nil:
		d.State, d.NextAttemptTime = notifyv1.DeliveryState_DELIVERY_STATE_DELIVERED, nil
	default:
		a.Error = err.Error()
		next := now.Add(s.hooks.gap(len(d.GetAttempts()) + 1))
		if next.Sub(d.GetCreateTime().AsTime()) > s.hooks.policy.GiveUp {
			d.State, d.NextAttemptTime = notifyv1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED, nil
			s.logger.Warn("notify: webhook delivery dead-lettered", "delivery", d.GetName(), "attempts", len(d.GetAttempts())+1, "error", err)
		} else {
			d.NextAttemptTime = timestamppb.New(next)
		}
	}
	d.Attempts = append(d.Attempts, a)
	p, err := deliveryPut(d, body, version)
	if err != nil {
		return true, err
	}
	_, _, err = s.commitJob(ctx, region, p)
	return true, err
}
