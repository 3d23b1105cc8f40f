package partner

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// partnerIndex lists a partner by display name, in all, per kind and per
// capability. Capabilities are folded so a filter matches however they were
// spelled.
func partnerIndex(p *partnerv1.Partner) []store.IndexEntry {
	t := fold(p.GetDisplayName())
	entries := []store.IndexEntry{
		{Index: "partners", Term: t},
		{Index: "partner_kind", Term: p.GetKind().String() + "/" + t},
	}
	seen := map[string]bool{}
	for _, c := range p.GetCapabilities() {
		if f := fold(c); f != "" && !seen[f] {
			seen[f] = true
			entries = append(entries, store.IndexEntry{Index: "partner_capability", Term: f + "/" + t})
		}
	}
	return entries
}

func encodePartner(p *partnerv1.Partner) ([]byte, error) {
	clean := proto.Clone(p).(*partnerv1.Partner)
	clean.Etag = ""
	return encode(clean)
}

func decodePartner(rec store.Record) (*partnerv1.Partner, error) {
	p := &partnerv1.Partner{}
	if err := decodeInto(rec, p); err != nil {
		return nil, err
	}
	p.Etag = etagOf(rec.Version)
	return p, nil
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

	now := s.now()
	name := partnerName{Region: region, ID: resource.NewID()}
	p := cleanPartner(req.GetPartner())
	p.Name = name.String()
	p.CreateTime = timestamppb.New(now)
	p.UpdateTime = p.CreateTime
	value, err := encodePartner(p)
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner")
	}
	w := store.Write{
		Puts: []store.Put{
			{Key: name.key(), Value: value, Index: partnerIndex(p)},
			// Created in the same commit as the partner: a second partner
			// with this number fails the whole write, however close in time.
			{Key: orgKey(p.GetOrgNumber()), Value: []byte(p.GetName())},
		},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreatePartner", Key: p.GetName(), EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         requestIDKey("partner", who.Subject, rid),
			Fingerprint: resource.Fingerprint(req),
			Result:      []byte(p.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, ns(region), w)
	if errors.Is(err, store.ErrExists) {
		return nil, s.orgNumberTaken(ctx, region, p.GetOrgNumber())
	}
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+p.GetName())
	}
	if res.Replayed {
		first, err := parsePartnerName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "PARTNER", "replayed partner")
		}
		out, err := s.loadPartner(ctx, first)
		if err != nil {
			return nil, err
		}
		return redactPartner(who, region, out), nil
	}
	p.Etag = etagOf(res.Versions[0])
	return redactPartner(who, region, p), nil
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
	rec, err := s.store.Get(ctx, ns(name.Region), name.key())
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	p, err := decodePartner(rec)
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	return p, nil
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

// partnerFilter is a parsed ListPartners filter.
type partnerFilter struct {
	kind       partnerv1.PartnerKind
	capability string // folded
}

func parsePartnerFilter(s string) (partnerFilter, error) {
	var f partnerFilter
	terms, err := parseTerms(s, "kind", "capability")
	if err != nil {
		return f, err
	}
	if v, ok := terms["kind"]; ok {
		n, err := enumValue(partnerv1.PartnerKind_value, "kind", v, "PARTNER_KIND_COMPANY")
		if err != nil {
			return f, err
		}
		f.kind = partnerv1.PartnerKind(n)
	}
	f.capability = fold(terms["capability"])
	return f, nil
}

func (f partnerFilter) match(p *partnerv1.Partner) bool {
	if f.kind != 0 && p.GetKind() != f.kind {
		return false
	}
	return f.capability == "" || slices.ContainsFunc(p.GetCapabilities(), func(c string) bool { return fold(c) == f.capability })
}

func (f partnerFilter) query() store.Query {
	switch {
	case f.capability != "":
		return store.Query{Index: "partner_capability", Prefix: f.capability + "/"}
	case f.kind != 0:
		return store.Query{Index: "partner_kind", Prefix: f.kind.String() + "/"}
	}
	return store.Query{Index: "partners"}
}

