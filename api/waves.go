package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
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
