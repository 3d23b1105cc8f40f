// Package audit answers ListAuditEvents, the same way for every service: a
// region admin pages through the audit records (docs/architecture.md, "Identity and access") that one service
// wrote for their region, oldest first; national coordinators page through
// the programme ledger's the same way.
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
}

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
	size, after, query := l.page(&v, req.GetPageSize(), req.GetPageToken(), req.GetParent())
	if err := v.Err(l.Domain); err != nil {
		return nil, "", err
	}
	if err := resource.Served(l.Domain, l.Regions, region); err != nil {
		return nil, "", err
	}
	if _, err := auth.Require(ctx, region, auth.RegionAdmin); err != nil {
		return nil, "", err
	}
	return l.read(ctx, region, size, after, query)
}

// ListNational returns one page of the service's national log (the
// programme ledger's), which national coordinators read.
func (l Log) ListNational(ctx context.Context, pageSize int32, pageToken string) ([]*auditv1.AuditEvent, string, error) {
	var v errs.Violations
	size, after, query := l.page(&v, pageSize, pageToken, auth.NationalRegion)
	if err := v.Err(l.Domain); err != nil {
		return nil, "", err
	}
	if _, err := auth.Require(ctx, auth.NationalRegion, auth.Coordinator); err != nil {
		return nil, "", err
	}
	return l.read(ctx, auth.NationalRegion, size, after, query)
}

// page reads page_size and page_token; the token holds the sequence of the
// last event handed out, and belongs to the log of scope.
func (l Log) page(v *errs.Violations, pageSize int32, pageToken, scope string) (size int, after int64, query string) {
	size = resource.PageSize(v, pageSize)
	query = resource.Digest("audit", l.Service, scope)
	if tok := resource.DecodeToken(v, pageToken, query); tok != "" {
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil || n < 0 {
			v.Add("page_token", "is not a page token returned by this list")
		}
		after = n
	}
	return size, after, query
}

func (l Log) read(ctx context.Context, region string, size int, after int64, query string) ([]*auditv1.AuditEvent, string, error) {
	// One more than a page tells whether another page follows.
	evs, err := l.Store.Events(ctx, store.Namespace{Service: l.Service, Region: region}, after, size+1)
	if err != nil {
		return nil, "", l.Domain.Store(err, "AUDIT_LOG", "audit log of "+l.Service+" in "+region)
	}
	next := ""
	if len(evs) > size {
		evs = evs[:size]
		next = resource.EncodeToken(strconv.FormatInt(evs[size-1].Seq, 10), query)
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
