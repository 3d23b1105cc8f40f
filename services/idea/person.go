package idea

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/audit"
	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// person is who an export or an erasure is about: a subject, and an
// e-mail address records may name them by.
type person struct {
	region, subject, email string
}

// personRequest checks an internal call about a person: a region this
// deployment serves, a subject, and this process as the caller (the person
// service checked the person; access.go lets nobody else in).
func (s *Server) personRequest(ctx context.Context, parent, subject, email string) (person, error) {
	region, err := resource.ParseRegion(parent)
	if err != nil {
		return person{}, domain.InvalidArgument("parent", err)
	}
	if strings.TrimSpace(subject) == "" {
		return person{}, domain.InvalidArgument("subject", errors.New("is required"))
	}
	if err := s.servedRegion(region); err != nil {
		return person{}, err
	}
	if _, err := auth.Require(ctx, region, auth.Service); err != nil {
		return person{}, err
	}
	return person{region: region, subject: subject, email: strings.ToLower(strings.TrimSpace(email))}, nil
}

// mailOf reports whether submitter details name p by e-mail.
func (p person) mailOf(sub *ideav1.Submitter) bool {
	return p.email != "" && strings.EqualFold(strings.TrimSpace(sub.GetEmail()), p.email)
}

// own is the idea as the person's copy holds it: other people's details
// left out (the submitter of an idea their duplicate was merged into, the
// co-submitters of theirs).
func (p person) own(r *record) *ideav1.Idea {
	i := proto.Clone(r.idea).(*ideav1.Idea)
	if r.owner != p.subject && !p.mailOf(i.GetSubmitter()) {
		i.Submitter = nil
	}
	i.CoSubmitters = slices.DeleteFunc(i.CoSubmitters, func(c *ideav1.Submitter) bool { return !p.mailOf(c) })
	return i
}

