package report

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/krslab/krslab/api/internal/race"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/i18n"
	"github.com/krslab/krslab/stats/plot"
)

func TestEffectsOfGroupsRows(t *testing.T) {
	res, _ := fixture()
	in := EffectsOf(res, "en")
	var got []string
	for _, r := range in.Rows {
		if r.Arm == "Personal call" { // arms by their names
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
	near("trust d", rows["Trust/Personal call"].Std, trust.CohensD)
	if rows["Trust/Personal call"].Diff != trust.Diff || !rows["Trust/Personal call"].Significant || rows["Trust/Personal call"].Adjusted {
		t.Errorf("trust row %+v", rows["Trust/Personal call"])
	}
	// With CUPED: the CUPED effect over the same pooled SD.
	sat := out["satisfaction"].Comparisons["callback"]
	if sat.CUPED == nil {
		t.Fatal("fixture: satisfaction has no CUPED")
	}
	near("satisfaction d", rows["Satisfaction/Personal call"].Std, sat.CUPED.Diff*sat.CohensD/sat.Diff)
	if !rows["Satisfaction/Personal call"].Adjusted || sat.Deciding.Method != stats.MethodCUPED {
		t.Errorf("satisfaction row is not marked as CUPED's: %+v", rows["Satisfaction/Personal call"])
	}
	// Net: control SD of the +1/0/-1 indicator, in points.
	nps := out["nps"]
	c := nps.Arms["control"]
	sd := 100 * math.Sqrt(c.Promoters+c.Detractors-math.Pow(c.Promoters-c.Detractors, 2))
	near("nps std", rows["NPS/Personal call"].Std, nps.Comparisons["callback"].Diff/sd)
	near("nps std low", rows["NPS/Personal call"].StdLow, nps.Comparisons["callback"].CILow/sd)
	// Binary: diff / sqrt(p_c(1-p_c)); the raw row in percentage points.
	cr := out["complaint_repeated"]
	p := cr.Arms["control"].Rate
	row := rows["Complaint repeated within 90 days/Personal call"]
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
	if len(in.Series) != 2 || in.Series[0].Arm != "Personal call" || in.Series[1].Arm != "Personal letter" {
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
	if in.Title != "KRS" || in.Unit != "points" || in.Control != "Usual handling" {
		t.Errorf("title %q unit %q control %q", in.Title, in.Unit, in.Control)
	}
	if empty := TimelineOf(res, nil, "nl"); len(empty.Series) != 2 || len(empty.Series[0].Points) != 0 {
		t.Errorf("no points: %+v", empty)
	}
}

func TestHTML(t *testing.T) {
	race.SkipSequential(t)
	res, tl := fixture()
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Roll out Personal call", "Effects at a glance", "Building blocks", "Loyalty", "Data quality",
			"Satisfied, but little love", "It raised satisfaction and trust but not love", "χ² = ", "Response rate",
			"<th>Usual handling</th>", "The arms answered the survey at similar rates", "odds of a higher answer ×",
			"Complaint repeated within 90 days, Personal call: better", `<span class="tag strong">primary</span>`}},
		{"nl", []string{"Rol uit: Personal call", "Effecten in één oogopslag", "Bouwstenen", "Loyaliteit", "Datakwaliteit",
			"Tevreden, maar weinig liefde", `lang="nl"`, "Responspercentage", "Personal call verhoogde KRS",
			"De varianten reageerden in vergelijkbare mate", "odds op een hoger antwoord ×", "Vangrails",
			`<span class="tag strong">primair</span>`, `<span class="tag">vangrail</span>`}},
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
		// The arms answered alike: no caveat, no margins.
		for _, w := range []string{`class="caveat"`, `class="margin`} {
			if strings.Contains(page, w) {
				t.Errorf("%s: page has %s without differential response or margins", tt.lang, w)
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

// TestEffectsOfMarksRolesAndMargins checks the forest plot's rows of the
// experiment with margins: the primary and the guardrails tagged, each
// margin on the bad side of zero divided by the row's standard deviation,
// and whether it held.
func TestEffectsOfMarksRolesAndMargins(t *testing.T) {
	res, _ := differentialFixture()
	out := map[string]experiment.OutcomeResults{}
	for _, o := range res.Outcomes {
		out[o.Outcome.Key] = o
	}
	for lang, want := range map[string]map[string]string{
		"en": {
			"KRS/Personal letter": "primary:true",
			"NPS/Personal call":   "guardrail:false,margin held:false",
			"Complaint repeated within 90 days/Personal letter": "guardrail:false,margin not shown:false",
			"Complaint repeated within 90 days/Personal call":   "guardrail:false,margin held:false",
			"Trust/Personal call":                               "",
		},
		"nl": {
			"KRS/Personal call": "primair:true",
			"Klacht herhaald binnen 90 dagen/Personal letter": "vangrail:false,marge niet aangetoond:false",
		},
	} {
		rows := map[string]plot.EffectRow{}
		for _, r := range EffectsOf(res, lang).Rows {
			rows[r.Label+"/"+r.Arm] = r
		}
		for key, w := range want {
			r, ok := rows[key]
			if !ok {
				t.Errorf("%s: no row %s", lang, key)
				continue
			}
			var ts []string
			for _, g := range r.Tags {
				ts = append(ts, fmt.Sprintf("%s:%v", g.Text, g.Strong))
			}
			if got := strings.Join(ts, ","); got != w {
				t.Errorf("%s: %s tags %q, want %q", lang, key, got, w)
			}
		}
	}
	rows := map[string]plot.EffectRow{}
	for _, r := range EffectsOf(res, "en").Rows {
		rows[r.Label+"/"+r.Arm] = r
	}
	// NPS: higher is better, so the margin of 5 points lies below zero, in the row's SD.
	nps := out["nps"]
	sd := standardizer(experiment.Net, nps.Arms["callback"], nps.Arms["control"])
	if got, want := rows["NPS/Personal call"].Margin, -5/sd; math.Abs(got-want) > 1e-12 {
		t.Errorf("NPS margin at %v, want %v", got, want)
	}
	// Complaints: lower is better, so the margin of 0.5 pp lies above zero.
	cr := out["complaint_repeated"]
	sd = standardizer(experiment.Binary, cr.Arms["letter"], cr.Arms["control"])
	if got, want := rows["Complaint repeated within 90 days/Personal letter"].Margin, 0.005/sd; math.Abs(got-want) > 1e-12 {
		t.Errorf("complaint margin at %v, want %v", got, want)
	}
	if cr.Comparisons["letter"].NonInferiority.Holds || !cr.Comparisons["callback"].NonInferiority.Holds {
		t.Fatal("fixture: the letter should miss the complaint margin and the call hold it")
	}
	if m := rows["CES/Personal call"].Margin; m != 0 {
		t.Errorf("CES has no margin but is drawn one at %v", m)
	}
}

// TestHTMLSaysDifferentialResponse reads the report of the experiment whose
// call-back arm answered more often: the caveat in words with the response
// rates and the bounds on the primary, the guardrail margins held and not,
// the response check, and a headline that does not blame the split.
func TestHTMLSaysDifferentialResponse(t *testing.T) {
	race.SkipSequential(t)
	res, tl := differentialFixture()
	if !res.ResponseCheck.Differential || res.Recommendation.Action != stats.ActionInvestigate {
		t.Fatalf("fixture: response check %+v, recommendation %s", res.ResponseCheck, res.Recommendation.Action)
	}
	b := res.Outcomes[0].Comparisons["callback"].Bounds
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{
			"Investigate who answered before deciding",
			"Personal call beat Usual handling on KRS", // the reason, in English
			"The arms answered the survey at different rates",
			"Response rates: Usual handling 48%, Personal call 61% and Personal letter 48% (χ² = 45.17, p < 0.001)",
			"Because Personal call answered more often than Usual handling (61% vs 48%), the effect of Personal call on KRS could be as small as " +
				i18n.Signed(b.Lower, 1, "en") + " points or as large as " + i18n.Signed(b.Upper, 1, "en") + " points (95% CI " +
				i18n.Signed(b.CILow, 1, "en") + " to " + i18n.Signed(b.CIHigh, 1, "en") + "); that range includes no effect",
			"Personal letter answered just as often as Usual handling",
			"NPS, Personal call: better; shown to be no worse than the margin of 5 points (at worst +25.7)",
			"Complaint repeated within 90 days, Personal letter: no clear difference; not yet shown to be no worse than the margin of 0.5 percentage points (at worst +0.8)",
			`<span class="margin held">shown to be no worse than the margin of 0.5 pp (at worst −6.3)</span>`,
			`<span class="margin unheld">not yet shown`,
			`<p class="response bad">`, "Response check (did the arms answer at different rates?): χ² = 45.17, df = 2, p < 0.001",
		}},
		{"nl", []string{
			"Onderzoek eerst wie er reageerde",
			"Personal call was beter dan Usual handling op KRS", // the reason, in Dutch
			"De varianten reageerden in verschillende mate op de enquête",
			"Responspercentages: Usual handling 48%, Personal call 61% en Personal letter 48% (χ² = 45,17, p < 0,001)",
			"Omdat Personal call vaker reageerde dan Usual handling (61% tegen 48%), kan het effect van Personal call op KRS zo klein zijn als " +
				i18n.Signed(b.Lower, 1, "nl") + " punten of zo groot als " + i18n.Signed(b.Upper, 1, "nl") + " punten (95%-BI",
			"NPS, Personal call: beter; aantoonbaar niet slechter dan de marge van 5 punten (in het slechtste geval +25,7)",
			"Klacht herhaald binnen 90 dagen, Personal letter: geen duidelijk verschil; nog niet aantoonbaar niet slechter dan de marge van 0,5 procentpunten",
		}},
	} {
		var buf bytes.Buffer
		if err := HTML(&buf, res, tl, tt.lang); err != nil {
			t.Fatal(err)
		}
		page := html.UnescapeString(buf.String())
		for _, w := range tt.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: page lacks %q", tt.lang, w)
			}
		}
		if strings.Contains(page, "Investigate the split") || strings.Contains(page, "Onderzoek eerst de verdeling") {
			t.Errorf("%s: the split is fine, but the headline blames it", tt.lang)
		}
	}
}

