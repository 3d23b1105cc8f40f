package reports

import (
	"context"
	"fmt"
	"strings"

	"github.com/innovationsmotorer/motor/internal/store"
)

// fact is one thing a resource (an idea, a need) contributes to one month's
// figures. A resource's facts are kept with the aggregates, so when it
// changes its old facts are taken out and its new ones put in: the figures
// never count a resource twice, however often it changes.
type fact struct {
	Month month  `json:"m"`
	Kind  string `json:"k"`
	Key   string `json:"v,omitempty"`
	// Days is a stay's length, N a signed count (a stock's change).
	Days int   `json:"d,omitempty"`
	N    int64 `json:"n,omitempty"`
}

// aggregate is one month's figures of a family of facts.
type aggregate[A any] interface {
	*A
	add(f fact, n int64)
}

// family names where one kind of aggregate lives in the reports namespace:
// FAMILY/cursor, FAMILY/facts/ID, FAMILY/month/YYYY-MM (indexed by month,
// so a stock can be summed from the start).
type family string

func (f family) cursorKey() string         { return string(f) + "/cursor" }
func (f family) factsKey(id string) string { return string(f) + "/facts/" + id }
func (f family) monthKey(m month) string   { return string(f) + "/month/" + m.String() }
func (f family) monthIndex() string        { return string(f) + "-months" }
func (f family) monthEntry(m month) store.IndexEntry {
	return store.IndexEntry{Index: f.monthIndex(), Term: m.String()}
}

// resourceName returns the resource of collection an audit event of
// region's log is about (events of a child resource name their parent first).
func resourceName(region, collection, key string) (name, id string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 4 || parts[0] != "regions" || parts[1] != region || parts[2] != collection || parts[3] == "" {
		return "", "", false
	}
	return strings.Join(parts[:4], "/"), parts[3], true
}

// factsOf reads a resource as it stands and returns its facts; found is
// false when it no longer exists. old are the facts it had, evs the events
// of this batch that name it, oldest first (for what only the log knows,
// such as when an offer was first answered).
type factsOf func(ctx context.Context, name string, old []fact, evs []store.Event) (facts []fact, found bool, err error)

// foldFacts is a log's apply for a family of facts: every resource of
// collection a batch names is read once, as it stands now, and its facts
// replace the ones it had.
func foldFacts[A any, PA aggregate[A]](fam family, region, collection string, read factsOf) func(ctx context.Context, tx *txn, evs []store.Event) error {
	return func(ctx context.Context, tx *txn, evs []store.Event) error {
		months := map[month]PA{}
		agg := func(m month) (PA, error) {
			if a := months[m]; a != nil {
				return a, nil
			}
			a := PA(new(A))
			if _, err := tx.getJSON(ctx, fam.monthKey(m), a); err != nil {
				return nil, err
			}
			months[m] = a
			return a, nil
		}
		var names []string
		ids := map[string]string{}
		byName := map[string][]store.Event{}
		for _, ev := range evs {
			name, id, ok := resourceName(region, collection, ev.Key)
			if !ok {
				continue
			}
			if _, seen := ids[name]; !seen {
				names = append(names, name)
				ids[name] = id
			}
			byName[name] = append(byName[name], ev)
		}
		for _, name := range names {
			id := ids[name]
			var old []fact
			if _, err := tx.getJSON(ctx, fam.factsKey(id), &old); err != nil {
				return err
			}
			now, found, err := read(ctx, name, old, byName[name])
			if err != nil {
				return err
			}
			if !found {
				now = nil
			}
			for _, f := range old {
				a, err := agg(f.Month)
				if err != nil {
					return err
				}
				a.add(f, -1)
			}
			for _, f := range now {
				a, err := agg(f.Month)
				if err != nil {
					return err
				}
				a.add(f, 1)
			}
			if err := tx.putJSON(fam.factsKey(id), now); err != nil {
				return err
			}
		}
		for m, a := range months {
			if err := tx.putJSON(fam.monthKey(m), a, fam.monthEntry(m)); err != nil {
				return err
			}
		}
		return nil
	}
}

// readMonths reads the aggregates of the months of p, one record a month.
func readMonths[A any, PA aggregate[A]](ctx context.Context, st store.Store, ns store.Namespace, fam family, p period) (map[month]PA, error) {
	tx := newTxn(st, ns)
	out := map[month]PA{}
	for m := p.from; m <= p.to; m++ {
		a := PA(new(A))
		found, err := tx.getJSON(ctx, fam.monthKey(m), a)
		if err != nil {
			return nil, err
		}
		if found {
			out[m] = a
		}
	}
	return out, nil
}

// readMonthsUpTo reads every month's aggregates from the first up to and
// including last, in order, through the month index: what a stock (how
// many needs are in a status at a month's end) is summed from.
func readMonthsUpTo[A any, PA aggregate[A]](ctx context.Context, st store.Store, ns store.Namespace, fam family, last month) (map[month]PA, error) {
	out := map[month]PA{}
	q := store.Query{Index: fam.monthIndex(), Limit: 500}
	for {
		page, err := st.Scan(ctx, ns, q)
		if err != nil {
			return nil, fmt.Errorf("store.Scan %s: %w", fam.monthIndex(), err)
		}
		for _, it := range page.Items {
			m, err := parseMonth(it.Term)
			if err != nil {
				return nil, fmt.Errorf("month index term %q: %w", it.Term, err)
			}
			if m > last {
				return out, nil
			}
			a := PA(new(A))
			if err := jsonDecode(it.Record.Value, a); err != nil {
				return nil, fmt.Errorf("decode %s: %w", it.Record.Key, err)
			}
			out[m] = a
			q.After = it.Cursor
		}
		if !page.More {
			return out, nil
		}
	}
}

// bump adds n to m[key], dropping keys that reach zero.
func bump(m *map[string]int64, key string, n int64) {
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[key] += n
	if (*m)[key] == 0 {
		delete(*m, key)
	}
}

// bumpAll adds every count of src to dst.
func bumpAll(dst *map[string]int64, src map[string]int64) {
	for k, n := range src {
		bump(dst, k, n)
	}
}
