package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

type powerRequest struct {
	Kind         string   `json:"kind"`
	SD           *float64 `json:"sd"`
	BaselineRate *float64 `json:"baseline_rate"`
	MDE          float64  `json:"mde"`
	Alpha        float64  `json:"alpha"`
	Power        float64  `json:"power"`
	Comparisons  int      `json:"comparisons"`
}

type powerResponse struct {
	NPerArm        int     `json:"n_per_arm"`
	Kind           string  `json:"kind"`
	MDE            float64 `json:"mde"`
	Alpha          float64 `json:"alpha"`
	EffectiveAlpha float64 `json:"effective_alpha"`
	Power          float64 `json:"power"`
	Comparisons    int     `json:"comparisons"`
}

func (s *Server) power(c echo.Context) error {
	var req powerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	plan := experiment.PowerPlan{Kind: experiment.Kind(req.Kind), SD: req.SD, BaselineRate: req.BaselineRate,
		MDE: req.MDE, Alpha: req.Alpha, Power: req.Power, Comparisons: req.Comparisons}
	ans, err := plan.SampleSize()
	if err != nil {
		return err
	}
	p := ans.Plan
	return c.JSON(http.StatusOK, powerResponse{NPerArm: ans.NPerArm, Kind: string(p.Kind), MDE: p.MDE, Alpha: p.Alpha,
		EffectiveAlpha: ans.EffectiveAlpha, Power: p.Power, Comparisons: p.Comparisons})
}
