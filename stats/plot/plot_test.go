package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// figures are the cases of the golden and decoding tests.
var figures = []struct {
	name string
	draw func(Options) ([]byte, error)
	lang string
	png  bool // also keep a PNG golden
}{
	{"effects_en", func(o Options) ([]byte, error) { return Effects(sampleEffects(), o) }, "en", true},
	{"effects_nl", func(o Options) ([]byte, error) { return Effects(sampleEffects(), o) }, "nl", true},
	{"effects_empty", func(o Options) ([]byte, error) { return Effects(EffectsInput{}, o) }, "en", false},
	{"distribution_scale", func(o Options) ([]byte, error) { return Distribution(sampleScale(), o) }, "en", true},
	{"distribution_net_nl", func(o Options) ([]byte, error) { return Distribution(sampleNet(), o) }, "nl", true},
	{"distribution_bars", func(o Options) ([]byte, error) { return Distribution(sampleBars(), o) }, "en", true},
	{"distribution_composite", func(o Options) ([]byte, error) { return Distribution(sampleComposite(), o) }, "en", true},
	{"timeline_en", func(o Options) ([]byte, error) { return Timeline(sampleTimeline(), o) }, "en", true},
	{"timeline_nl", func(o Options) ([]byte, error) { return Timeline(sampleTimeline(), o) }, "nl", true},
	{"timeline_empty", func(o Options) ([]byte, error) { return Timeline(TimelineInput{Title: "KRS"}, o) }, "en", false},
	{"persistence_en", func(o Options) ([]byte, error) { return Persistence(samplePersistence(), o) }, "en", true},
	{"persistence_nl", func(o Options) ([]byte, error) { return Persistence(samplePersistence(), o) }, "nl", true},
	{"persistence_gap", func(o Options) ([]byte, error) { return Persistence(samplePersistenceGap(), o) }, "en", false},
	{"persistence_empty", func(o Options) ([]byte, error) { return Persistence(PersistenceInput{Title: "Trust"}, o) }, "en", false},
}

// TestGolden compares every figure with its golden file: SVG byte for byte
// (the drawing is deterministic and text is not rasterised), PNG pixel by
// pixel with a small tolerance for anti-aliasing. Run with -update to
// regenerate after an intended change, then look at the PNGs.
func TestGolden(t *testing.T) {
	for _, f := range figures {
		t.Run(f.name, func(t *testing.T) {
			svg, err := f.draw(Options{Format: SVG, Lang: f.lang})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, f.name+".svg", svg, func(got, want []byte) error {
				if !bytes.Equal(got, want) {
					return fmt.Errorf("SVG differs from the golden file (%d vs %d bytes)", len(got), len(want))
				}
				return nil
			})
			if !f.png {
				return
			}
			pngb, err := f.draw(Options{Format: PNG, Lang: f.lang})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, f.name+".png", pngb, samePixels)
		})
	}
}

func golden(t *testing.T, name string, got []byte, cmp func(got, want []byte) error) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if err := cmp(got, want); err != nil {
		out := filepath.Join(t.TempDir(), name)
		_ = os.WriteFile(out, got, 0o644)
		t.Errorf("%s: %v; got written to %s", name, err, out)
	}
}

// samePixels allows 0.2% of the pixels to differ by more than 24 levels
// in a channel: enough for anti-aliasing noise, far too little for a moved
// label or a changed colour.
func samePixels(got, want []byte) error {
	a, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		return err
	}
	b, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		return err
	}
	if a.Bounds() != b.Bounds() {
		return fmt.Errorf("size %v, golden %v", a.Bounds(), b.Bounds())
	}
	diff, total := 0, 0
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			total++
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) {
				diff++
			}
		}
	}
	if share := float64(diff) / float64(total); share > 0.002 {
		return fmt.Errorf("%.2f%% of the pixels differ", 100*share)
	}
	return nil
}

func far(a, b uint32) bool { return math.Abs(float64(a)-float64(b)) > 24*257 }

