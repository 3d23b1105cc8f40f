package reports

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/innovationsmotorer/motor/internal/store"
	reportsv1 "github.com/innovationsmotorer/motor/proto/innovation/reports/v1"
)

// moneyFamily holds the programme ledger's money by month.
const moneyFamily family = "money"

// moneyNS is where the national figures live.
func moneyNS() store.Namespace { return ns("national") }

// ledgerLog is the programme ledger's audit log.
func ledgerLog() store.Namespace { return store.Namespace{Service: "funding", Region: "national"} }

// movement reads a ledger event's detail: "reserved N öre for SUBPROJECT",
// "paid N öre for COST REPORT", "released N öre of SUBPROJECT". The ledger
// writes one record per movement, on the allocation, with the programme's
// change in its detail ("…; programme P etag 3 → 4"); earlier ledgers wrote
// it twice, on the programme and on the allocation, and only the
// programme's copy of those is counted.
var movement = regexp.MustCompile(`^(reserved|paid|released) (\d+) öre (?:for|of) regions/([a-z-]+)/subprojects/`)

// movementProgramme returns the programme a ledger movement counts for, or
// false for the allocation's copy that earlier ledgers wrote beside the
// programme's.
func movementProgramme(ev store.Event) (string, bool) {
	parts := strings.Split(ev.Key, "/")
	switch {
	case len(parts) == 2 && parts[0] == "programmes":
		return ev.Key, true
	case len(parts) == 4 && parts[0] == "programmes" && parts[2] == "allocations" && strings.Contains(ev.Detail, "; programme "):
		return parts[0] + "/" + parts[1], true
	}
	return "", false
}

// money is a programme's money for one region in one month, in öre.
type money struct {
	Reserved int64 `json:"reserved,omitempty"`
	Paid     int64 `json:"paid,omitempty"`
	Released int64 `json:"released,omitempty"`
}

// moneyMonth is one month of the ledger, by "programme region".
type moneyMonth struct {
	By map[string]*money `json:"by,omitempty"`
	// Unread counts ledger movements whose detail could not be read, so a
	// change of the ledger's wording shows rather than hiding money.
	Unread int64 `json:"unread,omitempty"`
}

func (a *moneyMonth) add(f fact, n int64) {} // money is folded from events, not facts

func (a *moneyMonth) at(programme, region string) *money {
	if a.By == nil {
		a.By = map[string]*money{}
	}
	k := programme + " " + region
	if a.By[k] == nil {
		a.By[k] = &money{}
	}
	return a.By[k]
}

// foldMoney is the ledger log's apply.
func foldMoney(ctx context.Context, tx *txn, evs []store.Event) error {
	months := map[month]*moneyMonth{}
	for _, ev := range evs {
		switch ev.Action {
		case "ReserveFunds", "RecordPayment", "ReleaseFunds":
		default:
			continue
		}
		programme, ok := movementProgramme(ev)
		if !ok {
			continue // an earlier ledger's second copy, on the allocation
		}
		m := monthOf(ev.Time)
		a := months[m]
		if a == nil {
			a = &moneyMonth{}
			if _, err := tx.getJSON(ctx, moneyFamily.monthKey(m), a); err != nil {
				return err
			}
			months[m] = a
		}
		got := movement.FindStringSubmatch(ev.Detail)
		if got == nil {
			a.Unread++
			continue
		}
		amount, err := strconv.ParseInt(got[2], 10, 64)
		if err != nil {
			a.Unread++
			continue
		}
		mv := a.at(programme, got[3])
		switch got[1] {
		case "reserved":
			mv.Reserved += amount
		case "paid":
			mv.Paid += amount
		case "released":
			mv.Released += amount
		}
	}
	for m, a := range months {
		if err := tx.putJSON(moneyFamily.monthKey(m), a, moneyFamily.monthEntry(m)); err != nil {
			return err
		}
	}
	return nil
}

func moneyReport(p period, iv interval, months map[month]*moneyMonth) *reportsv1.MoneyReport {
	out := &reportsv1.MoneyReport{Period: p.String(), Interval: string(iv)}
	totals := map[string]*money{}
	rows := map[string]*money{}
	var keys, rowKeys []string
	for m := p.from; m <= p.to; m++ {
		a := months[m]
		if a == nil {
			continue
		}
		for k, mv := range a.By {
			if totals[k] == nil {
				totals[k] = &money{}
				keys = append(keys, k)
			}
			rk := iv.label(m) + " " + k
			if rows[rk] == nil {
				rows[rk] = &money{}
				rowKeys = append(rowKeys, rk)
			}
			for _, t := range []*money{totals[k], rows[rk]} {
				t.Reserved += mv.Reserved
				t.Paid += mv.Paid
				t.Released += mv.Released
			}
		}
	}
	slices.Sort(keys)
	slices.Sort(rowKeys)
	row := func(interval, key string, mv *money) *reportsv1.MoneyRow {
		programme, region, _ := strings.Cut(key, " ")
		return &reportsv1.MoneyRow{Interval: interval, Programme: programme, Region: region,
			ReservedOre: mv.Reserved, PaidOre: mv.Paid, ReleasedOre: mv.Released}
	}
	for _, rk := range rowKeys {
		label, key, _ := strings.Cut(rk, " ")
		out.Rows = append(out.Rows, row(label, key, rows[rk]))
	}
	for _, k := range keys {
		out.Totals = append(out.Totals, row("", k, totals[k]))
	}
	return out
}
