package partner

import (
	"testing"
	"time"
)

func day(s string) time.Time {
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestAddWorkingDays(t *testing.T) {
	for _, tc := range []struct {
		name, from, want string
	}{
		{"Friday to the Friday two weeks later", "2026-03-13", "2026-03-27"},
		{"Monday", "2026-03-09", "2026-03-23"},
		{"Saturday counts from Monday", "2026-03-14", "2026-03-27"},
		{"Sunday counts from Monday", "2026-03-15", "2026-03-27"},
		{"Easter: Good Friday and Easter Monday", "2026-04-01", "2026-04-17"},
		{"Ascension Day", "2026-05-11", "2026-05-26"},
		{"May Day and Ascension Day", "2025-04-25", "2025-05-12"},
		{"midsummer eve", "2026-06-15", "2026-06-30"},
		{"National Day on a Saturday changes nothing", "2026-06-01", "2026-06-15"},
		{"Christmas and New Year", "2026-12-18", "2027-01-08"},
		{"across a year end", "2025-12-30", "2026-01-16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := addWorkingDays(day(tc.from), respondWithin).Format(dateLayout); got != tc.want {
				t.Errorf("10 working days after %s: %s, want %s", tc.from, got, tc.want)
			}
		})
	}
}

func TestEasterSunday(t *testing.T) {
	for year, want := range map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25"} {
		if got := easterSunday(year).Format(dateLayout); got != want {
			t.Errorf("Easter %d: %s, want %s", year, got, want)
		}
	}
}

func TestRespondBy_SwedishDate(t *testing.T) {
	s, err := New(Config{Store: nopStore{}})
	if err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on Thursday 12 March is already Friday in Sweden.
	if got := s.respondBy(time.Date(2026, 3, 12, 23, 30, 0, 0, time.UTC)); got != "2026-03-27" {
		t.Errorf("respond_by %s, want 2026-03-27", got)
	}
}
