package funding

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// personRequest checks an internal call about a person: a served region,
// a subject, and this process as the caller (access.go lets nobody else in).
func (s *Subprojects) personRequest(ctx context.Context, parent, subject string) (string, error) {
	region, err := resource.ParseRegion(parent)
	if err != nil {
		return "", domain.InvalidArgument("parent", err)
	}
	if strings.TrimSpace(subject) == "" {
		return "", domain.InvalidArgument("subject", errors.New("is required"))
	}
	if err := resource.Served(domain, s.regions, region); err != nil {
		return "", err
	}
	if _, err := auth.Require(ctx, region, auth.Service); err != nil {
		return "", err
	}
	return region, nil
}

// ExportPersonData returns the person's audit records and the subprojects
// whose history names them. Money is the region's, not the person's.
func (s *Subprojects) ExportPersonData(ctx context.Context, req *fundingv1.ExportPersonDataRequest) (*fundingv1.ExportPersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	out := &fundingv1.ExportPersonDataResponse{}
	if out.AuditEvents, err = audit.PersonEvents(ctx, s.store, regionNS(region), req.GetSubject()); err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	err = s.eachRecord(ctx, region, "subprojects", func(rec store.Record) error {
		sp := &fundingv1.Subproject{}
		if err := decode(rec, sp); err != nil {
			return err
		}
		for _, h := range sp.GetHistory() {
			if h.GetActor() == req.GetSubject() {
				out.Subprojects = append(out.Subprojects, sp.GetName())
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subprojects of "+region)
	}
	return out, nil
}

// ErasePersonData takes the person's subject out of the subprojects' and
// cost reports' histories, the audit log and the request ids.
func (s *Subprojects) ErasePersonData(ctx context.Context, req *fundingv1.ErasePersonDataRequest) (*fundingv1.ErasePersonDataResponse, error) {
	region, err := s.personRequest(ctx, req.GetParent(), req.GetSubject())
	if err != nil {
		return nil, err
	}
	sub := req.GetSubject()
	resp := &fundingv1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, regionNS(region), sub)
	if err != nil {
		return nil, domain.Store(err, "AUDIT_LOG", "audit log of "+region)
	}
	resp.AuditEventsRedacted = int32(n)
	var subprojects []string
	err = s.eachRecord(ctx, region, "subprojects", func(rec store.Record) error {
		sp := &fundingv1.Subproject{}
		if err := decode(rec, sp); err != nil {
			return err
		}
		subprojects = append(subprojects, sp.GetName())
		changed := false
		for _, h := range sp.GetHistory() {
			if h.GetActor() == sub {
				h.Actor, changed = audit.Erased, true
			}
		}
		if !changed {
			return nil
		}
		resp.RecordsChanged++
		return s.rewriteRecord(ctx, region, rec, sp, subprojectIndex(sp))
	})
	for _, name := range subprojects {
		if err != nil {
			break
		}
		sn, perr := parseSubprojectName(name)
		if perr != nil {
			continue
		}
		err = s.eachRecord(ctx, region, "reports", func(rec store.Record) error {
			cr := &fundingv1.CostReport{}
			if err := decode(rec, cr); err != nil {
				return err
			}
			changed := false
			for _, h := range cr.GetHistory() {
				if h.GetActor() == sub {
					h.Actor, changed = audit.Erased, true
				}
			}
			cn, perr := parseCostReportName(cr.GetName())
			if !changed || perr != nil {
				return nil
			}
			resp.RecordsChanged++
			return s.rewriteRecord(ctx, region, rec, cr, reportIndex(cn, cr))
		}, sn.ID+"/")
	}
	if err != nil {
		return nil, domain.Store(err, "SUBPROJECT", "subprojects of "+region)
	}
	// Request ids: with the raw subject (createKey), and hashed once on the
	// repository.
	for _, prefix := range []string{"create/subproject/" + sub + "/", "create/costreport/" + sub + "/", repo.SubjectHash(sub) + "/"} {
		if _, err := s.store.ForgetIdempotency(ctx, regionNS(region), prefix); err != nil {
			return nil, domain.Store(err, "SUBPROJECT", "request ids of "+region)
		}
	}
	if err := store.ScrubAfterErasure(ctx, s.store); err != nil {
		s.logger.ErrorContext(ctx, "erased data may remain in the store's files until they are rewritten", "error", err)
	}
	return resp, nil
}

// eachRecord calls f with every record of index (under prefix, if given).
func (s *Subprojects) eachRecord(ctx context.Context, region, index string, f func(store.Record) error, prefix ...string) error {
	q := store.Query{Index: index, Limit: 500}
	if len(prefix) > 0 {
		q.Prefix = prefix[0]
	}
	for {
		page, err := s.store.Scan(ctx, regionNS(region), q)
		if err != nil {
			return fmt.Errorf("store.Scan: %w", err)
		}
		for _, it := range page.Items {
			q.After = it.Cursor
			if err := f(it.Record); err != nil {
				return err
			}
		}
		if !page.More || len(page.Items) == 0 {
			return nil
		}
	}
}

// rewriteRecord writes m over rec with compare-and-set; a concurrent change
// is ABORTED and the person service's retry erases again.
func (s *Subprojects) rewriteRecord(ctx context.Context, region string, rec store.Record, m proto.Message, index []store.IndexEntry) error {
	v, err := encode(m)
	if err != nil {
		return err
	}
	name := rec.Key
	if f := m.ProtoReflect().Descriptor().Fields().ByName("name"); f != nil {
		name = m.ProtoReflect().Get(f).String()
	}
	_, err = s.store.Commit(ctx, regionNS(region), store.Write{
		Puts: []store.Put{{Key: rec.Key, Value: v, Version: rec.Version, Index: index}},
		Events: []store.Event{{Time: s.now(), Actor: audit.Erased, Action: "ErasePersonData", Key: name,
			EtagBefore: etagOf(rec.Version), EtagAfter: etagOf(rec.Version + 1)}},
	})
	if err != nil {
		return fmt.Errorf("store.Commit: %w", err)
	}
	return nil
}
