package api

import (
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

type armTrafficJSON struct {
	Name         string      `json:"name"`
	Control      bool        `json:"control"`
	Weight       float64     `json:"weight"`
	Position     int         `json:"position"`
	Assigned     int64       `json:"assigned"`
	Responded    int64       `json:"responded"`
	ResponseRate stats.Float `json:"response_rate"`
}

type outcomeResultJSON struct {
	Key            string                      `json:"key"`
	Kind           string                      `json:"kind"`
	Label          string                      `json:"label"`
	HigherIsBetter bool                        `json:"higher_is_better"`
	Primary        bool                        `json:"primary"`
	Guardrail      bool                        `json:"guardrail"`
	Arms           map[string]stats.ArmStats   `json:"arms"`
	Comparisons    map[string]stats.Comparison `json:"comparisons"`
}

type resultsJSON struct {
	Experiment     string                    `json:"experiment"`
	Wave           *waveJSON                 `json:"wave,omitempty"`
	Status         string                    `json:"status"`
	ComputedAt     time.Time                 `json:"computed_at"`
	Alpha          float64                   `json:"alpha"`
	Correction     string                    `json:"correction"`
	SRM            stats.SRM                 `json:"srm"`
	ResponseCheck  stats.ResponseCheck       `json:"response_check"`
	Arms           map[string]armTrafficJSON `json:"arms"`
	Outcomes       []outcomeResultJSON       `json:"outcomes"`
	Recommendation stats.Recommendation      `json:"recommendation"`
}

func (s *Server) results(c echo.Context) error {
	if c.QueryParams().Has("segment") {
		return s.segmentResults(c)
	}
	lang, err := langParam(c)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := s.svc.WaveResults(c.Request().Context(), param(c, "key"), c.QueryParam("wave"))
	if err != nil {
		return err
	}
	s.metrics.results.Observe(time.Since(start).Seconds())
	return c.JSON(http.StatusOK, toResultsJSON(res, lang))
}

func toResultsJSON(res experiment.Results, lang string) resultsJSON {
	e := res.Experiment
	out := resultsJSON{Experiment: e.Key, Status: string(e.Status), ComputedAt: res.ComputedAt, Alpha: e.Alpha,
		Correction: e.Correction, SRM: res.SRM, ResponseCheck: res.ResponseCheck, Recommendation: res.Recommendation.In(lang),
		Arms: map[string]armTrafficJSON{}, Outcomes: make([]outcomeResultJSON, len(res.Outcomes))}
	if res.Wave != nil {
		w := waveJSON(*res.Wave)
		out.Wave = &w
	}
	for i, a := range e.Arms {
		n := res.Arms[a.Key]
		rate := stats.Float(nan())
		if n.Assigned > 0 {
			rate = stats.Float(float64(n.Responded) / float64(n.Assigned))
		}
		out.Arms[a.Key] = armTrafficJSON{Name: a.Name, Control: a.Control, Weight: a.Weight, Position: i,
			Assigned: n.Assigned, Responded: n.Responded, ResponseRate: rate}
	}
	for i, o := range res.Outcomes {
		label := o.Outcome.Label
		if lang == "nl" {
			label = o.Outcome.LabelNL
		}
		out.Outcomes[i] = outcomeResultJSON{Key: o.Outcome.Key, Kind: string(o.Outcome.Kind), Label: label,
			HigherIsBetter: o.Outcome.HigherIsBetter, Primary: o.Primary, Guardrail: o.Guardrail,
			Arms: o.Arms, Comparisons: o.Comparisons}
	}
	return out
}

func nan() float64 { return math.NaN() }
