package partner

import (
	"context"
	"errors"
	"strings"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// maxRetriesPerList bounds the pending matches one ListOffers retries, so a
// list stays fast while a backlog is worked off.
const maxRetriesPerList = 5

const permissionDenied = codes.PermissionDenied

func offerIndex(o *partnerv1.Offer) []store.IndexEntry {
	t := newestFirst(o.GetCreateTime().AsTime())
	pid := ""
	if p, err := parsePartnerName(o.GetPartner()); err == nil {
		pid = p.ID
	}
	return []store.IndexEntry{
		{Index: "offers", Term: t},
		{Index: "offer_partner", Term: pid + "/" + t},
		{Index: "offer_status", Term: o.GetStatus().String() + "/" + t},
	}
}

func encodeOffer(o *partnerv1.Offer) ([]byte, error) {
	clean := proto.Clone(o).(*partnerv1.Offer)
	clean.Etag = ""
	return encode(clean)
}

func decodeOffer(rec store.Record) (*partnerv1.Offer, error) {
	o := &partnerv1.Offer{}
	if err := decodeInto(rec, o); err != nil {
		return nil, err
	}
	o.Etag = etagOf(rec.Version)
	return o, nil
}

// CreateOffer takes a company's offer in. It is matched to the region's
// published needs before it is stored; when the needs service cannot be
// asked the offer is stored all the same, with matching pending.
func (s *Server) CreateOffer(ctx context.Context, req *partnerv1.CreateOfferRequest) (*partnerv1.Offer, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), offerers()...)
	if err != nil {
		return nil, err
	}
	staff := isStaff(who, region)
	in := req.GetOffer()
	partner := in.GetPartner()
	if !staff {
		own := ownPartner(who, region)
		switch {
		case own == "":
			return nil, domain.New(permissionDenied, "NO_PARTNER", "your token names no partner of region %s (partner claim %q)", region, who.Partner)
		case partner != "" && partner != own:
			return nil, domain.New(permissionDenied, "OTHER_PARTNER", "you send offers for %s, not for %s", own, partner)
		}
		partner = own
	}
	var v errs.Violations
	resource.CheckRequestID(&v, req.GetRequestId())
	if in == nil {
		v.Add("offer", "is required")
	} else {
		validateOffer(&v, region, in, staff)
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	pn, _ := parsePartnerName(partner)
	if _, err := s.loadPartner(ctx, pn); status.Code(err) == codes.NotFound {
		return nil, domain.FailedPrecondition("PARTNER_NOT_REGISTERED", "partner %s is not registered in region %s: the region registers it first", partner, region)
	} else if err != nil {
		return nil, err
	}

	now := s.now()
	name := offerName{Region: region, ID: resource.NewID()}
	o := &partnerv1.Offer{
		Name: name.String(), Partner: partner,
		Title: strings.TrimSpace(in.GetTitle()), Description: strings.TrimSpace(in.GetDescription()),
		Capabilities: trimTags(in.GetCapabilities()),
		Status:       partnerv1.OfferStatus_OFFER_STATUS_NEW,
		RespondBy:    s.respondBy(now),
		CreateTime:   timestamppb.New(now),
	}
	o.UpdateTime = o.CreateTime
	if matches, err := s.matchNeeds(ctx, who, region, o); err != nil {
		s.needsFailed(err)
		s.logger.WarnContext(ctx, "offer stored with matching pending", "offer", o.GetName(), "error", err)
		o.MatchingPending = true
	} else {
		o.MatchedNeeds = matches
	}
	value, err := encodeOffer(o)
	if err != nil {
		return nil, domain.Store(err, "OFFER", "offer")
	}
	w := store.Write{
		Puts:   []store.Put{{Key: name.key(), Value: value, Index: offerIndex(o)}},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "CreateOffer", Key: o.GetName(), EtagAfter: "1"}},
	}
	if rid := req.GetRequestId(); rid != "" {
		w.Idempotency = &store.Idempotency{
			Key:         requestIDKey("offer", who.Subject, rid),
			Fingerprint: resource.Fingerprint(req),
			Result:      []byte(o.GetName()),
		}
	}
	res, err := s.store.Commit(ctx, ns(region), w)
	if err != nil {
		return nil, domain.Store(err, "OFFER", "offer "+o.GetName())
	}
	if res.Replayed {
		first, err := parseOfferName(string(res.Result))
		if err != nil {
			return nil, domain.Store(err, "OFFER", "replayed offer")
		}
		return s.readOffer(ctx, who, first)
	}
	o.Etag = etagOf(res.Versions[0])
	return o, nil
}

