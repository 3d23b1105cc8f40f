package needs

import (
	"context"
	"strings"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// personRequest checks an internal call about a person: a served region,
// a subject, and this process as the caller (access.go lets nobody else in).
func (s *Server) personRequest(ctx context.Context, parent, subject string) (string, error) {
	return resource.PersonRegion(ctx, domain, s.regions, parent, subject)
}

// ExportPersonData returns the needs the person reported, the decisions
// they took, the screening rounds they scored and their audit records.
func (s *Server) ExportPersonData(ctx context.Context, req *needsv1.ExportPersonDataRequest) (*needsv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	out := &needsv1.ExportPersonDataResponse{}
	if err := s.needs.Each(ctx, region, orderCreated, func(e *record) error {
		if e.Owner == sub {
			out.Needs = append(out.Needs, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.history.Each(ctx, region, "history", func(e *repo.Entry[*needsv1.HistoryEntry]) error {
		if e.Msg.GetActor() == sub {
			out.History = append(out.History, &needsv1.PersonHistoryEntry{Need: needOfChild(region, e.Ref.Key), Entry: e.Msg})
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := s.screenings.Each(ctx, region, "screenings", func(e *repo.Entry[*needsv1.Screening]) error {
		if e.Msg.GetReviewer() == sub {
			out.Screenings = append(out.Screenings, e.Msg)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if out.AuditEvents, err = audit.PersonEvents(ctx, s.store, ns(region), sub); err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	return out, nil
}

// ErasePersonData removes the person from the region's needs: the needs
// they reported stay without their owner and evidence (free text that may
// name them), their decisions and scorecards without their subject and
// name; their audit records and request ids go.
func (s *Server) ErasePersonData(ctx context.Context, req *needsv1.ErasePersonDataRequest) (*needsv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	resp := &needsv1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, ns(region), sub)
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	resp.AuditEventsRedacted = int32(n)
	changed, err := s.needs.Scrub(ctx, region, orderCreated, func(e *record) bool {
		if e.Owner != sub {
			return false
		}
		e.Owner, e.Msg.Evidence = "", ""
		return true
	})
	if err != nil {
		return nil, err
	}
	h, err := s.history.Scrub(ctx, region, "history", func(e *repo.Entry[*needsv1.HistoryEntry]) bool {
		if e.Msg.GetActor() != sub {
			return false
		}
		e.Msg.Actor, e.Msg.ActorName = repo.ErasedActor, ""
		return true
	})
	if err != nil {
		return nil, err
	}
	sc, err := s.screenings.Scrub(ctx, region, "screenings", func(e *repo.Entry[*needsv1.Screening]) bool {
		if e.Msg.GetReviewer() != sub {
			return false
		}
		e.Msg.Reviewer, e.Msg.ReviewerName = repo.ErasedActor, ""
		return true
	})
	if err != nil {
		return nil, err
	}
	resp.RecordsChanged = int32(changed + h + sc)
	if err := s.needs.Forget(ctx, region, sub); err != nil {
		return nil, err
	}
	// Keys from before the repository held the raw subject.
	for _, kind := range []string{"create/", "screening/"} {
		if err := s.needs.ForgetKeys(ctx, region, kind+sub+"/"); err != nil {
			return nil, err
		}
	}
	scrubStore(ctx, s)
	return resp, nil
}

// needOfChild is the need a history entry's key ("history/{need}/{seq}") belongs to.
func needOfChild(region, key string) string {
	rest := strings.TrimPrefix(key, "history/")
	id, _, _ := strings.Cut(rest, "/")
	return needName{Region: region, ID: id}.String()
}

// scrubStore rewrites the store's files after an erasure; a failure is
// logged for the engineer on call, since the records are already clean.
func scrubStore(ctx context.Context, s *Server) {
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
}