// ExportPersonData returns the ideas the person submitted (or that carry
// their e-mail), the decisions they took, their scorecards and workshops,
// and the audit records naming them.
func (s *Server) ExportPersonData(ctx context.Context, req *ideav1.ExportPersonDataRequest) (*ideav1.ExportPersonDataResponse, error) {
	p, err := s.personRequest(ctx, req.GetParent(), req.GetSubject(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	out := &ideav1.ExportPersonDataResponse{}
	err = s.scanAll(ctx, p.region, store.Query{Index: "created"}, func(rec store.Record) error {
		r, err := decode(rec)
		if err != nil {
			return err
		}
		if r.owner == p.subject || slices.Contains(r.coOwners, p.subject) || p.mailOf(r.idea.GetSubmitter()) {
			out.Ideas = append(out.Ideas, p.own(r))
		}
		for _, h := range r.history {
			if h.GetActor() == p.subject {
				out.History = append(out.History, &ideav1.PersonHistoryEntry{Idea: r.idea.GetName(), Entry: h})
			}
		}
		return nil
	})
	if err == nil {
		err = s.scanAll(ctx, p.region, store.Query{Index: "assessments"}, func(rec store.Record) error {
			a := &ideav1.Assessment{}
			if err := protojson.Unmarshal(rec.Value, a); err != nil {
				return fmt.Errorf("assessment %s: %w", rec.Key, err)
			}
			if a.GetReviewer() == p.subject {
				out.Assessments = append(out.Assessments, a)
			}
			return nil
		})
	}
	if err == nil {
		err = s.scanAll(ctx, p.region, store.Query{Index: "workshops"}, func(rec store.Record) error {
			w := &ideav1.Workshop{}
			if err := decodeKept(rec, w); err != nil {
				return err
			}
			if w.GetFacilitator() == p.subject || slices.Contains(w.GetParticipants(), p.subject) {
				out.Workshops = append(out.Workshops, w)
			}
			return nil
		})
	}
	if err == nil {
		err = s.scanAll(ctx, p.region, store.Query{Index: "categories"}, func(rec store.Record) error {
			c := &ideav1.Category{}
			if err := decodeKept(rec, c); err != nil {
				return err
			}
			if slices.Contains(c.GetOwners(), p.subject) {
				out.Categories = append(out.Categories, c)
			}
			return nil
		})
	}
	if err == nil {
		err = s.scanAll(ctx, p.region, store.Query{Index: "testplans"}, func(rec store.Record) error {
			tp := &ideav1.TestPlan{}
			if err := decodeKept(rec, tp); err != nil {
				return err
			}
			if tp.GetApprovedBy() == p.subject {
				out.TestPlans = append(out.TestPlans, tp)
			}
			return nil
		})
	}
	if err == nil {
		out.AuditEvents, err = audit.PersonEvents(ctx, s.store, ns(p.region), p.subject)
	}
	if err != nil {
		return nil, domain.Store(err, "IDEA", "person data of "+p.region)
	}
	return out, nil
}

// ErasePersonData removes the person from every idea of the region: the
// submitter details and consent of the ideas they submitted (or that carry
// their e-mail), their place among a merged idea's co-submitters, their
// subject and name on the decisions they took, on their scorecards and in
// workshops, their audit records and their request ids. The ideas stay.
// The audit log goes first, as EraseSubmitter does it.
func (s *Server) ErasePersonData(ctx context.Context, req *ideav1.ErasePersonDataRequest) (*ideav1.ErasePersonDataResponse, error) {
	p, err := s.personRequest(ctx, req.GetParent(), req.GetSubject(), req.GetEmail())
	if err != nil {
		return nil, err
	}
	resp, err := s.erasePerson(ctx, p)
	if err != nil {
		return nil, domain.Store(err, "IDEA", "person data of "+p.region)
	}
	s.scrub(ctx)
	return resp, nil
}

func (s *Server) erasePerson(ctx context.Context, p person) (*ideav1.ErasePersonDataResponse, error) {
	resp := &ideav1.ErasePersonDataResponse{}
	n, err := audit.ErasePerson(ctx, s.store, ns(p.region), p.subject)
	if err != nil {
		return nil, err
	}
	resp.AuditEventsRedacted = int32(n)
	// Submitter details by e-mail are matched before the ideas change: a
	// co-submitter entry is removed by its value, which erasing the
	// duplicate would lose.
	var dupSubs []*ideav1.Submitter
	if err := s.scanAll(ctx, p.region, store.Query{Index: "created"}, func(rec store.Record) error {
		r, err := decode(rec)
		if err != nil {
			return err
		}
		if (r.owner == p.subject || p.mailOf(r.idea.GetSubmitter())) && r.idea.GetSubmitter() != nil {
			dupSubs = append(dupSubs, r.idea.GetSubmitter())
		}
		return nil
	}); err != nil {
		return nil, err
	}
	changed := 0
	err = s.scanAll(ctx, p.region, store.Query{Index: "created"}, func(rec store.Record) error {
		first, err := decode(rec)
		if err != nil {
			return err
		}
		ok, err := s.rewrite(ctx, p.region, rec.Key, first.idea.GetName(), func(v []byte, version int64) ([]byte, []store.IndexEntry, bool, error) {
			r, err := decode(store.Record{Key: rec.Key, Value: v, Version: version})
			if err != nil {
				return nil, nil, false, err
			}
			before, _ := r.encode()
			switch {
			case r.owner == p.subject:
				erase(r, r.owner)
			case p.mailOf(r.idea.GetSubmitter()):
				// Their details on an idea another account sent (a relative):
				// the details go, that account keeps its idea.
				r.idea.Submitter, r.idea.Consent = nil, &ideav1.Consent{}
			}
			for _, h := range r.history {
				if h.GetActor() == p.subject {
					h.Actor, h.ActorName = erasedActor, ""
				}
			}
			r.coOwners = slices.DeleteFunc(r.coOwners, func(o string) bool { return o == p.subject })
			r.idea.CoSubmitters = slices.DeleteFunc(r.idea.CoSubmitters, func(c *ideav1.Submitter) bool {
				return p.mailOf(c) || slices.ContainsFunc(dupSubs, func(d *ideav1.Submitter) bool { return proto.Equal(c, d) })
			})
			after, err := r.encode()
			if err != nil {
				return nil, nil, false, err
			}
			return after, indexEntries(r), string(before) != string(after), nil
		})
		if ok {
			changed++
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, kind := range []struct {
		index string
		name  func(v []byte) string
		erase func(rec store.Record) ([]byte, []store.IndexEntry, bool, error)
	}{
		{"assessments", func(v []byte) string {
			a := &ideav1.Assessment{}
			_ = protojson.Unmarshal(v, a)
			return a.GetName()
		}, func(rec store.Record) ([]byte, []store.IndexEntry, bool, error) {
			a := &ideav1.Assessment{}
			if err := protojson.Unmarshal(rec.Value, a); err != nil {
				return nil, nil, false, fmt.Errorf("assessment %s: %w", rec.Key, err)
			}
			idx := []store.IndexEntry{{Index: "assessments", Term: strings.TrimPrefix(rec.Key, "assessment/")}}
			if a.GetReviewer() != p.subject {
				return nil, idx, false, nil
			}
			a.Reviewer, a.ReviewerName = erasedActor, ""
			v, err := protojson.Marshal(a)
			return v, idx, true, err
		}},
		{"workshops", func(v []byte) string {
			w := &ideav1.Workshop{}
			_ = protojson.Unmarshal(v, w)
			return w.GetName()
		}, func(rec store.Record) ([]byte, []store.IndexEntry, bool, error) {
			w := &ideav1.Workshop{}
			if err := decodeKept(rec, w); err != nil {
				return nil, nil, false, err
			}
			idx := []store.IndexEntry{{Index: "workshops", Term: workshopTerm(w.GetDate(), strings.TrimPrefix(rec.Key, "workshop/"))}}
			found := w.GetFacilitator() == p.subject || slices.Contains(w.GetParticipants(), p.subject)
			if !found {
				return nil, idx, false, nil
			}
			if w.Facilitator == p.subject {
				w.Facilitator = erasedActor
			}
			for i, x := range w.Participants {
				if x == p.subject {
					w.Participants[i] = erasedActor
				}
			}
			v, err := encodeKept(w)
			return v, idx, true, err
		}},
		{"categories", func(v []byte) string {
			c := &ideav1.Category{}
			_ = protojson.Unmarshal(v, c)
			return c.GetName()
		}, func(rec store.Record) ([]byte, []store.IndexEntry, bool, error) {
			c := &ideav1.Category{}
			if err := decodeKept(rec, c); err != nil {
				return nil, nil, false, err
			}
			n, err := parseCategoryName(c.GetName())
			if err != nil || !slices.Contains(c.GetOwners(), p.subject) {
				return nil, nil, false, nil
			}
			c.Owners = slices.DeleteFunc(c.Owners, func(o string) bool { return o == p.subject })
			v, err := encodeKept(c)
			return v, categoryIndex(n.ID), true, err
		}},
		{"testplans", func(v []byte) string {
			tp := &ideav1.TestPlan{}
			_ = protojson.Unmarshal(v, tp)
			return tp.GetName()
		}, func(rec store.Record) ([]byte, []store.IndexEntry, bool, error) {
			tp := &ideav1.TestPlan{}
			if err := decodeKept(rec, tp); err != nil {
				return nil, nil, false, err
			}
			n, nerr := parseTestPlanName(tp.GetName())
			bed, berr := parseTestBedName(tp.GetTestBed())
			if nerr != nil || berr != nil || tp.GetApprovedBy() != p.subject {
				return nil, nil, false, nil
			}
			tp.ApprovedBy = erasedActor
			v, err := encodeKept(tp)
			return v, testPlanIndex(n, bed), true, err
		}},
	} {
		err := s.scanAll(ctx, p.region, store.Query{Index: kind.index}, func(rec store.Record) error {
			ok, err := s.rewrite(ctx, p.region, rec.Key, kind.name(rec.Value), func(v []byte, version int64) ([]byte, []store.IndexEntry, bool, error) {
				return kind.erase(store.Record{Key: rec.Key, Value: v, Version: version})
			})
			if ok {
				changed++
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	resp.RecordsChanged = int32(changed)
	// Request ids: keyed by the hashed subject after the action, and, once
	// on the repository, before it.
	h := subjectKey(p.subject)
	prefixes := []string{repo.SubjectHash(p.subject) + "/"}
	for _, action := range []string{"create", "CreateCategory", "CreateFocusGroupSession", "CreateTestBed", "CreateTestPlan", "CreateWorkshop", "CreateAssessment"} {
		prefixes = append(prefixes, action+"/"+h+"/")
	}
	for _, prefix := range prefixes {
		if _, err := s.store.ForgetIdempotency(ctx, ns(p.region), prefix); err != nil {
			return nil, fmt.Errorf("store.ForgetIdempotency: %w", err)
		}
	}
	return resp, nil
}

// rewrite applies change to the record at key with compare-and-set,
// re-reading after a concurrent write, and reports whether it wrote. The
// write carries an audit event naming no one.
func (s *Server) rewrite(ctx context.Context, region, key, name string, change func(v []byte, version int64) ([]byte, []store.IndexEntry, bool, error)) (bool, error) {
	for attempt := 0; attempt < 20; attempt++ {
		rec, err := s.store.Get(ctx, ns(region), key)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("store.Get: %w", err)
		}
		v, idx, changed, err := change(rec.Value, rec.Version)
		if err != nil || !changed {
			return false, err
		}
		_, err = s.store.Commit(ctx, ns(region), store.Write{
			Puts:   []store.Put{{Key: key, Value: v, Version: rec.Version, Index: idx}},
			Events: []store.Event{{Time: s.now(), Actor: audit.Erased, Action: "ErasePersonData", Key: name, EtagBefore: etagOf(rec.Version), EtagAfter: etagOf(rec.Version + 1)}},
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("store.Commit: %w", err)
		}
		return true, nil
	}
	return false, fmt.Errorf("record %s kept changing during the erasure", key)
}
