package funding

import (
	"math"
	"math/big"
	"testing"
)

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		rate   int32
		want   int64
	}{
		{0, 5000, 0},
		{1, 5000, 0},
		{3, 5000, 1},
		{100_001, 5000, 50_000},
		{99_999, 0, 0},
		{77_777, 10000, 77_777},
		{10_000_001, 3333, 3_333_000},
		{9_999, 1, 0},
		{10_000, 1, 1},
		{maxAmountOre, 5000, maxAmountOre / 2},
		// Amounts far above the validation limit still do not overflow.
		{math.MaxInt64, 10000, math.MaxInt64},
		{math.MaxInt64, 5000, math.MaxInt64 / 2},
		{math.MaxInt64, 9999, 9_222_449_699_651_090_329},
	} {
		if got := share(tc.amount, tc.rate); got != tc.want {
			t.Errorf("share(%d, %d) = %d, want %d", tc.amount, tc.rate, got, tc.want)
		}
	}
}

func TestPaymentDue(t *testing.T) {
	for _, tc := range []struct {
		name                string
		certified           int64
		rate                int32
		granted, paid, want int64
	}{
		{"half, rounded down", 30_001, 5000, 50_000, 0, 15_000},
		{"capped at what is left", 80_000, 5000, 50_000, 25_000, 25_000},
		{"nothing left", 1_000, 5000, 50_000, 50_000, 0},
		{"paid beyond the grant never pays more", 1_000, 5000, 50_000, 60_000, 0},
		{"rate 0", 1_000_000, 0, 50_000, 0, 0},
		{"rate 100 %", 49_999, 10000, 50_000, 0, 49_999},
		{"rate 100 %, one öre over", 50_001, 10000, 50_000, 0, 50_000},
	} {
		if got := paymentDue(tc.certified, tc.rate, tc.granted, tc.paid); got != tc.want {
			t.Errorf("%s: paymentDue(%d, %d, %d, %d) = %d, want %d", tc.name, tc.certified, tc.rate, tc.granted, tc.paid, got, tc.want)
		}
	}
}

// bigShare is ⌊amount × rate / 10000⌋ the slow, obviously right way.
func bigShare(amount int64, rate int32) int64 {
	p := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(rate)))
	return p.Quo(p, big.NewInt(10000)).Int64()
}

// FuzzShare compares share with arbitrary-precision arithmetic over the
// whole int64 range and checks the split never creates or loses an öre.
func FuzzShare(f *testing.F) {
	for _, seed := range []struct {
		amount int64
		rate   int32
	}{{0, 0}, {1, 5000}, {100_001, 5000}, {math.MaxInt64, 10000}, {math.MaxInt64, 9999}, {12_345_678_901, 3333}} {
		f.Add(seed.amount, seed.rate)
	}
	f.Fuzz(func(t *testing.T, amount int64, rate int32) {
		if amount < 0 {
			amount = -(amount + 1)
		}
		if rate < 0 {
			rate = -(rate + 1)
		}
		rate %= fullRateBp + 1
		got := share(amount, rate)
		if want := bigShare(amount, rate); got != want {
			t.Fatalf("share(%d, %d) = %d, want %d", amount, rate, got, want)
		}
		if got < 0 || got > amount {
			t.Fatalf("share(%d, %d) = %d is outside [0, amount]", amount, rate, got)
		}
	})
}
