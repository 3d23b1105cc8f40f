package funding

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/backlink"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// A subproject's ideas and needs are the subproject's links; the idea shows
// the subproject among its linked_from, the need among its referenced_by.
// Every write of a subproject commits, with it, a message in the
// subproject's outbox for each idea or need it added or dropped, delivered
// right after the commit by the reference clients (as this deployment) and
// swept again until the owning service has it (internal/backlink).

// linkedRefs are the ideas and needs a subproject links to.
func linkedRefs(ideas, needs []string) []string {
	return append(append([]string(nil), ideas...), needs...)
}

// backlinkPuts returns the outbox puts and messages of a subproject's write
// from the references it had (before) to the ones it has (after), at the
// version the write gives it.
func backlinkPuts(source string, before, after []string, version int64) ([]store.Put, []backlink.Message, error) {
	msgs := backlink.Changes(source, before, after, version)
	puts := make([]store.Put, 0, len(msgs))
	for _, m := range msgs {
		p, err := backlink.Outbox(m)
		if err != nil {
			return nil, nil, err
		}
		puts = append(puts, p)
	}
	return puts, msgs, nil
}

// flushBacklinks delivers what a write just committed; a failure leaves it
// in the outbox for the sweep, and the write stands.
func (s *Subprojects) flushBacklinks(ctx context.Context, region string, msgs []backlink.Message) {
	if len(msgs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.refTimeout())
	defer cancel()
	if err := backlink.Flush(ctx, s.store, s.subprojects.NS(region), s.deliverBacklink, msgs...); err != nil {
		s.logger.Warn("back-reference left in the outbox for the sweep", "region", region, "error", err)
	}
}

func (s *Subprojects) refTimeout() time.Duration {
	if s.refs.Timeout > 0 {
		return s.refs.Timeout
	}
	return 5 * time.Second
}

// deliverBacklink hands a message to the idea or the needs service. A
// deployment without that service's client (funding run alone) keeps the
// message for the day it has one.
func (s *Subprojects) deliverBacklink(ctx context.Context, m backlink.Message) error {
	switch {
	case strings.Contains(m.Target, "/ideas/") && s.refs.Ideas != nil:
		_, err := s.refs.Ideas.SetBacklink(ctx, &ideav1.SetBacklinkRequest{Target: m.Target, Source: m.Source, Linked: m.Linked, SourceVersion: m.Version})
		return err
	case strings.Contains(m.Target, "/needs/") && s.refs.Needs != nil:
		_, err := s.refs.Needs.SetBacklink(ctx, &needsv1.SetBacklinkRequest{Target: m.Target, Source: m.Source, Linked: m.Linked, SourceVersion: m.Version})
		return err
	}
	// No client of the target's service: UNAVAILABLE keeps the message.
	return status.Errorf(codes.Unavailable, "funding.deliverBacklink: no client for %s", m.Target)
}

// RunBacklinkSweep delivers what the outbox of every served region still
// holds, every interval, until ctx ends.
func (s *Subprojects) RunBacklinkSweep(ctx context.Context, interval time.Duration) {
	var nss []store.Namespace
	for _, region := range s.regions.IDs() {
		nss = append(nss, s.subprojects.NS(region))
	}
	logger := s.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	backlink.Run(ctx, interval, s.store, nss, s.deliverBacklink, logger)
}

// SweepBacklinks delivers what region's outbox holds once and returns how
// many messages still wait.
func (s *Subprojects) SweepBacklinks(ctx context.Context, region string) (int64, error) {
	if _, _, err := backlink.Sweep(ctx, s.store, s.subprojects.NS(region), s.deliverBacklink, 1000); err != nil {
		return 0, err
	}
	return backlink.Pending(ctx, s.store, s.subprojects.NS(region))
}
