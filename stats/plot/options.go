package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"regexp"
	"strings"
	"sync"

	"git.sr.ht/~sbinet/gg"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/krslab/krslab/stats/i18n"
)

// Formats and languages (the languages of stats/i18n, named here too for callers that
// set Options.Lang).
const (
	PNG = "png"
	SVG = "svg"

	English = i18n.English
	Dutch   = i18n.Dutch
)

// Default and allowed figure sizes, in CSS pixels.
const (
	DefaultWidth  = 1200
	DefaultHeight = 700
	MinWidth      = 300
	MaxWidth      = 4000
	MinHeight     = 200
	MaxHeight     = 4000
	MaxScale      = 3
	// MaxPixels bounds the pixels of a PNG, width × height × scale²: drawing one costs
	// about 9 bytes of memory a pixel, so 4 megapixels are some 35 MB, where the largest
	// size at the largest scale would be 144 megapixels and over a gigabyte. An SVG has no
	// pixels to pay for and only the bounds of width and height.
	MaxPixels = 4_000_000
)

// Options say how to encode a figure. The zero value is a 1200x700 English PNG.
type Options struct {
	Width, Height int    // CSS pixels; 0 = default
	Format        string // "png" or "svg"; "" = png
	Lang          string // "en" or "nl"; "" = en
	// Scale multiplies the pixel density of a PNG (1..3; 0 = 1) without
	// changing the layout: 2 gives a sharp image on high-density screens
	// and in print. An SVG ignores it.
	Scale int
}

// FieldError is one invalid option.
type FieldError struct {
	Field   string // width, height, format, lang or scale
	Message string
}

// OptionsError lists every invalid option, so that an API can report them
// all at once.
type OptionsError []FieldError

func (e OptionsError) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Field + " " + f.Message
	}
	return "plot: invalid options: " + strings.Join(parts, "; ")
}

// Validate reports every option out of bounds as an OptionsError naming the
// field; zero values are fine (they mean the default).
func (o Options) Validate() error {
	var errs OptionsError
	if o.Width != 0 && (o.Width < MinWidth || o.Width > MaxWidth) {
		errs = append(errs, FieldError{"width", fmt.Sprintf("must be from %d to %d pixels (got %d)", MinWidth, MaxWidth, o.Width)})
	}
	if o.Height != 0 && (o.Height < MinHeight || o.Height > MaxHeight) {
		errs = append(errs, FieldError{"height", fmt.Sprintf("must be from %d to %d pixels (got %d)", MinHeight, MaxHeight, o.Height)})
	}
	switch o.Format {
	case "", PNG, SVG:
	default:
		errs = append(errs, FieldError{"format", fmt.Sprintf("must be png or svg (got %q)", o.Format)})
	}
	if o.Lang != "" && !i18n.Valid(o.Lang) {
		errs = append(errs, FieldError{"lang", fmt.Sprintf("must be en or nl (got %q)", o.Lang)})
	}
	if o.Scale < 0 || o.Scale > MaxScale {
		errs = append(errs, FieldError{"scale", fmt.Sprintf("must be from 1 to %d (got %d)", MaxScale, o.Scale)})
	}
	if len(errs) > 0 {
		return errs
	}
	return o.withDefaults().checkPixels()
}

// checkPixels refuses a PNG of more than MaxPixels, naming the option to lower: the scale
// when the size alone fits, else the width and the height.
func (o Options) checkPixels() error {
	w, h, s := int64(o.Width), int64(o.Height), int64(o.Scale)
	if o.Format != PNG || w*h*s*s <= MaxPixels {
		return nil
	}
	if w*h > MaxPixels {
		msg := fmt.Sprintf("too large for a PNG: width × height must be at most %d pixels (got %d × %d = %d); lower width or height, or ask for an SVG",
			MaxPixels, w, h, w*h)
		return OptionsError{{"width", msg}, {"height", msg}}
	}
	fit := "use scale 1"
	if f := FitScale(o.Width, o.Height, o.Scale); f > 1 {
		fit = fmt.Sprintf("use scale %d or less", f)
	}
	return OptionsError{{"scale", fmt.Sprintf("too large for a %d × %d PNG: width × height × scale² must be at most %d pixels (got %d); %s",
		w, h, MaxPixels, w*h*s*s, fit)}}
}

