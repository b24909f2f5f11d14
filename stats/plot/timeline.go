package plot

import (
	"image/color"
	"math"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// TimelineInput is the primary outcome's difference from control as the
// answers came in: one panel per treatment arm, sharing the y axis.
type TimelineInput struct {
	Title   string // the outcome's label
	Unit    string // of the difference, for the y axis, e.g. "points"
	CILevel float64
	// Control is the control arm as readers know it, for the panels' titles ("Personal
	// call vs Usual handling"); "" = the word control.
	Control string
	Series  []TimelineSeries
}

// TimelineSeries is one treatment arm.
type TimelineSeries struct {
	Arm    string
	Points []TimelinePoint // by day, ascending
}

// TimelinePoint is the comparison using every answer up to the end of Day.
// Low and High are the fixed-horizon interval, SeqLow and SeqHigh the
// always-valid one (NaN when the outcome has none, e.g. net and binary).
type TimelinePoint struct {
	Day             time.Time
	Diff, Low, High float64
	SeqLow, SeqHigh float64
}

const day = 24 * 60 * 60

// Timeline draws the cumulative difference by day.
func Timeline(in TimelineInput, opt Options) ([]byte, error) {
	return render(opt, func(c draw.Canvas, lang string) { drawTimeline(c, in, lang) })
}

func drawTimeline(c draw.Canvas, in TimelineInput, lang string) {
	title := i18n.T(lang, "plot.timeline.title")
	if in.Title != "" {
		title = in.Title + ": " + title
	}
	var days []float64
	anySeq := false
	for _, s := range in.Series {
		for _, p := range s.Points {
			if finite(p.Diff) {
				days = append(days, dayOf(p.Day))
				anySeq = anySeq || finite(p.SeqLow, p.SeqHigh)
			}
		}
	}
	if len(days) == 0 {
		message(c, title, i18n.T(lang, "plot.no_comparisons"))
		return
	}
	pad := vg.Points(16)
	top := header(c, pad, title, "")
	small := sans(smallSize(c), false, colText)
	// The legend's marks are drawn in the panels' colours, one stripe per arm, so that
	// each mark is what it stands for in every panel.
	n := len(in.Series)
	level := ciLevel(in.CILevel, lang)
	items := []legendItem{
		{diffItem(n), i18n.T(lang, "plot.timeline.difference")},
		{bandItem(n, false), i18n.T(lang, "plot.timeline.ci", level)},
	}
	if anySeq {
		items = append(items, legendItem{bandItem(n, true), i18n.T(lang, "plot.timeline.sequential")})
	}
	top = drawLegend(c, items, c.Min.X+pad, top-small.Font.Size*0.6, c.Max.X-pad, small) - 6

	// Shared ranges.
	x0, x1 := days[0], days[0]
	for _, d := range days {
		x0, x1 = math.Min(x0, d), math.Max(x1, d)
	}
	x0, x1 = x0-0.5, x1+0.5
	y0, y1 := yRange(in.Series)

	cols := min(len(in.Series), 3)
	rows := (len(in.Series) + cols - 1) / cols
	// Left: the rotated y title and tick labels.
	yTitle := i18n.T(lang, "plot.timeline.axis.y")
	if in.Unit != "" {
		yTitle += " (" + in.Unit + ")"
	}
	rot := align(sans(smallSize(c), false, colText), draw.XCenter, draw.YTop)
	rot.Rotation = math.Pi / 2
	bottom := c.Min.Y + pad
	c.FillText(align(small, draw.XCenter, draw.YBottom), vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: bottom}, i18n.T(lang, "plot.timeline.axis.x"))
	bottom += small.Font.Size * 1.4
	c.FillText(rot, vg.Point{X: c.Min.X + pad - small.Font.Size*0.2, Y: (top + bottom) / 2}, yTitle)
	ticks := niceTicks(y0, y1)
	dec := tickDecimals(ticks)
	tickW := vg.Length(0)
	for _, t := range ticks {
		tickW = max(tickW, small.Width(i18n.Signed(t, dec, lang)))
	}
	left := c.Min.X + pad + small.Font.Size*1.4 + tickW + 6
	// Each panel reserves room for its title above and its day labels below.
	titleH := bodySize(c) * 1.6
	daysH := small.Font.Size * 1.6
	gapX, gapY := vg.Points(18), vg.Points(6)
	panelW := (c.Max.X - pad - left - gapX*vg.Length(cols-1)) / vg.Length(cols)
	cellH := (top - bottom - gapY*vg.Length(rows-1)) / vg.Length(rows)

	for i, s := range in.Series {
		col, row := i%cols, i/cols
		p := c
		p.Min.X = left + vg.Length(col)*(panelW+gapX)
		p.Max.X = p.Min.X + panelW
		p.Max.Y = top - vg.Length(row)*(cellH+gapY) - titleH
		p.Min.Y = p.Max.Y - cellH + titleH + daysH
		drawPanel(c, p, s, i, panelTitle(s.Arm, in.Control, lang), col == 0, x0, x1, y0, y1, ticks, dec, lang)
	}
}

