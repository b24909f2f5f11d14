package report

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/plot"
)

func TestEffectsOfGroupsRows(t *testing.T) {
	res, _ := fixture()
	in := EffectsOf(res, "en")
	var got []string
	for _, r := range in.Rows {
		if r.Arm == "callback" {
			got = append(got, r.Group+"/"+r.Label)
		}
	}
	want := []string{"KRS/KRS", "KRS/Satisfaction", "KRS/Trust", "KRS/Love",
		"Building blocks/Trust", "Building blocks/Involvement", "Building blocks/Freedom of choice",
		"Building blocks/Fairness", "Building blocks/Influence",
		"Loyalty/NPS", "Loyalty/CES", "Other outcomes/Complaint repeated within 90 days"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("callback rows\n got %v\nwant %v", got, want)
	}
	if len(in.Rows) != 2*len(want) {
		t.Errorf("%d rows, want %d (every treatment arm)", len(in.Rows), 2*len(want))
	}
	if in.CILevel != 0.95 || in.Note == "" {
		t.Errorf("CILevel %v, note %q", in.CILevel, in.Note)
	}
	nl := EffectsOf(res, "nl")
	if nl.Rows[8].Group != "Bouwstenen" || nl.Rows[2].Label != "Tevredenheid" {
		t.Errorf("Dutch rows not translated: %+v", nl.Rows[8])
	}
}

