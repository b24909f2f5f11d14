package plot

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"regexp"
	"testing"

	"gonum.org/v1/plot/vg"
)

// Sample priority matrices: the default question (KRS on the building blocks, one of them
// a composite, so the scores are rescaled to 0..100), the same in Dutch, a crowded one of
// eight drivers on one 1-7 scale with close scores and shares, and one without numbers.
func sampleDrivers() DriversInput {
	return DriversInput{Outcome: "KRS", N: 412, RSquared: 0.3141, AdjRSquared: 0.3073, ScoreMin: 0, ScoreMax: 100, Rescaled: true,
		Points: []DriverPoint{
			{"Involvement", 58.1, 0.42},
			{"Freedom of choice", 61.3, 0.08},
			{"Fairness", 63.0, 0.31},
			{"Influence", 52.4, 0.19},
		}}
}

func sampleDriversNL() DriversInput {
	in := sampleDrivers()
	for i, l := range []string{"Betrokkenheid", "Keuzevrijheid", "Rechtvaardigheid", "Invloed"} {
		in.Points[i].Label = l
	}
	return in
}

func sampleDriversCrowded() DriversInput {
	return DriversInput{Outcome: "NPS", N: 1873, RSquared: 0.2462, AdjRSquared: 0.2430, ScoreMin: 1, ScoreMax: 7,
		Points: []DriverPoint{
			{"Trust", 4.62, 0.21},
			{"Involvement", 4.41, 0.19},
			{"Fairness", 4.66, 0.18},
			{"Influence", 4.38, 0.05},
			{"Satisfaction", 4.71, 0.17},
			{"Love", 4.45, 0.12},
			{"Choice of products", 4.69, 0.04},
			{"Choice of channels", 4.43, 0.04},
		}}
}

var driverFigures = []struct {
	name string
	in   DriversInput
	lang string
	png  bool
}{
	{"drivers_en", sampleDrivers(), "en", true},
	{"drivers_nl", sampleDriversNL(), "nl", true},
	{"drivers_crowded", sampleDriversCrowded(), "en", true},
	{"drivers_empty", DriversInput{Outcome: "KRS", N: 3, RSquared: math.NaN(), AdjRSquared: math.NaN(),
		Points: []DriverPoint{{"Trust", 4.3, math.NaN()}}}, "nl", false},
}

// TestDriversGolden compares the priority matrices with their golden files, as TestGolden
// does the other figures (go test -update rewrites them; then look at the PNGs).
func TestDriversGolden(t *testing.T) {
	for _, f := range driverFigures {
		t.Run(f.name, func(t *testing.T) {
			svg, err := Drivers(f.in, Options{Format: SVG, Lang: f.lang})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, f.name+".svg", svg, func(got, want []byte) error {
				if !bytes.Equal(got, want) {
					return fmt.Errorf("SVG differs from the golden file (%d vs %d bytes)", len(got), len(want))
				}
				return nil
			})
			if f.png {
				b, err := Drivers(f.in, Options{Format: PNG, Lang: f.lang})
				if err != nil {
					t.Fatal(err)
				}
				golden(t, f.name+".png", b, samePixels)
			}
		})
	}
}