// TestFiguresDecodeAtRequestedSize checks every figure in both formats and
// several sizes: the PNG decodes with exactly the requested pixels (times
// Scale), the SVG is well-formed XML whose root declares the size in px.
func TestFiguresDecodeAtRequestedSize(t *testing.T) {
	sizes := []Options{{}, {Width: MinWidth, Height: MinHeight}, {Width: 640, Height: 900}, {Width: 777, Height: 333, Scale: 2}}
	for _, f := range figures {
		for _, sz := range sizes {
			wantW, wantH := sz.Width, sz.Height
			if wantW == 0 {
				wantW, wantH = DefaultWidth, DefaultHeight
			}
			t.Run(fmt.Sprintf("%s/%dx%d", f.name, wantW, wantH), func(t *testing.T) {
				o := sz
				o.Lang, o.Format = f.lang, PNG
				b, err := f.draw(o)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("PNG does not decode: %v", err)
				}
				scale := max(sz.Scale, 1)
				if got := img.Bounds().Size(); got != (image.Point{X: wantW * scale, Y: wantH * scale}) {
					t.Errorf("PNG is %v, want %dx%d", got, wantW*scale, wantH*scale)
				}
				if nonWhite(img) < 0.001 {
					t.Errorf("PNG is blank")
				}
				o.Format = SVG
				b, err = f.draw(o)
				if err != nil {
					t.Fatal(err)
				}
				w, h, err := svgSizeOf(b)
				if err != nil {
					t.Fatalf("SVG does not parse: %v", err)
				}
				if w != fmt.Sprintf("%dpx", wantW) || h != fmt.Sprintf("%dpx", wantH) {
					t.Errorf("SVG is %s x %s, want %dpx x %dpx", w, h, wantW, wantH)
				}
			})
		}
	}
}

// svgSizeOf parses the whole document and returns the root's width and height.
func svgSizeOf(b []byte) (w, h string, err error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" && root != "" {
				return w, h, nil
			}
			return "", "", err
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
			if root != "svg" {
				return "", "", fmt.Errorf("root element is %s", root)
			}
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "width":
					w = a.Value
				case "height":
					h = a.Value
				}
			}
		}
	}
}

// nonWhite is the share of pixels that are not white.
func nonWhite(img image.Image) float64 {
	r := img.Bounds()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				n++
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		opt    Options
		fields []string
	}{
		{Options{}, nil},
		{Options{Width: 1200, Height: 700, Format: "svg", Lang: "nl", Scale: 2}, nil},
		{Options{Width: MinWidth, Height: MinHeight}, nil},
		{Options{Width: MaxWidth, Height: MaxHeight, Format: SVG, Scale: MaxScale}, nil},
		{Options{Width: 2000, Height: 2000}, nil},
		{Options{Scale: 2}, nil},
		// A PNG is bounded by its pixels, width × height × scale²: the size alone, then the scale.
		{Options{Width: MaxWidth, Height: MaxHeight}, []string{"width", "height"}},
		{Options{Width: MaxWidth, Height: MaxHeight, Format: PNG, Scale: 3}, []string{"width", "height"}},
		{Options{Scale: 3}, []string{"scale"}},
		{Options{Width: 2000, Height: 2000, Scale: 2}, []string{"scale"}},
		{Options{Width: 299}, []string{"width"}},
		{Options{Width: 4001}, []string{"width"}},
		{Options{Width: -5}, []string{"width"}},
		{Options{Height: 199}, []string{"height"}},
		{Options{Height: 5000}, []string{"height"}},
		{Options{Format: "pdf"}, []string{"format"}},
		{Options{Lang: "de"}, []string{"lang"}},
		{Options{Scale: 4}, []string{"scale"}},
		{Options{Width: 10, Height: 10, Format: "gif", Lang: "fr", Scale: -1}, []string{"width", "height", "format", "lang", "scale"}},
	}
	for _, tt := range tests {
		err := tt.opt.Validate()
		var oe OptionsError
		if tt.fields == nil {
			if err != nil {
				t.Errorf("%+v: unexpected error %v", tt.opt, err)
			}
			continue
		}
		if !errors.As(err, &oe) {
			t.Errorf("%+v: error %v is not an OptionsError", tt.opt, err)
			continue
		}
		var got []string
		for _, f := range oe {
			got = append(got, f.Field)
			if !strings.Contains(err.Error(), f.Field) {
				t.Errorf("%q does not name %s", err, f.Field)
			}
		}
		if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
			t.Errorf("%+v: fields %v, want %v", tt.opt, got, tt.fields)
		}
		// Every figure refuses the same options.
		if _, err := Effects(sampleEffects(), tt.opt); !errors.As(err, &oe) {
			t.Errorf("Effects accepted %+v", tt.opt)
		}
	}
}

