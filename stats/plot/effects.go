package plot

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// EffectsInput is the forest plot: one row per outcome and treatment arm.
type EffectsInput struct {
	Rows    []EffectRow
	CILevel float64 // e.g. 0.95 (1 - alpha); 0 = 0.95
	// Note is a footnote saying how the effects were standardized; the
	// caller knows, the plot does not.
	Note string
	// Title is the figure's heading; "" is the default one in the plot's
	// language ("Effect of each arm versus control").
	Title string
}

// EffectRow is one treatment arm against control on one outcome. Rows are
// drawn top to bottom in order, under a heading whenever Group changes.
type EffectRow struct {
	Group string // heading, e.g. "KRS"; "" = none
	Label string // the outcome, e.g. "Satisfaction"
	Arm   string // the arm as readers know it, e.g. "Personal call"
	// Tags are drawn in a column after the label, e.g. "primary" or
	// "guardrail", in the caller's words.
	Tags []Tag

	// The raw difference and interval, in the unit the reader expects
	// (rates already in percentage points), with Unit appended, e.g. " pp".
	Diff, Low, High float64
	Unit            string

	// The standardized difference and interval that the x axis shows;
	// NaN when the comparison had too little data.
	Std, StdLow, StdHigh float64

	Significant bool // after the multiple-comparison correction
	Better      bool // the difference goes the good way (by higher_is_better)

	// Adjusted marks a difference adjusted for a pre-experiment covariate
	// (CUPED): the raw label carries a dagger, explained in the footnote.
	Adjusted bool

	// Margin is a guardrail's non-inferiority margin on the standardized
	// axis, signed to lie on the bad side of zero (−margin/SD when higher is
	// better, +margin/SD when lower is better), drawn as a dashed tick; 0 =
	// no margin. Whether it held is the caller's to say, in a tag.
	Margin float64
}

// Tag is a short label beside a row's outcome; Strong ones are drawn filled.
type Tag struct {
	Text   string
	Strong bool
}

// maxStd bounds the x axis: an interval wider than this (tiny arms) is cut
// off with an arrow instead of squeezing every other row.
const maxStd = 2.5

// Effects draws the forest plot.
func Effects(in EffectsInput, opt Options) ([]byte, error) {
	return render(opt, func(c draw.Canvas, lang string) { drawEffects(c, in, lang) })
}

