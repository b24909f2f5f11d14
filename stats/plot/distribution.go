package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// DistributionInput is one outcome per arm: a diverging stacked bar of the
// answers when Segments is set (scale and net outcomes), else a bar with
// its confidence interval (numeric, composite, binary).
type DistributionInput struct {
	Title string // the outcome's label

	// Segments are the answer categories from the lowest to the highest
	// answer, e.g. the levels 1..7, or detractors, passives, promoters.
	Segments []Segment
	// Reversed colours high answers as bad, for outcomes where lower is better.
	Reversed bool

	// Arms in the order to draw them, control first.
	Arms []ArmDistribution

	// Bars only: the estimate's unit suffix (e.g. "%"), the x-axis title
	// and the interval's level (0 = 0.95).
	Unit    string
	Axis    string
	CILevel float64
	// Bars only: the ends of the outcome's scale, e.g. 0 and 100 for a composite, so
	// that the axis shows the whole scale and a bar reads against it; both 0 = the axis
	// is fitted to the estimates and intervals.
	AxisMin, AxisMax float64
}

// Segment is one answer category of a stacked bar. Side places it: -1 left
// of zero (disagree, detractors), +1 right (agree, promoters), 0 the
// neutral middle, centred on zero.
type Segment struct {
	Label string
	Side  int
}

// ArmDistribution is one arm's bar.
type ArmDistribution struct {
	Arm string
	N   int64 // answers; 0 draws "no answers"

	// Stacked bars: the share of answers per segment (summing to 1) and a
	// short text shown beside the bar, e.g. "mean 4.62" or "NPS +12".
	Shares  []float64
	Summary string

	// Bars: the estimate and its interval (NaN when undefined).
	Estimate, Low, High float64
}

// Distribution draws the per-arm distribution of one outcome.
func Distribution(in DistributionInput, opt Options) ([]byte, error) {
	for _, a := range in.Arms {
		if in.Segments != nil && a.N > 0 && len(a.Shares) != len(in.Segments) {
			return nil, fmt.Errorf("plot: arm %q has %d shares for %d segments", a.Arm, len(a.Shares), len(in.Segments))
		}
	}
	return render(opt, func(c draw.Canvas, lang string) { drawDistribution(c, in, lang) })
}

// armLayout is the frame shared by both kinds: arm labels on the left, a
// text column on the right and the bars in between.
type armLayout struct {
	area   draw.Canvas // bars
	rowH   vg.Length
	top    vg.Length
	size   vg.Length // body font size
	right  vg.Length // x of the right text column
	tickY  vg.Length // baseline of the tick labels
	titleY vg.Length // baseline of the axis title
}

func (l armLayout) y(i int) vg.Length { return l.top - (vg.Length(i)+0.5)*l.rowH }

func drawDistribution(c draw.Canvas, in DistributionInput, lang string) {
	if len(in.Arms) == 0 {
		message(c, in.Title, i18n.T(lang, "plot.distribution.empty"))
		return
	}
	pad := vg.Points(16)
	stacked := in.Segments != nil
	sub := i18n.T(lang, "plot.distribution.subtitle.stacked")
	if !stacked {
		sub = i18n.T(lang, "plot.distribution.subtitle.bars", ciLevel(in.CILevel, lang))
	}
	top := header(c, pad, in.Title, sub)
	small := sans(smallSize(c), false, colText)
	if stacked {
		items := make([]legendItem, len(in.Segments))
		cols := segmentColours(in.Segments, in.Reversed)
		for i, s := range in.Segments {
			items[i] = legendItem{swatch(cols[i]), s.Label}
		}
		top = drawLegend(c, items, c.Min.X+pad, top-small.Font.Size*0.6, c.Max.X-pad, small) - 4
	}

	// Right column texts decide its width.
	body := sans(bodySize(c), false, colText)
	texts := make([]string, len(in.Arms))
	for i, a := range in.Arms {
		switch {
		case a.N == 0:
			texts[i] = ""
		case stacked:
			texts[i] = a.Summary
		case finite(a.Estimate, a.Low, a.High):
			d := decimalsFor(math.Max(math.Abs(a.Low), math.Abs(a.High)))
			texts[i] = i18n.Num(a.Estimate, d, lang) + in.Unit + " " + i18n.Interval(a.Low, a.High, d, lang)
		case finite(a.Estimate):
			texts[i] = i18n.Num(a.Estimate, decimalsFor(a.Estimate), lang) + in.Unit
		}
	}
	var labelW, textW vg.Length
	bold := sans(bodySize(c), true, colText)
	for i, a := range in.Arms {
		labelW = max(labelW, bold.Width(a.Arm), small.Width(nLabel(a.N, lang)))
		textW = max(textW, body.Width(texts[i]))
	}
	width := c.Max.X - c.Min.X - 2*pad
	labelW, textW = min(labelW, width*0.22), min(textW, width*0.3)
	gap := body.Font.Size * 1.2

	bottom := c.Min.Y + pad
	l := armLayout{titleY: bottom, size: body.Font.Size}
	bottom += small.Font.Size * 1.4
	l.tickY = bottom
	bottom += small.Font.Size*1.3 + 4
	l.area = c
	l.area.Min.X, l.area.Max.X = c.Min.X+pad+labelW+gap, c.Max.X-pad-textW-gap
	l.area.Min.Y, l.area.Max.Y = bottom, top
	l.top, l.right = top, c.Max.X-pad-textW
	l.rowH = (top - bottom) / vg.Length(len(in.Arms))

	for i, a := range in.Arms {
		y := l.y(i)
		twoLines := l.rowH > bold.Font.Size*2.8
		ly := y
		if twoLines {
			ly += bold.Font.Size * 0.6
		}
		c.FillText(align(bold, draw.XLeft, draw.YCenter), vg.Point{X: c.Min.X + pad, Y: ly}, fit(bold, a.Arm, labelW))
		if twoLines {
			c.FillText(align(sans(smallSize(c), false, colMuted), draw.XLeft, draw.YCenter),
				vg.Point{X: c.Min.X + pad, Y: y - bold.Font.Size*0.7}, nLabel(a.N, lang))
		}
		c.FillText(align(body, draw.XLeft, draw.YCenter), vg.Point{X: l.right, Y: y}, fit(body, texts[i], textW))
	}
	if stacked {
		drawStacked(c, l, in, lang)
	} else {
		drawBars(c, l, in, lang)
	}
}