// needsFailed pauses retries from reads for a while when the needs service
// is down or slow; a refusal or a missing token is about one caller, and the
// next reader may well succeed.
func (s *Server) needsFailed(err error) {
	if c := status.Code(err); c != codes.Unavailable && c != codes.DeadlineExceeded {
		return
	}
	s.mu.Lock()
	s.needsDown = s.now().Add(s.retryAfter)
	s.mu.Unlock()
}

func (s *Server) mayRetry() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.now().Before(s.needsDown)
}

func (s *Server) resolveOffer(ctx context.Context, raw string, roles ...auth.Role) (offerName, *auth.Identity, error) {
	name, err := parseOfferName(raw)
	if err != nil {
		return offerName{}, nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return offerName{}, nil, err
	}
	who, err := auth.Require(ctx, name.Region, roles...)
	if err != nil {
		return offerName{}, nil, err
	}
	return name, who, nil
}

// loadOffer reads an offer the caller may see; to company users, other
// companies' offers do not exist.
func (s *Server) loadOffer(ctx context.Context, who *auth.Identity, name offerName) (*partnerv1.Offer, int64, error) {
	rec, err := s.store.Get(ctx, ns(name.Region), name.key())
	if err != nil {
		return nil, 0, domain.Store(err, "OFFER", "offer "+name.String())
	}
	o, err := decodeOffer(rec)
	if err != nil {
		return nil, 0, domain.Store(err, "OFFER", "offer "+name.String())
	}
	if !mayRead(who, name.Region, o.GetPartner()) {
		return nil, 0, domain.NotFound("OFFER_NOT_FOUND", "offer %s not found", name)
	}
	return o, rec.Version, nil
}

// readOffer loads an offer and, when its matching is pending, tries again.
func (s *Server) readOffer(ctx context.Context, who *auth.Identity, name offerName) (*partnerv1.Offer, error) {
	o, version, err := s.loadOffer(ctx, who, name)
	if err != nil {
		return nil, err
	}
	return s.retryMatching(ctx, who, name, o, version), nil
}

// retryMatching matches an offer whose matching is pending, with the
// reader's token, and stores the result. Failing that, or losing a race with
// another write, it returns the offer as read: a read never fails because
// the needs service does.
func (s *Server) retryMatching(ctx context.Context, who *auth.Identity, name offerName, o *partnerv1.Offer, version int64) *partnerv1.Offer {
	if !o.GetMatchingPending() || o.GetStatus() == partnerv1.OfferStatus_OFFER_STATUS_CLOSED || !s.mayRetry() {
		return o
	}
	matches, err := s.matchNeeds(ctx, who, name.Region, o)
	if err != nil {
		s.needsFailed(err)
		s.logger.WarnContext(ctx, "matching still pending", "offer", name.String(), "error", err)
		return o
	}
	out := proto.Clone(o).(*partnerv1.Offer)
	out.MatchedNeeds, out.MatchingPending = matches, false
	now := s.now()
	out.UpdateTime = timestamppb.New(now)
	value, err := encodeOffer(out)
	if err != nil {
		return o
	}
	res, err := s.store.Commit(ctx, ns(name.Region), store.Write{
		Puts: []store.Put{{Key: name.key(), Value: value, Version: version, Index: offerIndex(out)}},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: "MatchOffer", Key: name.String(),
			EtagBefore: o.GetEtag(), EtagAfter: etagOf(version + 1), Detail: "matching retried on read"}},
	})
	if err != nil {
		if !errors.Is(err, store.ErrConflict) {
			s.logger.WarnContext(ctx, "storing matches failed", "offer", name.String(), "error", err)
		}
		return o
	}
	out.Etag = etagOf(res.Versions[0])
	return out
}

