package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/krslab/krslab/experiment"
)

// Closing the loop: alert rules per experiment, alerts and their webhook deliveries.

type alertRuleJSON struct {
	ID      int64   `json:"id"`
	Outcome string  `json:"outcome"`
	Op      string  `json:"op"`
	Value   float64 `json:"value"`
}

type webhookJSON struct {
	URL               string `json:"url"`
	SecretFingerprint string `json:"secret_fingerprint"`
}

type alertRulesJSON struct {
	Experiment string          `json:"experiment"`
	Rules      []alertRuleJSON `json:"rules"`
	Webhook    *webhookJSON    `json:"webhook"`
}

func toAlertRulesJSON(e experiment.Experiment, r experiment.AlertRules) alertRulesJSON {
	out := alertRulesJSON{Experiment: e.Key, Rules: make([]alertRuleJSON, len(r.Rules))}
	for i, x := range r.Rules {
		out.Rules[i] = alertRuleJSON{ID: x.ID, Outcome: x.Outcome, Op: x.Op, Value: x.Value}
	}
	if r.Webhook != nil {
		// Never the secret itself.
		out.Webhook = &webhookJSON{URL: r.Webhook.URL, SecretFingerprint: r.Webhook.Fingerprint()}
	}
	return out
}

type alertRuleRequest struct {
	Outcome string   `json:"outcome"`
	Op      string   `json:"op"`
	Value   *float64 `json:"value"`
}

type webhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

type alertRulesRequest struct {
	Rules   []alertRuleRequest `json:"rules"`
	Webhook *webhookRequest    `json:"webhook"`
}

