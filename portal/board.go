package portal

import (
	"context"
	"net/http"
	"strings"
	"time"

	ideav1 "github.com/innovationsmotorer/motor/proto/innovation/idea/v1"
)

// boardStages are the board's columns: the open stages in pipeline order,
// then the final ones an advisor still follows. Rejected and withdrawn
// ideas leave the board.
var boardStages = []ideav1.Stage{
	ideav1.Stage_STAGE_SUBMITTED, ideav1.Stage_STAGE_SCREENING, ideav1.Stage_STAGE_SELECTED,
	ideav1.Stage_STAGE_DEVELOPMENT, ideav1.Stage_STAGE_TESTING, ideav1.Stage_STAGE_IMPLEMENTED,
	ideav1.Stage_STAGE_COMMERCIALISED, ideav1.Stage_STAGE_SPREAD, ideav1.Stage_STAGE_PARKED,
}

// staleAfter: an idea this long in one stage is marked on the board.
const staleAfter = 30

type boardCard struct {
	Idea  *ideav1.Idea
	Days  int // in the current stage
	Stale bool
}

type boardColumn struct {
	Stage ideav1.Stage
	Cards []boardCard
}

type boardData struct {
	Columns []boardColumn
	Total   int
	Query   string // the search (q) the board shows the hits of
}

// boardFilter builds the ListIdeas filter from the board's form.
func boardFilter(r *http.Request) string {
	var terms []string
	clean := func(s string) string { return strings.TrimSpace(strings.NewReplacer(`"`, "", " AND ", " ").Replace(s)) }
	if o := r.URL.Query().Get("origin"); ideav1.Origin_value[o] > 0 {
		terms = append(terms, "origin = "+o)
	}
	if t := clean(r.URL.Query().Get("tag")); t != "" {
		terms = append(terms, `tag = "`+t+`"`)
	}
	if a := clean(r.URL.Query().Get("care_area")); a != "" {
		terms = append(terms, `care_area = "`+a+`"`)
	}
	return strings.Join(terms, " AND ")
}

// loadBoard lists the region's open ideas, or those a search q finds
// (best first in each column); each says when it entered its stage
// (stageTime), so the board makes no call per idea.
func (p *Portal) loadBoard(ctx context.Context, s *session, filter, q string) (*boardData, error) {
	ideas, err := listFound(ctx, p.cfg.Ideas, "regions/"+s.Region, filter, q)
	if err != nil {
		return nil, err
	}
	var open []*ideav1.Idea
	for _, idea := range ideas {
		if st := idea.GetStage(); st != ideav1.Stage_STAGE_REJECTED && st != ideav1.Stage_STAGE_WITHDRAWN {
			open = append(open, idea)
		}
	}
	d := buildBoard(open, p.now())
	d.Query = q
	return d, nil
}

func buildBoard(ideas []*ideav1.Idea, now time.Time) *boardData {
	d := &boardData{}
	col := map[ideav1.Stage]int{}
	for i, st := range boardStages {
		d.Columns = append(d.Columns, boardColumn{Stage: st})
		col[st] = i
	}
	for _, idea := range ideas {
		i2, ok := col[idea.GetStage()]
		if !ok {
			continue
		}
		since := idea.GetCreateTime().AsTime()
		if st := idea.GetStageTime(); st != nil {
			since = st.AsTime()
		}
		days := daysBetween(since, now)
		d.Columns[i2].Cards = append(d.Columns[i2].Cards, boardCard{Idea: idea, Days: days, Stale: days > staleAfter})
		d.Total++
	}
	return d
}

func (p *Portal) board(w http.ResponseWriter, r *http.Request, s *session) {
	if !s.staff() {
		p.fail(w, r, http.StatusForbidden, "err.forbidden")
		return
	}
	ctx, cancel := p.rpcContext(r, s)
	defer cancel()
	d, err := p.loadBoard(ctx, s, boardFilter(r), strings.TrimSpace(r.URL.Query().Get("q")))
	if err != nil {
		p.failRPC(w, r, err)
		return
	}
	p.render(w, r, http.StatusOK, "board", &view{Title: "board.title", Session: s, Data: d, Form: r.URL.Query()})
}
