package plot

import (
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// PersistenceInput is one outcome's effect over the survey waves: per treatment arm the
// difference from control in each wave with its interval, and the within-customer change
// between the first and the last wave with a comparison (STATS.md, third part).
type PersistenceInput struct {
	Title   string // the outcome's label
	Unit    string // of the difference, for the y axis, e.g. "points"
	CILevel float64
	// Control is the control arm as readers know it, for the subtitle; "" = the word control.
	Control string
	Waves   []PersistenceWave
	Series  []PersistenceSeries
}

// PersistenceWave is one wave as readers know it, with the days it covers.
type PersistenceWave struct {
	Name           string
	FromDay, ToDay int
}

// PersistenceSeries is one treatment arm: a point per wave (in the order of Waves; NaN
// without a comparison) and the change, nil when there is none to measure.
type PersistenceSeries struct {
	Arm    string
	Points []PersistencePoint
	Change *PersistenceChange
}

// PersistencePoint is a wave's effect; Significant marks a verdict better or worse.
type PersistencePoint struct {
	Diff, Low, High float64
	Significant     bool
}

// PersistenceChange is the within-customer change of the effect between two waves, and
// its trend: "growing", "fading" or "stable".
type PersistenceChange struct {
	From, To        string // the waves' names
	Diff, Low, High float64
	Trend           string
}

// Persistence draws the effect per wave with its interval, one line per treatment arm,
// the zero line, and each arm's change in the footnote.
func Persistence(in PersistenceInput, opt Options) ([]byte, error) {
	return render(opt, func(c draw.Canvas, lang string) { drawPersistence(c, in, lang) })
}

func drawPersistence(c draw.Canvas, in PersistenceInput, lang string) {
	title := i18n.T(lang, "plot.persistence.title")
	if in.Title != "" {
		title = in.Title + ": " + title
	}
	lo, hi, any := 0.0, 0.0, false
	for _, s := range in.Series {
		for _, p := range s.Points {
			for _, v := range []float64{p.Diff, p.Low, p.High} {
				if finite(v) {
					lo, hi, any = math.Min(lo, v), math.Max(hi, v), true
				}
			}
		}
	}
	if !any || len(in.Waves) == 0 {
		message(c, title, i18n.T(lang, "plot.persistence.empty"))
		return
	}
	control := in.Control
	if control == "" {
		control = i18n.T(lang, "arm.control")
	}
	pad := vg.Points(16)
	top := header(c, pad, title, i18n.T(lang, "plot.persistence.subtitle", control, ciLevel(in.CILevel, lang)))
	small := sans(smallSize(c), false, colText)
	muted := sans(smallSize(c), false, colMuted)

	items := make([]legendItem, len(in.Series))
	for i, s := range in.Series {
		items[i] = legendItem{armMark(i), s.Arm}
	}
	top = drawLegend(c, items, c.Min.X+pad, top-small.Font.Size*0.6, c.Max.X-pad, small) - 6

	// The footnote: one line per arm with its change, wrapped to the width.
	var notes []string
	for _, s := range in.Series {
		notes = append(notes, wrap(muted, changeNote(s, in.CILevel, lang), c.Max.X-c.Min.X-2*pad)...)
	}
	bottom := c.Min.Y + pad
	for i := len(notes) - 1; i >= 0; i-- {
		c.FillText(align(muted, draw.XLeft, draw.YBottom), vg.Point{X: c.Min.X + pad, Y: bottom}, notes[i])
		bottom += muted.Font.Size * 1.35
	}
	bottom += muted.Font.Size * 0.6
	// The waves' names and days under the x axis.
	bottom += small.Font.Size * 2.9

	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	m := 0.08 * (hi - lo)
	lo, hi = lo-m, hi+m
	yTitle := i18n.T(lang, "plot.persistence.axis.y")
	if in.Unit != "" {
		yTitle += " (" + in.Unit + ")"
	}
	rot := align(sans(smallSize(c), false, colText), draw.XCenter, draw.YTop)
	rot.Rotation = math.Pi / 2
	c.FillText(rot, vg.Point{X: c.Min.X + pad - small.Font.Size*0.2, Y: (top + bottom) / 2}, yTitle)
	ticks := niceTicks(lo, hi)
	dec := tickDecimals(ticks)
	tickW := vg.Length(0)
	for _, t := range ticks {
		tickW = max(tickW, small.Width(i18n.Signed(t, dec, lang)))
	}
	p := c
	p.Min.X = c.Min.X + pad + small.Font.Size*1.4 + tickW + 6
	p.Max.X = c.Max.X - pad
	p.Min.Y, p.Max.Y = bottom, top
	sy := func(v float64) vg.Length { return p.Min.Y + vg.Length((v-lo)/(hi-lo))*(p.Max.Y-p.Min.Y) }
	for _, t := range ticks {
		y := sy(t)
		line(c, colGrid, 0.6, p.Min.X, y, p.Max.X, y)
		c.FillText(align(muted, draw.XRight, draw.YCenter), vg.Point{X: p.Min.X - 4, Y: y}, i18n.Signed(t, dec, lang))
	}
	line(c, colAxis, 0.8, p.Min.X, p.Min.Y, p.Max.X, p.Min.Y)
	line(c, colAxis, 0.8, p.Min.X, p.Min.Y, p.Min.X, p.Max.Y)
	line(c, colAxis, 1, p.Min.X, sy(0), p.Max.X, sy(0), 4, 3)

	// Waves are evenly spaced categories; within a wave the arms stand a little apart, so
	// that their intervals do not hide each other.
	n := len(in.Waves)
	slot := (p.Max.X - p.Min.X) / vg.Length(n)
	bold := sans(smallSize(c), true, colText)
	for j, w := range in.Waves {
		x := p.Min.X + slot*(vg.Length(j)+0.5)
		c.FillText(align(bold, draw.XCenter, draw.YTop), vg.Point{X: x, Y: p.Min.Y - 4}, fit(bold, w.Name, slot-4))
		c.FillText(align(muted, draw.XCenter, draw.YTop), vg.Point{X: x, Y: p.Min.Y - 4 - bold.Font.Size*1.3},
			i18n.T(lang, "plot.persistence.days", w.FromDay, w.ToDay))
	}
	k := len(in.Series)
	spread := min(slot*0.5, vg.Points(14)*vg.Length(k))
	xAt := func(j, i int) vg.Length {
		x := p.Min.X + slot*(vg.Length(j)+0.5)
		if k > 1 {
			x += spread * (vg.Length(i)/vg.Length(k-1) - 0.5)
		}
		return x
	}
	for i, s := range in.Series {
		col := lineColour(i)
		var run []vg.Point
		flush := func() {
			if len(run) > 1 {
				c.StrokeLines(draw.LineStyle{Color: col, Width: 2}, p.ClipLinesXY(run)...)
			}
			run = nil
		}
		for j, q := range s.Points {
			if j >= n || !finite(q.Diff) {
				flush()
				continue
			}
			run = append(run, vg.Point{X: xAt(j, i), Y: sy(q.Diff)})
		}
		flush()
		for j, q := range s.Points {
			if j >= n || !finite(q.Diff) {
				continue
			}
			x := xAt(j, i)
			if finite(q.Low, q.High) {
				line(c, col, 1.6, x, sy(q.Low), x, sy(q.High))
				cap := vg.Points(3.5)
				line(c, col, 1.6, x-cap, sy(q.Low), x+cap, sy(q.Low))
				line(c, col, 1.6, x-cap, sy(q.High), x+cap, sy(q.High))
			}
			pt := vg.Point{X: x, Y: sy(q.Diff)}
			c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: 4, Shape: draw.CircleGlyph{}}, pt)
			if !q.Significant {
				c.DrawGlyph(draw.GlyphStyle{Color: colWhite, Radius: 2.4, Shape: draw.CircleGlyph{}}, pt)
			}
		}
	}
}

