package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/innovationsmotorer/motor/internal/store"
	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

const (
	factSubmitted = "submitted"
	factOrigin    = "origin"
	factCareArea  = "care"
	factReached   = "reached"
	factDays      = "days"
	factSpread    = "spread"
)

// noCareArea is the key of ideas submitted without a care area.
const noCareArea = "unspecified"

// ideaFacts are what one idea contributes: the month it was submitted, with
// its origin and care area; the month it first entered each stage; each
// stay in a stage that ended, in whole days, in the month it ended; and
// each region that adopted it, in the month it was spread.
func ideaFacts(idea *ideav1.Idea, history []*ideav1.HistoryEntry) []fact {
	created := idea.GetCreateTime().AsTime()
	m0 := monthOf(created)
	care := strings.TrimSpace(idea.GetCareArea())
	if care == "" {
		care = noCareArea
	}
	facts := []fact{
		{Month: m0, Kind: factSubmitted},
		{Month: m0, Kind: factOrigin, Key: idea.GetOrigin().String()},
		{Month: m0, Kind: factCareArea, Key: care},
	}
	type entry struct {
		stage ideav1.Stage
		at    time.Time
	}
	entries := []entry{{ideav1.Stage_STAGE_SUBMITTED, created}}
	for _, h := range history {
		if h.GetToStage() == ideav1.Stage_STAGE_SUBMITTED {
			continue // the submission itself, already the first entry
		}
		entries = append(entries, entry{h.GetToStage(), h.GetTime().AsTime()})
	}
	seen := map[ideav1.Stage]bool{}
	spreadAt := idea.GetUpdateTime().AsTime()
	for i, e := range entries {
		if !seen[e.stage] {
			seen[e.stage] = true
			facts = append(facts, fact{Month: monthOf(e.at), Kind: factReached, Key: e.stage.String()})
			if e.stage == ideav1.Stage_STAGE_SPREAD {
				spreadAt = e.at
			}
		}
		if i+1 < len(entries) {
			end := entries[i+1].at
			days := max(0, int(end.Sub(e.at)/(24*time.Hour)))
			facts = append(facts, fact{Month: monthOf(end), Kind: factDays, Key: e.stage.String(), Days: days})
		}
	}
	for _, target := range idea.GetSpreadTo() {
		region, _, _ := strings.Cut(strings.TrimPrefix(target, "regions/"), "/")
		facts = append(facts, fact{Month: monthOf(spreadAt), Kind: factSpread, Key: region})
	}
	return facts
}

// monthAgg is one month's figures of a region's ideas.
type monthAgg struct {
	Submitted int64                    `json:"submitted,omitempty"`
	Origin    map[string]int64         `json:"origin,omitempty"`
	CareArea  map[string]int64         `json:"care,omitempty"`
	Reached   map[string]int64         `json:"reached,omitempty"`
	Days      map[string]map[int]int64 `json:"days,omitempty"` // stage → days → stays
	SpreadTo  map[string]int64         `json:"spread,omitempty"`
}

// add counts f n times (n is -1 to take it out).
func (a *monthAgg) add(f fact, n int64) {
	switch f.Kind {
	case factSubmitted:
		a.Submitted += n
	case factOrigin:
		bump(&a.Origin, f.Key, n)
	case factCareArea:
		bump(&a.CareArea, f.Key, n)
	case factReached:
		bump(&a.Reached, f.Key, n)
	case factSpread:
		bump(&a.SpreadTo, f.Key, n)
	case factDays:
		if a.Days == nil {
			a.Days = map[string]map[int]int64{}
		}
		h := a.Days[f.Key]
		if h == nil {
			h = map[int]int64{}
			a.Days[f.Key] = h
		}
		h[f.Days] += n
		if h[f.Days] == 0 {
			delete(h, f.Days)
		}
		if len(h) == 0 {
			delete(a.Days, f.Key)
		}
	}
}

// merge adds every figure of b to a.
func (a *monthAgg) merge(b *monthAgg) {
	a.Submitted += b.Submitted
	bumpAll(&a.Origin, b.Origin)
	bumpAll(&a.CareArea, b.CareArea)
	bumpAll(&a.Reached, b.Reached)
	bumpAll(&a.SpreadTo, b.SpreadTo)
	for stage, h := range b.Days {
		for d, n := range h {
			a.add(fact{Kind: factDays, Key: stage, Days: d}, n)
		}
	}
}

// ideaFamily holds the ideas' figures.
const ideaFamily family = "ideas"

// IdeaSource reads an idea and its stage history as this deployment's
// reports service (no personal data is needed or returned). found is false
// when the idea does not exist.
type IdeaSource func(ctx context.Context, name string) (idea *ideav1.Idea, history []*ideav1.HistoryEntry, found bool, err error)

// IdeaReader is the part of the idea service's client the reports read.
type IdeaReader interface {
	GetIdea(ctx context.Context, in *ideav1.GetIdeaRequest, opts ...grpc.CallOption) (*ideav1.Idea, error)
	ListIdeaHistory(ctx context.Context, in *ideav1.ListIdeaHistoryRequest, opts ...grpc.CallOption) (*ideav1.ListIdeaHistoryResponse, error)
}

