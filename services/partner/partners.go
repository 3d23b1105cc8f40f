package partner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// partnerIndex lists a partner by display name, in all, per kind and per
// capability, and by create and update time (partnerOrderEntries). Capabilities are folded so a filter matches however they were
// spelled.
func partnerIndex(e *repo.Entry[*partnerv1.Partner]) []store.IndexEntry {
	p := e.Msg
	t := fold(p.GetDisplayName())
	entries := []store.IndexEntry{
		{Index: "partners", Term: t},
		{Index: "partner_kind", Term: p.GetKind().String() + "/" + t},
	}
	entries = append(entries, partnerOrderEntries(p)...)
	seen := map[string]bool{}
	for _, c := range p.GetCapabilities() {
		if f := fold(c); f != "" && !seen[f] {
			seen[f] = true
			entries = append(entries, store.IndexEntry{Index: "partner_capability", Term: f + "/" + t})
		}
	}
	return entries
}

// CreatePartner registers an organisation of the region.
func (s *Server) CreatePartner(ctx context.Context, req *partnerv1.CreatePartnerRequest) (*partnerv1.Partner, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	if req.GetPartner() == nil {
		v.Add("partner", "is required")
	} else {
		validatePartner(&v, "partner.", req.GetPartner())
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	name := partnerName{Region: region, ID: resource.NewID()}
	p := cleanPartner(req.GetPartner())
	p.Name = name.String()
	out, _, err := s.partners.Create(ctx, &repo.Entry[*partnerv1.Partner]{Ref: name.ref(), Msg: p}, repo.Create{
		Actor: who.Subject, Action: "CreatePartner",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "partner", Body: req},
		// Created in the same commit as the partner: a second partner with
		// this number fails the whole write, however close in time.
		Puts: []store.Put{{Key: orgKey(p.GetOrgNumber()), Value: []byte(p.GetName())}},
	})
	if errors.Is(err, store.ErrExists) {
		return nil, s.orgNumberTaken(ctx, region, p.GetOrgNumber())
	}
	if err != nil {
		return nil, err
	}
	return redactPartner(who, region, out.Msg), nil
}

// orgNumberTaken says which partner already holds an organisation number.
func (s *Server) orgNumberTaken(ctx context.Context, region, org string) error {
	holder := "another partner"
	if rec, err := s.store.Get(ctx, ns(region), orgKey(org)); err == nil {
		holder = string(rec.Value)
	}
	return domain.New(codes.AlreadyExists, "ORG_NUMBER_EXISTS",
		"organisation number %s is already registered in region %s as %s: one organisation is one partner per region", formatOrgNumber(org), region, holder)
}