// armMark is the i-th arm's legend mark: its line with a point.
func armMark(i int) func(c draw.Canvas, at vg.Point, size vg.Length) {
	return func(c draw.Canvas, at vg.Point, size vg.Length) {
		line(c, lineColour(i), 2, at.X, at.Y, at.X+size, at.Y)
		c.DrawGlyph(draw.GlyphStyle{Color: lineColour(i), Radius: 3, Shape: draw.CircleGlyph{}}, vg.Point{X: at.X + size/2, Y: at.Y})
	}
}

// changeNote is an arm's line of the footnote: its change and trend, or that there is none.
func changeNote(s PersistenceSeries, level float64, lang string) string {
	ch := s.Change
	if ch == nil {
		return i18n.T(lang, "plot.persistence.no_change", s.Arm)
	}
	dec := max(decimalsFor(ch.High-ch.Low), decimalsFor(ch.Diff))
	return i18n.T(lang, "plot.persistence.change", s.Arm, ch.From, ch.To, i18n.Signed(ch.Diff, dec, lang),
		ciLevel(level, lang), i18n.Interval(ch.Low, ch.High, dec, lang), i18n.T(lang, "plot.persistence.trend."+ch.Trend))
}

// PersistenceNotes are the figure's footnote lines, one per treatment arm (its change and
// trend, or that there is none), for a page that says in words what the figure shows.
func PersistenceNotes(in PersistenceInput, lang string) []string {
	var out []string
	for _, s := range in.Series {
		out = append(out, changeNote(s, in.CILevel, lang))
	}
	return out
}