func TestArmNames(t *testing.T) {
	e := fixtureExperiment()
	e.Arms[2].Name = e.Arms[1].Name // two arms called "Personal call"
	e.Arms[0].Name = ""
	for key, want := range map[string]string{"control": "control", "callback": "Personal call (callback)", "letter": "Personal call (letter)", "nope": "nope"} {
		if got := armName(e, key); got != want {
			t.Errorf("armName(%s) = %q, want %q", key, got, want)
		}
	}
	if got := armName(fixtureExperiment(), "letter"); got != "Personal letter" {
		t.Errorf("armName(letter) = %q", got)
	}
	// On a page, an unnamed control arm is the control in the page's language.
	if got := armNameIn(e, "control", "nl"); got != "controle" {
		t.Errorf("armNameIn(control, nl) = %q, want controle", got)
	}
	if got := armNameIn(e, "callback", "nl"); got != "Personal call (callback)" {
		t.Errorf("armNameIn(callback, nl) = %q", got)
	}
}

// TestReportMessagesExist checks the messages whose ids the report builds from a value (a
// group, a status, a diagnosis pattern, a segment, a fixed text of the template): each
// exists in stats/i18n, so that no page shows a raw id.
func TestReportMessagesExist(t *testing.T) {
	var ids []string
	for _, g := range groups {
		ids = append(ids, "report.group."+g.id)
	}
	for _, s := range []experiment.Status{experiment.Draft, experiment.Running, experiment.Stopped, experiment.Decided} {
		ids = append(ids, "report.status."+string(s))
	}
	for _, c := range components {
		ids = append(ids, "report.component."+c)
	}
	// Every set of lagging (or unmoved) components names a pattern.
	for mask := 0; mask < 1<<len(components); mask++ {
		var lag []string
		for i, c := range components {
			if mask&(1<<i) != 0 {
				lag = append(lag, c)
			}
		}
		p := patternOf(lag)
		ids = append(ids, "report.diagnosis.level."+p, "report.diagnosis.effect."+p)
	}
	ids = append(ids, "report.diagnosis.effect.insufficient")
	for _, s := range []string{"low", "middle", "high", "detractors", "passives", "promoters", "difficult", "neutral", "easy"} {
		ids = append(ids, "report.segment."+s)
	}
	for _, n := range uiNames {
		ids = append(ids, "report.ui."+n)
	}
	for _, id := range ids {
		if !i18n.Has(id) {
			t.Errorf("message %q does not exist", id)
		}
	}
	// The template reads only the fixed texts uiText gives it.
	for _, m := range regexp.MustCompile(`\.T\.([a-z_]+)`).FindAllStringSubmatch(reportTemplate, -1) {
		if !slices.Contains(uiNames, m[1]) {
			t.Errorf("report.tmpl reads .T.%s, which uiText does not give", m[1])
		}
	}
}