// GRPCIdeas reads ideas through the idea service's own API.
func GRPCIdeas(c IdeaReader) IdeaSource {
	return func(ctx context.Context, name string) (*ideav1.Idea, []*ideav1.HistoryEntry, bool, error) {
		idea, err := c.GetIdea(ctx, &ideav1.GetIdeaRequest{Name: name})
		if status.Code(err) == codes.NotFound {
			return nil, nil, false, nil
		}
		if err != nil {
			return nil, nil, false, fmt.Errorf("GetIdea %s: %w", name, err)
		}
		var history []*ideav1.HistoryEntry
		req := &ideav1.ListIdeaHistoryRequest{Parent: name, PageSize: 1000}
		for {
			resp, err := c.ListIdeaHistory(ctx, req)
			if status.Code(err) == codes.NotFound {
				return nil, nil, false, nil
			}
			if err != nil {
				return nil, nil, false, fmt.Errorf("ListIdeaHistory %s: %w", name, err)
			}
			history = append(history, resp.GetEntries()...)
			if resp.GetNextPageToken() == "" {
				return idea, history, true, nil
			}
			req.PageToken = resp.GetNextPageToken()
		}
	}
}

// ideaFacts reads an idea's facts through src.
func (src IdeaSource) facts(ctx context.Context, name string, _ []fact, _ []store.Event) ([]fact, bool, error) {
	idea, history, found, err := src(ctx, name)
	if err != nil || !found {
		return nil, found, err
	}
	return ideaFacts(idea, history), true, nil
}

// pipeline is the funnel's order; conversions are between neighbours of it,
// TESTING leading to both IMPLEMENTED and COMMERCIALISED.
var pipeline = []ideav1.Stage{
	ideav1.Stage_STAGE_SUBMITTED, ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED,
	ideav1.Stage_STAGE_DEVELOPMENT, ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_IMPLEMENTED,
	ideav1.Stage_STAGE_COMMERCIALISED, ideav1.Stage_STAGE_SPREAD,
}

var conversions = [][2]ideav1.Stage{
	{ideav1.Stage_STAGE_SUBMITTED, ideav1.Stage_STAGE_SCREENING},
	{ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED},
	{ideav1.Stage_STAGE_SELECTED, ideav1.Stage_STAGE_DEVELOPMENT},
	{ideav1.Stage_STAGE_DEVELOPMENT, ideav1.Stage_STAGE_TESTING},
	{ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_IMPLEMENTED},
	{ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_COMMERCIALISED},
}

// ideaReport turns the months of a period into the report.
func ideaReport(region string, p period, iv interval, months map[month]*monthAgg) *reportsv1.IdeaReport {
	out := &reportsv1.IdeaReport{Name: "regions/" + region + "/reports/ideas", Period: p.String(), Interval: string(iv)}
	total := &monthAgg{}
	var row *monthAgg
	var label string
	flush := func() {
		if row != nil {
			out.Intervals = append(out.Intervals, &reportsv1.IdeaInterval{
				Interval: label, Submitted: row.Submitted,
				ByOrigin: counts(row.Origin), ByCareArea: counts(row.CareArea), Reached: counts(row.Reached),
			})
		}
	}
	for m := p.from; m <= p.to; m++ {
		if l := iv.label(m); row == nil || l != label {
			flush()
			row, label = &monthAgg{}, l
		}
		if a := months[m]; a != nil {
			row.merge(a)
			total.merge(a)
		}
	}
	flush()
	for _, st := range pipeline {
		out.Funnel = append(out.Funnel, &reportsv1.Count{Key: st.String(), Count: total.Reached[st.String()]})
	}
	for _, c := range conversions {
		from, to := total.Reached[c[0].String()], total.Reached[c[1].String()]
		conv := &reportsv1.StageConversion{FromStage: c[0].String(), ToStage: c[1].String(), FromCount: from, ToCount: to}
		if from > 0 {
			conv.Rate = float64(to) / float64(from)
		}
		out.Conversions = append(out.Conversions, conv)
	}
	stages := make([]string, 0, len(total.Days))
	for st := range total.Days {
		stages = append(stages, st)
	}
	slices.SortFunc(stages, func(a, b string) int {
		return cmp.Compare(ideav1.Stage_value[a], ideav1.Stage_value[b])
	})
	for _, st := range stages {
		n, med, p90 := percentiles(total.Days[st])
		out.StageTimes = append(out.StageTimes, &reportsv1.StageTime{Stage: st, Stays: n, MedianDays: med, P90Days: p90})
	}
	out.Spread = total.Reached[ideav1.Stage_STAGE_SPREAD.String()]
	out.SpreadTo = counts(total.SpreadTo)
	return out
}

// counts lists a map by key.
func counts(m map[string]int64) []*reportsv1.Count {
	out := make([]*reportsv1.Count, 0, len(m))
	for k, n := range m {
		out = append(out, &reportsv1.Count{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b *reportsv1.Count) int { return strings.Compare(a.GetKey(), b.GetKey()) })
	return out
}

// percentiles returns the number of stays and the median and 90th
// percentile (nearest rank) of a histogram of days.
func percentiles(h map[int]int64) (n, median, p90 int64) {
	days := make([]int, 0, len(h))
	for d, c := range h {
		days = append(days, d)
		n += c
	}
	if n == 0 {
		return 0, 0, 0
	}
	slices.Sort(days)
	rank := func(pct int64) int64 {
		want := max((n*pct+99)/100, 1)
		var seen int64
		for _, d := range days {
			seen += h[d]
			if seen >= want {
				return int64(d)
			}
		}
		return int64(days[len(days)-1])
	}
	return n, rank(50), rank(90)
}
