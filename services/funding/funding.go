// Package funding owns subproject funding (docs/architecture.md, "Domain rules"): a region's
// subprojects with their budgets, contributions and 50 % co-financing, their
// cost reports, and the national programme ledger that every region
// reserves its co-financing from, pays it out of and releases it to.
//
// The two halves are two gRPC services. ProgrammeService (the Ledger) keeps
// its data in the namespace funding:national and is the only place money
// moves: every reservation, payment and release is one atomic store commit,
// keyed so that a retry or a duplicate never moves money twice.
// SubprojectService (Subprojects) keeps each region's data in funding:{region}
// and reaches the ledger only through its generated gRPC client, so a region
// and the national deployment may run in different processes.
package funding

import (
	"fmt"
	"time"

	"github.com/innovationsmotorer/motor/internal/rpc/errs"
)

const domain errs.Domain = "funding.motor"

const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// service is the funding service's store namespace: funding:{region} for a
// region's records, funding:national for the ledger's.
const service = "funding"

// checkAmount: money on the wire is a positive number of öre (SEK; the wire
// has no other currency).
func checkAmount(v *errs.Violations, field string, ore int64) {
	switch {
	case ore <= 0:
		v.Add(field, "must be a positive amount of öre, got %d", ore)
	case ore > maxAmountOre:
		v.Add(field, "is %d öre; at most %d öre are accepted", ore, maxAmountOre)
	}
}

// checkDate accepts YYYY-MM-DD and returns the day.
func checkDate(v *errs.Violations, field, s string) (time.Time, bool) {
	if s == "" {
		v.Add(field, "is required (YYYY-MM-DD)")
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.Add(field, "%q is not a date of the form YYYY-MM-DD", s)
		return time.Time{}, false
	}
	return d, true
}

func checkPeriod(v *errs.Violations, startField, start, endField, end string) {
	s, okS := checkDate(v, startField, start)
	e, okE := checkDate(v, endField, end)
	if okS && okE && e.Before(s) {
		v.Add(endField, "%s is before %s %s", end, startField, start)
	}
}

// sortable renders a time as an index term that sorts oldest first.
func sortable(t time.Time) string { return fmt.Sprintf("%019d", t.UnixNano()) }
