package plot

import (
	"bytes"
	"image/png"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

// TestPNGTextIsKernedAtItsSize draws kerned text ("11%", "n = 211", "Te") at the figures'
// smallest and largest sizes and densities, and compares it with the same text drawn one
// glyph at a time at the offsets gonum/plot measures: they must match, where vgimg's own
// FillString (kerning as if at 32 pixels to the em) puts the glyphs elsewhere.
func TestPNGTextIsKernedAtItsSize(t *testing.T) {
	const txt = "11% n = 211 Te"
	for _, tt := range []struct {
		size  vg.Length
		scale int
	}{{7, 1}, {9, 1}, {21, 3}} {
		sty := sans(tt.size, false, colText)
		f := sty.Handler.Cache().Lookup(sty.Font, sty.Font.Size)
		fixed := drawText(tt.scale, func(c rasterCanvas, at vg.Point) { c.FillString(f, at, txt) })
		glyphs := drawText(tt.scale, func(c rasterCanvas, at vg.Point) {
			prefix := ""
			for _, r := range txt {
				prefix += string(r)
				x := at.X + f.Width(prefix) - f.Width(string(r))
				c.PngCanvas.FillString(f, vg.Point{X: x, Y: at.Y}, string(r))
			}
		})
		plain := drawText(tt.scale, func(c rasterCanvas, at vg.Point) { c.PngCanvas.FillString(f, at, txt) })
		if n := differ(t, fixed, glyphs); n > 0 {
			t.Errorf("%vpt at scale %d: %d pixels differ from the text drawn glyph by glyph", tt.size, tt.scale, n)
		}
		if differ(t, plain, glyphs) == 0 {
			t.Errorf("%vpt at scale %d: vgimg's own kerning matches; the test no longer covers a kerned pair", tt.size, tt.scale)
		}
	}
}

func drawText(scale int, draw func(c rasterCanvas, at vg.Point)) []byte {
	c := rasterCanvas{vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(240, 40), vgimg.UseDPI(96*scale))}}
	draw(c, vg.Point{X: 4, Y: 12})
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// differ counts the pixels of two PNGs that differ by more than anti-aliasing noise.
func differ(t *testing.T, a, b []byte) int {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := ia.At(x, y).RGBA()
			r2, g2, b2, _ := ib.At(x, y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) {
				n++
			}
		}
	}
	return n
}