// nLabel is "n = 412", "n = 1,873".
func nLabel(n int64, lang string) string { return i18n.T(lang, "label.n", i18n.Count(n, lang)) }

// segmentColours shades each side from dark (far from the middle) to
// light (near it); the middle is grey.
func segmentColours(segs []Segment, reversed bool) []color.RGBA {
	negDark, negLight, posDark, posLight := colNegDark, colNegLight, colPosDark, colPosLight
	if reversed {
		negDark, negLight, posDark, posLight = posDark, posLight, negDark, negLight
	}
	var neg, pos []int
	for i, s := range segs {
		switch {
		case s.Side < 0:
			neg = append(neg, i)
		case s.Side > 0:
			pos = append(pos, i)
		}
	}
	// darkness 1 is the far end of a side, towards 0 near the middle.
	darkness := func(k, n int) float64 {
		if n == 1 {
			return 0.7
		}
		return float64(k) / float64(n-1)
	}
	cols := make([]color.RGBA, len(segs))
	for i := range segs {
		cols[i] = colNeutral
	}
	for k, i := range neg {
		cols[i] = lerp(negLight, negDark, darkness(len(neg)-1-k, len(neg)))
	}
	for k, i := range pos {
		cols[i] = lerp(posLight, posDark, darkness(k, len(pos)))
	}
	return cols
}

// extents are how far an arm's bar reaches left and right of zero (shares).
func extents(segs []Segment, shares []float64) (left, right float64) {
	for i, s := range segs {
		switch {
		case s.Side < 0:
			left += shares[i]
		case s.Side > 0:
			right += shares[i]
		default:
			left += shares[i] / 2
			right += shares[i] / 2
		}
	}
	return left, right
}

func drawStacked(c draw.Canvas, l armLayout, in DistributionInput, lang string) {
	reach := 0.2
	for _, a := range in.Arms {
		if a.N > 0 {
			lft, rgt := extents(in.Segments, a.Shares)
			reach = math.Max(reach, math.Max(lft, rgt))
		}
	}
	reach = math.Min(1, math.Ceil(reach*10+0.2)/10)
	sx := scaleX{lo: -reach, hi: reach, c: l.area}
	drawPercentAxis(c, l, sx, i18n.T(lang, "plot.distribution.axis.share"), lang)

	// Zero first: the bars hide it, so it never crosses a percentage.
	zero := sx.at(0)
	line(c, colAxis, 1, zero, l.area.Min.Y, zero, l.area.Max.Y)

	cols := segmentColours(in.Segments, in.Reversed)
	barH := min(l.rowH*0.58, vg.Points(40))
	label := sans(max(l.size*0.85, 7), false, colText)
	for i, a := range in.Arms {
		y := l.y(i)
		if a.N == 0 {
			ts := align(sans(l.size, false, colMuted), draw.XCenter, draw.YCenter)
			msg := i18n.T(lang, "plot.no_answers")
			rect(c, colWhite, zero-ts.Width(msg)/2-4, y-ts.Font.Size, zero+ts.Width(msg)/2+4, y+ts.Font.Size)
			c.FillText(ts, vg.Point{X: zero, Y: y}, msg)
			continue
		}
		// Walk outwards from zero on each side: the neutral middle first.
		lft, _ := extents(in.Segments, a.Shares)
		x := -lft
		for k := range in.Segments {
			w := a.Shares[k]
			if w <= 0 {
				continue
			}
			x0, x1 := sx.at(x), sx.at(x+w)
			rect(c, cols[k], x0, y-barH/2, x1, y+barH/2)
			line(c, colWhite, 0.8, x1, y-barH/2, x1, y+barH/2)
			pct := i18n.Percent(w, 0, lang)
			if x1-x0 > label.Width(pct)+4 && barH > label.Font.Size*1.2 {
				ts := align(label, draw.XCenter, draw.YCenter)
				if dark(cols[k]) {
					ts.Color = colWhite
				}
				c.FillText(ts, vg.Point{X: (x0 + x1) / 2, Y: y}, pct)
			}
			x += w
		}
	}
}

