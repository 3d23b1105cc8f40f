package audit

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/store"
	auditv1 "github.com/innovationsmotorer/motor/proto/innovation/audit/v1"
)

// Erased is what stands in an audit record's actor once the person who
// acted asked to be erased.
const Erased = "erased-person"

// maxEvents bounds a walk through one log; a region's log is far shorter.
const maxEvents = 10_000_000

// names reports whether an actor names subject: the subject itself, or a
// service acting for them ("svc for subject", Identity.Actor).
func names(actor, subject string) bool {
	return actor == subject || strings.HasSuffix(actor, " for "+subject)
}

// PersonEvents returns the events of ns whose actor names subject, oldest
// first, for a copy of a person's data.
func PersonEvents(ctx context.Context, st store.Store, ns store.Namespace, subject string) ([]*auditv1.AuditEvent, error) {
	var out []*auditv1.AuditEvent
	err := walk(ctx, st, ns, func(e store.Event) {
		if names(e.Actor, subject) {
			out = append(out, &auditv1.AuditEvent{
				Sequence: e.Seq, Time: timestamppb.New(e.Time), Actor: e.Actor, Action: e.Action,
				Resource: e.Key, EtagBefore: e.EtagBefore, EtagAfter: e.EtagAfter, Detail: e.Detail,
			})
		}
	})
	return out, err
}

// ErasePerson replaces every actor of ns that names subject with Erased,
// and returns how many events changed. A repeat changes nothing.
func ErasePerson(ctx context.Context, st store.Store, ns store.Namespace, subject string) (int, error) {
	if subject == "" {
		return 0, nil
	}
	actors := map[string]bool{subject: true}
	if err := walk(ctx, st, ns, func(e store.Event) {
		if names(e.Actor, subject) {
			actors[e.Actor] = true
		}
	}); err != nil {
		return 0, err
	}
	total := 0
	for a := range actors {
		n, err := st.RedactActor(ctx, ns, a, Erased)
		if err != nil {
			return total, fmt.Errorf("store.RedactActor: %w", err)
		}
		total += n
	}
	return total, nil
}

func walk(ctx context.Context, st store.Store, ns store.Namespace, f func(store.Event)) error {
	var after int64
	for seen := 0; seen < maxEvents; {
		evs, err := st.Events(ctx, ns, after, 1000)
		if err != nil {
			return fmt.Errorf("store.Events: %w", err)
		}
		for _, e := range evs {
			f(e)
			after = e.Seq
		}
		seen += len(evs)
		if len(evs) < 1000 {
			return nil
		}
	}
	return nil
}