func drawEffects(c draw.Canvas, in EffectsInput, lang string) {
	title := in.Title
	if title == "" {
		title = i18n.T(lang, "plot.effects.title")
	}
	if len(in.Rows) == 0 {
		message(c, title, i18n.T(lang, "plot.no_comparisons"))
		return
	}
	pad := vg.Points(16)
	level := ciLevel(in.CILevel, lang)
	top := header(c, pad, title, i18n.T(lang, "plot.effects.subtitle", level))
	small := sans(smallSize(c), false, colText)
	margins, adjusted := false, false
	for _, r := range in.Rows {
		margins = margins || r.Margin != 0 && finite(r.Margin)
		adjusted = adjusted || r.Adjusted
	}
	legend := []legendItem{
		{markItem(colBetter, true), i18n.T(lang, "plot.effects.better")},
		{markItem(colWorse, true), i18n.T(lang, "plot.effects.worse")},
		{markItem(tint(colBetter, 0.45), false), i18n.T(lang, "plot.effects.leaning_better")},
		{markItem(tint(colWorse, 0.45), false), i18n.T(lang, "plot.effects.leaning_worse")},
	}
	if margins {
		legend = append(legend, legendItem{marginItem, i18n.T(lang, "plot.effects.margin")})
	}
	top = drawLegend(c, legend, c.Min.X+pad, top-small.Font.Size*0.6, c.Max.X-pad, small) - 2

	// Bottom: tick labels, axis title and the footnotes: the caller's, then
	// what the marks of this figure mean, which a small figure (a thumbnail,
	// a dashboard tile) leaves to the legend, as the priority matrix does.
	bottom := c.Min.Y + pad
	notes := []string{in.Note}
	compact := c.Max.Y-c.Min.Y < 330 || c.Max.X-c.Min.X < 450
	if adjusted && !compact {
		notes = append(notes, i18n.T(lang, "plot.effects.note.cuped"))
	}
	if margins && !compact {
		notes = append(notes, i18n.T(lang, "plot.effects.note.margin", level))
	}
	var note []string
	for _, n := range notes {
		if n != "" {
			note = append(note, wrap(small, n, c.Max.X-c.Min.X-2*pad)...)
		}
	}
	if len(note) > 0 {
		for i := len(note) - 1; i >= 0; i-- {
			c.FillText(align(sans(smallSize(c), false, colMuted), draw.XLeft, draw.YBottom), vg.Point{X: c.Min.X + pad, Y: bottom}, note[i])
			bottom += small.Height(note[i]) + 1
		}
		bottom += 4
	}
	axisTitleY := bottom
	bottom += small.Font.Size * 1.3 // axis title
	tickY := bottom
	bottom += small.Font.Size*1.3 + 4 // tick labels

	// Rows: headings and effect rows share one row height.
	type entry struct {
		heading string
		row     *EffectRow
	}
	var lines []entry
	prev := "\x00"
	for i := range in.Rows {
		r := &in.Rows[i]
		if r.Group != prev && r.Group != "" {
			lines = append(lines, entry{heading: r.Group})
		}
		prev = r.Group
		lines = append(lines, entry{row: r})
	}
	rowH := (top - bottom) / vg.Length(len(lines))
	size := vg.Length(clamp(float64(rowH)*0.62, 6, float64(bodySize(c))))
	body := sans(size, false, colText)
	bold := sans(size, true, colText)

	// Columns: label | tags | raw difference | plot area.
	rawText := make([]string, len(in.Rows))
	tagSty := sans(size*0.78, false, colText)
	tagPad := size * 0.3
	var labelW, tagsW, rawW vg.Length
	for i, r := range in.Rows {
		labelW = max(labelW, bold.Width(rowLabel(r)))
		tagsW = max(tagsW, tagsWidth(r.Tags, tagSty, tagPad))
		if finite(r.Diff, r.Low, r.High) {
			rawText[i] = rawDiff(r, lang)
		} else {
			rawText[i] = i18n.T(lang, "plot.insufficient")
		}
		rawW = max(rawW, body.Width(rawText[i]))
	}
	width := c.Max.X - c.Min.X - 2*pad
	labelW = min(labelW, width*0.3)
	tagsW = min(tagsW, width*0.2)
	rawW = min(rawW, width*0.25)
	gap := size * 1.5
	tagGap := size * 0.6
	if tagsW == 0 {
		tagGap = 0
	}
	// The intervals keep at least 30% of the width: a narrow figure gives up
	// room for tags first (the last tags of a row go), then for labels (to 18%).
	if over := size + labelW + tagGap + tagsW + gap + rawW + gap - width*0.7; over > 0 {
		cut := min(over, tagsW)
		tagsW -= cut
		labelW = max(labelW-(over-cut), min(labelW, width*0.18))
	}
	labelX := c.Min.X + pad + size // headings hang out to the left of labels
	tagsX := labelX + labelW + tagGap
	rawRight := tagsX + tagsW + gap + rawW
	area := c
	area.Min.X, area.Max.X = rawRight+gap, c.Max.X-pad
	area.Min.Y, area.Max.Y = bottom, top

	lo, hi := stdRange(in.Rows)
	sx := scaleX{lo: lo, hi: hi, c: area}

	// Grid, zero line and x axis.
	ticks := niceTicks(lo, hi)
	dec := tickDecimals(ticks)
	tickSty := align(sans(smallSize(c), false, colMuted), draw.XCenter, draw.YBottom)
	for _, t := range ticks {
		x := sx.at(t)
		line(c, colGrid, 0.6, x, area.Min.Y, x, area.Max.Y)
		c.FillText(tickSty, vg.Point{X: x, Y: tickY}, i18n.Signed(t, dec, lang))
	}
	line(c, colAxis, 0.8, area.Min.X, area.Min.Y, area.Max.X, area.Min.Y)
	c.FillText(align(sans(smallSize(c), false, colText), draw.XCenter, draw.YBottom),
		vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: axisTitleY}, i18n.T(lang, "plot.effects.axis"))

	// Zebra bands first, so the zero line stays on top of them.
	for i, l := range lines {
		if l.row != nil && i%2 == 0 {
			y := top - vg.Length(i)*rowH
			rect(c, colZebra, c.Min.X+pad, y-rowH, c.Max.X-pad, y)
		}
	}
	zero := sx.at(0)
	line(c, colAxis, 1, zero, area.Min.Y, zero, area.Max.Y)

	j := 0
	for i, l := range lines {
		y := top - (vg.Length(i)+0.5)*rowH
		if l.row == nil {
			hs := align(sans(size*1.05, true, colText), draw.XLeft, draw.YCenter)
			c.FillText(hs, vg.Point{X: c.Min.X + pad, Y: y}, fit(hs, l.heading, width))
			continue
		}
		r := *l.row
		sty := body
		if r.Significant {
			sty = bold
		}
		c.FillText(align(sty, draw.XLeft, draw.YCenter), vg.Point{X: labelX, Y: y}, fitLabel(sty, r, labelW))
		drawTags(c, r.Tags, tagsX, tagsX+tagsW, y, tagSty, tagPad)
		raw := align(body, draw.XRight, draw.YCenter)
		if !finite(r.Diff, r.Low, r.High) {
			raw.Color = colMuted
		}
		c.FillText(raw, vg.Point{X: rawRight, Y: y}, fit(raw, rawText[j], rawW))
		j++
		drawMargin(c, sx, r, y, rowH)
		if !finite(r.Std, r.StdLow, r.StdHigh) {
			c.FillText(align(sans(size*0.9, false, colMuted), draw.XLeft, draw.YCenter),
				vg.Point{X: zero + size*0.6, Y: y}, i18n.T(lang, "plot.insufficient"))
			continue
		}
		drawInterval(c, sx, r, y, size)
	}
}