// GetOffer returns one offer.
func (s *Server) GetOffer(ctx context.Context, req *partnerv1.GetOfferRequest) (*partnerv1.Offer, error) {
	name, who, err := s.resolveOffer(ctx, req.GetName(), readers()...)
	if err != nil {
		return nil, err
	}
	return s.readOffer(ctx, who, name)
}

// offerFilter is a parsed ListOffers filter.
type offerFilter struct {
	status  partnerv1.OfferStatus
	partner string // partner id
}

func parseOfferFilter(s, region string) (offerFilter, error) {
	var f offerFilter
	terms, err := parseTerms(s, "status", "partner")
	if err != nil {
		return f, err
	}
	if v, ok := terms["status"]; ok {
		n, err := enumValue(partnerv1.OfferStatus_value, "status", v, "OFFER_STATUS_NEW")
		if err != nil {
			return f, err
		}
		f.status = partnerv1.OfferStatus(n)
	}
	if v, ok := terms["partner"]; ok {
		p, err := parsePartnerName(v)
		if err != nil {
			return f, err
		}
		if p.Region != region {
			return f, errors.New("partner " + v + " is not of region " + region)
		}
		f.partner = p.ID
	}
	return f, nil
}

func (f offerFilter) query() store.Query {
	switch {
	case f.partner != "":
		return store.Query{Index: "offer_partner", Prefix: f.partner + "/"}
	case f.status != 0:
		return store.Query{Index: "offer_status", Prefix: f.status.String() + "/"}
	}
	return store.Query{Index: "offers"}
}

// ListOffers pages through a region's offers, newest first. A company
// user's list holds their own partner's offers only.
func (s *Server) ListOffers(ctx context.Context, req *partnerv1.ListOffersRequest) (*partnerv1.ListOffersResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	f, ferr := parseOfferFilter(req.GetFilter(), region)
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	resp := &partnerv1.ListOffersResponse{}
	if !isStaff(who, region) && !isNational(who) {
		own, err := parsePartnerName(ownPartner(who, region))
		if err != nil {
			return resp, nil // a partner claim of no partner here owns nothing
		}
		if f.partner != "" && f.partner != own.ID {
			return resp, nil
		}
		f.partner = own.ID
	}
	q := f.query()
	query := resource.Digest(region, q.Index, q.Prefix, req.GetFilter())
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	retries := 0
	err = s.scan(ctx, region, q, after, size, query, func(rec store.Record) (bool, error) {
		o, err := decodeOffer(rec)
		if err != nil {
			return false, err
		}
		if f.status != 0 && o.GetStatus() != f.status || !mayRead(who, region, o.GetPartner()) {
			return false, nil
		}
		if o.GetMatchingPending() && retries < maxRetriesPerList {
			retries++
			name, _ := parseOfferName(o.GetName())
			o = s.retryMatching(ctx, who, name, o, rec.Version)
		}
		resp.Offers = append(resp.Offers, o)
		return true, nil
	}, &resp.NextPageToken)
	if err != nil {
		return nil, domain.Store(err, "OFFER", "offers of "+region)
	}
	return resp, nil
}

