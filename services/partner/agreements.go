package partner

import (
	"context"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// agreementState derives an agreement's state on day today (a Swedish
// date): it is pending until it is signed and valid, active through its last
// day, expired after. It is never stored, so it never goes stale.
func agreementState(a *partnerv1.Agreement, today time.Time) partnerv1.AgreementState {
	from, _ := parseDate(a.GetValidFrom())
	to, _ := parseDate(a.GetValidTo())
	switch {
	case today.After(to):
		return partnerv1.AgreementState_AGREEMENT_STATE_EXPIRED
	case a.GetSignedTime() == nil || today.Before(from):
		return partnerv1.AgreementState_AGREEMENT_STATE_PENDING
	}
	return partnerv1.AgreementState_AGREEMENT_STATE_ACTIVE
}

// today is the current date in Sweden, as a UTC midnight like parseDate's.
func (s *Server) today() time.Time {
	y, m, d := s.now().In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (s *Server) decodeAgreement(rec store.Record) (*partnerv1.Agreement, error) {
	a := &partnerv1.Agreement{}
	if err := decodeInto(rec, a); err != nil {
		return nil, err
	}
	a.State = agreementState(a, s.today())
	return a, nil
}

func agreementIndex(n agreementName, a *partnerv1.Agreement) []store.IndexEntry {
	return []store.IndexEntry{{Index: "agreements", Term: n.Partner.ID + "/" + newestFirst(a.GetCreateTime().AsTime())}}
}

// CreateAgreement records an agreement with a partner of the region.
func (s *Server) CreateAgreement(ctx context.Context, req *partnerv1.CreateAgreementRequest) (*partnerv1.Agreement, error) {
	pn, who, err := s.resolvePartner(ctx, req.GetParent(), "parent", staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	if req.GetAgreement() == nil {
		v.Add("agreement", "is required")
	} else {
		validateAgreement(&v, pn.Region, req.GetAgreement(), s.now())
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.loadPartner(ctx, pn); err != nil {
		return nil, err
	}

	now := s.now()
	in := req.GetAgreement()
	name := agreementName{Partner: pn, ID: resource.NewID()}
	a := &partnerv1.Agreement{
		Name: name.String(), Kind: in.GetKind(), Subject: in.GetSubject(),
		ValidFrom: in.GetValidFrom(), ValidTo: in.GetValidTo(), SignedTime: in.GetSignedTime(),
		CreateTime: timestamppb.New(now),
	}
	value, err := encode(a)
	if err != nil {
		return nil, domain.Store(err, "AGREEMENT", "agreement")
	}
	w := store.Write{
		Puts:   []store.Put{{Key: name.key(), Value: value, Index: agreementIndex(name, a)}},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreateAgreement", Key: a.GetName(), EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         requestIDKey("agreement", who.Subject, rid),
			Fingerprint: resource.Fingerprint(req),
			Result:      []byte(a.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, ns(pn.Region), w)
	if err != nil {
		return nil, domain.Store(err, "AGREEMENT", "agreement "+a.GetName())
	}
	if res.Replayed {
		first, err := parseAgreementName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "AGREEMENT", "replayed agreement")
		}
		return s.loadAgreement(ctx, first)
	}
	a.State = agreementState(a, s.today())
	return a, nil
}

func (s *Server) loadAgreement(ctx context.Context, name agreementName) (*partnerv1.Agreement, error) {
	rec, err := s.store.Get(ctx, ns(name.Partner.Region), name.key())
	if err != nil {
		return nil, domain.Store(err, "AGREEMENT", "agreement "+name.String())
	}
	a, err := s.decodeAgreement(rec)
	if err != nil {
		return nil, domain.Store(err, "AGREEMENT", "agreement "+name.String())
	}
	return a, nil
}

// GetAgreement returns one agreement of a partner the caller may read.
func (s *Server) GetAgreement(ctx context.Context, req *partnerv1.GetAgreementRequest) (*partnerv1.Agreement, error) {
	name, err := parseAgreementName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Partner.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Partner.Region, readers()...)
	if err != nil {
		return nil, err
	}
	if !mayRead(who, name.Partner.Region, name.Partner.String()) {
		return nil, domain.NotFound("AGREEMENT_NOT_FOUND", "agreement %s not found", name)
	}
	return s.loadAgreement(ctx, name)
}

// agreementFilter is a parsed ListAgreements filter.
type agreementFilter struct {
	kind  partnerv1.AgreementKind
	state partnerv1.AgreementState
}

func parseAgreementFilter(s string) (agreementFilter, error) {
	var f agreementFilter
	terms, err := parseTerms(s, "kind", "state")
	if err != nil {
		return f, err
	}
	if v, ok := terms["kind"]; ok {
		n, err := enumValue(partnerv1.AgreementKind_value, "kind", v, "AGREEMENT_KIND_NDA")
		if err != nil {
			return f, err
		}
		f.kind = partnerv1.AgreementKind(n)
	}
	if v, ok := terms["state"]; ok {
		n, err := enumValue(partnerv1.AgreementState_value, "state", v, "AGREEMENT_STATE_ACTIVE")
		if err != nil {
			return f, err
		}
		f.state = partnerv1.AgreementState(n)
	}
	return f, nil
}

// ListAgreements pages through a partner's agreements, newest first. The
// state filter is applied after the state is derived, on read.
func (s *Server) ListAgreements(ctx context.Context, req *partnerv1.ListAgreementsRequest) (*partnerv1.ListAgreementsResponse, error) {
	pn, who, err := s.resolvePartner(ctx, req.GetParent(), "parent", readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	f, ferr := parseAgreementFilter(req.GetFilter())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	query := resource.Digest(req.GetParent(), req.GetFilter())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if _, err := s.readablePartner(ctx, who, pn); err != nil {
		return nil, err
	}
	resp := &partnerv1.ListAgreementsResponse{}
	q := store.Query{Index: "agreements", Prefix: pn.ID + "/"}
	err = s.scan(ctx, pn.Region, q, after, size, query, func(rec store.Record) (bool, error) {
		a, err := s.decodeAgreement(rec)
		if err != nil {
			return false, err
		}
		if f.kind != 0 && a.GetKind() != f.kind || f.state != 0 && a.GetState() != f.state {
			return false, nil
		}
		resp.Agreements = append(resp.Agreements, proto.Clone(a).(*partnerv1.Agreement))
		return true, nil
	}, &resp.NextPageToken)
	if err != nil {
		return nil, domain.Store(err, "AGREEMENT", "agreements of "+pn.String())
	}
	return resp, nil
}
