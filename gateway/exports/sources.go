package exports

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	partnerv1 "github.com/innovationsmotorer/motor/proto/innovation/partner/v1"
)

// messages turns a page of typed resources into proto messages.
func messages[T proto.Message](items []T) []proto.Message {
	out := make([]proto.Message, len(items))
	for i, m := range items {
		out[i] = m
	}
	return out
}

// source returns the pages of collection under parent (regions/{region}).
func (h *handler) source(collection, parent string) (*source, error) {
	service := services[collection]
	conn := h.conns[service]
	if conn == nil {
		return nil, status.Errorf(codes.NotFound, "%s are not served here: this gateway fronts no %s service", collection, service)
	}
	switch collection {
	case "ideas":
		c := ideav1.NewIdeaServiceClient(conn)
		return &source{cols: columns(messageOf(&ideav1.Idea{})), next: func(ctx context.Context, token string) ([]proto.Message, string, error) {
			resp, err := c.ListIdeas(ctx, &ideav1.ListIdeasRequest{Parent: parent, PageSize: pageSize, PageToken: token})
			return messages(resp.GetIdeas()), resp.GetNextPageToken(), err
		}}, nil
	case "needs":
		c := needsv1.NewNeedsServiceClient(conn)
		return &source{cols: columns(messageOf(&needsv1.Need{})), next: func(ctx context.Context, token string) ([]proto.Message, string, error) {
			resp, err := c.ListNeeds(ctx, &needsv1.ListNeedsRequest{Parent: parent, PageSize: pageSize, PageToken: token})
			return messages(resp.GetNeeds()), resp.GetNextPageToken(), err
		}}, nil
	case "subprojects":
		c := fundingv1.NewSubprojectServiceClient(conn)
		return &source{cols: columns(messageOf(&fundingv1.Subproject{})), next: func(ctx context.Context, token string) ([]proto.Message, string, error) {
			resp, err := c.ListSubprojects(ctx, &fundingv1.ListSubprojectsRequest{Parent: parent, PageSize: pageSize, PageToken: token})
			return messages(resp.GetSubprojects()), resp.GetNextPageToken(), err
		}}, nil
	case "costReports":
		return costReports(fundingv1.NewSubprojectServiceClient(conn), parent), nil
	case "partners":
		c := partnerv1.NewPartnerServiceClient(conn)
		return &source{
			cols:  columns(messageOf(&partnerv1.Partner{})),
			extra: []string{"agreements"},
			// A partner's agreements, each as "field=value, …", in one cell.
			extraRows: func(ctx context.Context, m proto.Message) ([]string, error) {
				var parts []string
				req := &partnerv1.ListAgreementsRequest{Parent: m.(*partnerv1.Partner).GetName(), PageSize: pageSize}
				cols := columns(messageOf(&partnerv1.Agreement{}))
				for {
					resp, err := c.ListAgreements(ctx, req)
					if err != nil {
						return nil, err
					}
					for _, a := range resp.GetAgreements() {
						cells := row(cols, a)
						var kv []string
						for i, col := range cols {
							if cells[i] != "" {
								kv = append(kv, col.name+"="+cells[i])
							}
						}
						parts = append(parts, strings.Join(kv, ", "))
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						return []string{strings.Join(parts, "; ")}, nil
					}
				}
			},
			next: func(ctx context.Context, token string) ([]proto.Message, string, error) {
				resp, err := c.ListPartners(ctx, &partnerv1.ListPartnersRequest{Parent: parent, PageSize: pageSize, PageToken: token})
				return messages(resp.GetPartners()), resp.GetNextPageToken(), err
			},
		}, nil
	case "offers":
		c := partnerv1.NewPartnerServiceClient(conn)
		return &source{cols: columns(messageOf(&partnerv1.Offer{})), next: func(ctx context.Context, token string) ([]proto.Message, string, error) {
			resp, err := c.ListOffers(ctx, &partnerv1.ListOffersRequest{Parent: parent, PageSize: pageSize, PageToken: token})
			return messages(resp.GetOffers()), resp.GetNextPageToken(), err
		}}, nil
	}
	return nil, status.Errorf(codes.InvalidArgument, "%q is not exported", collection)
}

// costReports walks the region's subprojects and lists each one's cost
// reports (their names say whose). Its pages carry their own position, so
// the token it hands back only says whether more follow.
func costReports(c fundingv1.SubprojectServiceClient, parent string) *source {
	var (
		subs         []string // subprojects whose reports are still to read, the first one under way
		subToken     string
		subsListed   bool
		reportsToken string
	)
	next := func(ctx context.Context, _ string) ([]proto.Message, string, error) {
		for len(subs) == 0 {
			if subsListed {
				return nil, "", nil
			}
			resp, err := c.ListSubprojects(ctx, &fundingv1.ListSubprojectsRequest{Parent: parent, PageSize: pageSize, PageToken: subToken})
			if err != nil {
				return nil, "", err
			}
			for _, sp := range resp.GetSubprojects() {
				subs = append(subs, sp.GetName())
			}
			subToken = resp.GetNextPageToken()
			subsListed = subToken == ""
		}
		resp, err := c.ListCostReports(ctx, &fundingv1.ListCostReportsRequest{Parent: subs[0], PageSize: pageSize, PageToken: reportsToken})
		if err != nil {
			return nil, "", err
		}
		if reportsToken = resp.GetNextPageToken(); reportsToken == "" {
			subs = subs[1:]
		}
		more := ""
		if len(subs) > 0 || !subsListed {
			more = "more"
		}
		return messages(resp.GetCostReports()), more, nil
	}
	return &source{cols: columns(messageOf(&fundingv1.CostReport{})), next: next}
}
