package partner

import (
	"context"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// agreementState derives an agreement's state on day today (a Swedish
// date): it is pending until it is signed and valid, active through its last
// day, expired after, and terminated for good once terminated. It is never
// stored, so it never goes stale.
func agreementState(a *partnerv1.Agreement, today time.Time) partnerv1.AgreementState {
	from, _ := parseDate(a.GetValidFrom())
	to, _ := parseDate(a.GetValidTo())
	switch {
	case a.GetTerminateTime() != nil:
		return partnerv1.AgreementState_AGREEMENT_STATE_TERMINATED
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

func agreementIndex(e *repo.Entry[*partnerv1.Agreement]) []store.IndexEntry {
	pn, _ := parseAgreementName(e.Msg.GetName())
	return []store.IndexEntry{
		{Index: "agreements", Term: pn.Partner.ID + "/" + newestFirst(e.Msg.GetCreateTime().AsTime())},
		{Index: "agreements_updated", Term: pn.Partner.ID + "/" + newestFirst(e.Msg.GetUpdateTime().AsTime())},
	}
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

	in := req.GetAgreement()
	name := agreementName{Partner: pn, ID: resource.NewID()}
	a := &partnerv1.Agreement{
		Name: name.String(), Kind: in.GetKind(), Subject: in.GetSubject(),
		ValidFrom: in.GetValidFrom(), ValidTo: in.GetValidTo(), SignedTime: in.GetSignedTime(), Revision: 1,
	}
	out, _, err := s.agreements.Create(ctx, &repo.Entry[*partnerv1.Agreement]{Ref: name.ref(), Msg: a}, repo.Create{
		Actor: who.Subject, Action: "CreateAgreement",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "agreement", Body: req},
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
}

func (s *Server) loadAgreement(ctx context.Context, name agreementName) (*partnerv1.Agreement, error) {
	e, err := s.agreements.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
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

// agreementFilter are what ListAgreements filters on. The state is derived
// on read, so it is checked on each agreement of the partner.
func agreementFilter() []filter.Field[*partnerv1.Agreement] {
	return []filter.Field[*partnerv1.Agreement]{
		{
			Name: "kind", Values: filter.EnumValues(partnerv1.AgreementKind(0).Descriptor()),
			Get: func(a *partnerv1.Agreement) []string { return []string{a.GetKind().String()} },
		},
		{
			Name: "state", Values: filter.EnumValues(partnerv1.AgreementState(0).Descriptor()),
			Get: func(a *partnerv1.Agreement) []string { return []string{a.GetState().String()} },
		},
		{
			// The idea service finds an idea's agreements by subject; a
			// region has few agreements, so they are checked one by one.
			Name: "subject",
			Get:  func(a *partnerv1.Agreement) []string { return []string{a.GetSubject()} },
		},
	}
}

// anyPartner is the collection ID that stands for every partner of a region
// (AIP-159).
const anyPartner = "-"

// ListAgreements pages through a partner's agreements, newest first or in
// the order asked for (order.go: by create or update time, either way);
// with the parent regions/{region}/partners/- those of every partner the
// caller may read, partner by partner (the partners' order turns with it).
func (s *Server) ListAgreements(ctx context.Context, req *partnerv1.ListAgreementsRequest) (*partnerv1.ListAgreementsResponse, error) {
	var (
		pn  partnerName
		who *auth.Identity
		err error
	)
	all := strings.HasSuffix(req.GetParent(), "/partners/"+anyPartner)
	if all {
		pn, who, err = s.resolvePartner(ctx, strings.TrimSuffix(req.GetParent(), anyPartner)+"any", "parent", readers()...)
		pn.ID = ""
	} else {
		pn, who, err = s.resolvePartner(ctx, req.GetParent(), "parent", readers()...)
	}
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	o := agreementOrders.Parse(&v, req.GetOrderBy())
	order := agreementIndexes[o]
	base := store.Query{Index: order.index, Prefix: pn.ID + "/", Reverse: order.reverse}
	if all {
		base.Prefix = "" // every partner's, partner by partner
	}
	plan, ferr := filter.Compile(req.GetFilter(), base, agreementFilter())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	query := resource.Digest(req.GetParent(), plan.Filter, agreementOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if order.index != "agreements" {
		if err := s.ordersIndexed(ctx, pn.Region); err != nil {
			return nil, err
		}
	}
	if !all {
		if _, err := s.readablePartner(ctx, who, pn); err != nil {
			return nil, err
		}
	}
	resp := &partnerv1.ListAgreementsResponse{}
	page := repo.Page[*partnerv1.Agreement]{Plan: plan, After: after, Size: size, Digest: query}
	resp.NextPageToken, err = s.agreements.List(ctx, pn.Region, page, func(e *repo.Entry[*partnerv1.Agreement]) (bool, error) {
		if all {
			n, err := parseAgreementName(e.Msg.GetName())
			if err != nil || !mayRead(who, pn.Region, n.Partner.String()) {
				return false, nil
			}
		}
		resp.Agreements = append(resp.Agreements, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
