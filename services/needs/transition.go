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
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
)

// TransitionNeed moves a need along the status machine of DESIGN §4 and
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

	r, _, err := s.update(ctx, who, name, req.GetEtag(), func(r *record, now time.Time) (edit, error) {
		from := r.need.GetStatus()
		if err := checkMove(name, r, to, reason); err != nil {
			return edit{}, err
		}
		r.need.Status = to
		r.decisions++
		entry, err := encodeMessage(&needsv1.HistoryEntry{
			FromStatus: from, ToStatus: to, Reason: reason,
			Actor: who.Subject, ActorName: who.Name, Time: timestamppb.New(now),
		})
		if err != nil {
			return edit{}, domain.Store(err, "NEED", "history of "+name.String())
		}
		return edit{
			action: "TransitionNeed",
			detail: from.String() + " -> " + to.String(), // the reason may name people; it stays out of the audit log
			puts: []store.Put{{
				Key: historyKey(name, r.decisions), Value: entry,
				Index: []store.IndexEntry{{Index: "history", Term: historyTerm(name, r.decisions)}},
			}},
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return redact(who, name.Region, r.owner, r.need), nil
}

// ListNeedHistory pages through a need's decisions, oldest first.
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
	q := store.Query{Index: "history", Prefix: name.ID + "/"}
	query := resource.Digest(name.String(), q.Index, q.Prefix)
	after := resource.DecodeToken(&v, req.GetPageToken(), query)
	if err := v.Err(domain); err != nil {
		return nil, err
	}
	r, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if !mayReadHistory(who, name.Region, r.owner) {
		if mayRead(who, name.Region, r.owner, r.need) {
			return nil, domain.New(codes.PermissionDenied, "HISTORY_NOT_VISIBLE", "the history of need %s is for the region's staff and the person who reported it", name)
		}
		return nil, notFound(name)
	}

	resp := &needsv1.ListNeedHistoryResponse{}
	q.After = after
	resp.NextPageToken, err = s.collect(ctx, name.Region, q, size, query, func(rec store.Record) (bool, error) {
		entry := &needsv1.HistoryEntry{}
		if err := decodeMessage(rec, entry); err != nil {
			return false, err
		}
		if redactPeople(who, name.Region) {
			entry.Actor, entry.ActorName = "", ""
		}
		resp.Entries = append(resp.Entries, entry)
		return true, nil
	})
	if err != nil {
		return nil, domain.Store(err, "NEED", "history of "+name.String())
	}
	return resp, nil
}