// dayOf is the day in days since the epoch (UTC), as the x coordinate.
func dayOf(t time.Time) float64 {
	return math.Floor(float64(t.Unix()) / day)
}

// yRange covers zero, every difference, and the intervals from the second
// quarter of each series on: the first days' intervals are very wide and
// would flatten everything else, so they run off the panel instead.
func yRange(series []TimelineSeries) (lo, hi float64) {
	lo, hi = 0, 0
	for _, s := range series {
		skip := len(s.Points) / 4
		for i, p := range s.Points {
			vals := []float64{p.Diff}
			if i >= skip {
				vals = append(vals, p.Low, p.High, p.SeqLow, p.SeqHigh)
			}
			for _, v := range vals {
				if finite(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	m := 0.06 * (hi - lo)
	return lo - m, hi + m
}

// panelTitle is "Personal call vs Usual handling".
func panelTitle(arm, control, lang string) string {
	if control == "" {
		return i18n.T(lang, "plot.timeline.vs_control", arm)
	}
	return i18n.T(lang, "plot.timeline.vs", arm, control)
}

// bandColour is the interval fill of the i-th panel: the sequential band is the lighter one.
func bandColour(i int, sequential bool) color.RGBA {
	if sequential {
		return tint(armColour(i), 0.82)
	}
	return tint(armColour(i), 0.55)
}

// lineColour is the difference's line and points in the i-th panel.
func lineColour(i int) color.RGBA { return lerp(armColour(i), colText, 0.35) }

// diffItem is the difference's legend mark for n panels: a line with a point, in a
// stretch of each panel's colour.
func diffItem(n int) func(c draw.Canvas, at vg.Point, size vg.Length) {
	return func(c draw.Canvas, at vg.Point, size vg.Length) {
		n := max(n, 1)
		w := size / vg.Length(n)
		for i := range n {
			x := at.X + vg.Length(i)*w
			line(c, lineColour(i), 2, x, at.Y, x+w, at.Y)
		}
		c.DrawGlyph(draw.GlyphStyle{Color: lineColour(0), Radius: 2, Shape: draw.CircleGlyph{}}, vg.Point{X: at.X + size/2, Y: at.Y})
	}
}

// bandItem is an interval's legend mark for n panels: a square of a stripe in each
// panel's fill.
func bandItem(n int, sequential bool) func(c draw.Canvas, at vg.Point, size vg.Length) {
	return func(c draw.Canvas, at vg.Point, size vg.Length) {
		n := max(n, 1)
		w := size / vg.Length(n)
		for i := range n {
			x := at.X + vg.Length(i)*w
			rect(c, bandColour(i, sequential), x, at.Y-size/2, x+w, at.Y+size/2)
		}
	}
}

// drawPanel draws the i-th arm's panel in p (on canvas c, for the labels
// outside p); only the panels of the first column label the y axis.
func drawPanel(c, p draw.Canvas, s TimelineSeries, i int, title string, yLabels bool, x0, x1, y0, y1 float64, yticks []float64, dec int, lang string) {
	sx := scaleX{lo: x0, hi: x1, c: p}
	sy := func(v float64) vg.Length { return p.Min.Y + vg.Length((v-y0)/(y1-y0))*(p.Max.Y-p.Min.Y) }
	small := sans(smallSize(c), false, colMuted)
	bold := sans(bodySize(c), true, colText)

	// Frame: grid, ticks, zero line. The title sits inside the top edge.
	for _, t := range yticks {
		y := sy(t)
		line(c, colGrid, 0.6, p.Min.X, y, p.Max.X, y)
		if yLabels {
			c.FillText(align(small, draw.XRight, draw.YCenter), vg.Point{X: p.Min.X - 4, Y: y}, i18n.Signed(t, dec, lang))
		}
	}
	for _, d := range dayTicks(x0, x1, p.Max.X-p.Min.X, small) {
		x := sx.at(d)
		line(c, colGrid, 0.6, x, p.Min.Y, x, p.Max.Y)
		c.FillText(align(small, draw.XCenter, draw.YTop), vg.Point{X: x, Y: p.Min.Y - 3}, i18n.Day(time.Unix(int64(d)*day, 0).UTC(), lang))
	}
	line(c, colAxis, 0.8, p.Min.X, p.Min.Y, p.Max.X, p.Min.Y)
	line(c, colAxis, 0.8, p.Min.X, p.Min.Y, p.Min.X, p.Max.Y)

	// Runs of consecutive points with a defined interval.
	band := func(lo, hi func(TimelinePoint) float64, col color.Color) {
		for _, run := range runs(s.Points, func(q TimelinePoint) bool { return finite(q.Diff, lo(q), hi(q)) }) {
			if len(run) == 1 {
				q := run[0]
				x := sx.at(dayOf(q.Day))
				seg := p.ClipLinesXY([]vg.Point{{X: x, Y: sy(lo(q))}, {X: x, Y: sy(hi(q))}})
				c.StrokeLines(draw.LineStyle{Color: col, Width: 6}, seg...)
				continue
			}
			var poly []vg.Point
			for _, q := range run {
				poly = append(poly, vg.Point{X: sx.at(dayOf(q.Day)), Y: sy(hi(q))})
			}
			for k := len(run) - 1; k >= 0; k-- {
				poly = append(poly, vg.Point{X: sx.at(dayOf(run[k].Day)), Y: sy(lo(run[k]))})
			}
			c.FillPolygon(col, p.ClipPolygonXY(poly))
		}
	}
	band(func(q TimelinePoint) float64 { return q.SeqLow }, func(q TimelinePoint) float64 { return q.SeqHigh }, bandColour(i, true))
	band(func(q TimelinePoint) float64 { return q.Low }, func(q TimelinePoint) float64 { return q.High }, bandColour(i, false))

	zero := sy(0)
	line(c, colAxis, 1, p.Min.X, zero, p.Max.X, zero, 4, 3)

	dark := lineColour(i)
	for _, run := range runs(s.Points, func(q TimelinePoint) bool { return finite(q.Diff) }) {
		pts := make([]vg.Point, len(run))
		for k, q := range run {
			pts[k] = vg.Point{X: sx.at(dayOf(q.Day)), Y: sy(q.Diff)}
		}
		c.StrokeLines(draw.LineStyle{Color: dark, Width: 2}, p.ClipLinesXY(pts)...)
		for _, pt := range pts {
			if p.Contains(pt) {
				c.DrawGlyph(draw.GlyphStyle{Color: dark, Radius: 2, Shape: draw.CircleGlyph{}}, pt)
			}
		}
	}
	c.FillText(align(bold, draw.XLeft, draw.YBottom), vg.Point{X: p.Min.X, Y: p.Max.Y + bold.Font.Size*0.5},
		fit(bold, title, p.Max.X-p.Min.X))
}

// runs splits points into maximal runs where ok holds.
func runs(pts []TimelinePoint, ok func(TimelinePoint) bool) [][]TimelinePoint {
	var out [][]TimelinePoint
	var cur []TimelinePoint
	for _, q := range pts {
		if ok(q) {
			cur = append(cur, q)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// dayTicks picks whole days in [lo, hi] at a step of 1, 2, 7, 14 or 28
// days, as many as fit the width with room for their labels.
func dayTicks(lo, hi float64, width vg.Length, sty interface{ Width(string) vg.Length }) []float64 {
	room := int(width / (sty.Width("30 Sep") * 1.8))
	first, last := math.Ceil(lo), math.Floor(hi)
	step := 1.0
	for _, st := range []float64{1, 2, 7, 14, 28, 56, 91, 182, 364} {
		step = st
		if int((last-first)/st)+1 <= max(room, 2) {
			break
		}
	}
	var ts []float64
	if step >= 7 {
		// Start weekly ticks on a Monday (1970-01-01 was a Thursday).
		for math.Mod(first+3, 7) != 0 {
			first++
		}
	}
	for d := first; d <= last; d += step {
		ts = append(ts, d)
	}
	return ts
}
