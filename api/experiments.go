package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

func (s *Server) listOutcomes(c echo.Context) error {
	list, err := s.svc.Outcomes(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]outcomeJSON, len(list))
	for i, o := range list {
		out[i] = toOutcomeJSON(o)
	}
	return c.JSON(http.StatusOK, map[string]any{"outcomes": out})
}

func (s *Server) getOutcome(c echo.Context) error {
	o, err := s.svc.Outcome(c.Request().Context(), param(c, "outcome"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toOutcomeJSON(o))
}

func (s *Server) createOutcome(c echo.Context) error {
	var req outcomeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	o, err := s.svc.CreateOutcome(c.Request().Context(), req.domain())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/outcomes/"+o.Key)
	return c.JSON(http.StatusCreated, toOutcomeJSON(o))
}

func (s *Server) createExperiment(c echo.Context) error {
	var req experimentRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, err := s.svc.CreateExperiment(c.Request().Context(), req.domain())
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/experiments/"+e.Key)
	return c.JSON(http.StatusCreated, toExperimentJSON(e))
}

func (s *Server) listExperiments(c echo.Context) error {
	list, err := s.svc.Experiments(c.Request().Context(), experiment.Status(c.QueryParam("status")))
	if err != nil {
		return err
	}
	out := make([]experimentJSON, len(list))
	for i, e := range list {
		out[i] = toExperimentJSON(e)
	}
	return c.JSON(http.StatusOK, map[string]any{"experiments": out})
}

func (s *Server) getExperiment(c echo.Context) error {
	e, err := s.svc.Experiment(c.Request().Context(), param(c, "key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExperimentJSON(e))
}

func (s *Server) patchExperiment(c echo.Context) error {
	var req patchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, err := s.svc.PatchExperiment(c.Request().Context(), param(c, "key"), req.domain())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExperimentJSON(e))
}

func (s *Server) startExperiment(c echo.Context) error {
	return s.lifecycle(c, s.svc.Start)
}

func (s *Server) stopExperiment(c echo.Context) error {
	return s.lifecycle(c, s.svc.Stop)
}

func (s *Server) lifecycle(c echo.Context, move func(ctx context.Context, key string) (experiment.Experiment, error)) error {
	if err := emptyOrObject(c); err != nil {
		return err
	}
	e, err := move(c.Request().Context(), param(c, "key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExperimentJSON(e))
}

// emptyOrObject accepts an empty body (also an empty chunked one) or an empty JSON object
// for action routes.
func emptyOrObject(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var none struct{}
	return unmarshalStrict(body, &none)
}

type decisionRequest struct {
	Arm    string `json:"arm"`
	Reason string `json:"reason"`
}

func (s *Server) decideExperiment(c echo.Context) error {
	var req decisionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, err := s.svc.Decide(c.Request().Context(), param(c, "key"), req.Arm, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toExperimentJSON(e))
}
