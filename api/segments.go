package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/plot"
)

// Customer attributes and results split by one of them (segments).

type customerAttributesJSON struct {
	CustomerID string                     `json:"customer_id"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

type customersBatchRequest struct {
	Customers []customerAttributesJSON `json:"customers"`
}

// recordAttributes takes POST /v1/customers:batch, all-or-nothing.
func (s *Server) recordAttributes(c echo.Context) error {
	var req customersBatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Customers) > experiment.MaxBatch {
		return &experiment.Error{Code: experiment.Invalid, Message: "batch too large",
			Details: []experiment.Detail{{Field: "customers", Message: fmt.Sprintf("at most %d customers per batch", experiment.MaxBatch)}}}
	}
	cs := make([]experiment.CustomerAttributes, len(req.Customers))
	for i, rc := range req.Customers {
		ca := experiment.CustomerAttributes{CustomerID: rc.CustomerID, Attributes: make(map[string]string, len(rc.Attributes))}
		for name, raw := range rc.Attributes {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
				ca.Problems = append(ca.Problems, experiment.Detail{Field: "attributes." + name, Message: "must be a string"})
				continue
			}
			ca.Attributes[name] = v
		}
		cs[i] = ca
	}
	if err := s.svc.RecordAttributes(c.Request().Context(), cs); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int{"stored": len(cs)})
}

type segmentCellJSON struct {
	Value    string                    `json:"value"`
	SRM      stats.SRM                 `json:"srm"`
	Arms     map[string]armTrafficJSON `json:"arms"`
	Outcomes []outcomeResultJSON       `json:"outcomes"`
}

type heterogeneityJSON struct {
	Outcome       string      `json:"outcome"`
	Arm           string      `json:"arm"`
	Segments      int         `json:"segments"`
	Q             stats.Float `json:"q"`
	DF            int         `json:"df"`
	PValue        stats.Float `json:"p_value"`
	I2            stats.Float `json:"i2"`
	PooledDiff    stats.Float `json:"pooled_diff"`
	Heterogeneous bool        `json:"heterogeneous"`
}

type segmentResultsJSON struct {
	Experiment    string              `json:"experiment"`
	Wave          *waveJSON           `json:"wave,omitempty"`
	Status        string              `json:"status"`
	Segment       string              `json:"segment"`
	ComputedAt    time.Time           `json:"computed_at"`
	Alpha         float64             `json:"alpha"`
	Correction    string              `json:"correction"`
	FamilySize    int                 `json:"family_size"`
	Cells         []segmentCellJSON   `json:"cells"`
	Heterogeneity []heterogeneityJSON `json:"heterogeneity"`
	Warnings      []string            `json:"warnings"`
}

// segmentResults serves GET /v1/experiments/{key}/results?segment=NAME[&wave=KEY].
func (s *Server) segmentResults(c echo.Context) error {
	lang, err := langParam(c)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := s.svc.WaveSegmentResults(c.Request().Context(), param(c, "key"), c.QueryParam("segment"), c.QueryParam("wave"))
	if err != nil {
		return err
	}
	s.metrics.results.Observe(time.Since(start).Seconds())
	return c.JSON(http.StatusOK, toSegmentResultsJSON(res, lang))
}

func toSegmentResultsJSON(res experiment.SegmentResults, lang string) segmentResultsJSON {
	e := res.Experiment
	out := segmentResultsJSON{Experiment: e.Key, Status: string(e.Status), Segment: res.Segment, ComputedAt: res.ComputedAt,
		Alpha: e.Alpha, Correction: e.Correction, FamilySize: res.FamilySize,
		Cells: make([]segmentCellJSON, len(res.Cells)), Heterogeneity: make([]heterogeneityJSON, len(res.Heterogeneity)),
		Warnings: segmentWarnings(res)}
	if res.Wave != nil {
		w := waveJSON(*res.Wave)
		out.Wave = &w
	}
	for i, cell := range res.Cells {
		r := toResultsJSON(cell.Results, lang)
		out.Cells[i] = segmentCellJSON{Value: cell.Value, SRM: r.SRM, Arms: r.Arms, Outcomes: r.Outcomes}
	}
	for i, h := range res.Heterogeneity {
		out.Heterogeneity[i] = heterogeneityJSON{Outcome: h.Outcome, Arm: h.Arm, Segments: h.K, Q: stats.Float(h.Q), DF: h.DF,
			PValue: stats.Float(h.PValue), I2: stats.Float(h.I2), PooledDiff: stats.Float(h.Pooled), Heterogeneous: h.Heterogeneous}
	}
	return out
}

// segmentWarnings are plain sentences for the two ways of misreading segments: an effect
// that differs between segments (read the cells, not the average), and cells whose
// verdicts differ although the effects do not differ by more than chance (read the
// average, not the cells).
func segmentWarnings(res experiment.SegmentResults) []string {
	out := []string{}
	index := map[string]int{}
	if len(res.Cells) > 0 {
		for i, o := range res.Cells[0].Results.Outcomes {
			index[o.Outcome.Key] = i
		}
	}
	for _, h := range res.Heterogeneity {
		verdicts := map[stats.Verdict][]string{}
		for _, cell := range res.Cells {
			v := cell.Results.Outcomes[index[h.Outcome]].Comparisons[h.Arm].Verdict
			verdicts[v] = append(verdicts[v], cell.Value)
		}
		switch {
		case h.Heterogeneous:
			out = append(out, fmt.Sprintf("The effect of %s on %s differs between %s segments (Cochran's Q %.3g, df %d, p %s, I² %.0f%%); read it per segment, not as one average.",
				h.Arm, h.Outcome, res.Segment, h.Q, h.DF, pText(h.PValue), 100*h.I2))
		case h.K >= 2 && (len(verdicts[stats.VerdictBetter]) > 0 || len(verdicts[stats.VerdictWorse]) > 0) && len(verdicts[stats.VerdictInconclusive]) > 0:
			sig := slices.Concat(verdicts[stats.VerdictBetter], verdicts[stats.VerdictWorse])
			out = append(out, fmt.Sprintf("%s on %s is significant only in %s = %s, but the segments' effects do not differ by more than chance (Cochran's Q p %s); this is weak evidence of a segment-specific effect.",
				h.Arm, h.Outcome, res.Segment, strings.Join(sig, ", "), pText(h.PValue)))
		}
	}
	return out
}

func pText(p float64) string {
	if p < 0.001 {
		return "< 0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

// segmentedCSV routes results.csv?segment=NAME to segmentResultsCSV.
func (s *Server) segmentedCSV(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.QueryParams().Has("segment") {
			return s.segmentResultsCSV(c)
		}
		return next(c)
	}
}

// segmentResultsCSV serves the rows of results.csv for every segment value, with the
// value in a first column segment; of one survey wave with ?wave=.
func (s *Server) segmentResultsCSV(c echo.Context) error {
	key, wave := param(c, "key"), c.QueryParam("wave")
	res, err := s.svc.WaveSegmentResults(c.Request().Context(), key, c.QueryParam("segment"), wave)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := experiment.NewCSVWriter(&buf)
	if err := w.Write(append([]string{"segment"}, report.CSVHeader...)); err != nil {
		return err
	}
	for _, cell := range res.Cells {
		// The cell's rows exactly as results.csv writes them.
		var one bytes.Buffer
		if err := report.WriteCSV(&one, cell.Results); err != nil {
			return err
		}
		rows, err := csv.NewReader(&one).ReadAll()
		if err != nil {
			return err
		}
		for _, row := range rows[1:] {
			if err := w.Write(append([]string{cell.Value}, row...)); err != nil {
				return err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	name := key
	if wave != "" {
		name += "-" + wave
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="`+name+`-results-`+res.Segment+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// segmentPlot serves plots/segments.png|svg?segment=NAME&outcome=KEY[&wave=KEY]: the
// forest plot of one outcome (default the primary) with a group of rows per segment value,
// of one survey wave with ?wave=.
func (s *Server) segmentPlot(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var p experiment.Problems
		checkQuery(c, &p, "segment", "outcome", "width", "height", "scale", "lang", "wave")
		if !c.QueryParams().Has("segment") {
			p.Field("segment", "is required: the customer attribute to split by")
		}
		if err := p.Err("invalid plot options"); err != nil {
			return err
		}
		// The figure options are read as for every other plot.
		q := c.Request().URL.Query()
		q.Del("segment")
		q.Del("outcome")
		req := c.Request().Clone(c.Request().Context())
		req.URL.RawQuery = q.Encode()
		opt, lang, err := plotOptions(c.Echo().NewContext(req, nil), format)
		if err != nil {
			return err
		}
		key := param(c, "key")
		res, err := s.svc.WaveSegmentResults(c.Request().Context(), key, c.QueryParam("segment"), c.QueryParam("wave"))
		if err != nil {
			return err
		}
		in, err := segmentEffects(res, c.QueryParam("outcome"), lang)
		if err != nil {
			return err
		}
		return s.figure(c, format, key+`-segments-`+res.Segment+`.`+format, func() ([]byte, error) { return plot.Effects(in, opt) })
	}
}

