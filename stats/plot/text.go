package plot

import (
	"unicode/utf8"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// rasterCanvas is the PNG canvas with its text drawn where gonum/plot measures it.
//
// vgimg draws a string through golang.org/x/image's opentype face, whose Kern scales the
// font's kerning as if every face were 32 pixels to the em, whatever its size
// (golang/go#46727). The figures' text runs from 7 to 21 points at 96 to 288 dpi, 9 to 84
// pixels to the em, so a kerned pair came out up to three times too tight in small text and
// with a third of its kerning in large text. Liberation Sans kerns "11" (its digits are
// tabular, with wide side bearings): "11%" read "1l%" in a small bar label and "1 1%" in
// large or dense text, "n = 211" "n = 21 1"; "Te", "AV" and "r." moved as well. And the
// drawn text no longer ended where gonum/plot, which scales kerning correctly, had measured
// it to centre or right-align it.
//
// FillString draws a string in runs that hold no kerned pair, each at the offset
// gonum/plot's measure gives it, so that every pair is kerned by the font's value at the
// size it is drawn and the text ends where it was measured to. The SVG canvas writes the
// string as it is and leaves kerning to the browser, which scales it correctly.
type rasterCanvas struct {
	vgimg.PngCanvas
}

// FillString implements vg.Canvas.
func (c rasterCanvas) FillString(f font.Face, pt vg.Point, s string) {
	start := 0
	prev := rune(-1)
	for i, r := range s {
		if prev >= 0 && kerned(f, prev, r) {
			c.fillRun(f, pt, s, start, i)
			start = i
		}
		prev = r
	}
	c.fillRun(f, pt, s, start, len(s))
}

// fillRun draws s[from:to] where it stands in s drawn at pt: its first glyph where the
// measure of s up to and including that glyph ends, less the glyph, which places it
// after the kerning of the pair it begins with.
func (c rasterCanvas) fillRun(f font.Face, pt vg.Point, s string, from, to int) {
	if from == to {
		return
	}
	at := pt
	if from > 0 {
		_, n := utf8.DecodeRuneInString(s[from:])
		at.X += f.Width(s[:from+n]) - f.Width(s[from:from+n])
	}
	c.PngCanvas.FillString(f, at, s[from:to])
}

// kerned reports whether the font kerns the pair a, b: the pair is not as wide as its
// glyphs side by side.
func kerned(f font.Face, a, b rune) bool {
	pair := f.Width(string([]rune{a, b}))
	apart := f.Width(string(a)) + f.Width(string(b))
	d := pair - apart
	return d > 1e-6 || d < -1e-6
}