// getAlertRules: GET /v1/experiments/{key}/alert-rules.
func (s *Server) getAlertRules(c echo.Context) error {
	e, r, err := s.svc.AlertRules(c.Request().Context(), param(c, "key"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAlertRulesJSON(e, r))
}

// putAlertRules: PUT /v1/experiments/{key}/alert-rules replaces the rules and the webhook.
func (s *Server) putAlertRules(c echo.Context) error {
	var req alertRulesRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var p experiment.Problems
	if req.Rules == nil {
		p.Field("rules", "is required (an empty list removes every rule)")
	}
	in := experiment.AlertRules{Rules: make([]experiment.AlertRule, len(req.Rules))}
	for i, r := range req.Rules {
		in.Rules[i] = experiment.AlertRule{Outcome: r.Outcome, Op: r.Op}
		if r.Value == nil {
			p.Field("rules["+strconv.Itoa(i)+"].value", "is required")
			continue
		}
		in.Rules[i].Value = *r.Value
	}
	if err := p.Err("invalid alert rules"); err != nil {
		return err
	}
	if req.Webhook != nil {
		in.Webhook = &experiment.Webhook{URL: req.Webhook.URL, Secret: req.Webhook.Secret}
	}
	e, r, err := s.svc.SetAlertRules(c.Request().Context(), param(c, "key"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAlertRulesJSON(e, r))
}

type deliveryJSON struct {
	ID             int64                     `json:"id"`
	Status         experiment.DeliveryStatus `json:"status"`
	Attempts       int                       `json:"attempts"`
	NextAttemptAt  *time.Time                `json:"next_attempt_at"`
	DeliveredAt    *time.Time                `json:"delivered_at"`
	LastStatusCode *int                      `json:"last_status_code"`
	LastClass      *string                   `json:"last_class"`
	LastError      *string                   `json:"last_error"` // admins only
}

type alertJSON struct {
	ID         int64                  `json:"id"`
	Experiment string                 `json:"experiment"`
	ResponseID string                 `json:"response_id"`
	CustomerID string                 `json:"customer_id"`
	Outcome    string                 `json:"outcome"`
	Value      float64                `json:"value"`
	RuleID     int64                  `json:"rule_id"`
	Rule       string                 `json:"rule"`
	AnsweredAt time.Time              `json:"answered_at"`
	RaisedAt   time.Time              `json:"raised_at"`
	Status     experiment.AlertStatus `json:"status"`
	ResolvedAt *time.Time             `json:"resolved_at"`
	ResolvedBy *string                `json:"resolved_by"`
	Note       *string                `json:"note"`
	Delivery   *deliveryJSON          `json:"delivery"`
}

type attemptJSON struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"`
	Class      string    `json:"class"`
	Error      *string   `json:"error"` // admins only
	DurationMS float64   `json:"duration_ms"`
}

type alertDetailJSON struct {
	alertJSON
	Attempts []attemptJSON `json:"attempts"`
}

func nonZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// errorDetail is an attempt's error as the caller may read it: only admins see the text,
// which can tell of the network krslab runs in (an address, a port, whether something
// listens there); everyone else has its class.
func errorDetail(c echo.Context, text string) *string {
	if key, _ := authenticated(c); key.Role != experiment.RoleAdmin {
		return nil
	}
	return nonZero(text)
}

func toAlertJSON(c echo.Context, a experiment.Alert) alertJSON {
	out := alertJSON{ID: a.ID, Experiment: a.Experiment, ResponseID: a.ResponseID, CustomerID: a.CustomerID,
		Outcome: a.Outcome, Value: a.Value, RuleID: a.RuleID, Rule: a.Rule().String(), AnsweredAt: a.AnsweredAt,
		RaisedAt: a.RaisedAt, Status: a.Status, ResolvedAt: a.ResolvedAt, ResolvedBy: nonZero(a.ResolvedBy),
		Note: nonZero(a.Note)}
	if d := a.Delivery; d != nil {
		out.Delivery = &deliveryJSON{ID: d.ID, Status: d.Status, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt,
			DeliveredAt: d.DeliveredAt, LastStatusCode: nonZero(d.LastStatusCode), LastClass: nonZero(d.LastClass()),
			LastError: errorDetail(c, d.LastError)}
	}
	return out
}

// listAlerts: GET /v1/alerts?experiment=K&status=open|resolved&limit=N, newest first.
func (s *Server) listAlerts(c echo.Context) error {
	var p experiment.Problems
	checkQuery(c, &p, "experiment", "status", "limit")
	limit := limitQuery(c, &p, experiment.DefaultAlertsLimit)
	if err := p.Err("invalid query"); err != nil {
		return err
	}
	list, err := s.svc.Alerts(c.Request().Context(), c.QueryParam("experiment"),
		experiment.AlertStatus(c.QueryParam("status")), limit)
	if err != nil {
		return err
	}
	out := make([]alertJSON, len(list))
	for i, a := range list {
		out[i] = toAlertJSON(c, a)
	}
	return c.JSON(http.StatusOK, map[string]any{"alerts": out})
}

func alertID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(param(c, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &experiment.Error{Code: experiment.Invalid, Message: "invalid alert id",
			Details: []experiment.Detail{{Field: "id", Message: "must be a positive integer"}}}
	}
	return id, nil
}

// getAlert: GET /v1/alerts/{id}, with the delivery log.
func (s *Server) getAlert(c echo.Context) error {
	id, err := alertID(c)
	if err != nil {
		return err
	}
	a, attempts, err := s.svc.Alert(c.Request().Context(), id)
	if err != nil {
		return err
	}
	out := alertDetailJSON{alertJSON: toAlertJSON(c, a), Attempts: make([]attemptJSON, len(attempts))}
	for i, x := range attempts {
		out.Attempts[i] = attemptJSON{Attempt: x.Attempt, At: x.At, StatusCode: nonZero(x.StatusCode),
			Class: x.Class(), Error: errorDetail(c, x.Error), DurationMS: float64(x.Duration.Microseconds()) / 1000}
	}
	return c.JSON(http.StatusOK, out)
}

type resolveRequest struct {
	Note string `json:"note"`
}

// resolveAlert: POST /v1/alerts/{id}/resolve with an optional {note}.
func (s *Server) resolveAlert(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return bodyReadError(err)
	}
	var req resolveRequest
	if len(bytes.TrimSpace(body)) > 0 {
		if err := unmarshalStrict(body, &req); err != nil {
			return err
		}
	}
	id, err := alertID(c)
	if err != nil {
		return err
	}
	a, err := s.svc.ResolveAlert(c.Request().Context(), id, req.Note)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAlertJSON(c, a))
}
