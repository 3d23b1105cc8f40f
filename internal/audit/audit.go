// Package audit answers ListAuditEvents, the same way for every service: a
// region admin pages through the audit records (docs/architecture.md, "Identity and access") that one service
// wrote for their region, oldest first or newest first; national
// coordinators page through the programme ledger's the same way.
package audit

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/config"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	auditv1 "github.com/innovationsmotorer/motor/proto/innovation/audit/v1"
)

// Request is what every service's ListAuditEventsRequest carries.
type Request interface {
	GetParent() string
	GetPageSize() int32
	GetPageToken() string
	GetOrderBy() string
}

// Orders are the orders of an audit log (AIP-132): the order the store
// recorded the events in, which their sequence numbers count, read
// forwards (the default) or backwards. Times are the writers' clocks and
// follow the sequence.
var Orders = resource.Orders{"time", "time desc"}

// Log is one service's audit log as its region admins read it.
type Log struct {
	Store   store.Store
	Service string // the store namespace's service, e.g. "idea"
	Domain  errs.Domain
	Regions config.Served
}

// List returns one page of the log of the region in req's parent and the
// token of the next page ("" at the end of the log as it stands).
func (l Log) List(ctx context.Context, req Request) ([]*auditv1.AuditEvent, string, error) {
	var v errs.Violations
	region, err := resource.ParseRegion(req.GetParent())
	if err != nil {
		v.Add("parent", "%v", err)
	}
	p := l.page(&v, req, req.GetParent())
	if err := v.Err(l.Domain); err != nil {
		return nil, "", err
	}
	if err := resource.Served(l.Domain, l.Regions, region); err != nil {
		return nil, "", err
	}
	if _, err := auth.Require(ctx, region, auth.RegionAdmin); err != nil {
		return nil, "", err
	}
	return l.read(ctx, region, p)
}

// ListNational returns one page of the service's national log (the
// programme ledger's), which national coordinators read.
func (l Log) ListNational(ctx context.Context, req NationalRequest) ([]*auditv1.AuditEvent, string, error) {
	var v errs.Violations
	p := l.page(&v, req, auth.NationalRegion)
	if err := v.Err(l.Domain); err != nil {
		return nil, "", err
	}
	if _, err := auth.Require(ctx, auth.NationalRegion, auth.Coordinator); err != nil {
		return nil, "", err
	}
	return l.read(ctx, auth.NationalRegion, p)
}

// NationalRequest is what a national log's list request carries: no
// parent, the log is the service's one national log.
type NationalRequest interface {
	GetPageSize() int32
	GetPageToken() string
	GetOrderBy() string
}

// page is one page of a log to read.
type page struct {
	size    int
	after   int64 // the sequence of the last event handed out, 0 for none
	reverse bool
	query   string
}

// page reads page_size, order_by and page_token; the token holds the
// sequence of the last event handed out, and belongs to the log of scope
// read in one order.
func (l Log) page(v *errs.Violations, req NationalRequest, scope string) page {
	o := Orders.Parse(v, req.GetOrderBy())
	p := page{
		size:    resource.PageSize(v, req.GetPageSize()),
		reverse: o == 1,
		query:   resource.Digest("audit", l.Service, scope, Orders[o]),
	}
	if tok := resource.DecodeToken(v, req.GetPageToken(), p.query); tok != "" {
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || n < 0 || p.reverse && n == 0 {
			v.Add("page_token", "is not a page token returned by this list")
		}
		p.after = n
	}
	return p
}

func (l Log) read(ctx context.Context, region string, p page) ([]*auditv1.AuditEvent, string, error) {
	ns := store.Namespace{Service: l.Service, Region: region}
	// One more than a page tells whether another page follows.
	var evs []store.Event
	var err error
	if p.reverse {
		// Newest first: before the last event handed out, or from the end.
		evs, err = l.Store.EventsBefore(ctx, ns, p.after, p.size+1)
	} else {
		evs, err = l.Store.Events(ctx, ns, p.after, p.size+1)
	}
	if err != nil {
		return nil, "", l.Domain.Store(err, "AUDIT_LOG", "audit log of "+l.Service+" in "+region)
	}
	next := ""
	if len(evs) > p.size {
		evs = evs[:p.size]
		next = resource.EncodeToken(strconv.FormatInt(evs[p.size-1].Seq, 10), p.query)
	}
	out := make([]*auditv1.AuditEvent, len(evs))
	for i, e := range evs {
		out[i] = &auditv1.AuditEvent{
			Sequence:   e.Seq,
			Time:       timestamppb.New(e.Time),
			Actor:      e.Actor,
			Action:     e.Action,
			Resource:   e.Key,
			EtagBefore: e.EtagBefore,
			EtagAfter:  e.EtagAfter,
			Detail:     e.Detail,
		}
	}
	return out, next, nil
}