// TestFitScale checks the density a growing figure falls back to within the pixel budget.
func TestFitScale(t *testing.T) {
	for _, tt := range []struct{ w, h, want, got int }{
		{920, 700, 2, 2}, {920, 1086, 2, 2}, {920, 1087, 2, 1}, {920, 4000, 2, 1}, {800, 500, 3, 3}, {1200, 700, 3, 2}, {300, 200, 0, 1},
	} {
		s := FitScale(tt.w, tt.h, tt.want)
		if s != tt.got {
			t.Errorf("FitScale(%d, %d, %d) = %d, want %d", tt.w, tt.h, tt.want, s, tt.got)
		}
		if err := (Options{Width: tt.w, Height: tt.h, Scale: s}).Validate(); err != nil {
			t.Errorf("FitScale(%d, %d, %d) = %d is refused: %v", tt.w, tt.h, tt.want, s, err)
		}
	}
}

func TestDistributionRejectsMismatchedShares(t *testing.T) {
	in := sampleScale()
	in.Arms[1].Shares = in.Arms[1].Shares[:3]
	if _, err := Distribution(in, Options{}); err == nil || !strings.Contains(err.Error(), "Personal call") {
		t.Errorf("got %v, want an error naming the arm", err)
	}
}

// TestSVGHoldsTheLabels checks the row labels, the raw differences in
// Dutch notation, the translated texts, and that no undefined number
// reached a coordinate.
func TestSVGHoldsTheLabels(t *testing.T) {
	svg, err := Effects(sampleEffects(), Options{Format: SVG, Lang: "nl"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"KRS · Personal call", "Building blocks", "+4,8 [2,1; 7,5] pts", "onvoldoende gegevens", "Gestandaardiseerd effect (0 = geen verschil)",
		"primary", "guardrail", "+0,41 [0,22; 0,60] †", "margin held", "vangrailmarge", "CUPED", "Gestippeld streepje"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if regexp.MustCompile(`NaN|Inf`).Match(svg) {
		t.Error("SVG contains NaN or Inf coordinates")
	}
	// Every text names the fonts as wide as the one it was laid out in (svgFonts).
	texts := bytes.Count(svg, []byte("<text "))
	if n := bytes.Count(svg, []byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")); texts == 0 || n != texts {
		t.Errorf("%d of %d texts name Liberation Sans's metric twins", n, texts)
	}
}

// TestNiceTicks checks the ticks are round and hold zero exactly (the numbers on them are
// stats/i18n's, tested there).
func TestNiceTicks(t *testing.T) {
	if got := niceTicks(-0.6, 0.6); len(got) != 7 || got[0] != -0.6 || got[3] != 0 {
		t.Errorf("niceTicks(-0.6, 0.6) = %v", got)
	}
}

// TestEffectsLabelsKeepTheArm checks that a row label too long for its
// column loses the end of the outcome's name, not the arm's.
func TestEffectsLabelsKeepTheArm(t *testing.T) {
	sty := sans(10, true, colText)
	r := EffectRow{Label: "Complaint repeated within 90 days", Arm: "Personal letter"}
	got := fitLabel(sty, r, sty.Width("Complaint repeated · Personal letter"))
	if !strings.HasSuffix(got, "… · Personal letter") || !strings.HasPrefix(got, "Complaint rep") {
		t.Errorf("fitLabel = %q, want the outcome shortened and the arm whole", got)
	}
	if got := fitLabel(sty, r, 1000); got != "Complaint repeated within 90 days · Personal letter" {
		t.Errorf("a label that fits changed: %q", got)
	}
}

// TestEffectsAxisHoldsTheMargins checks that a guardrail's margin is on the
// axis even when every interval lies on the other side of zero.
func TestEffectsAxisHoldsTheMargins(t *testing.T) {
	rows := []EffectRow{{Std: 0.5, StdLow: 0.3, StdHigh: 0.7, Margin: -0.45}}
	if lo, hi := stdRange(rows); lo > -0.45 || hi < 0.7 {
		t.Errorf("stdRange = [%v, %v], want the margin at −0.45 and the interval inside", lo, hi)
	}
}
