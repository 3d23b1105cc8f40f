package portal

import (
	"strings"

	fundingv1 "github.com/innovationsmotorer/motor/proto/innovation/funding/v1"
)

// Charts are drawn on the server as SVG: the geometry is computed here and
// the templates only write it out, with a title, a description and the same
// figures as a table beside every chart.

func lowerName(s string) string { return strings.ToLower(s) }

// scale is v's share of the largest value, in [0, width].
func scale(v, largest int64, width float64) float64 {
	if largest <= 0 || v <= 0 {
		return 0
	}
	return float64(v) / float64(largest) * width
}

type funnelStep struct {
	Label string
	Value int64
	X, Y  float64 // top left
	W, H  float64
	TextY float64
}

// funnelChart is ideas per stage, each step centred and as wide as its
// count: the pipeline's funnel.
type funnelChart struct {
	Steps         []funnelStep
	Width, Height float64
	Total         int64
}

func newFunnel(counts []int64, lang string, width, step float64) funnelChart {
	c := funnelChart{Width: width, Height: step * float64(len(counts))}
	var largest int64
	for _, n := range counts {
		largest = max(largest, n)
		c.Total += n
	}
	for i, n := range counts {
		w := max(scale(n, largest, width), 2)
		label := translate(lang, lowerName(funnelStages[i].String()))
		if i == len(counts)-1 {
			label = translate(lang, "dash.funnel.done")
		}
		c.Steps = append(c.Steps, funnelStep{Label: label, Value: n, X: (width - w) / 2, Y: float64(i) * step, W: w, H: step - 2, TextY: float64(i)*step + step*0.7})
	}
	return c
}

type bar struct {
	Label string
	Value int64
	Y, W  float64
}

// barChart is one horizontal bar per label.
type barChart struct {
	Bars          []bar
	Width, Height float64
	LabelW        float64
}

const barH = 26

func newBarChart(labels []string, values []int64) barChart {
	c := barChart{Width: 300, LabelW: 150, Height: float64(len(labels) * barH)}
	var largest int64
	for _, v := range values {
		largest = max(largest, v)
	}
	for i, l := range labels {
		c.Bars = append(c.Bars, bar{Label: l, Value: values[i], Y: float64(i * barH), W: scale(values[i], largest, c.Width-60)})
	}
	return c
}

// programmeChart is one programme's budget as one bar: paid, reserved and
// not yet paid, and available, stacked.
type programmeChart struct {
	Programme                     *fundingv1.Programme
	Budget, Paid, Held, Available int64
	PaidW, HeldW, AvailW          float64
	Width                         float64
}

func newProgrammeChart(pr *fundingv1.Programme) programmeChart {
	b := pr.GetBalance()
	c := programmeChart{Programme: pr, Budget: pr.GetBudgetOre(), Paid: b.GetDisbursedOre(), Held: b.GetReservedOre() - b.GetDisbursedOre(), Available: b.GetAvailableOre(), Width: 400}
	total := max(c.Budget, c.Paid+c.Held+c.Available)
	c.PaidW = scale(c.Paid, total, c.Width)
	c.HeldW = scale(c.Held, total, c.Width)
	c.AvailW = scale(c.Available, total, c.Width)
	return c
}

type groupedRow struct {
	Label, Region string
	A, B          int64 // granted, paid
	Stale         bool
	Y, AW, BW     float64
}

// groupedChart is money per region: granted and paid side by side.
type groupedChart struct {
	Rows          []groupedRow
	Width, Height float64
	LabelW        float64
}

func newGroupedChart(rows []groupedRow) groupedChart {
	c := groupedChart{Width: 420, LabelW: 150, Height: float64(len(rows) * 24)}
	var largest int64
	for _, r := range rows {
		largest = max(largest, r.A, r.B)
	}
	for i := range rows {
		rows[i].Y = float64(i * 24)
		rows[i].AW = scale(rows[i].A, largest, c.Width-c.LabelW-10)
		rows[i].BW = scale(rows[i].B, largest, c.Width-c.LabelW-10)
	}
	c.Rows = rows
	return c
}

// mapSpot is a region's place on the schematic map of Sweden: roughly
// where the region lies, with its county letter as the label.
type mapSpot struct {
	X, Y   float64
	Letter string
}

var swedenSpots = map[string]mapSpot{
	"norrbotten": {205, 55, "BD"}, "vasterbotten": {160, 140, "AC"}, "jamtland-harjedalen": {85, 215, "Z"},
	"vasternorrland": {170, 230, "Y"}, "gavleborg": {165, 300, "X"}, "dalarna": {95, 315, "W"},
	"varmland": {55, 385, "S"}, "orebro": {115, 395, "T"}, "vastmanland": {160, 370, "U"},
	"uppsala": {210, 350, "C"}, "stockholm": {235, 405, "AB"}, "sormland": {180, 425, "D"},
	"ostergotland": {165, 470, "E"}, "vastra-gotaland": {55, 455, "O"}, "jonkoping": {115, 505, "F"},
	"kalmar": {190, 530, "H"}, "gotland": {265, 495, "I"}, "halland": {50, 540, "N"},
	"kronoberg": {125, 565, "G"}, "blekinge": {180, 595, "K"}, "skane": {85, 610, "M"},
}

type mapRegion struct {
	Row    regionRow
	Name   string
	Spot   mapSpot
	Served bool // in the directory
}

// swedenMap is every one of the 21 regions, those outside the directory
// drawn as not taking part.
type swedenMap struct {
	Regions []mapRegion
}

func newSwedenMap(rows []regionRow) swedenMap {
	byRegion := map[string]regionRow{}
	for _, r := range rows {
		byRegion[r.Region] = r
	}
	var m swedenMap
	for _, id := range regionOrder {
		r, ok := byRegion[id]
		m.Regions = append(m.Regions, mapRegion{Row: r, Name: regionNames[id], Spot: swedenSpots[id], Served: ok})
	}
	return m
}

// regionOrder is north to south, the map's reading order.
var regionOrder = []string{
	"norrbotten", "vasterbotten", "jamtland-harjedalen", "vasternorrland", "gavleborg", "dalarna",
	"uppsala", "vastmanland", "varmland", "orebro", "stockholm", "sormland", "vastra-gotaland",
	"ostergotland", "gotland", "jonkoping", "kalmar", "halland", "kronoberg", "blekinge", "skane",
}

// funnelView is a funnel for the funnel template, with its element id and
// title.
type funnelView struct {
	V     *view
	Chart funnelChart
	ID    string
	Title string
}

func toFloat(x any) float64 {
	switch n := x.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return 0
}
