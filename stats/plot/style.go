package plot

import (
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/krslab/krslab/stats/i18n"
)

// Colours. Better/worse use the Okabe-Ito blue and vermillion, which stay
// distinct for the common colour-vision deficiencies and in grey print
// (they differ in lightness too).
var (
	colWhite  = color.RGBA{255, 255, 255, 255}
	colText   = color.RGBA{26, 26, 26, 255}
	colMuted  = color.RGBA{102, 102, 102, 255}
	colGrid   = color.RGBA{228, 228, 228, 255}
	colAxis   = color.RGBA{90, 90, 90, 255}
	colZebra  = color.RGBA{245, 246, 248, 255}
	colBetter = color.RGBA{0, 114, 178, 255}
	colWorse  = color.RGBA{213, 94, 0, 255}
	colNeutr  = color.RGBA{128, 128, 128, 255}

	// Diverging answer palette (ColorBrewer RdBu ends, grey middle).
	colNegDark  = color.RGBA{178, 24, 43, 255}
	colNegLight = color.RGBA{244, 165, 130, 255}
	colPosDark  = color.RGBA{33, 102, 172, 255}
	colPosLight = color.RGBA{146, 197, 222, 255}
	colNeutral  = color.RGBA{204, 204, 204, 255}

	// Arm colours for figures that show arms side by side: control grey,
	// treatments Okabe-Ito.
	armColours = []color.RGBA{
		{0, 114, 178, 255}, {230, 159, 0, 255}, {0, 158, 115, 255},
		{204, 121, 167, 255}, {86, 180, 233, 255}, {213, 94, 0, 255},
	}
	colControl = color.RGBA{140, 140, 140, 255}
)

// armColour is the i-th treatment's colour.
func armColour(i int) color.RGBA { return armColours[i%len(armColours)] }

// tint mixes c with white; share 0 is c, 1 is white.
func tint(c color.RGBA, share float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v) + (255-float64(v))*share)) }
	return color.RGBA{mix(c.R), mix(c.G), mix(c.B), 255}
}

// lerp mixes a and b; t 0 is a, 1 is b.
func lerp(a, b color.RGBA, t float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}

// luminance decides whether text on c should be white.
func dark(c color.RGBA) bool {
	return 0.299*float64(c.R)+0.587*float64(c.G)+0.114*float64(c.B) < 150
}

// weightBold is golang.org/x/image/font.WeightBold; gonum/plot's font.Font
// takes that type, and this package imports only gonum and the standard library.
const weightBold = 3

