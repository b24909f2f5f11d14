package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/krslab/krslab/api/internal/race"
	"github.com/krslab/krslab/experiment"
)

// TestReportRendersInBrowser opens report.html in headless Chromium, in
// English and, for the experiment whose arms answered at different rates
// and whose guardrails have margins, in Dutch, and checks the screenshots
// are not blank. Without Chromium on PATH it skips, unless
// KRSLAB_REQUIRE_BROWSER=1 (CI with a browser), where it fails. With
// KRSLAB_REPORT_SHOTS=DIR the pages and screenshots are kept in DIR, to
// look at.
func TestReportRendersInBrowser(t *testing.T) {
	race.SkipSequential(t)
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("KRSLAB_REQUIRE_BROWSER") == "1" {
			t.Fatal("KRSLAB_REQUIRE_BROWSER=1 but no chromium on PATH")
		}
		t.Skip("no chromium on PATH (set KRSLAB_REQUIRE_BROWSER=1 to require it)")
	}
	keep := os.Getenv("KRSLAB_REPORT_SHOTS")
	for _, tt := range []struct {
		name, lang string
		fixture    func() (experiment.Results, []experiment.TimelinePoint)
	}{
		{"report_en", "en", fixture},
		{"report_differential_nl", "nl", differentialFixture},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if keep != "" {
				dir = keep
			}
			res, tl := tt.fixture()
			var buf bytes.Buffer
			if err := HTML(&buf, res, tl, tt.lang); err != nil {
				t.Fatal(err)
			}
			page := filepath.Join(dir, tt.name+".html")
			if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			screenshot(t, bin, page, filepath.Join(dir, tt.name+".png"), filepath.Join(t.TempDir(), "profile"))
		})
	}
}

// screenshot renders page with Chromium into shot (1200 × 3000) and checks
// it shows a rendered report.
func screenshot(t *testing.T, bin, page, shot, profile string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--screenshot="+shot, "--window-size=1200,3000",
		"file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 3000 {
		t.Errorf("screenshot is %v", b)
	}
	n, total := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				n++
			}
		}
	}
	// Text, tables and figures cover well over 3% of a rendered report; a
	// blank or failed page (white, or a tiny error line) does not.
	if share := float64(n) / float64(total); share < 0.03 {
		t.Errorf("only %.1f%% of the screenshot is not white: the report did not render", 100*share)
	} else {
		t.Logf("%.1f%% of the screenshot is not white", 100*share)
	}
}
