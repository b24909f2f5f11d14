package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/plot"
)

// persistenceJSON is GET /v1/experiments/{key}/persistence: per outcome and treatment arm,
// the effect in every wave, the within-customer change and whether the effect is durable.
type persistenceJSON struct {
	Experiment string                                  `json:"experiment"`
	ComputedAt time.Time                               `json:"computed_at"`
	Waves      []waveJSON                              `json:"waves"`
	Outcomes   map[string]map[string]stats.Persistence `json:"outcomes"`
}

func (s *Server) persistence(c echo.Context) error {
	p, err := s.svc.Persistence(c.Request().Context(), param(c, "key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPersistenceJSON(p))
}

func toPersistenceJSON(p experiment.PersistenceResults) persistenceJSON {
	return persistenceJSON{Experiment: p.Experiment.Key, ComputedAt: p.ComputedAt,
		Waves: toWavesJSON(p.Experiment.Waves), Outcomes: p.Arms}
}

// persistencePlot serves plots/persistence.png|svg?outcome=Y: the effect per wave with its
// interval, one line per treatment arm, the change in the footnote.
func (s *Server) persistencePlot(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		outcome := c.QueryParam("outcome")
		opt, lang, err := plotOptionsBeside(c, format, "outcome")
		if err != nil {
			return err
		}
		if c.QueryParams().Has("wave") {
			return &experiment.Error{Code: experiment.Invalid, Message: "invalid query",
				Details: []experiment.Detail{{Field: "wave", Message: "the persistence figure shows every wave"}}}
		}
		key := param(c, "key")
		p, err := s.svc.Persistence(c.Request().Context(), key)
		if err != nil {
			return err
		}
		in, err := report.PersistenceOf(p, outcome, lang)
		if err != nil {
			return err
		}
		if outcome == "" {
			outcome = p.Experiment.PrimaryOutcome
		}
		return s.figure(c, format, key+`-persistence-`+outcome+`.`+format, func() ([]byte, error) { return plot.Persistence(in, opt) })
	}
}