// sans is a text style in Liberation Sans (embedded in gonum/plot, so the
// metrics are the same on every machine).
func sans(size vg.Length, bold bool, c color.Color) text.Style {
	f := font.Font{Typeface: "Liberation", Variant: "Sans"}
	if bold {
		f.Weight = weightBold
	}
	return text.Style{
		Color:   c,
		Font:    font.From(f, size),
		XAlign:  draw.XLeft,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
}

// align returns s with the given alignment.
func align(s text.Style, x text.XAlignment, y text.YAlignment) text.Style {
	s.XAlign, s.YAlign = x, y
	return s
}

// fit shortens txt with an ellipsis until it is at most w wide.
func fit(s text.Style, txt string, w vg.Length) string {
	if s.Width(txt) <= w {
		return txt
	}
	r := []rune(txt)
	for len(r) > 1 {
		r = r[:len(r)-1]
		cand := strings.TrimRight(string(r), " ,.;:-") + "…"
		if s.Width(cand) <= w {
			return cand
		}
	}
	return "…"
}

// wrap breaks txt into lines at most w wide (a single long word stays whole).
func wrap(s text.Style, txt string, w vg.Length) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(txt) {
		cand := word
		if line != "" {
			cand = line + " " + word
		}
		if line != "" && s.Width(cand) > w {
			lines = append(lines, line)
			cand = word
		}
		line = cand
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// ciLevel is a confidence level as a percentage, "95%" for 0.95 and "97.5%" for 0.975;
// 95% when the level is not one.
func ciLevel(level float64, lang string) string {
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	d := 0
	if v := level * 100; v != math.Trunc(v) {
		d = 1
	}
	return i18n.Percent(level, d, lang)
}

// decimalsFor picks decimals that show a difference of size |x| to about
// two significant digits without noise.
func decimalsFor(x float64) int {
	x = math.Abs(x)
	switch {
	case x < 1:
		return 2
	case x < 100:
		return 1
	}
	return 0
}

// finite reports whether every x is a number.
func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// niceTicks are round values (1, 2, 2.5 or 5 times a power of ten apart) inside
// [lo, hi], about seven of them.
func niceTicks(lo, hi float64) []float64 {
	if !(hi > lo) || !finite(lo, hi) {
		return nil
	}
	raw := (hi - lo) / 7
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	m := 10.0
	for _, c := range []float64{1, 2, 2.5, 5} {
		if c*mag >= raw {
			m = c
			break
		}
	}
	// k*m/10^n rounds correctly where k*(m*10^-n) drifts (0.6000000000000001).
	at := func(k float64) float64 {
		if mag < 1 {
			return k * m / math.Round(1/mag)
		}
		return k * m * mag
	}
	step := m * mag
	var ts []float64
	for k := math.Ceil(lo/step - 1e-9); at(k) <= hi+1e-9*step; k++ {
		ts = append(ts, at(k)+0) // +0 turns -0 into 0
	}
	return ts
}

// tickDecimals is enough decimals to tell ticks apart.
func tickDecimals(ts []float64) int {
	if len(ts) < 2 {
		return 0
	}
	step := math.Abs(ts[1] - ts[0])
	d := 0
	for d < 6 && math.Abs(step*math.Pow10(d)-math.Round(step*math.Pow10(d))) > 1e-9 {
		d++
	}
	return d
}

// scaleX maps data x in [lo, hi] onto the canvas' width.
type scaleX struct {
	lo, hi float64
	c      draw.Canvas
}

func (s scaleX) at(x float64) vg.Length {
	return s.c.Min.X + vg.Length((x-s.lo)/(s.hi-s.lo))*(s.c.Max.X-s.c.Min.X)
}

// clamp limits x to [lo, hi].
func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// rect fills the rectangle between two corners.
func rect(c draw.Canvas, col color.Color, x0, y0, x1, y1 vg.Length) {
	c.FillPolygon(col, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
}

// line strokes one straight segment.
func line(c draw.Canvas, col color.Color, w vg.Length, x0, y0, x1, y1 vg.Length, dashes ...vg.Length) {
	c.StrokeLine2(draw.LineStyle{Color: col, Width: w, Dashes: dashes}, x0, y0, x1, y1)
}

// legendItem is one swatch and its text.
type legendItem struct {
	draw func(c draw.Canvas, at vg.Point, size vg.Length)
	text string
}

// drawLegend draws items left to right from (x, y), wrapping to new rows
// at maxX, and returns the y below the legend.
func drawLegend(c draw.Canvas, items []legendItem, x, y, maxX vg.Length, sty text.Style) vg.Length {
	sw := sty.Font.Size * 1.1
	gap := sty.Font.Size * 1.4
	rowH := sty.Font.Size * 1.6
	cx := x
	for _, it := range items {
		w := sw + sty.Font.Size*0.4 + sty.Width(it.text)
		if cx > x && cx+w > maxX {
			cx = x
			y -= rowH
		}
		it.draw(c, vg.Point{X: cx, Y: y}, sw)
		c.FillText(align(sty, draw.XLeft, draw.YCenter), vg.Point{X: cx + sw + sty.Font.Size*0.4, Y: y}, it.text)
		cx += w + gap
	}
	return y - rowH/2
}

// swatch is a filled square legend mark.
func swatch(col color.Color) func(c draw.Canvas, at vg.Point, size vg.Length) {
	return func(c draw.Canvas, at vg.Point, size vg.Length) {
		rect(c, col, at.X, at.Y-size/2, at.X+size, at.Y+size/2)
	}
}

// message draws a centred note on an otherwise empty figure.
func message(c draw.Canvas, title, msg string) {
	pad := vg.Points(18)
	c.FillText(align(sans(15, true, colText), draw.XLeft, draw.YTop), vg.Point{X: c.Min.X + pad, Y: c.Max.Y - pad}, title)
	c.FillText(align(sans(12, false, colMuted), draw.XCenter, draw.YCenter), c.Center(), msg)
}

// header draws the figure title and optional subtitle at the top and
// returns the y below them.
func header(c draw.Canvas, pad vg.Length, title, subtitle string) vg.Length {
	y := c.Max.Y - pad
	ts := align(sans(titleSize(c), true, colText), draw.XLeft, draw.YTop)
	maxW := c.Max.X - c.Min.X - 2*pad
	lines := wrap(ts, title, maxW)
	if len(lines) > 2 {
		lines = append(lines[:1], fit(ts, strings.Join(lines[1:], " "), maxW))
	}
	for _, l := range lines {
		c.FillText(ts, vg.Point{X: c.Min.X + pad, Y: y}, fit(ts, l, maxW))
		y -= ts.Height(l) + 1
	}
	y -= 2
	if subtitle != "" {
		ss := align(sans(smallSize(c), false, colMuted), draw.XLeft, draw.YTop)
		for _, l := range wrap(ss, subtitle, maxW) {
			c.FillText(ss, vg.Point{X: c.Min.X + pad, Y: y}, l)
			y -= ss.Height(l) + 1
		}
	}
	return y - 4
}

// Font sizes follow the figure a little, so that a small figure stays
// readable and a large one does not look empty.
func titleSize(c draw.Canvas) vg.Length { return sizeFor(c, 14) }
func bodySize(c draw.Canvas) vg.Length  { return sizeFor(c, 10.5) }
func smallSize(c draw.Canvas) vg.Length { return sizeFor(c, 9) }

func sizeFor(c draw.Canvas, base vg.Length) vg.Length {
	w := float64(c.Max.X - c.Min.X)
	f := clamp(w/900, 0.9, 1.5) // 900 pt = the default 1200 px
	return vg.Length(math.Round(float64(base)*f*4) / 4)
}
