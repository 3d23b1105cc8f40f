package partner

import (
	"context"
	"testing"

	"github.com/innovationsmotorer/motor/internal/store"
)

// nopStore satisfies New for tests that never touch the store.
type nopStore struct{ store.Store }

func (nopStore) Ping(context.Context) error { return nil }

func TestNormaliseOrgNumber(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"2120000142", "2120000142", true},  // Luhn worked by hand: 2·2 1 2·2 0 … → check digit 2
		{"212000-0142", "2120000142", true}, // the written form
		{" 212000-0142 ", "2120000142", true},
		{"2120000143", "", false},  // check digit off by one
		{"21200001420", "", false}, // eleven digits
		{"2120-000142", "", false}, // hyphen in the wrong place
		{"212000–0142", "", false}, // en dash, not a hyphen
		{"8112189876", "", false},  // a personal identity number (third digit 1)
		{"", "", false},
		{"abcdefghij", "", false},
		{"٢١٢٠٠٠٠١٤٢", "", false}, // Arabic-Indic digits
	} {
		got, err := normaliseOrgNumber(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("normaliseOrgNumber(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestLuhnDigit(t *testing.T) {
	for nine, want := range map[string]byte{"212000014": '2', "556000000": '1', "802000000": '9', "000000000": '0'} {
		if got := luhnDigit(nine); got != want {
			t.Errorf("luhnDigit(%s) = %c, want %c", nine, got, want)
		}
	}
}