// changeOffer reads an offer, checks the caller's etag, applies change and
// writes it back with compare-and-set and its audit event.
func (s *Server) changeOffer(ctx context.Context, who *auth.Identity, name offerName, etag, action string,
	change func(o *partnerv1.Offer) error) (*partnerv1.Offer, error) {
	o, version, err := s.loadOffer(ctx, who, name)
	if err != nil {
		return nil, err
	}
	if o.GetEtag() != etag {
		return nil, staleEtag("offer "+name.String(), o.GetEtag(), etag)
	}
	before := o.GetEtag()
	if err := change(o); err != nil {
		return nil, err
	}
	now := s.now()
	o.UpdateTime = timestamppb.New(now)
	value, err := encodeOffer(o)
	if err != nil {
		return nil, domain.Store(err, "OFFER", "offer "+name.String())
	}
	res, err := s.store.Commit(ctx, ns(name.Region), store.Write{
		Puts: []store.Put{{Key: name.key(), Value: value, Version: version, Index: offerIndex(o)}},
		Events: []store.Event{{Time: now, Actor: who.Subject, Action: action, Key: name.String(),
			EtagBefore: before, EtagAfter: etagOf(version + 1), Detail: o.GetStatus().String()}},
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, domain.New(codes.Aborted, "ETAG_MISMATCH", "offer %s was changed by someone else: read it again and retry", name)
	}
	if err != nil {
		return nil, domain.Store(err, "OFFER", "offer "+name.String())
	}
	o.Etag = etagOf(res.Versions[0])
	return o, nil
}

// RouteOffer sends an offer to a need of its region, after the needs
// service has confirmed the need exists and is open, and then links the need
// to the offer there.
func (s *Server) RouteOffer(ctx context.Context, req *partnerv1.RouteOfferRequest) (*partnerv1.Offer, error) {
	name, who, err := s.resolveOffer(ctx, req.GetName(), staffRoles()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	if req.GetNeed() == "" {
		v.Add("need", "is required: the need to route the offer to (regions/{region}/needs/{need})")
	} else if n, err := parseResource(req.GetNeed(), "needs"); err != nil {
		v.Add("need", "%v", err)
	} else if n.Region != name.Region {
		v.Add("need", "%s is a need of region %s; an offer of %s goes to a need of its own region", req.GetNeed(), n.Region, name.Region)
	}
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the offer as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	// Check the offer before asking the needs service: a stale etag or a
	// closed offer is answered without a remote call.
	o, _, err := s.loadOffer(ctx, who, name)
	if err != nil {
		return nil, err
	}
	if o.GetEtag() != req.GetEtag() {
		return nil, staleEtag("offer "+name.String(), o.GetEtag(), req.GetEtag())
	}
	if err := routable(name, o); err != nil {
		return nil, err
	}
	need, err := s.checkNeed(ctx, who, req.GetNeed())
	if err != nil {
		return nil, err
	}
	out, err := s.changeOffer(ctx, who, name, req.GetEtag(), "RouteOffer", func(o *partnerv1.Offer) error {
		if err := routable(name, o); err != nil {
			return err
		}
		o.Status, o.RoutedTo = partnerv1.OfferStatus_OFFER_STATUS_ROUTED, req.GetNeed()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.linkNeed(ctx, who, need, name.String())
	return out, nil
}

// routable: an offer is routed while it is NEW, or routed again to another
// need while it is ROUTED; once in dialogue or closed it stays where it is.
func routable(name offerName, o *partnerv1.Offer) error {
	switch o.GetStatus() {
	case partnerv1.OfferStatus_OFFER_STATUS_NEW, partnerv1.OfferStatus_OFFER_STATUS_ROUTED:
		return nil
	}
	return domain.FailedPrecondition("OFFER_NOT_ROUTABLE", "offer %s is %s: only NEW and ROUTED offers are routed", name, o.GetStatus())
}

// checkNeed asks the needs service for the need, with the caller's token.
func (s *Server) checkNeed(ctx context.Context, who *auth.Identity, need string) (*needsv1.Need, error) {
	if s.needs == nil {
		return nil, domain.New(codes.Unavailable, "NEEDS_UNAVAILABLE", "the needs service is not configured: offers cannot be routed")
	}
	cctx, cancel := context.WithTimeout(auth.WithBearer(ctx, who.Token), s.needsTimeout)
	defer cancel()
	n, err := s.needs.GetNeed(cctx, &needsv1.GetNeedRequest{Name: need})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return nil, domain.FailedPrecondition("NEED_NOT_FOUND", "need %s does not exist", need)
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
		return nil, domain.New(codes.Unavailable, "NEEDS_UNAVAILABLE", "cannot reach the needs service to check %s; try again: %v", need, status.Convert(err).Message())
	default:
		return nil, domain.FailedPrecondition("NEED_NOT_CHECKED", "the needs service refused to show %s: %v", need, status.Convert(err).Message())
	}
	if n.GetStatus() == needsv1.NeedStatus_NEED_STATUS_CLOSED {
		return nil, domain.FailedPrecondition("NEED_CLOSED", "need %s is closed: route the offer to an open need", need)
	}
	return n, nil
}

// linkNeed records the offer among the need's links. The offer is routed
// whether or not this succeeds (linking again is harmless), so a failure is
// logged for the advisor's follow-up rather than returned.
func (s *Server) linkNeed(ctx context.Context, who *auth.Identity, need *needsv1.Need, offer string) {
	etag := need.GetEtag()
	for attempt := 0; attempt < 2; attempt++ {
		cctx, cancel := context.WithTimeout(auth.WithBearer(ctx, who.Token), s.needsTimeout)
		_, err := s.needs.LinkNeed(cctx, &needsv1.LinkNeedRequest{Name: need.GetName(), Target: offer, Etag: etag})
		if status.Code(err) == codes.Aborted && attempt == 0 {
			var n *needsv1.Need
			n, err = s.needs.GetNeed(cctx, &needsv1.GetNeedRequest{Name: need.GetName()})
			cancel()
			if err == nil {
				etag = n.GetEtag()
				continue
			}
		} else {
			cancel()
		}
		if err != nil {
			s.logger.WarnContext(ctx, "routed offer not linked from its need", "offer", offer, "need", need.GetName(), "error", err)
		}
		return
	}
}

// TransitionOffer moves a routed offer into dialogue (region staff), or
// closes an offer (region staff, or the company that sent it, to withdraw).
func (s *Server) TransitionOffer(ctx context.Context, req *partnerv1.TransitionOfferRequest) (*partnerv1.Offer, error) {
	name, who, err := s.resolveOffer(ctx, req.GetName(), offerers()...)
	if err != nil {
		return nil, err
	}
	to := req.GetStatus()
	reason := strings.TrimSpace(req.GetReason())
	var v errs.Violations
	switch to {
	case partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE, partnerv1.OfferStatus_OFFER_STATUS_CLOSED:
	case partnerv1.OfferStatus_OFFER_STATUS_ROUTED:
		v.Add("status", "an offer is ROUTED through :route, which names the need")
	default:
		v.Add("status", "%s cannot be chosen: OFFER_STATUS_IN_DIALOGUE or OFFER_STATUS_CLOSED", to)
	}
	if to == partnerv1.OfferStatus_OFFER_STATUS_CLOSED && reason == "" {
		v.Add("reason", "is required to close an offer (the company reads it)")
	}
	resource.CheckText(&v, "reason", reason, maxReason, false)
	if req.GetEtag() == "" {
		v.Add("etag", "is required: send the etag of the offer as you read it")
	}
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	staff := isStaff(who, name.Region)
	return s.changeOffer(ctx, who, name, req.GetEtag(), "TransitionOffer", func(o *partnerv1.Offer) error {
		from := o.GetStatus()
		switch {
		case !staff && to != partnerv1.OfferStatus_OFFER_STATUS_CLOSED:
			return domain.New(permissionDenied, "STAFF_ONLY", "only the region's advisors and admins move offers to %s", to)
		case from == partnerv1.OfferStatus_OFFER_STATUS_CLOSED:
			return domain.FailedPrecondition("OFFER_CLOSED", "offer %s is closed: it does not move any more", name)
		case to == partnerv1.OfferStatus_OFFER_STATUS_IN_DIALOGUE && from != partnerv1.OfferStatus_OFFER_STATUS_ROUTED:
			return domain.FailedPrecondition("OFFER_NOT_ROUTED", "offer %s is %s: it goes into dialogue once routed to a need", name, from)
		}
		o.Status = to
		if to == partnerv1.OfferStatus_OFFER_STATUS_CLOSED {
			o.CloseReason = reason
		}
		return nil
	})
}
