package report

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/krslab/krslab/stats/plot"
)

func TestViewReport(t *testing.T) {
	dir := os.Getenv("REPORT_VIEW_DIR")
	if dir == "" {
		t.Skip()
	}
	res, tl := fixture()
	for _, lang := range []string{"en", "nl"} {
		f, _ := os.Create(filepath.Join(dir, "report_"+lang+".html"))
		if err := HTML(f, res, tl, lang); err != nil {
			t.Fatal(err)
		}
		f.Close()
		b, err := plot.Effects(EffectsOf(res, lang), plot.Options{Lang: lang})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "effects_"+lang+".png"), b, 0o644)
		for _, o := range res.Outcomes {
			d, _ := DistributionOf(res, o.Outcome.Key, lang)
			b, err := plot.Distribution(d, plot.Options{Lang: lang})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, o.Outcome.Key+"_"+lang+".png"), b, 0o644)
		}
		b, err = plot.Timeline(TimelineOf(res, tl, lang), plot.Options{Lang: lang})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "timeline_"+lang+".png"), b, 0o644)
	}
	f, _ := os.Create(filepath.Join(dir, "results.csv"))
	WriteCSV(f, res)
	f.Close()
}
