package funding

import (
	"fmt"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// Money is int64 öre everywhere. These limits keep every sum of a valid
// request far from overflow: a hundred lines of the largest amount are
// 10^17 öre, two orders below the int64 limit.
const (
	// maxAmountOre is 10 000 billion kronor, more than any budget line,
	// contribution or programme will hold.
	maxAmountOre int64 = 1_000_000_000_000_000
	// fullRateBp is a rate of 100 % in basis points.
	fullRateBp int32 = 10000
	// defaultRateBp is the programme's 50 % co-financing (docs/architecture.md, "Domain rules").
	defaultRateBp int32 = 5000
)

// share is ⌊amount × rateBp / 10000⌋ for 0 ≤ amount and 0 ≤ rateBp ≤ 10000.
// It splits amount at 10000 instead of forming amount × rateBp, which would
// overflow int64 for amounts above about 9.2·10^14 öre.
func share(amount int64, rateBp int32) int64 {
	const d = int64(fullRateBp)
	q, r := amount/d, amount%d
	return q*int64(rateBp) + r*int64(rateBp)/d
}

// addOre adds with an overflow check.
func addOre(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, fmt.Errorf("the sum overflows")
	}
	return s, nil
}

// totals are a subproject's computed amounts (docs/architecture.md, "Domain rules"): never input.
type totals struct {
	eligible    int64
	share       int64
	own         int64
	contributed int64
}

// computeTotals sums the eligible budget lines and the contributions and
// splits the eligible cost between the programme and the region.
func computeTotals(lines []*fundingv1.BudgetLine, contributions []*fundingv1.Contribution, rateBp int32) (totals, error) {
	var t totals
	var err error
	for _, l := range lines {
		if !l.GetEligible() {
			continue
		}
		if t.eligible, err = addOre(t.eligible, l.GetAmountOre()); err != nil {
			return totals{}, fmt.Errorf("eligible budget lines: %w", err)
		}
	}
	for _, c := range contributions {
		if t.contributed, err = addOre(t.contributed, c.GetAmountOre()); err != nil {
			return totals{}, fmt.Errorf("contributions: %w", err)
		}
	}
	t.share = share(t.eligible, rateBp)
	t.own = t.eligible - t.share
	return t, nil
}

// setTotals writes the computed amounts into sp.
func setTotals(sp *fundingv1.Subproject) error {
	t, err := computeTotals(sp.GetBudgetLines(), sp.GetContributions(), sp.GetCoFinancingRateBp())
	if err != nil {
		return err
	}
	sp.EligibleCostOre, sp.ProgrammeShareOre, sp.OwnShareOre, sp.ContributedOre = t.eligible, t.share, t.own, t.contributed
	return nil
}

// paymentDue is what certifying certified öre of eligible cost pays:
// the programme's share of it, rounded down, and never more than what is
// left of the grant. The ledger applies the same cap atomically on the
// allocation; this is the region's own view of it.
func paymentDue(certified int64, rateBp int32, granted, paid int64) int64 {
	due := share(certified, rateBp)
	left := max(granted-paid, 0)
	return min(due, left)
}
