package idea

import (
	"context"
	"time"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// erasedActor replaces a subject that asked to be erased, wherever it stood.
const erasedActor = "erased-submitter"

// EraseSubmitter removes the submitter's personal data from the idea (name,
// e-mail, phone, workplace, consent), from its history (their subject and
// name on the moves they made) and from the region's audit log (their subject
// as actor), and keeps the idea. The submitter or a region admin may ask.
//
// The audit log is redacted before the idea changes, so a failure there
// leaves the idea as it was and a retry starts over; once the idea no longer
// names its submitter nothing could find their events again.
func (s *Server) EraseSubmitter(ctx context.Context, req *ideav1.EraseSubmitterRequest) (*ideav1.Idea, error) {
	name, who, err := s.resolve(ctx, req.GetName(), "name", auth.Submitter, auth.RegionAdmin)
	if err != nil {
		return nil, err
	}
	current, err := s.load(ctx, who, name)
	if err != nil {
		return nil, err
	}
	if req.GetEtag() != "" && req.GetEtag() != current.Etag() {
		return nil, s.ideas.Stale(current, req.GetEtag())
	}
	isAdmin := who.Region == name.Region && who.Has(auth.RegionAdmin)
	if !isAdmin && (current.Owner == "" || current.Owner != who.Subject) {
		return nil, domain.New(permissionDenied, "SUBMITTER_OR_ADMIN_ONLY", "only the submitter of idea %s or a region admin may erase the submitter's data", name)
	}
	owner := current.Owner
	if owner != "" {
		// The person may have submitted other ideas: their subject leaves
		// those ideas' audit events too, since it identifies the person.
		if _, err := s.store.RedactActor(ctx, ns(name.Region), owner, erasedActor); err != nil {
			return nil, domain.Store(err, "IDEA", "audit log of "+name.Region)
		}
		// Their request ids go too: the repository's start with their hashed
		// subject, and the upgrade drops those earlier code kept.
		if err := s.upgraded(ctx, name.Region); err != nil {
			return nil, err
		}
		if err := s.ideas.Forget(ctx, name.Region, owner); err != nil {
			return nil, err
		}
	}
	actor := ""
	if who.Subject == owner {
		actor = erasedActor // the erasure's own audit event must not name them either
	}
	if into, err := parseIdeaName(current.Msg.GetMergedInto()); err == nil {
		// A merged duplicate's submitter is a co-submitter there too:
		// erased there first, so a retry still knows what to look for.
		if err := s.eraseCoSubmitter(ctx, who, into, current.Msg.GetSubmitter(), owner, actor); err != nil {
			return nil, err
		}
	}
	r, err := s.commit(ctx, who, name, mutation{
		action: "EraseSubmitter",
		etag:   req.GetEtag(),
		actor:  actor,
		apply: func(r *record) ([]store.Put, error) {
			erase(r, owner)
			return nil, nil
		},
	})
	if err != nil {
		return nil, err
	}
	if owner != "" {
		// Events the person wrote between the redaction and the commit.
		if _, err := s.store.RedactActor(ctx, ns(name.Region), owner, erasedActor); err != nil {
			s.logger.WarnContext(ctx, "second audit redaction after erasure failed", "idea", name.String(), "error", err)
		}
	}
	s.scrub(ctx)
	return redact(who, name.Region, "", r.Msg), nil
}

// scrub has a backend that keeps old values in its files (Redis's AOF and
// snapshot) rewrite them, so the erased data leaves the disk too. The
// rewrite runs on its own: the person's answer does not wait for it, and a
// failure is logged for the engineer on call, since the data model is
// already clean. Erasures coalesce: one worker rewrites while any erasure
// came after its last rewrite began, so a burst of them costs one or two
// rewrites, not one each.
func (s *Server) scrub(ctx context.Context) {
	sc, ok := s.store.(store.Scrubber)
	if !ok {
		return
	}
	s.scrubMu.Lock()
	defer s.scrubMu.Unlock()
	s.scrubDue = true
	if s.scrubbing {
		return // the running worker sees scrubDue and rewrites again
	}
	s.scrubbing = true
	ctx = context.WithoutCancel(ctx)
	go func() {
		for {
			s.scrubMu.Lock()
			if !s.scrubDue {
				s.scrubbing = false
				s.scrubMu.Unlock()
				return
			}
			s.scrubDue = false // erasures from now on need a later rewrite
			s.scrubMu.Unlock()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			if err := sc.Scrub(rctx); err != nil {
				s.logger.ErrorContext(rctx, "erased data may remain in the store's files until they are rewritten", "error", err)
			}
			cancel()
		}
	}()
}

// erase removes every trace of owner from r.
func erase(r *record, owner string) {
	r.Msg.Submitter = nil
	r.Msg.Consent = &ideav1.Consent{}
	for _, h := range side(r).History {
		if h.GetActor() == owner || (owner == "" && r.Owner != "" && h.GetActor() == r.Owner) {
			h.Actor, h.ActorName = erasedActor, ""
		}
	}
	r.Owner = ""
}