// resolvePartner parses a partner name, checks the region is served and the
// caller holds one of roles there.
func (s *Server) resolvePartner(ctx context.Context, raw, field string, roles ...auth.Role) (partnerName, *auth.Identity, error) {
	name, err := parsePartnerName(raw)
	if err != nil {
		return partnerName{}, nil, domain.InvalidArgument(field, err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return partnerName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Region, roles...)
	if err != nil {
		return partnerName{}, nil, err
	}
	return name, who, nil
}

func (s *Server) loadPartner(ctx context.Context, name partnerName) (*partnerv1.Partner, error) {
	e, err := s.partners.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	return e.Msg, nil
}

// readablePartner loads a partner the caller may see; for anyone else it
// does not exist, so company users learn nothing of other companies.
func (s *Server) readablePartner(ctx context.Context, who *auth.Identity, name partnerName) (*partnerv1.Partner, error) {
	if !mayRead(who, name.Region, name.String()) {
		return nil, domain.NotFound("PARTNER_NOT_FOUND", "partner %s not found", name)
	}
	return s.loadPartner(ctx, name)
}

// GetPartner returns one partner; contacts only for those who may see them.
func (s *Server) GetPartner(ctx context.Context, req *partnerv1.GetPartnerRequest) (*partnerv1.Partner, error) {
	name, who, err := s.resolvePartner(ctx, req.GetName(), "name", readers()...)
	if err != nil {
		return nil, err
	}
	p, err := s.readablePartner(ctx, who, name)
	if err != nil {
		return nil, err
	}
	return redactPartner(who, name.Region, p), nil
}

// partnerFilter are what ListPartners filters on, the indexed first.
func partnerFilter() []filter.Field[*partnerv1.Partner] {
	return []filter.Field[*partnerv1.Partner]{
		{
			Name: "capability", Aliases: []string{"capabilities"}, Repeated: true, Fold: fold,
			Get: func(p *partnerv1.Partner) []string { return p.GetCapabilities() },
			Index: func(v string) (store.Query, bool) {
				return store.Query{Index: "partner_capability", Prefix: v + "/"}, true
			},
		},
		{
			Name: "kind", Values: filter.EnumValues(partnerv1.PartnerKind(0).Descriptor()),
			Get: func(p *partnerv1.Partner) []string { return []string{p.GetKind().String()} },
			Index: func(v string) (store.Query, bool) {
				return store.Query{Index: "partner_kind", Prefix: v + "/"}, true
			},
		},
	}
}

// ListPartners pages through a region's partners by display name, or in the
// order asked for (order.go). A company user's list holds their own partner
// only, so any order is theirs.
func (s *Server) ListPartners(ctx context.Context, req *partnerv1.ListPartnersRequest) (*partnerv1.ListPartnersResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	o := partnerOrders.Parse(&v, req.GetOrderBy())
	order, fields := partnerOrderPlans[o], partnerFilter()
	if order.index != "partners" {
		fields = unindexed(fields)
	}
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: order.index}, fields)
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	plan.Query.Reverse = order.reverse
	size := resource.PageSize(&v, req.GetPageSize())
	query := resource.Digest(region, plan.Query.Index, plan.Query.Prefix, plan.Filter, partnerOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	if order.index != "partners" {
		if err := s.ordersIndexed(ctx, region); err != nil {
			return nil, err
		}
	}
	resp := &partnerv1.ListPartnersResponse{}
	if !isStaff(who, region) && !isNational(who) {
		own, err := parsePartnerName(ownPartner(who, region))
		if err != nil || after != "" {
			return resp, nil
		}
		p, err := s.loadPartner(ctx, own)
		if status.Code(err) == codes.NotFound {
			return resp, nil
		}
		if err != nil {
			return nil, err
		}
		if plan.Match == nil || plan.Match(p) {
			resp.Partners = append(resp.Partners, redactPartner(who, region, p))
		}
		return resp, nil
	}
	page := repo.Page[*partnerv1.Partner]{Plan: plan, After: after, Size: size, Digest: query}
	resp.NextPageToken, err = s.partners.List(ctx, region, page, func(e *repo.Entry[*partnerv1.Partner]) (bool, error) {
		resp.Partners = append(resp.Partners, redactPartner(who, region, e.Msg))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// partnerFields are the fields UpdatePartner may change.
func partnerFields() []string {
	return []string{"display_name", "org_number", "kind", "size", "capabilities", "contacts"}
}

// UpdatePartner changes the fields in update_mask, checked against the
// stored partner's etag. A new organisation number moves the partner's claim
// on it in the same commit.
func (s *Server) UpdatePartner(ctx context.Context, req *partnerv1.UpdatePartnerRequest) (*partnerv1.Partner, error) {
	name, who, err := s.resolvePartner(ctx, req.GetPartner().GetName(), "partner.name", staffRoles()...)
	if err != nil {
		return nil, err
	}
	in := req.GetPartner()
	var v errs.Violations
	if in.GetEtag() == "" {
		v.Add("partner.etag", "is required: send the etag of the partner as you read it")
	}
	// The times are output only: named in the mask, they are ignored (AIP-203).
	named, ignored := resource.WithoutOutputOnly(resource.UpdatePaths(req.GetUpdateMask().GetPaths()), func(f string) bool { return f == "create_time" || f == "update_time" })
	var paths []string
	for _, p := range named {
		switch {
		case !slices.Contains(partnerFields(), p):
			v.Add("update_mask", "%q is not a field of a partner (fields: %s)", p, strings.Join(partnerFields(), ", "))
		case !slices.Contains(paths, p):
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 && v.Len() == 0 {
		v.Add("update_mask", "name at least one field to change%s", resource.IgnoredNote(ignored, nil))
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	out, _, err := s.partners.Update(ctx, name.ref(), in.GetEtag(), who.Subject, func(e *repo.Entry[*partnerv1.Partner], _ time.Time) (repo.Change, error) {
		p := e.Msg
		oldOrg := p.GetOrgNumber()
		merged := proto.Clone(p).(*partnerv1.Partner)
		for _, path := range paths {
			setPartnerField(merged, in, path)
		}
		// A changed value must be as valid as a new one; the kind and size
		// rule spans two fields, so the whole partner is checked.
		var v errs.Violations
		validatePartner(&v, "partner.", merged)
		if err := v.Err(domain); err != nil {
			return repo.Change{}, err
		}
		updated := cleanPartner(merged)
		updated.Name, updated.CreateTime = p.GetName(), p.GetCreateTime()
		e.Msg = updated
		c := repo.Change{Action: "UpdatePartner", Detail: strings.Join(paths, ",")}
		if newOrg := updated.GetOrgNumber(); newOrg != oldOrg {
			c.Puts = append(c.Puts, store.Put{Key: orgKey(newOrg), Value: []byte(name.String())})
			// The old claim goes at the version read, so a racing change of
			// it fails the commit instead of losing a claim.
			if old, err := s.store.Get(ctx, ns(name.Region), orgKey(oldOrg)); err == nil && string(old.Value) == name.String() {
				c.Puts = append(c.Puts, store.Put{Key: orgKey(oldOrg), Version: old.Version, Delete: true})
			}
		}
		return c, nil
	})
	if errors.Is(err, store.ErrExists) {
		return nil, s.orgNumberTaken(ctx, name.Region, in.GetOrgNumber())
	}
	if err != nil {
		return nil, err
	}
	return redactPartner(who, name.Region, out.Msg), nil
}

func setPartnerField(dst, src *partnerv1.Partner, path string) {
	switch path {
	case "display_name":
		dst.DisplayName = src.GetDisplayName()
	case "org_number":
		dst.OrgNumber = src.GetOrgNumber()
	case "kind":
		dst.Kind = src.GetKind()
	case "size":
		dst.Size = src.GetSize()
	case "capabilities":
		dst.Capabilities = slices.Clone(src.GetCapabilities())
	case "contacts":
		dst.Contacts = nil
		for _, c := range src.GetContacts() {
			dst.Contacts = append(dst.Contacts, proto.Clone(c).(*partnerv1.Contact))
		}
	}
}
