package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
	"github.com/krslab/krslab/stats/plot"
)

// driversJSON is GET /drivers (STATS.md "Drivers"): undefined numbers are null.
type driversJSON struct {
	Outcome     string       `json:"outcome"`
	Arm         string       `json:"arm"`
	N           int64        `json:"n"`
	RSquared    stats.Float  `json:"r_squared"`
	AdjRSquared stats.Float  `json:"adj_r_squared"`
	Intercept   stats.Float  `json:"intercept"`
	Drivers     []driverJSON `json:"drivers"`
}

type driverJSON struct {
	Key        string      `json:"key"`
	Coef       stats.Float `json:"coef"`
	SE         stats.Float `json:"se"`
	T          stats.Float `json:"t"`
	PValue     stats.Float `json:"p_value"`
	Beta       stats.Float `json:"beta"`
	Importance stats.Float `json:"importance"`
	Share      stats.Float `json:"share"`
	Mean       stats.Float `json:"mean"`
}

func toDriversJSON(res experiment.DriversResults) driversJSON {
	out := driversJSON{Outcome: res.Outcome.Key, Arm: res.Arm, N: res.N, RSquared: stats.Float(res.RSquared),
		AdjRSquared: stats.Float(res.AdjRSquared), Intercept: stats.Float(res.Intercept), Drivers: make([]driverJSON, len(res.Drivers))}
	for i, o := range res.Drivers {
		d := res.DriversResult.Drivers[i]
		out.Drivers[i] = driverJSON{Key: o.Key, Coef: stats.Float(d.Coef), SE: stats.Float(d.SE), T: stats.Float(d.T),
			PValue: stats.Float(d.PValue), Beta: stats.Float(d.Beta), Importance: stats.Float(d.Importance),
			Share: stats.Float(d.Share), Mean: stats.Float(d.Mean)}
	}
	return out
}

// drivers serves GET /v1/experiments/{key}/drivers?outcome=Y&drivers=a,b,c.
func (s *Server) drivers(c echo.Context) error {
	var p experiment.Problems
	checkQuery(c, &p, "outcome", "drivers")
	q := driversQuestion(c, &p)
	if err := p.Err("invalid drivers question"); err != nil {
		return err
	}
	res, err := s.svc.Drivers(c.Request().Context(), param(c, "key"), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDriversJSON(res))
}

// driversQuestion reads outcome and drivers (a comma-separated list, spaces around keys
// ignored); each may be given once. The service checks what they name.
func driversQuestion(c echo.Context, p *experiment.Problems) experiment.DriversQuestion {
	var q experiment.DriversQuestion
	params := c.QueryParams()
	if vs, ok := params["outcome"]; ok {
		switch {
		case len(vs) > 1:
			p.Field("outcome", "give one outcome")
		case vs[0] == "":
			p.Field("outcome", "is empty; leave it out for %s", experiment.DefaultDriversOutcome)
		default:
			q.Outcome = vs[0]
		}
	}
	if vs, ok := params["drivers"]; ok {
		if len(vs) > 1 {
			p.Field("drivers", "give the drivers once, separated by commas")
		}
		q.Drivers = []string{}
		if v := strings.TrimSpace(strings.Join(vs, ",")); v != "" {
			for _, k := range strings.Split(v, ",") {
				q.Drivers = append(q.Drivers, strings.TrimSpace(k))
			}
		} else {
			p.Field("drivers", "is empty; name at least one driver, or leave it out for the building blocks")
		}
	}
	return q
}

// driversPlot serves plots/drivers.png|svg?outcome=Y&drivers=a,b,c: the priority matrix
// of the drivers question, drawn in a render slot like every figure.
func (s *Server) driversPlot(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var p experiment.Problems
		q := driversQuestion(c, &p)
		// The figure options (and any unknown parameter) are read as for every other plot,
		// and reported with the question's.
		opt, lang, err := plotOptionsBeside(c, format, "outcome", "drivers")
		var de *experiment.Error
		switch {
		case errors.As(err, &de) && de.Code == experiment.Invalid:
			p.Add(de.Details...)
		case err != nil:
			return err
		}
		if err := p.Err("invalid plot options"); err != nil {
			return err
		}
		key := param(c, "key")
		res, err := s.svc.Drivers(c.Request().Context(), key, q)
		if err != nil {
			return err
		}
		in := report.DriversOf(res, lang)
		return s.figure(c, format, key+`-drivers-`+res.Outcome.Key+`.`+format, func() ([]byte, error) { return plot.Drivers(in, opt) })
	}
}
