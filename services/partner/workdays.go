package partner

import "time"

// respondWithin is how many working days the region has to answer an offer.
const respondWithin = 10

// addWorkingDays returns the day n Swedish working days after day (a date at
// UTC midnight): weekends and the days Swedish workplaces close are skipped.
// Day itself does not count, so an offer that comes in on a Friday is due on
// the Friday two weeks later.
func addWorkingDays(day time.Time, n int) time.Time {
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if workingDay(day) {
			n--
		}
	}
	return day
}

func workingDay(day time.Time) bool {
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !holiday(day)
}

// holiday reports the weekday holidays of Sweden: the public holidays of the
// Public Holidays Act (lag om allmänna helgdagar) that can fall on a weekday,
// plus midsummer eve, Christmas eve and New Year's eve, which are not public
// holidays by law but are days off at nearly every Swedish workplace (and
// count as Sundays in many collective agreements). Holidays that
// always fall on a weekend (Easter Day, Whitsun, Midsummer Day, All Saints'
// Day) are weekends already.
func holiday(day time.Time) bool {
	y, m, d := day.Date()
	switch {
	case m == time.January && (d == 1 || d == 6), // New Year's Day, Epiphany
		m == time.May && d == 1,  // May Day
		m == time.June && d == 6, // National Day
		m == time.December && (d == 24 || d == 25 || d == 26 || d == 31): // Christmas, New Year's eve
		return true
	case m == time.June && d >= 19 && d <= 25 && day.Weekday() == time.Friday: // midsummer eve
		return true
	}
	easter := easterSunday(y)
	for _, offset := range []int{-2, 1, 39} { // Good Friday, Easter Monday, Ascension Day
		if day.Equal(easter.AddDate(0, 0, offset)) {
			return true
		}
	}
	return false
}

// easterSunday is Easter Day of the Gregorian calendar (the anonymous
// Gregorian algorithm, as in Meeus).
func easterSunday(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}

// respondBy is the day the region answers an offer created at t.
func (s *Server) respondBy(t time.Time) string {
	y, m, d := t.In(s.loc).Date()
	return addWorkingDays(time.Date(y, m, d, 0, 0, 0, 0, time.UTC), respondWithin).Format(dateLayout)
}
