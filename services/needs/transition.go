package needs

import (
	"context"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/resource"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	"github.com/innovationsmotorer/motor/internal/store"
	"github.com/innovationsmotorer/motor/internal/store/filter"
	"github.com/innovationsmotorer/motor/internal/store/repo"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TransitionNeed moves a need along the status machine of docs/architecture.md ("Domain rules") and
// keeps the decision in the need's history, in the same write.
func (s *Server) TransitionNeed(ctx context.Context, req *needsv1.TransitionNeedRequest) (*needsv1.Need, error) {
	name, err := parseNeedName(req.GetName())
	if err != nil {
		return nil, domain.InvalidArgument("name", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, staffRoles()...)
	if err != nil {
		return nil, err
	}
	to := req.GetStatus()
	var v errs.Violations
	switch {
	case to == needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED:
		v.Add("status", "is required: the status to move to (e.g. NEED_STATUS_VALIDATED)")
	case needsv1.NeedStatus_name[int32(to)] == "":
		v.Add("status", "%d is not a need status", to)
	}
	resource.CheckText(&v, "reason", req.GetReason(), maxComment, false)
	checkEtag(&v, "etag", req.GetEtag())
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(req.GetReason())

	r, _, err := s.needs.Update(ctx, name.ref(), req.GetEtag(), who.Subject, func(r *record, now time.Time) (repo.Change, error) {
		from := r.Msg.GetStatus()
		if err := checkMove(name, r, to, reason); err != nil {
			return repo.Change{}, err
		}
		r.Msg.Status = to
		seq := int(r.Incr(countDecisions))
		put, err := s.history.Put(&repo.Entry[*needsv1.HistoryEntry]{
			Ref: repo.Ref{Region: name.Region, Key: historyKey(name, seq)},
			Msg: &needsv1.HistoryEntry{
				FromStatus: from, ToStatus: to, Reason: reason,
				Actor: who.Subject, ActorName: who.Name, Time: timestamppb.New(now),
			},
		})
		if err != nil {
			return repo.Change{}, err
		}
		return repo.Change{
			Action: "TransitionNeed",
			Detail: from.String() + " -> " + to.String(), // the reason may name people; it stays out of the audit log
			Puts:   []store.Put{put},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return speak(ctx, redact(who, name.Region, r.Owner, r.Msg)), nil
}

// ListNeedHistory pages through a need's decisions, oldest first or newest
// first.
func (s *Server) ListNeedHistory(ctx context.Context, req *needsv1.ListNeedHistoryRequest) (*needsv1.ListNeedHistoryResponse, error) {
	name, err := parseNeedName(req.GetParent())
	if err != nil {
		return nil, domain.InvalidArgument("parent", err)
	}
	if err := resource.Served(domain, s.regions, name.Region); err != nil {
		return nil, err
	}
	who, err := auth.Require(ctx, name.Region, insiders()...)
	if err != nil {
		return nil, err
	}
	var v errs.Violations
	size := resource.PageSize(&v, req.GetPageSize())
	o := historyOrders.Parse(&v, req.GetOrderBy())
	q := store.Query{Index: "history", Prefix: name.ID + "/", Reverse: o == 1}
	query := resource.Digest(name.String(), q.Index, q.Prefix, historyOrders[o])
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.needs.Get(ctx, name.ref())
	if err != nil {
		return nil, err
	}
	if !mayReadHistory(who, name.Region, r.Owner) {
		if mayRead(who, name.Region, r.Owner, r.Msg) {
			return nil, domain.New(codes.PermissionDenied, "HISTORY_NOT_VISIBLE", "the history of need %s is for the region's staff and the person who reported it", name)
		}
		return nil, notFound(name)
	}

	resp := &needsv1.ListNeedHistoryResponse{}
	page := repo.Page[*needsv1.HistoryEntry]{Plan: filter.Plan[*needsv1.HistoryEntry]{Query: q}, After: after, Size: size, Digest: query}
	resp.NextPageToken, err = s.history.List(ctx, name.Region, page, func(e *repo.Entry[*needsv1.HistoryEntry]) (bool, error) {
		if redactPeople(who, name.Region) {
			e.Msg.Actor, e.Msg.ActorName = "", ""
		}
		resp.Entries = append(resp.Entries, e.Msg)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