// tagsWidth is the width the tags of one row take side by side.
func tagsWidth(tags []Tag, sty text.Style, pad vg.Length) vg.Length {
	var w vg.Length
	for i, t := range tags {
		if i > 0 {
			w += pad
		}
		w += sty.Width(t.Text) + 2*pad
	}
	return w
}

// drawTags draws a row's tags from x as small boxes: strong ones filled dark
// with white text, the others outlined. Tags that do not fit before maxX
// are left out (the first, the outcome's role, fits longest) rather than
// overlapping the raw difference.
func drawTags(c draw.Canvas, tags []Tag, x, maxX, y vg.Length, sty text.Style, pad vg.Length) {
	h := sty.Font.Size * 1.35
	for _, t := range tags {
		w := sty.Width(t.Text) + 2*pad
		if x+w > maxX+0.01 {
			return
		}
		ts := align(sty, draw.XCenter, draw.YCenter)
		if t.Strong {
			rect(c, colText, x, y-h/2, x+w, y+h/2)
			ts.Color = colWhite
		} else {
			rect(c, colWhite, x, y-h/2, x+w, y+h/2)
			box := vg.Path{}
			box.Move(vg.Point{X: x, Y: y - h/2})
			box.Line(vg.Point{X: x + w, Y: y - h/2})
			box.Line(vg.Point{X: x + w, Y: y + h/2})
			box.Line(vg.Point{X: x, Y: y + h/2})
			box.Close()
			c.SetLineStyle(draw.LineStyle{Color: colMuted, Width: 0.7})
			c.Stroke(box)
		}
		c.FillText(ts, vg.Point{X: x + w/2, Y: y}, t.Text)
		x += w + pad
	}
}

// drawMargin draws a guardrail's margin as a dashed tick across the row.
func drawMargin(c draw.Canvas, sx scaleX, r EffectRow, y, rowH vg.Length) {
	if r.Margin == 0 || !finite(r.Margin) || r.Margin < sx.lo || r.Margin > sx.hi {
		return
	}
	x := sx.at(r.Margin)
	half := rowH * 0.42
	line(c, colText, 1.1, x, y-half, x, y+half, 2.2, 1.6)
}

// marginItem is the dashed tick as a legend swatch.
func marginItem(c draw.Canvas, at vg.Point, size vg.Length) {
	x := at.X + size/2
	line(c, colText, 1.1, x, at.Y-size*0.6, x, at.Y+size*0.6, 2.2, 1.6)
}

// rowLabel is "Satisfaction · Personal call".
func rowLabel(r EffectRow) string {
	if r.Arm == "" {
		return r.Label
	}
	return r.Label + " · " + r.Arm
}

// fitLabel is rowLabel at most w wide: a long outcome name is shortened
// before the arm's, which tells the rows of one outcome apart.
func fitLabel(s text.Style, r EffectRow, w vg.Length) string {
	full := rowLabel(r)
	if r.Arm == "" || s.Width(full) <= w {
		return fit(s, full, w)
	}
	arm := " · " + r.Arm
	if rest := w - s.Width(arm); rest > w/3 {
		return fit(s, r.Label, rest) + arm
	}
	return fit(s, full, w)
}

