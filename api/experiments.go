package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

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
	return experimentResponse(c, http.StatusCreated, e)
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
	return experimentResponse(c, http.StatusOK, e)
}

// patchExperiment applies the patch to the experiment as stored; with If-Match (the ETag of
// a GET), only if nobody changed it since (412 otherwise).
func (s *Server) patchExperiment(c echo.Context) error {
	version, err := ifMatch(c)
	if err != nil {
		return err
	}
	var req patchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	e, err := s.svc.PatchExperiment(c.Request().Context(), param(c, "key"), req.domain(), version)
	if err != nil {
		return err
	}
	return experimentResponse(c, http.StatusOK, e)
}

// experimentResponse writes an experiment with its version as the ETag.
func experimentResponse(c echo.Context, status int, e experiment.Experiment) error {
	c.Response().Header().Set("ETag", etag(e))
	return c.JSON(status, toExperimentJSON(e))
}

func etag(e experiment.Experiment) string { return `"` + strconv.FormatInt(e.Version, 10) + `"` }

// ifMatch reads the version an If-Match header names: AnyVersion without the header or with
// "*". A weak or unknown tag names no stored version and so fails the condition (412).
func ifMatch(c echo.Context) (int64, error) {
	h := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if h == "" || h == "*" {
		return experiment.AnyVersion, nil
	}
	if strings.Contains(h, ",") {
		return 0, &experiment.Error{Code: experiment.Invalid, Message: "invalid If-Match",
			Details: []experiment.Detail{{Field: "If-Match", Message: "name one ETag, as read from GET"}}}
	}
	if v, err := strconv.ParseInt(strings.Trim(h, `"`), 10, 64); err == nil && v > 0 && h == `"`+strconv.FormatInt(v, 10)+`"` {
		return v, nil
	}
	return 0, &experiment.Error{Code: experiment.PreconditionFailed, Message: "If-Match names no version of this experiment",
		Details: []experiment.Detail{{Field: "If-Match", Message: "not an ETag of this API; read the experiment again"}}}
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
	return experimentResponse(c, http.StatusOK, e)
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
	return experimentResponse(c, http.StatusOK, e)
}