// ListPartners pages through a region's partners by display name. A company
// user's list holds their own partner only.
func (s *Server) ListPartners(ctx context.Context, req *partnerv1.ListPartnersRequest) (*partnerv1.ListPartnersResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	f, ferr := parsePartnerFilter(req.GetFilter())
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	q := f.query()
	query := resource.Digest(region, q.Index, q.Prefix, req.GetFilter())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
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
		if f.match(p) {
			resp.Partners = append(resp.Partners, redactPartner(who, region, p))
		}
		return resp, nil
	}
	err = s.scan(ctx, region, q, after, size, query, func(rec store.Record) (bool, error) {
		p, err := decodePartner(rec)
		if err != nil {
			return false, err
		}
		if !f.match(p) {
			return false, nil
		}
		resp.Partners = append(resp.Partners, redactPartner(who, region, p))
		return true, nil
	}, &resp.NextPageToken)
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partners of "+region)
	}
	return resp, nil
}

// scan pages through q from after, calling take on each record until size
// of them were taken (take reports whether it took one), and sets *next to
// the token of the following page when there is one.
func (s *Server) scan(ctx context.Context, region string, q store.Query, after string, size int, query string,
	take func(store.Record) (bool, error), next *string) error {
	q.After, q.Limit = after, size
	taken := 0
	for {
		page, err := s.store.Scan(ctx, ns(region), q)
		if err != nil {
			return err
		}
		for i, it := range page.Items {
			q.After = it.Cursor
			ok, err := take(it.Record)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			taken++
			if taken == size {
				if i < len(page.Items)-1 || page.More {
					*next = resource.EncodeToken(q.After, query)
				}
				return nil
			}
		}
		if !page.More {
			return nil
		}
	}
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
	var paths []string
	for _, p := range resource.UpdatePaths(req.GetUpdateMask().GetPaths()) {
		switch {
		case p == "create_time" || p == "update_time":
			v.Add("update_mask", "%s is set by the server", p)
		case !slices.Contains(partnerFields(), p):
			v.Add("update_mask", "%q is not a field of a partner (fields: %s)", p, strings.Join(partnerFields(), ", "))
		case !slices.Contains(paths, p):
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 && v.Len() == 0 {
		v.Add("update_mask", "name at least one field to change")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}

	rec, err := s.store.Get(ctx, ns(name.Region), name.key())
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	p, err := decodePartner(rec)
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	if p.GetEtag() != in.GetEtag() {
		return nil, staleEtag("partner "+name.String(), p.GetEtag(), in.GetEtag())
	}
	oldOrg := p.GetOrgNumber()
	merged := proto.Clone(p).(*partnerv1.Partner)
	for _, path := range paths {
		setPartnerField(merged, in, path)
	}
	// A changed value must be as valid as a new one; the kind and size rule
	// spans two fields, so the whole partner is checked.
	validatePartner(&v, "partner.", merged)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	updated := cleanPartner(merged)
	updated.Name, updated.CreateTime = p.GetName(), p.GetCreateTime()
	now := s.now()
	updated.UpdateTime = timestamppb.New(now)
	value, err := encodePartner(updated)
	if err != nil {
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	puts := []store.Put{{Key: name.key(), Value: value, Version: rec.Version, Index: partnerIndex(updated)}}
	if newOrg := updated.GetOrgNumber(); newOrg != oldOrg {
		puts = append(puts, store.Put{Key: orgKey(newOrg), Value: []byte(name.String())})
		if old, err := s.store.Get(ctx, ns(name.Region), orgKey(oldOrg)); err == nil && string(old.Value) == name.String() {
			puts = append(puts, store.Put{Key: orgKey(oldOrg), Version: old.Version, Delete: true})
		}
	}
	res, err := s.store.Commit(ctx, ns(name.Region), store.Write{
		Puts: puts,
		Events: []store.Event{{
			Time: now, Actor: who.Subject, Action: "UpdatePartner", Key: name.String(),
			EtagBefore: p.GetEtag(), EtagAfter: etagOf(rec.Version + 1), Detail: strings.Join(paths, ","),
		}},
	})
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, s.orgNumberTaken(ctx, name.Region, updated.GetOrgNumber())
	case errors.Is(err, store.ErrConflict):
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "partner %s was changed by someone else: read it again and retry", name)
	case err != nil:
		return nil, domain.Store(err, "PARTNER", "partner "+name.String())
	}
	updated.Etag = etagOf(res.Versions[0])
	return redactPartner(who, name.Region, updated), nil
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