// TestStandardization checks each kind's rule of the package doc against
// numbers computed here from the per-arm statistics.
func TestStandardization(t *testing.T) {
	res, _ := fixture()
	rows := map[string]plot.EffectRow{}
	for _, r := range EffectsOf(res, "en").Rows {
		rows[r.Label+"/"+r.Arm] = r
	}
	out := map[string]experiment.OutcomeResults{}
	for _, o := range res.Outcomes {
		out[o.Outcome.Key] = o
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// A mean without CUPED: exactly the comparison's Cohen's d.
	trust := out["trust"].Comparisons["callback"]
	near("trust d", rows["Trust/callback"].Std, trust.CohensD)
	if rows["Trust/callback"].Diff != trust.Diff || !rows["Trust/callback"].Significant {
		t.Errorf("trust row %+v", rows["Trust/callback"])
	}
	// With CUPED: the CUPED effect over the same pooled SD.
	sat := out["satisfaction"].Comparisons["callback"]
	if sat.CUPED == nil {
		t.Fatal("fixture: satisfaction has no CUPED")
	}
	near("satisfaction d", rows["Satisfaction/callback"].Std, sat.CUPED.Diff*sat.CohensD/sat.Diff)
	// Net: control SD of the +1/0/-1 indicator, in points.
	nps := out["nps"]
	c := nps.Arms["control"]
	sd := 100 * math.Sqrt(c.Promoters+c.Detractors-math.Pow(c.Promoters-c.Detractors, 2))
	near("nps std", rows["NPS/callback"].Std, nps.Comparisons["callback"].Diff/sd)
	near("nps std low", rows["NPS/callback"].StdLow, nps.Comparisons["callback"].CILow/sd)
	// Binary: diff / sqrt(p_c(1-p_c)); the raw row in percentage points.
	cr := out["complaint_repeated"]
	p := cr.Arms["control"].Rate
	row := rows["Complaint repeated within 90 days/callback"]
	near("complaint std", row.Std, cr.Comparisons["callback"].Diff/math.Sqrt(p*(1-p)))
	near("complaint pp", row.Diff, 100*cr.Comparisons["callback"].Diff)
	if row.Unit != " pp" || !row.Better {
		t.Errorf("a lower complaint rate is better, in pp: %+v", row)
	}
}

func TestStandardizerFallsBackWhenControlIsConstant(t *testing.T) {
	c := stats.ArmStats{Kind: stats.KindBinary, N: 100, Rate: 0}
	tr := stats.ArmStats{Kind: stats.KindBinary, N: 100, Rate: 0.1}
	if got, want := standardizer(experiment.Binary, tr, c), math.Sqrt(0.05*0.95); math.Abs(got-want) > 1e-15 {
		t.Errorf("pooled fallback %v, want %v", got, want)
	}
	if got := standardizer(experiment.Binary, c, c); !math.IsNaN(got) {
		t.Errorf("no variance at all: %v, want NaN", got)
	}
}

func TestDistributionOf(t *testing.T) {
	res, _ := fixture()
	if _, err := DistributionOf(res, "nope", "en"); experiment.ErrorCode(err) != experiment.NotFound {
		t.Errorf("unknown outcome: %v, want not_found", err)
	}
	sat, err := DistributionOf(res, "satisfaction", "nl")
	if err != nil {
		t.Fatal(err)
	}
	var sides []int
	for _, s := range sat.Segments {
		sides = append(sides, s.Side)
	}
	if len(sides) != 7 || sides[0] != -1 || sides[3] != 0 || sides[6] != 1 || sides[2] != -1 || sides[4] != 1 {
		t.Errorf("scale segments %v: 1-3 left, 4 neutral, 5-7 right", sides)
	}
	if !strings.HasPrefix(sat.Title, "Tevredenheid: ") || !strings.HasPrefix(sat.Arms[0].Summary, "gem. ") {
		t.Errorf("not Dutch: %q %q", sat.Title, sat.Arms[0].Summary)
	}
	var sum float64
	for _, s := range sat.Arms[1].Shares {
		sum += s
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("shares sum to %v", sum)
	}
	nps, _ := DistributionOf(res, "nps", "en")
	if got := nps.Segments[0].Label + "|" + nps.Segments[1].Label + "|" + nps.Segments[2].Label; got != "Detractors (0–6)|Passives (7–8)|Promoters (9–10)" {
		t.Errorf("nps segments %s", got)
	}
	if nps.Arms[0].Shares[2] != res.Outcomes[8].Arms["control"].Promoters {
		t.Errorf("nps promoters share %v", nps.Arms[0].Shares)
	}
	cr, _ := DistributionOf(res, "complaint_repeated", "en")
	if cr.Segments != nil || !cr.Reversed || cr.Unit != "%" || math.Abs(cr.Arms[0].Estimate-100*res.Outcomes[10].Arms["control"].Rate) > 1e-12 {
		t.Errorf("binary: %+v", cr)
	}
	krs, _ := DistributionOf(res, "krs", "en")
	if krs.Segments != nil || krs.Arms[1].Estimate != res.Outcomes[0].Arms["callback"].Mean {
		t.Errorf("composite: %+v", krs.Arms[1])
	}
}

func TestTimelineOf(t *testing.T) {
	res, pts := fixture()
	// Reverse the points: the series must come out sorted by day.
	rev := make([]experiment.TimelinePoint, len(pts))
	for i, p := range pts {
		rev[len(pts)-1-i] = p
	}
	in := TimelineOf(res, rev, "en")
	if len(in.Series) != 2 || in.Series[0].Arm != "callback" || in.Series[1].Arm != "letter" {
		t.Fatalf("series %+v", in.Series)
	}
	s := in.Series[0].Points
	if len(s) != 21 {
		t.Fatalf("%d points, want 21", len(s))
	}
	for i := 1; i < len(s); i++ {
		if !s[i-1].Day.Before(s[i].Day) {
			t.Fatalf("not sorted by day at %d", i)
		}
	}
	last := pts[len(pts)-2] // callback on the last day
	if s[20].Diff != last.Comparison.Diff || s[20].SeqLow != last.Comparison.Sequential.CILow {
		t.Errorf("last point %+v, comparison %+v", s[20], last.Comparison)
	}
	if in.Title != "KRS" || in.Unit != "points" {
		t.Errorf("title %q unit %q", in.Title, in.Unit)
	}
	if empty := TimelineOf(res, nil, "nl"); len(empty.Series) != 2 || len(empty.Series[0].Points) != 0 {
		t.Errorf("no points: %+v", empty)
	}
}

func TestHTML(t *testing.T) {
	res, tl := fixture()
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Roll out callback", "Effects at a glance", "Building blocks", "Loyalty", "Data quality",
			"Satisfied, but little love", "It raised satisfaction and trust but not love", "χ² = ", "Response rate"}},
		{"nl", []string{"Rol uit: callback", "Effecten in één oogopslag", "Bouwstenen", "Loyaliteit", "Datakwaliteit",
			"Tevreden, maar weinig liefde", `lang="nl"`, "Responspercentage"}},
	} {
		var buf bytes.Buffer
		if err := HTML(&buf, res, tl, tt.lang); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: page lacks %q", tt.lang, w)
			}
		}
		// Top-down order: recommendation, effects, KRS, blocks, loyalty, timeline, quality.
		last := -1
		for _, id := range []string{`id="recommendation"`, `id="effects"`, `id="krs"`, `id="blocks"`, `id="loyalty"`, `id="other"`, `id="timeline"`, `id="quality"`} {
			i := strings.Index(page, id)
			if i < last {
				t.Errorf("%s: %s out of order", tt.lang, id)
			}
			last = i
		}
		// Self-contained: no scripts, no external references.
		if regexp.MustCompile(`(?i)<script|<link|(src|href)="(https?:)?//|@import|url\(`).MatchString(page) {
			t.Errorf("%s: page refers to something outside itself", tt.lang)
		}
		// Effects, timeline, one per outcome, and trust twice (KRS and blocks).
		if n := strings.Count(page, `src="data:image/png;base64,`); n != 2+len(res.Outcomes)+1 {
			t.Errorf("%s: %d inline figures, want %d", tt.lang, n, 2+len(res.Outcomes)+1)
		}
	}
}
