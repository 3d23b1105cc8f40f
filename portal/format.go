package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Swedish time on machines without a zoneinfo database

	"golang.org/x/text/language"
)

// Languages: Swedish first, English second.
const (
	langSV = "sv"
	langEN = "en"
)

var langMatcher = language.NewMatcher([]language.Tag{language.Swedish, language.English})

// chooseLang: the person's switch (a cookie) wins, then the browser's
// Accept-Language, then Swedish.
func chooseLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == langSV || c.Value == langEN) {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return langSV
	}
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No || i == 0 {
		return langSV
	}
	return langEN
}

var stockholm = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Stockholm")
	if err != nil {
		return time.UTC
	}
	return loc
}()

var monthsSV = [...]string{"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"}

// formatDate writes a day as people in Sweden read it: "1 december 2026"
// (English: "1 December 2026"), in Swedish time.
func formatDate(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(stockholm)
	if lang == langEN {
		return t.Format("2 January 2006")
	}
	return strconv.Itoa(t.Day()) + " " + monthsSV[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// formatDateTime adds the time of day: "1 december 2026 kl. 14.05".
func formatDateTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	local := t.In(stockholm)
	if lang == langEN {
		return formatDate(t, lang) + ", " + local.Format("15:04")
	}
	return formatDate(t, lang) + " kl. " + local.Format("15.04")
}

// nbsp keeps digit groups and the unit together on one line.
const nbsp = "\u00a0"

// formatKronor writes öre as kronor the Swedish way: 123456789 öre is
// "1 234 567,89 kr" (the spaces are no-break spaces).
func formatKronor(ore int64) string {
	neg := ore < 0
	u := uint64(ore)
	if neg {
		u = uint64(-ore)
	}
	kr, rest := u/100, u%100
	digits := strconv.FormatUint(kr, 10)
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(nbsp)
		}
		b.WriteRune(d)
	}
	b.WriteString(",")
	if rest < 10 {
		b.WriteString("0")
	}
	b.WriteString(strconv.FormatUint(rest, 10))
	b.WriteString(nbsp + "kr")
	return b.String()
}

// formatScore writes a weighted score with a decimal comma in Swedish.
func formatScore(f float64, lang string) string {
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if lang == langSV {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// daysBetween counts whole calendar days in Swedish time from a to b.
func daysBetween(a, b time.Time) int {
	ay, am, ad := a.In(stockholm).Date()
	by, bm, bd := b.In(stockholm).Date()
	da := time.Date(ay, am, ad, 0, 0, 0, 0, time.UTC)
	db := time.Date(by, bm, bd, 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}
