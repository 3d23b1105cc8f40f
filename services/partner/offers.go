package partner

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// maxRetriesPerList bounds the pending matches one ListOffers retries, so a
// list stays fast while a backlog is worked off.
const maxRetriesPerList = 5

const permissionDenied = codes.PermissionDenied

func offerIndex(e *repo.Entry[*partnerv1.Offer]) []store.IndexEntry {
	o := e.Msg
	t := newestFirst(o.GetCreateTime().AsTime())
	pid := ""
	if p, err := parsePartnerName(o.GetPartner()); err == nil {
		pid = p.ID
	}
	return []store.IndexEntry{
		{Index: "offers", Term: t},
		{Index: "offer_partner", Term: pid + "/" + t},
		{Index: "offer_status", Term: o.GetStatus().String() + "/" + t},
		{Index: "offers_updated", Term: newestFirst(o.GetUpdateTime().AsTime())},
	}
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
	if matches, err := s.matchNeeds(ctx, who, region, o); err != nil {
		s.needsFailed(err)
		s.logger.WarnContext(ctx, "offer stored with matching pending", "offer", o.GetName(), "error", err)
		o.MatchingPending = true
	} else {
		o.MatchedNeeds = matches
	}
	out, replayed, err := s.offers.Create(ctx, &repo.Entry[*partnerv1.Offer]{Ref: name.ref(), Msg: o}, repo.Create{
		Actor: who.Subject, Action: "CreateOffer",
		Request: &repo.Request{ID: req.GetRequestId(), Subject: who.Subject, Kind: "offer", Body: req},
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		first, _ := parseOfferName(out.Ref.Name)
		return s.readOffer(ctx, who, first)
	}
	return out.Msg, nil
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
func (s *Server) loadOffer(ctx context.Context, who *auth.Identity, name offerName) (*repo.Entry[*partnerv1.Offer], error) {
	e, err := s.offers.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if !mayRead(who, name.Region, e.Msg.GetPartner()) {
		return nil, domain.NotFound("OFFER_NOT_FOUND", "offer %s not found", name)
	}
	return e, nil
}

// readOffer loads an offer and, when its matching is pending, tries again.
func (s *Server) readOffer(ctx context.Context, who *auth.Identity, name offerName) (*partnerv1.Offer, error) {
	e, err := s.loadOffer(ctx, who, name)
	if err != nil {
		return nil, err
	}
	return s.retryMatching(ctx, who, name, e), nil
}

// retryMatching matches an offer whose matching is pending, with the
// reader's token, and stores the result. Failing that, or losing a race with
// another write, it returns the offer as read: a read never fails because
// the needs service does.
func (s *Server) retryMatching(ctx context.Context, who *auth.Identity, name offerName, e *repo.Entry[*partnerv1.Offer]) *partnerv1.Offer {
	o := e.Msg
	if !o.GetMatchingPending() || o.GetStatus() == partnerv1.OfferStatus_OFFER_STATUS_CLOSED || !s.mayRetry() {
		return o
	}
	matches, err := s.matchNeeds(ctx, who, name.Region, o)
	if err != nil {
		s.needsFailed(err)
		s.logger.WarnContext(ctx, "matching still pending", "offer", name.String(), "error", err)
		return o
	}
	out, _, err := s.offers.Update(ctx, name.ref(), e.Etag(), who.Subject, func(e *repo.Entry[*partnerv1.Offer], _ time.Time) (repo.Change, error) {
		e.Msg.MatchedNeeds, e.Msg.MatchingPending = matches, false
		return repo.Change{Action: "MatchOffer", Detail: "matching retried on read"}, nil
	})
	if err != nil {
		if status.Code(err) != codes.Aborted {
			s.logger.WarnContext(ctx, "storing matches failed", "offer", name.String(), "error", err)
		}
		return o
	}
	return out.Msg
}

// GetOffer returns one offer.
func (s *Server) GetOffer(ctx context.Context, req *partnerv1.GetOfferRequest) (*partnerv1.Offer, error) {
	name, who, err := s.resolveOffer(ctx, req.GetName(), readers()...)
	if err != nil {
		return nil, err
	}
	return s.readOffer(ctx, who, name)
}

// offerFilter are what ListOffers filters on, the indexed first. A
// partner is named by its resource name and must be of the region.
func offerFilter(region string) []filter.Field[*partnerv1.Offer] {
	partnerID := func(o *partnerv1.Offer) []string {
		p, _ := parsePartnerName(o.GetPartner())
		return []string{p.ID}
	}
	return []filter.Field[*partnerv1.Offer]{
		{
			Name: "partner", Get: partnerID,
			Check: func(v string) (string, error) {
				p, err := parsePartnerName(v)
				if err != nil {
					return "", err
				}
				if p.Region != region {
					return "", errors.New(v + " is not of region " + region)
				}
				return p.ID, nil
			},
			Index: func(id string) (store.Query, bool) {
				return store.Query{Index: "offer_partner", Prefix: id + "/"}, true
			},
		},
		{
			Name: "status", Values: filter.EnumValues(partnerv1.OfferStatus(0).Descriptor()),
			Get: func(o *partnerv1.Offer) []string { return []string{o.GetStatus().String()} },
			Index: func(v string) (store.Query, bool) {
				return store.Query{Index: "offer_status", Prefix: v + "/"}, true
			},
		},
	}
}

// ListOffers pages through a region's offers, newest first or in the order
// asked for (order.go). A company user's list holds their own partner's
// offers only.
func (s *Server) ListOffers(ctx context.Context, req *partnerv1.ListOffersRequest) (*partnerv1.ListOffersResponse, error) {
	region, who, err := resource.Region(ctx, domain, s.regions, req.GetParent(), readers()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	wide := isStaff(who, region) || isNational(who)
	orders := offerOrders
	if !wide {
		orders = ownOfferOrders
	}
	o := orders.Parse(&v, req.GetOrderBy())
	order, fields := offerOrderPlans[o], offerFilter(region)
	if order.index != "offers" {
		fields = unindexed(fields)
	}
	plan, ferr := filter.Compile(req.GetFilter(), store.Query{Index: order.index}, fields)
	if ferr != nil {
		v.Add("filter", "%v", ferr)
	}
	size := resource.PageSize(&v, req.GetPageSize())
	resp := &partnerv1.ListOffersResponse{}
	if !wide {
		own, err := parsePartnerName(ownPartner(who, region))
		if err != nil {
			return resp, nil // a partner claim of no partner here owns nothing
		}
		// Their own offers' index, whatever the filter asked for; the
		// filter still applies to each offer.
		plan.Query = store.Query{Index: "offer_partner", Prefix: own.ID + "/"}
	}
	plan.Query.Reverse = order.reverse
	query := resource.Digest(region, plan.Query.Index, plan.Query.Prefix, plan.Filter, orders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	if err := s.upgraded(ctx, region); err != nil {
		return nil, err
	}
	if order.index != "offers" {
		if err := s.ordersIndexed(ctx, region); err != nil {
			return nil, err
		}
	}
	retries := 0
	page := repo.Page[*partnerv1.Offer]{Plan: plan, After: after, Size: size, Digest: query}
	resp.NextPageToken, err = s.offers.List(ctx, region, page, func(e *repo.Entry[*partnerv1.Offer]) (bool, error) {
		if !mayRead(who, region, e.Msg.GetPartner()) {
			return false, nil
		}
		o := e.Msg
		if o.GetMatchingPending() && retries < maxRetriesPerList {
			retries++
			name, _ := parseOfferName(o.GetName())
			o = s.retryMatching(ctx, who, name, e)
		}
		resp.Offers = append(resp.Offers, o)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// changeOffer applies change to an offer the caller may see, at the etag
// they read.
func (s *Server) changeOffer(ctx context.Context, who *auth.Identity, name offerName, etag, action string,
	change func(o *partnerv1.Offer) error) (*partnerv1.Offer, error) {
	if _, err := s.loadOffer(ctx, who, name); err != nil {
		return nil, err
	}
	out, _, err := s.offers.Update(ctx, name.ref(), etag, who.Subject, func(e *repo.Entry[*partnerv1.Offer], _ time.Time) (repo.Change, error) {
		if err := change(e.Msg); err != nil {
			return repo.Change{}, err
		}
		return repo.Change{Action: action, Detail: e.Msg.GetStatus().String()}, nil
	})
	if err != nil {
		return nil, err
	}
	return out.Msg, nil
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
	e, err := s.loadOffer(ctx, who, name)
	if err != nil {
		return nil, err
	}
	if e.Etag() != req.GetEtag() {
		return nil, s.offers.Stale(e, req.GetEtag())
	}
	if err := routable(name, e.Msg); err != nil {
		return nil, err
	}
	if _, err := s.checkNeed(ctx, who, req.GetNeed()); err != nil {
		return nil, err
	}
	// The need shows the offer among its referenced_by (backlinks.go).
	return s.routeOffer(ctx, who, name, req.GetEtag(), req.GetNeed())
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
	// The company follows its offer to the need, and companies read
	// published needs only: routed to an unpublished one, it would find
	// nothing there.
	if !n.GetPublished() {
		return nil, domain.FailedPrecondition("NEED_NOT_PUBLISHED", "need %s is not published: publish it before routing an offer to it, or route the offer to a published need", need)
	}
	return n, nil
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
