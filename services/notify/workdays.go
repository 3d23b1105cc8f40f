package notify

import "time"

// Working days are Monday to Friday; a region's public holidays are not
// known here, so a deadline may come a holiday early, never late.
func workingDay(day time.Time) bool {
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// workingDaysBetween counts the working days after from up to and
// including to (0 when to is not after from).
func workingDaysBetween(from, to time.Time) int {
	n := 0
	for d := from.AddDate(0, 0, 1); !d.After(to); d = d.AddDate(0, 0, 1) {
		if workingDay(d) {
			n++
		}
	}
	return n
}

// civil is t's calendar day in Sweden, as midnight UTC of that date.
func civil(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
