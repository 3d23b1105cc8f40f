package idea

import (
	"context"
	"strconv"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/innovationsmotorer/motor/internal/auth"
	"github.com/innovationsmotorer/motor/internal/resource"
	"github.com/innovationsmotorer/motor/internal/rpc/errs"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

const permissionDenied = codes.PermissionDenied

// ListIdeaHistory lists an idea's stage decisions, oldest first. Whoever may
// read the idea may read why it moved: a rejection's rationale is written for
// the submitter.
func (s *Server) ListIdeaHistory(ctx context.Context, req *ideav1.ListIdeaHistoryRequest) (*ideav1.ListIdeaHistoryResponse, error) {
	name, who, err := s.resolve(ctx, req.GetParent(), "parent", readers()...)
	if err != nil {
		return nil, err
	}
	var ov errs.Violations
	o := historyOrders.Parse(&ov, req.GetOrderBy())
	query := resource.Digest("history", req.GetParent(), historyOrders[o])
	start, size, err := offsetPage(&ov, req.GetPageSize(), req.GetPageToken(), query)
	if err != nil {
		return nil, err
	}
	r, err := s.load(ctx, who, name)
	if err != nil {
		return nil, err
	}
	resp := &ideav1.ListIdeaHistoryResponse{}
	personal := auth.CanSeePersonalData(who, name.Region, r.Owner)
	history := side(r).History
	for i := start; i < len(history) && len(resp.Entries) < size; i++ {
		// The history is one bounded list inside the idea: newest first
		// is the same list read from its end, positions counted alike.
		at := i
		if o == 1 {
			at = len(history) - 1 - i
		}
		h := proto.Clone(history[at]).(*ideav1.HistoryEntry)
		if !personal && h.GetActor() == r.Owner {
			// The submitter's own moves (submitting, withdrawing) would name them.
			h.Actor, h.ActorName = "", ""
		}
		resp.Entries = append(resp.Entries, h)
		if len(resp.Entries) == size && i+1 < len(side(r).History) {
			resp.NextPageToken = resource.EncodeToken(strconv.Itoa(i+1), query)
		}
	}
	return resp, nil
}

// offsetPage reads page_size and a page token that holds a position in a
// short list kept inside one record, adding to the violations v holds.
func offsetPage(v *errs.Violations, pageSize int32, token, query string) (start, size int, err error) {
	size = resource.PageSize(v, pageSize)
	if after := resource.DecodeToken(v, token, query); after != "" {
		n, err := strconv.Atoi(after)
		if err != nil || n < 0 {
			v.Add("page_token", "is not a page token returned by this list")
		}
		start = n
	}
	return start, size, v.Err(domain)
}
