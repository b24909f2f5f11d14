package plot

import (
	"image/color"
	"math"

	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// DriversInput is the priority matrix of a drivers question: every driver of an outcome
// by today's score (x) and its share of the outcome's explained variance (y), the figure
// a CX team chooses its next intervention from. Quadrant lines at the averages split the
// drivers into improve first (important, low score), keep (important, high score),
// monitor (less important, low score) and less urgent (less important, high score).
type DriversInput struct {
	Outcome string // the explained outcome's name, e.g. "KRS"
	Points  []DriverPoint
	N       int64 // customers in the regression
	// RSquared and AdjRSquared are the regression's (for the footnote); NaN when it could
	// not be computed, and then the figure says so.
	RSquared, AdjRSquared float64
	// ScoreMin and ScoreMax bound the scores (1 and 7 for 1-7 scales); NaN when unbounded.
	// The x axis stays within them.
	ScoreMin, ScoreMax float64
	// Rescaled says the scores are each driver's mean rescaled to 0..100 of its own range
	// (drivers on different scales), which the x axis title then says.
	Rescaled bool
}

// DriverPoint is one driver.
type DriverPoint struct {
	Label string  // the driver's name, in the figure's language
	Score float64 // today's score: the driver's mean (or its rescaled mean)
	Share float64 // its share of R², 0..1
}

// Drivers draws the priority matrix.
func Drivers(in DriversInput, opt Options) ([]byte, error) {
	return render(opt, func(c draw.Canvas, lang string) { drawDrivers(c, in, lang) })
}

// quadrant is one of the four quadrants, by importance (top) and score (right).
type quadrant struct {
	top, right bool
}

// caption is the quadrant's name and what puts a driver in it.
func (q quadrant) caption(lang string) (string, string) {
	id := "plot.drivers.less_urgent"
	switch {
	case q.top && !q.right:
		id = "plot.drivers.improve"
	case q.top:
		id = "plot.drivers.keep"
	case !q.right:
		id = "plot.drivers.monitor"
	}
	return i18n.T(lang, id), i18n.T(lang, id+".sub")
}

// colour: the hue says the score (vermillion low, blue high), the strength the
// importance, as the effects plot's colours say direction and significance.
func (q quadrant) colour() color.RGBA {
	col := colWorse
	if q.right {
		col = colBetter
	}
	if !q.top {
		return tint(col, 0.5)
	}
	return col
}

// colImprove tints the quadrant to improve first; the veils are the translucent
// backgrounds of the labels, on white and in that quadrant.
var (
	colImprove  = tint(colWorse, 0.92)
	labelVeil   = color.NRGBA{255, 255, 255, 200}
	improveVeil = color.NRGBA{colImprove.R, colImprove.G, colImprove.B, 200}
)

// box is a rectangle on the canvas that a label must not cover.
type box struct{ x0, y0, x1, y1 vg.Length }

func (b box) overlaps(o box) bool {
	return b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1
}

func (b box) inside(o box) bool {
	return b.x0 >= o.x0 && b.x1 <= o.x1 && b.y0 >= o.y0 && b.y1 <= o.y1
}

func drawDrivers(c draw.Canvas, in DriversInput, lang string) {
	title := i18n.T(lang, "plot.drivers.title", in.Outcome)
	var pts []DriverPoint
	for _, p := range in.Points {
		if finite(p.Score, p.Share) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 || !finite(in.RSquared) {
		wrappedMessage(c, title, i18n.T(lang, "plot.drivers.empty", in.Outcome, i18n.Count(in.N, lang), len(in.Points)+1))
		return
	}
	pad := vg.Points(16)
	// A small figure (a thumbnail, a dashboard tile) keeps the matrix and drops the
	// explanations: the subtitle, the captions' second lines and most of the footnote.
	compact := c.Max.Y-c.Min.Y < 330 || c.Max.X-c.Min.X < 450
	subtitle := i18n.T(lang, "plot.drivers.subtitle", in.Outcome)
	if compact {
		subtitle = ""
	}
	top := header(c, pad, title, subtitle)
	small := sans(smallSize(c), false, colText)
	muted := sans(smallSize(c), false, colMuted)

	// Bottom: the footnote, the x axis title and the tick labels.
	bottom := c.Min.Y + pad
	n, r2 := i18n.Count(in.N, lang), i18n.Num(in.RSquared, 3, lang)
	footnote := i18n.T(lang, "plot.drivers.footnote", n, r2, i18n.Num(in.AdjRSquared, 3, lang))
	if compact {
		footnote = i18n.T(lang, "plot.drivers.footnote.short", n, r2)
	}
	note := wrap(small, footnote, c.Max.X-c.Min.X-2*pad)
	for i := len(note) - 1; i >= 0; i-- {
		c.FillText(align(muted, draw.XLeft, draw.YBottom), vg.Point{X: c.Min.X + pad, Y: bottom}, note[i])
		bottom += small.Height(note[i]) + 1
	}
	bottom += 6
	axisTitleY := bottom
	bottom += small.Font.Size * 1.4
	tickY := bottom
	bottom += small.Font.Size*1.3 + 4

	// Ranges. The x axis spans the scores with room on either side for the quadrant
	// captions, within the scores' bounds; the y axis runs from a little below 0 (a band
	// for the lower captions) to above the largest share (one for the upper ones).
	meanX, meanY := 0.0, 0.0
	x0, x1 := pts[0].Score, pts[0].Score
	ymax := 0.0
	for _, p := range pts {
		meanX += p.Score / float64(len(pts))
		meanY += p.Share / float64(len(pts))
		x0, x1 = math.Min(x0, p.Score), math.Max(x1, p.Score)
		ymax = math.Max(ymax, p.Share)
	}
	span := x1 - x0
	minSpan := 0.1 * math.Max(1, math.Abs(meanX))
	if finite(in.ScoreMin, in.ScoreMax) && in.ScoreMax > in.ScoreMin {
		minSpan = 0.1 * (in.ScoreMax - in.ScoreMin)
	}
	span = math.Max(span, minSpan)
	xlo, xhi := x0-0.45*span, x1+0.45*span
	if finite(in.ScoreMin) {
		xlo = math.Max(xlo, in.ScoreMin)
	}
	if finite(in.ScoreMax) {
		xhi = math.Min(xhi, in.ScoreMax)
	}
	ymax = math.Max(ymax, 0.05)
	yhi := ymax * 1.3
	ylo := -0.12 * yhi

	// Left: the rotated y title and the tick labels (percentages).
	yTicks := niceTicks(0, math.Min(yhi, 1)) // a share is at most 100%
	yDec := max(tickDecimals(yTicks)-2, 0)
	tickW := vg.Length(0)
	for _, t := range yTicks {
		tickW = max(tickW, small.Width(i18n.Percent(t, yDec, lang)))
	}
	rot := align(small, draw.XCenter, draw.YTop)
	rot.Rotation = math.Pi / 2
	left := c.Min.X + pad + small.Font.Size*1.4 + tickW + 6
	area := c
	area.Min.X, area.Max.X = left, c.Max.X-pad
	area.Min.Y, area.Max.Y = bottom, top-4
	yTitle := i18n.T(lang, "plot.drivers.axis.y")
	if compact {
		yTitle = i18n.T(lang, "plot.drivers.axis.y.short")
	}
	c.FillText(rot, vg.Point{X: c.Min.X + pad - small.Font.Size*0.2, Y: (area.Min.Y + area.Max.Y) / 2}, fit(small, yTitle, area.Max.Y-area.Min.Y))
	sx := scaleX{lo: xlo, hi: xhi, c: area}
	sy := func(v float64) vg.Length {
		return area.Min.Y + vg.Length((v-ylo)/(yhi-ylo))*(area.Max.Y-area.Min.Y)
	}

	// The quadrant to improve first is tinted, so the eye starts there.
	mx, my := sx.at(meanX), sy(meanY)
	improve := box{area.Min.X, my, mx, area.Max.Y}
	rect(c, colImprove, improve.x0, improve.y0, improve.x1, improve.y1)

	// Grid and axes, with as many ticks as have room for their labels.
	yTicks = everyNth(yTicks, func(a, b float64) bool { return sy(b)-sy(a) >= small.Font.Size*1.8 })
	for _, t := range yTicks {
		y := sy(t)
		line(c, colGrid, 0.6, area.Min.X, y, area.Max.X, y)
		c.FillText(align(muted, draw.XRight, draw.YCenter), vg.Point{X: area.Min.X - 4, Y: y}, i18n.Percent(t, yDec, lang))
	}
	xTicks := niceTicks(xlo, xhi)
	xDec := tickDecimals(xTicks)
	xTicks = everyNth(xTicks, func(a, b float64) bool {
		return sx.at(b)-sx.at(a) >= max(small.Width(i18n.Num(a, xDec, lang)), small.Width(i18n.Num(b, xDec, lang)))+small.Font.Size*1.5
	})
	for _, t := range xTicks {
		x := sx.at(t)
		line(c, colGrid, 0.6, x, area.Min.Y, x, area.Max.Y)
		c.FillText(align(muted, draw.XCenter, draw.YBottom), vg.Point{X: x, Y: tickY}, i18n.Num(t, xDec, lang))
	}
	line(c, colAxis, 0.8, area.Min.X, area.Min.Y, area.Max.X, area.Min.Y)
	line(c, colAxis, 0.8, area.Min.X, area.Min.Y, area.Min.X, area.Max.Y)
	xTitle := "plot.drivers.axis.x"
	switch {
	case compact && in.Rescaled:
		xTitle = "plot.drivers.axis.x.rescaled_short"
	case compact:
		xTitle = "plot.drivers.axis.x.short"
	case in.Rescaled:
		xTitle = "plot.drivers.axis.x.rescaled"
	}
	c.FillText(align(small, draw.XCenter, draw.YBottom), vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: axisTitleY},
		fit(small, i18n.T(lang, xTitle), c.Max.X-c.Min.X-2*pad))

	// Quadrant lines at the averages.
	line(c, colAxis, 0.9, mx, area.Min.Y, mx, area.Max.Y, 4, 3)
	line(c, colAxis, 0.9, area.Min.X, my, area.Max.X, my, 4, 3)

	// Captions in the outer corners; labels keep clear of them.
	inset := vg.Points(6)
	capSize := bodySize(c)
	var taken []box
	quadrants := []quadrant{{true, false}, {true, true}, {false, false}, {false, true}}
	if area.Max.Y-area.Min.Y < 120 {
		quadrants = nil // no room: the tint still marks where to improve first
	}
	for _, q := range quadrants {
		head, sub := q.caption(lang)
		hs := sans(capSize, true, lerp(q.colour(), colText, 0.25))
		ss := sans(smallSize(c)*0.95, false, colMuted)
		if compact {
			hs = sans(smallSize(c), true, hs.Color)
			sub = ""
		}
		w := max(hs.Width(head), ss.Width(sub))
		h := hs.Height(head)
		if sub != "" {
			h += ss.Height(sub) + 2
		}
		xa, x := draw.XLeft, area.Min.X+inset
		if q.right {
			xa, x = draw.XRight, area.Max.X-inset
		}
		y := area.Max.Y - inset // top of the caption
		if !q.top {
			y = area.Min.Y + inset + h
		}
		c.FillText(align(hs, xa, draw.YTop), vg.Point{X: x, Y: y}, head)
		if sub != "" {
			c.FillText(align(ss, xa, draw.YTop), vg.Point{X: x, Y: y - hs.Height(head) - 2}, sub)
		}
		bx := box{x, y - h, x + w, y}
		if q.right {
			bx = box{x - w, y - h, x, y}
		}
		taken = append(taken, bx)
	}

	// Points, then their labels, largest share first: the drivers that matter most get
	// the best places.
	r := vg.Points(5)
	at := make([]vg.Point, len(pts))
	for i, p := range pts {
		at[i] = vg.Point{X: sx.at(p.Score), Y: sy(p.Share)}
		taken = append(taken, box{at[i].X - r, at[i].Y - r, at[i].X + r, at[i].Y + r})
	}
	for i, p := range pts {
		q := quadrant{top: p.Share >= meanY, right: p.Score >= meanX}
		c.DrawGlyph(draw.GlyphStyle{Color: colWhite, Radius: r + 1.2, Shape: draw.CircleGlyph{}}, at[i])
		c.DrawGlyph(draw.GlyphStyle{Color: q.colour(), Radius: r, Shape: draw.CircleGlyph{}}, at[i])
	}
	order := make([]int, len(pts))
	for i := range order {
		order[i] = i
	}
	for i := 1; i < len(order); i++ { // insertion sort: stable, few points
		for j := i; j > 0 && pts[order[j]].Share > pts[order[j-1]].Share; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	labelSty := sans(bodySize(c), false, colText)
	bounds := box{area.Min.X + 1, area.Min.Y + 1, area.Max.X - 1, area.Max.Y - 1}
	for _, i := range order {
		label := fit(labelSty, pts[i].Label, (area.Max.X-area.Min.X)*0.3)
		b, leader := placeLabel(labelSty, label, at[i], r, bounds, taken)
		taken = append(taken, b)
		if leader {
			line(c, colMuted, 0.6, at[i].X, at[i].Y, clampLen(at[i].X, b.x0, b.x1), clampLen(at[i].Y, b.y0, b.y1))
		}
		// A veil behind the text keeps it legible where it crosses a line of the grid or
		// a quadrant line.
		veil := labelVeil
		if b.inside(improve) {
			veil = improveVeil
		}
		rect(c, veil, b.x0-1.5, b.y0, b.x1+1.5, b.y1)
		c.FillText(align(labelSty, draw.XLeft, draw.YBottom), vg.Point{X: b.x0, Y: b.y0}, label)
	}
}

// placeLabel finds a place for a label beside the point at p (radius r): right, left,
// above, below and the diagonals, then the same further away (with a leader line), the
// first that stays inside bounds and covers nothing taken; else the one inside bounds
// that covers least.
func placeLabel(sty text.Style, label string, p vg.Point, r vg.Length, bounds box, taken []box) (box, bool) {
	w, h := sty.Width(label), sty.Height(label)
	gap := r + 3
	best, bestCover, bestLeader := box{}, vg.Length(math.Inf(1)), false
	for ring := 1; ring <= 4; ring++ {
		d := gap * vg.Length(ring)
		if ring > 1 {
			d = gap + h*vg.Length(ring-1)*1.2
		}
		cands := []box{
			{p.X + d, p.Y - h/2, p.X + d + w, p.Y + h/2},                 // right
			{p.X - d - w, p.Y - h/2, p.X - d, p.Y + h/2},                 // left
			{p.X - w/2, p.Y + d, p.X + w/2, p.Y + d + h},                 // above
			{p.X - w/2, p.Y - d - h, p.X + w/2, p.Y - d},                 // below
			{p.X + d*0.7, p.Y + d*0.7, p.X + d*0.7 + w, p.Y + d*0.7 + h}, // upper right
			{p.X + d*0.7, p.Y - d*0.7 - h, p.X + d*0.7 + w, p.Y - d*0.7}, // lower right
			{p.X - d*0.7 - w, p.Y + d*0.7, p.X - d*0.7, p.Y + d*0.7 + h}, // upper left
			{p.X - d*0.7 - w, p.Y - d*0.7 - h, p.X - d*0.7, p.Y - d*0.7}, // lower left
		}
		for _, b := range cands {
			if !b.inside(bounds) {
				continue
			}
			cover := vg.Length(0)
			for _, t := range taken {
				if b.overlaps(t) {
					cover += (min(b.x1, t.x1) - max(b.x0, t.x0)) * (min(b.y1, t.y1) - max(b.y0, t.y0))
				}
			}
			if cover == 0 {
				return b, ring > 1
			}
			if cover < bestCover {
				best, bestCover, bestLeader = b, cover, ring > 1
			}
		}
	}
	if math.IsInf(float64(bestCover), 1) { // nowhere inside: right of the point, as it is
		return box{p.X + gap, p.Y - h/2, p.X + gap + w, p.Y + h/2}, false
	}
	return best, bestLeader
}

// wrappedMessage is message for a note that may need several lines.
func wrappedMessage(c draw.Canvas, title, msg string) {
	pad := vg.Points(16)
	top := header(c, pad, title, "")
	sty := align(sans(bodySize(c), false, colMuted), draw.XCenter, draw.YCenter)
	lines := wrap(sty, msg, c.Max.X-c.Min.X-2*pad)
	h := sty.Font.Size * 1.4
	y := (c.Min.Y+top)/2 + h*vg.Length(len(lines)-1)/2
	for _, l := range lines {
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y}, l)
		y -= h
	}
}

// everyNth keeps every n-th tick, n the smallest power of two for which roomy holds
// between neighbours.
func everyNth(ts []float64, roomy func(a, b float64) bool) []float64 {
	n := 1
	for n < len(ts) && !roomy(ts[0], ts[n]) {
		n *= 2
	}
	var out []float64
	for i := 0; i < len(ts); i += n {
		out = append(out, ts[i])
	}
	return out
}

func clampLen(v, lo, hi vg.Length) vg.Length { return max(lo, min(hi, v)) }
