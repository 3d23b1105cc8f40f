package reports

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
	needsv1 "github.com/innovationsmotorer/motor/proto/innovation/needs/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// needFamily holds the needs' figures.
const needFamily family = "needs"

const (
	factReported   = "reported"
	factReportedBy = "reported-by"
	factEntered    = "entered"
	factStock      = "stock"
	factMatchedBy  = "matched-by"
)

// needFacts are what one need contributes: the month it was reported, by
// whom; the month it first entered each status; +1 to its status's stock in
// the month it entered it and -1 in the month it left; and, in the month it
// was first MATCHED, the kinds of what it is linked to.
func needFacts(need *needsv1.Need, history []*needsv1.HistoryEntry) []fact {
	created := need.GetCreateTime().AsTime()
	m0 := monthOf(created)
	facts := []fact{
		{Month: m0, Kind: factReported},
		{Month: m0, Kind: factReportedBy, Key: need.GetReportedBy().String()},
	}
	type entry struct {
		status needsv1.NeedStatus
		at     time.Time
	}
	entries := []entry{{needsv1.NeedStatus_NEED_STATUS_IDENTIFIED, created}}
	for _, h := range history {
		if h.GetToStatus() == needsv1.NeedStatus_NEED_STATUS_IDENTIFIED && len(entries) == 1 && h.GetFromStatus() == needsv1.NeedStatus_NEED_STATUS_UNSPECIFIED {
			continue // the report itself
		}
		entries = append(entries, entry{h.GetToStatus(), h.GetTime().AsTime()})
	}
	seen := map[needsv1.NeedStatus]bool{}
	for i, e := range entries {
		st := e.status.String()
		facts = append(facts, fact{Month: monthOf(e.at), Kind: factStock, Key: st, N: 1})
		if i+1 < len(entries) {
			facts = append(facts, fact{Month: monthOf(entries[i+1].at), Kind: factStock, Key: st, N: -1})
		}
		if seen[e.status] {
			continue
		}
		seen[e.status] = true
		facts = append(facts, fact{Month: monthOf(e.at), Kind: factEntered, Key: st})
		if e.status == needsv1.NeedStatus_NEED_STATUS_MATCHED {
			kinds := map[string]bool{}
			// Routed offers and subprojects refer to the need from their
			// side (referenced_by).
			for _, link := range append(slices.Clone(need.GetLinks()), need.GetReferencedBy()...) {
				if k := linkKind(link); k != "" && !kinds[k] {
					kinds[k] = true
					facts = append(facts, fact{Month: monthOf(e.at), Kind: factMatchedBy, Key: k})
				}
			}
		}
	}
	return facts
}

// linkKind is what a link points at: "idea", "offer" or "subproject".
func linkKind(target string) string {
	parts := strings.Split(target, "/")
	if len(parts) < 4 || parts[0] != "regions" {
		return ""
	}
	switch parts[2] {
	case "ideas":
		return "idea"
	case "offers":
		return "offer"
	case "subprojects":
		return "subproject"
	}
	return ""
}

// needMonth is one month's figures of a region's needs.
type needMonth struct {
	Reported   int64            `json:"reported,omitempty"`
	ReportedBy map[string]int64 `json:"by,omitempty"`
	Entered    map[string]int64 `json:"entered,omitempty"`
	// Stock is the change of each status's count in the month.
	Stock     map[string]int64 `json:"stock,omitempty"`
	MatchedBy map[string]int64 `json:"matched,omitempty"`
}

func (a *needMonth) add(f fact, n int64) {
	switch f.Kind {
	case factReported:
		a.Reported += n
	case factReportedBy:
		bump(&a.ReportedBy, f.Key, n)
	case factEntered:
		bump(&a.Entered, f.Key, n)
	case factStock:
		bump(&a.Stock, f.Key, n*f.N)
	case factMatchedBy:
		bump(&a.MatchedBy, f.Key, n)
	}
}

func (a *needMonth) merge(b *needMonth) {
	a.Reported += b.Reported
	bumpAll(&a.ReportedBy, b.ReportedBy)
	bumpAll(&a.Entered, b.Entered)
	bumpAll(&a.Stock, b.Stock)
	bumpAll(&a.MatchedBy, b.MatchedBy)
}

// NeedSource reads a need's facts as this deployment.
type NeedSource = factsOf

// NeedReader is the part of the needs service's client the reports read.
type NeedReader interface {
	GetNeed(ctx context.Context, in *needsv1.GetNeedRequest, opts ...grpc.CallOption) (*needsv1.Need, error)
	ListNeedHistory(ctx context.Context, in *needsv1.ListNeedHistoryRequest, opts ...grpc.CallOption) (*needsv1.ListNeedHistoryResponse, error)
}

// GRPCNeeds reads needs through the needs service's own API, as this
// deployment.
func GRPCNeeds(c NeedReader) NeedSource {
	return func(ctx context.Context, name string, _ []fact, _ []store.Event) ([]fact, bool, error) {
		need, err := c.GetNeed(ctx, &needsv1.GetNeedRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("GetNeed %s: %w", name, err)
		}
		var history []*needsv1.HistoryEntry
		req := &needsv1.ListNeedHistoryRequest{Parent: name, PageSize: 1000}
		for {
			resp, err := c.ListNeedHistory(ctx, req)
			if status.Code(err) == codes.NotFound {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, fmt.Errorf("ListNeedHistory %s: %w", name, err)
			}
			history = append(history, resp.GetEntries()...)
			if resp.GetNextPageToken() == "" {
				return needFacts(need, history), true, nil
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
}

// needReport turns every month up to the period's end into the report:
// flows from the period's months, stocks summed from the first month.
func needReport(region string, p period, iv interval, months map[month]*needMonth) *reportsv1.NeedReport {
	out := &reportsv1.NeedReport{Name: "regions/" + region + "/reports/needs", Period: p.String(), Interval: string(iv)}
	stock := &needMonth{}
	total := &needMonth{}
	first := p.from
	for m := range months {
		first = min(first, m)
	}
	for m := first; m < p.from; m++ {
		if a := months[m]; a != nil {
			bumpAll(&stock.Stock, a.Stock)
		}
	}
	var row *needMonth
	var label string
	flush := func() {
		if row != nil {
			out.Intervals = append(out.Intervals, &reportsv1.NeedInterval{
				Interval: label, Reported: row.Reported, ByReportedBy: counts(row.ReportedBy),
				Entered: counts(row.Entered), InStatus: counts(stock.Stock), MatchedBy: counts(row.MatchedBy),
			})
		}
	}
	for m := p.from; m <= p.to; m++ {
		if l := iv.label(m); row == nil || l != label {
			flush()
			row, label = &needMonth{}, l
		}
		if a := months[m]; a != nil {
			row.merge(a)
			total.merge(a)
			bumpAll(&stock.Stock, a.Stock)
		}
	}
	flush()
	out.Matched = total.Entered[needsv1.NeedStatus_NEED_STATUS_MATCHED.String()]
	out.MatchedBy = counts(total.MatchedBy)
	return out
}