// drawPercentAxis draws gridlines and tick labels for shares, as absolute
// percentages on both sides of zero.
func drawPercentAxis(c draw.Canvas, l armLayout, sx scaleX, title, lang string) {
	tick := align(sans(smallSize(c), false, colMuted), draw.XCenter, draw.YBottom)
	for _, t := range niceTicks(sx.lo, sx.hi) {
		x := sx.at(t)
		line(c, colGrid, 0.6, x, l.area.Min.Y, x, l.area.Max.Y)
		c.FillText(tick, vg.Point{X: x, Y: l.tickY}, i18n.Percent(math.Abs(t), 0, lang))
	}
	line(c, colAxis, 0.8, l.area.Min.X, l.area.Min.Y, l.area.Max.X, l.area.Min.Y)
	c.FillText(align(sans(smallSize(c), false, colText), draw.XCenter, draw.YBottom),
		vg.Point{X: (l.area.Min.X + l.area.Max.X) / 2, Y: l.titleY}, title)
}

func drawBars(c draw.Canvas, l armLayout, in DistributionInput, lang string) {
	lo, hi := 0.0, 0.0
	for _, a := range in.Arms {
		for _, v := range []float64{a.Estimate, a.Low, a.High} {
			if a.N > 0 && finite(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if in.AxisMax > in.AxisMin {
		// The scale's ends, or beyond them where an interval is (a t interval of very
		// few answers can be).
		lo, hi = math.Min(lo, in.AxisMin), math.Max(hi, in.AxisMax)
	} else {
		if hi == lo {
			hi = lo + 1
		}
		m := 0.05 * (hi - lo)
		if lo < 0 {
			lo -= m
		}
		if hi > 0 {
			hi += m
		}
	}
	sx := scaleX{lo: lo, hi: hi, c: l.area}
	ticks := niceTicks(lo, hi)
	dec := tickDecimals(ticks)
	tick := align(sans(smallSize(c), false, colMuted), draw.XCenter, draw.YBottom)
	for _, t := range ticks {
		x := sx.at(t)
		line(c, colGrid, 0.6, x, l.area.Min.Y, x, l.area.Max.Y)
		c.FillText(tick, vg.Point{X: x, Y: l.tickY}, i18n.Num(t, dec, lang))
	}
	line(c, colAxis, 0.8, l.area.Min.X, l.area.Min.Y, l.area.Max.X, l.area.Min.Y)
	c.FillText(align(sans(smallSize(c), false, colText), draw.XCenter, draw.YBottom),
		vg.Point{X: (l.area.Min.X + l.area.Max.X) / 2, Y: l.titleY}, in.Axis)

	barH := min(l.rowH*0.5, vg.Points(34))
	zero := sx.at(0)
	for i, a := range in.Arms {
		y := l.y(i)
		if a.N == 0 || !finite(a.Estimate) {
			c.FillText(align(sans(l.size, false, colMuted), draw.XLeft, draw.YCenter), vg.Point{X: zero + 4, Y: y}, i18n.T(lang, "plot.no_answers"))
			continue
		}
		col := colControl
		if i > 0 {
			col = armColour(i - 1)
		}
		rect(c, tint(col, 0.25), zero, y-barH/2, sx.at(a.Estimate), y+barH/2)
		if finite(a.Low, a.High) {
			x0, x1 := sx.at(a.Low), sx.at(a.High)
			capH := barH * 0.3
			line(c, colText, 1.4, x0, y, x1, y)
			line(c, colText, 1.4, x0, y-capH, x0, y+capH)
			line(c, colText, 1.4, x1, y-capH, x1, y+capH)
		}
		line(c, colText, 2, sx.at(a.Estimate), y-barH/2, sx.at(a.Estimate), y+barH/2)
	}
	line(c, colAxis, 1, zero, l.area.Min.Y, zero, l.area.Max.Y)
}