// FitScale is the largest scale up to want at which a PNG of w × h CSS pixels stays
// within MaxPixels, at least 1: for figures drawn at a fixed density that grow with their
// content.
func FitScale(w, h, want int) int {
	s := max(want, 1)
	for s > 1 && int64(w)*int64(h)*int64(s)*int64(s) > MaxPixels {
		s--
	}
	return s
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	if o.Width == 0 {
		o.Width = DefaultWidth
	}
	if o.Height == 0 {
		o.Height = DefaultHeight
	}
	if o.Format == "" {
		o.Format = PNG
	}
	if o.Lang == "" {
		o.Lang = English
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	return o
}

// pxToPt converts CSS pixels to points: CSS fixes 96 px to 72 pt.
const pxToPt = 0.75

// render validates the options, lets drawFn draw on a white canvas of the
// requested size and encodes the result.
func render(opt Options, drawFn func(c draw.Canvas, lang string)) ([]byte, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	w, h := vg.Length(opt.Width)*pxToPt, vg.Length(opt.Height)*pxToPt
	var c vg.CanvasWriterTo
	switch opt.Format {
	case SVG:
		c = vgsvg.New(w, h)
	default:
		c = rasterCanvas{vgimg.PngCanvas{Canvas: newRaster(w, h, 96*opt.Scale)}}
	}
	dc := draw.New(c)
	if opt.Format == SVG {
		// A raster canvas starts white (newRaster).
		dc.SetColor(colWhite)
		dc.Fill(dc.Rectangle.Path())
	}
	drawFn(dc, opt.Lang)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: encode %s: %w", opt.Format, err)
	}
	if opt.Format == SVG {
		return svgFonts(svgInPixels(buf.Bytes(), opt.Width, opt.Height)), nil
	}
	return buf.Bytes(), nil
}

// newRaster is vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi)) without the copy of the
// image it allocates: NewWith hands its image to gg.NewContextForImage, which draws it into
// a second one of the same size, and the two allocations and the copy cost a sixth of a
// figure's time. The image is as many pixels as NewWith's, the canvas the size NewWith's
// is (its size in points is the pixels' at dpi, which for whole CSS pixels at a whole scale
// is w and h exactly), white, with the same context settings.
func newRaster(w, h vg.Length, dpi int) *vgimg.Canvas {
	img := image.NewRGBA(image.Rect(0, 0, int(w/vg.Inch*vg.Length(dpi)+0.5), int(h/vg.Inch*vg.Length(dpi)+0.5)))
	ctx := gg.NewContextForRGBA(img)
	ctx.SetLineCapButt()
	ctx.InvertY()
	return vgimg.NewWith(vgimg.UseImageWithContext(img, ctx), vgimg.UseDPI(dpi))
}

// WriteTo encodes the canvas as vgimg.PngCanvas does, with two differences. The
// encoder's buffers are kept for the next figure: the compressor alone is some 1 MB to
// allocate and clear per figure otherwise. And it compresses at image/png's best speed, not
// its default: on the figures of a report (flat colours, long runs) that takes about two
// thirds of the time for files about 2% larger, and encoding was most of the CPU time of a
// report.
func (c rasterCanvas) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	err := pngEncoder.Encode(cw, c.Image())
	return cw.n, err
}

var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &pngBuffers{}}

// pngBuffers is a png.EncoderBufferPool over a sync.Pool.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	e, _ := b.p.Get().(*png.EncoderBuffer)
	return e // nil when empty: the encoder makes one
}

func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// svgFonts names, after Liberation Sans, the fonts with its metrics: the text is laid out
// (centred, wrapped, kept clear of its neighbours) with Liberation Sans's widths, and the
// SVG places each line by its left end, so a reader's browser without Liberation Sans
// (Windows and macOS have none) must draw it in Arial or Helvetica, which are as wide,
// not in its default font: that one is wider or narrower, and a line of it runs out of
// the figure or off its centre.
func svgFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}

var svgSize = regexp.MustCompile(`<svg width="[^"]*" height="[^"]*"`)

// svgInPixels states the SVG's size in the pixels asked for instead of
// vgsvg's rounded points; the viewBox keeps the drawing in points, so this
// only fixes the declared size (900pt and 1200px are the same length).
func svgInPixels(svg []byte, w, h int) []byte {
	loc := svgSize.FindIndex(svg)
	if loc == nil {
		return svg
	}
	head := fmt.Sprintf(`<svg width="%dpx" height="%dpx"`, w, h)
	out := make([]byte, 0, len(svg)+8)
	out = append(out, svg[:loc[0]]...)
	out = append(out, head...)
	return append(out, svg[loc[1]:]...)
}
