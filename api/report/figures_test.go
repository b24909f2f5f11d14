package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"image/png"
	"regexp"
	"testing"

	"github.com/krslab/krslab/api/internal/race"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/plot"
)

// TestHTMLManyArmsStaysWithinThePixelBudget renders the report of an eight-arm experiment,
// whose effects figure (77 rows) is too tall for figScale within plot.MaxPixels: it is drawn
// at a lower density instead of failing the page, and no figure exceeds the budget.
func TestHTMLManyArmsStaysWithinThePixelBudget(t *testing.T) {
	race.SkipSequential(t)
	e := fixtureExperiment()
	e.Arms = []experiment.Arm{{Key: "arm0", Weight: 1, Control: true}}
	for i := 1; i < 8; i++ {
		e.Arms = append(e.Arms, experiment.Arm{Key: fmt.Sprintf("arm%d", i), Weight: 1})
	}
	as := simulate(42, 600)
	assigned := map[string]int64{}
	for i := range as {
		as[i].arm = fmt.Sprintf("arm%d", i%8)
		assigned[as[i].arm] += 3
	}
	res := analyse(e, as, assigned)
	var buf bytes.Buffer
	if err := HTML(&buf, res, timelineOf(e, as), "en"); err != nil {
		t.Fatalf("report of eight arms: %v", err)
	}
	figures := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllSubmatch(buf.Bytes(), -1)
	if len(figures) == 0 {
		t.Fatal("no figures")
	}
	tall := false
	for i, f := range figures {
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(f[1])))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("figure %d: %v", i, err)
		}
		if px := cfg.Width * cfg.Height; px > plot.MaxPixels {
			t.Errorf("figure %d is %d × %d, over the budget of %d pixels", i, cfg.Width, cfg.Height, plot.MaxPixels)
		}
		tall = tall || cfg.Width == PageWidth // drawn at scale 1
	}
	if !tall {
		t.Error("no figure fell back to scale 1; the test no longer covers a tall figure")
	}
}
