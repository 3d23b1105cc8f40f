package reports

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

// month counts months since year 0: the unit every aggregate is kept in.
type month int

func monthOf(t time.Time) month { t = t.UTC(); return month(t.Year()*12 + int(t.Month()) - 1) }

func (m month) year() int      { return int(m) / 12 }
func (m month) quarter() int   { return int(m)%12/3 + 1 }
func (m month) String() string { return fmt.Sprintf("%04d-%02d", m.year(), int(m)%12+1) }

// maxMonths bounds a period, so one request reads a bounded number of
// aggregate records.
const maxMonths = 10 * 12

// period is an inclusive range of months.
type period struct{ from, to month }

func (p period) String() string { return p.from.String() + "/" + p.to.String() }

// interval splits a period into rows.
type interval string

const (
	byMonth   interval = "month"
	byQuarter interval = "quarter"
	byYear    interval = "year"
)

// label names the row m falls in.
func (iv interval) label(m month) string {
	switch iv {
	case byQuarter:
		return fmt.Sprintf("%04d-Q%d", m.year(), m.quarter())
	case byYear:
		return fmt.Sprintf("%04d", m.year())
	}
	return m.String()
}

// parseQuery reads period and interval, naming every bad one at once.
// An empty interval is dflt, an empty period the twelve months up to and
// including now's.
func parseQuery(v *errs.Violations, rawPeriod, rawInterval string, dflt interval, now time.Time) (period, interval) {
	iv := interval(strings.TrimSpace(rawInterval))
	switch iv {
	case "":
		iv = dflt
	case byMonth, byQuarter, byYear:
	default:
		v.Add("interval", "%q is not an interval: use month, quarter or year", rawInterval)
	}
	if strings.TrimSpace(rawPeriod) == "" {
		cur := monthOf(now)
		return period{from: cur - 11, to: cur}, iv
	}
	p, err := parsePeriod(rawPeriod)
	if err != nil {
		v.Add("period", "%q %v", rawPeriod, err)
	}
	return p, iv
}

func parsePeriod(s string) (period, error) {
	const forms = `is not a period: use a year ("2026"), a quarter ("2026-Q1"), a month ("2026-03") or a range of months ("2025-07/2026-06")`
	if a, b, ok := strings.Cut(s, "/"); ok {
		from, err1 := parseMonth(a)
		to, err2 := parseMonth(b)
		switch {
		case err1 != nil || err2 != nil:
			return period{}, fmt.Errorf("%s", forms)
		case to < from:
			return period{}, fmt.Errorf("ends before it starts")
		case int(to-from) >= maxMonths:
			return period{}, fmt.Errorf("is longer than %d months", maxMonths)
		}
		return period{from, to}, nil
	}
	if m, err := parseMonth(s); err == nil {
		return period{m, m}, nil
	}
	if y, q, ok := strings.Cut(s, "-Q"); ok {
		year, err1 := parseYear(y)
		n, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || n < 1 || n > 4 || len(q) != 1 {
			return period{}, fmt.Errorf("%s", forms)
		}
		from := month(year*12 + (n-1)*3)
		return period{from, from + 2}, nil
	}
	year, err := parseYear(s)
	if err != nil {
		return period{}, fmt.Errorf("%s", forms)
	}
	return period{month(year * 12), month(year*12 + 11)}, nil
}

func parseYear(s string) (int, error) {
	if len(s) != 4 {
		return 0, fmt.Errorf("not a year")
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 2000 || y > 2999 {
		return 0, fmt.Errorf("not a year")
	}
	return y, nil
}

func parseMonth(s string) (month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return 0, fmt.Errorf("not a month")
	}
	if _, err := parseYear(s[:4]); err != nil {
		return 0, err
	}
	return monthOf(t), nil
}
