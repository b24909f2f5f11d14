package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

type auditJSON struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Diff    json.RawMessage `json:"diff"`
}

// audit lists the audit log (admin): GET /v1/audit?experiment=K&limit=N.
func (s *Server) audit(c echo.Context) error {
	var p experiment.Problems
	checkQuery(c, &p, "experiment", "limit")
	limit := limitQuery(c, &p, 100)
	if err := p.Err("invalid query"); err != nil {
		return err
	}
	entries, err := s.svc.Audit(c.Request().Context(), c.QueryParam("experiment"), limit)
	if err != nil {
		return err
	}
	out := make([]auditJSON, len(entries))
	for i, a := range entries {
		diff, _ := a.Diff.(json.RawMessage)
		out[i] = auditJSON{ID: a.ID, At: a.At, Actor: a.Actor, Action: a.Action, Subject: a.Subject, Diff: diff}
	}
	return c.JSON(http.StatusOK, map[string]any{"audit": out})
}

// eraseCustomer is the right to be forgotten (admin): DELETE /v1/customers/{customer_id}.
func (s *Server) eraseCustomer(c echo.Context) error {
	report, err := s.svc.EraseCustomer(c.Request().Context(), param(c, "customer"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"erased": true, "erasure": report.ID, "experiments": report.Experiments,
		"responses": report.Responses, "covariates": report.Covariates, "attributes": report.Attributes})
}