// segmentEffects is the forest plot's input: per segment value (the row group), the rows
// of the outcome as the effects plot draws them; the footnote adds Cochran's Q.
func segmentEffects(res experiment.SegmentResults, outcome, lang string) (plot.EffectsInput, error) {
	if outcome == "" {
		outcome = res.Experiment.PrimaryOutcome
	}
	var in plot.EffectsInput
	found := false
	for _, cell := range res.Cells {
		r := cell.Results
		r.Outcomes = nil
		for _, o := range cell.Results.Outcomes {
			if o.Outcome.Key == outcome {
				r.Outcomes = append(r.Outcomes, o)
			}
		}
		if len(r.Outcomes) == 0 {
			continue
		}
		found = true
		cellIn := report.EffectsOf(r, lang)
		in.Title, in.CILevel, in.Note = ofWave(cellIn.Title, res.Wave, lang), cellIn.CILevel, cellIn.Note
		n := int64(0)
		for _, a := range r.Arms {
			n += a.Assigned
		}
		group := fmt.Sprintf("%s = %s (%d %s)", res.Segment, cell.Value, n, pickLang(lang, "assigned", "toegewezen"))
		// An outcome can sit in two sections (trust: KRS and building blocks); once is enough.
		seen := map[string]bool{}
		for _, row := range cellIn.Rows {
			if seen[row.Arm] {
				continue
			}
			seen[row.Arm] = true
			row.Group = group
			in.Rows = append(in.Rows, row)
		}
	}
	if !found {
		return in, &experiment.Error{Code: experiment.Invalid, Message: "invalid plot options",
			Details: []experiment.Detail{{Field: "outcome", Message: fmt.Sprintf("%q is not analysed in experiment %q", outcome, res.Experiment.Key)}}}
	}
	for _, h := range res.Heterogeneity {
		if h.Outcome != outcome || math.IsNaN(h.Q) {
			continue
		}
		in.Note += " " + pickLang(lang,
			fmt.Sprintf("%s: Cochran's Q %.3g, df %d, p %s, I² %.0f%% (%s).", h.Arm, h.Q, h.DF, pText(h.PValue), 100*h.I2,
				map[bool]string{true: "the effect differs between segments", false: "no evidence that the effect differs"}[h.Heterogeneous]),
			fmt.Sprintf("%s: Cochran's Q %.3g, df %d, p %s, I² %.0f%% (%s).", h.Arm, h.Q, h.DF, pText(h.PValue), 100*h.I2,
				map[bool]string{true: "het effect verschilt tussen segmenten", false: "geen aanwijzing dat het effect verschilt"}[h.Heterogeneous]))
	}
	in.Note += " " + pickLang(lang,
		fmt.Sprintf("Significance after %s over all %d comparisons of all segments.", res.Experiment.Correction, res.FamilySize),
		fmt.Sprintf("Significantie na %s over alle %d vergelijkingen van alle segmenten.", res.Experiment.Correction, res.FamilySize))
	return in, nil
}

func pickLang(lang, en, nl string) string {
	if lang == plot.Dutch {
		return nl
	}
	return en
}