// TestDriversAtEverySize draws every sample at the sizes TestFiguresDecodeAtRequestedSize
// uses, small ones included, where the layout is tightest.
func TestDriversAtEverySize(t *testing.T) {
	for _, f := range driverFigures {
		for _, sz := range []Options{{}, {Width: MinWidth, Height: MinHeight}, {Width: 640, Height: 900}, {Width: 777, Height: 333, Scale: 2}} {
			w, h := max(sz.Width, DefaultWidth*btoi(sz.Width == 0)), max(sz.Height, DefaultHeight*btoi(sz.Height == 0))
			t.Run(fmt.Sprintf("%s/%dx%d", f.name, w, h), func(t *testing.T) {
				o := sz
				o.Lang, o.Format = f.lang, PNG
				b, err := Drivers(f.in, o)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				s := max(sz.Scale, 1)
				if got := img.Bounds().Size(); got != (image.Point{X: w * s, Y: h * s}) {
					t.Errorf("PNG is %v, want %dx%d", got, w*s, h*s)
				}
				if nonWhite(img) < 0.001 {
					t.Error("PNG is blank")
				}
				o.Format = SVG
				b, err = Drivers(f.in, o)
				if err != nil {
					t.Fatal(err)
				}
				if gw, gh, err := svgSizeOf(b); err != nil || gw != fmt.Sprintf("%dpx", w) || gh != fmt.Sprintf("%dpx", h) {
					t.Errorf("SVG %s x %s (%v), want %dpx x %dpx", gw, gh, err, w, h)
				}
			})
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDriversSVGHoldsTheTexts checks the translated texts, the labels and the footnote in
// Dutch notation, and that no undefined number reached a coordinate.
func TestDriversSVGHoldsTheTexts(t *testing.T) {
	for _, tt := range []struct {
		in   DriversInput
		lang string
		want []string
	}{
		{sampleDrivers(), "en", []string{"What moves KRS: priority matrix", "Improve first", "Keep", "Monitor", "Less urgent",
			"Involvement", "Freedom of choice", "Importance: share of R²", "0–100 of each driver", "n = 412", "R² = 0.314 (adjusted 0.307)"}},
		{sampleDriversNL(), "nl", []string{"Wat beweegt KRS: prioriteitenmatrix", "Eerst verbeteren", "Vasthouden", "In de gaten houden",
			"Minder urgent", "Rechtvaardigheid", "Belang: aandeel in R²", "R² = 0,314 (gecorrigeerd 0,307)"}},
		{sampleDriversCrowded(), "en", []string{"Choice of channels", "Current score: mean in the control arm"}},
	} {
		svg, err := Drivers(tt.in, Options{Format: SVG, Lang: tt.lang})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !bytes.Contains(svg, []byte(w)) {
				t.Errorf("%s %s: SVG lacks %q", tt.in.Outcome, tt.lang, w)
			}
		}
		if regexp.MustCompile(`(NaN|Inf)[^a-z]`).Match(svg) { // (not Influence)
			t.Errorf("%s %s: SVG contains NaN or Inf coordinates", tt.in.Outcome, tt.lang)
		}
	}
}

// TestDriversLabelsDoNotOverlap places the crowded sample's labels and checks that no two
// cover each other or a point, and that every one stays inside the plot area.
func TestDriversLabelsDoNotOverlap(t *testing.T) {
	in := sampleDriversCrowded()
	sty := sans(10.5, false, colText)
	bounds := box{0, 0, 600, 380}
	var taken []box
	var pts []box
	for _, p := range in.Points {
		x := vg.Length(600 * (p.Score - 4.2) / 0.7)
		y := vg.Length(380 * p.Share / 0.3)
		b := box{x - 5, y - 5, x + 5, y + 5}
		pts = append(pts, b)
		taken = append(taken, b)
	}
	var labels []box
	for i, p := range in.Points {
		c := pts[i]
		b, _ := placeLabel(sty, p.Label, vg.Point{X: (c.x0 + c.x1) / 2, Y: (c.y0 + c.y1) / 2}, 5, bounds, taken)
		taken = append(taken, b)
		labels = append(labels, b)
	}
	for i, a := range labels {
		if !a.inside(bounds) {
			t.Errorf("%s: label outside the area", in.Points[i].Label)
		}
		for j, b := range labels[:i] {
			if a.overlaps(b) {
				t.Errorf("labels %s and %s overlap", in.Points[i].Label, in.Points[j].Label)
			}
		}
		for j, p := range pts {
			if a.overlaps(p) {
				t.Errorf("label %s covers the point of %s", in.Points[i].Label, in.Points[j].Label)
			}
		}
	}
}