// rawDiff is "+0.31 [0.12, 0.50]" (nl: "+0,31 [0,12; 0,50]") plus the unit.
func rawDiff(r EffectRow, lang string) string {
	d := decimalsFor(math.Max(math.Abs(r.Low), math.Abs(r.High)))
	s := i18n.Signed(r.Diff, d, lang) + " " + i18n.Interval(r.Low, r.High, d, lang) + r.Unit
	if r.Adjusted {
		s += " †"
	}
	return s
}

// stdRange is the x range: every interval, every guardrail margin and zero,
// with some room, within ±maxStd.
func stdRange(rows []EffectRow) (lo, hi float64) {
	lo, hi = -0.2, 0.2
	for _, r := range rows {
		if finite(r.Std, r.StdLow, r.StdHigh) {
			lo, hi = math.Min(lo, r.StdLow), math.Max(hi, r.StdHigh)
		}
		if r.Margin != 0 && finite(r.Margin) {
			lo, hi = math.Min(lo, r.Margin), math.Max(hi, r.Margin)
		}
	}
	m := 0.06 * (hi - lo)
	return math.Max(lo-m, -maxStd), math.Min(hi+m, maxStd)
}

// rowColour is blue for a difference the good way, vermillion for the bad
// way; light when not significant, so only significant rows stand out.
func rowColour(r EffectRow) color.RGBA {
	col := colWorse
	if r.Better {
		col = colBetter
	}
	if !r.Significant {
		return tint(col, 0.45)
	}
	return col
}

// drawInterval draws one row's interval and point; significant rows get a
// thick line and a filled dot, others a thin line and a hollow one.
func drawInterval(c draw.Canvas, sx scaleX, r EffectRow, y, size vg.Length) {
	col := rowColour(r)
	w := vg.Length(1.2)
	if r.Significant {
		w = 2.4
	}
	x0 := sx.at(clamp(r.StdLow, sx.lo, sx.hi))
	x1 := sx.at(clamp(r.StdHigh, sx.lo, sx.hi))
	line(c, col, w, x0, y, x1, y)
	cap := size * 0.35
	if r.StdLow >= sx.lo {
		line(c, col, w*0.8, x0, y-cap, x0, y+cap)
	} else {
		arrow(c, col, x0, y, -1, cap*1.4)
	}
	if r.StdHigh <= sx.hi {
		line(c, col, w*0.8, x1, y-cap, x1, y+cap)
	} else {
		arrow(c, col, x1, y, 1, cap*1.4)
	}
	marker(c, col, r.Significant, vg.Point{X: sx.at(clamp(r.Std, sx.lo, sx.hi)), Y: y}, size*0.42)
}

// arrow marks an interval cut off at the axis edge; dir -1 points left.
func arrow(c draw.Canvas, col color.Color, x, y vg.Length, dir float64, s vg.Length) {
	d := vg.Length(dir)
	c.FillPolygon(col, []vg.Point{{X: x + d*s, Y: y}, {X: x, Y: y + s*0.7}, {X: x, Y: y - s*0.7}})
}

// marker is the point estimate: a filled dot for significant rows, a ring
// otherwise.
func marker(c draw.Canvas, col color.Color, filled bool, at vg.Point, r vg.Length) {
	if filled {
		c.DrawGlyph(draw.GlyphStyle{Color: col, Radius: r, Shape: draw.CircleGlyph{}}, at)
		return
	}
	c.DrawGlyph(draw.GlyphStyle{Color: colWhite, Radius: r, Shape: draw.CircleGlyph{}}, at)
	// RingGlyph strokes 0.5 pt, too thin to see the colour; draw a thicker ring.
	c.SetLineStyle(draw.LineStyle{Color: col, Width: 1.6})
	var ring vg.Path
	ring.Move(vg.Point{X: at.X + r, Y: at.Y})
	ring.Arc(at, r, 0, 2*math.Pi)
	ring.Close()
	c.Stroke(ring)
}

// markItem is marker as a legend swatch, placed by its left edge.
func markItem(col color.Color, filled bool) func(c draw.Canvas, at vg.Point, size vg.Length) {
	return func(c draw.Canvas, at vg.Point, size vg.Length) {
		marker(c, col, filled, vg.Point{X: at.X + size/2, Y: at.Y}, size*0.42)
	}
}