// TestFigureTitles: a title is the outcome's name, then its question when that says more;
// a question that begins with the name stands alone.
func TestFigureTitles(t *testing.T) {
	res, _ := fixture()
	for _, tt := range []struct{ key, lang, want string }{
		{"satisfaction", "en", "Satisfaction: How satisfied are you with our organisation?"},
		{"freedom_of_choice", "en", "Freedom of choice (products, channels)"},
		{"freedom_of_choice", "nl", "Keuzevrijheid (producten, kanalen)"},
		{"krs", "nl", "KRS: KlantRelatieScore (tevredenheid, vertrouwen, liefde)"},
		{"complaint_repeated", "en", "Complaint repeated within 90 days"},
	} {
		d, err := DistributionOf(res, tt.key, tt.lang)
		if err != nil {
			t.Fatal(err)
		}
		if d.Title != tt.want {
			t.Errorf("%s (%s): title %q, want %q", tt.key, tt.lang, d.Title, tt.want)
		}
	}
	o := experiment.Outcome{Key: "choice", Label: "Choices offered", LabelNL: "Keuzes"}
	if got := title(o, "en"); got != "Choices offered" {
		t.Errorf("a label that is the name: %q", got)
	}
	// The built-in name "Trust" is only the start of the question's first word.
	o = experiment.Outcome{Key: "trust", Kind: experiment.Scale, Label: "Trustworthy staff?"}
	if got := title(o, "en"); got != "Trust: Trustworthy staff?" {
		t.Errorf("a name that begins a longer word: %q", got)
	}
}

// TestCompositeAxisSpansItsScale: a composite's bars are drawn on its whole 0..100 scale.
func TestCompositeAxisSpansItsScale(t *testing.T) {
	res, _ := fixture()
	for _, key := range []string{"krs", "freedom_of_choice"} {
		d, _ := DistributionOf(res, key, "en")
		if d.AxisMin != 0 || d.AxisMax != 100 {
			t.Errorf("%s: axis %v..%v, want 0..100", key, d.AxisMin, d.AxisMax)
		}
	}
	if d, _ := DistributionOf(res, "complaint_repeated", "en"); d.AxisMax != 0 {
		t.Errorf("a rate's axis is fitted to its bars, got up to %v", d.AxisMax)
	}
}
