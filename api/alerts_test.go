package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/experiment/postgres/pgtest"
	"github.com/krslab/krslab/experiment/webhook"
)

const alertSecret = "test-secret-of-at-least-16-chars"

// receiver is a webhook endpoint that fails its first request with 500 and accepts the
// rest, checking every signature.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	requests []receivedWebhook
}

type receivedWebhook struct {
	Delivery, Timestamp string
	SignatureOK         bool
	Body                webhook.Payload
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		got := receivedWebhook{Delivery: req.Header.Get("X-Krslab-Delivery"), Timestamp: req.Header.Get("X-Krslab-Timestamp"),
			SignatureOK: webhook.Verify(alertSecret, body, req.Header.Get("X-Krslab-Signature"))}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got.Body); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		r.mu.Lock()
		r.requests = append(r.requests, got)
		n := len(r.requests)
		r.mu.Unlock()
		if !got.SignatureOK {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if n <= failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []receivedWebhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedWebhook(nil), r.requests...)
}

// syncBuffer collects the worker's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWorker runs a webhook worker of policy with fast retries until stop is called or
// the test ends.
func startWorker(t *testing.T, logs io.Writer, policy experiment.WebhookPolicy) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w := webhook.NewWorker(pgtest.Store(t), webhook.Options{Policy: policy,
		Poll: 20 * time.Millisecond, Backoff: 100 * time.Millisecond, Timeout: 2 * time.Second,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	go func() { defer close(done); w.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

type alertReply struct {
	ID         int64   `json:"id"`
	Experiment string  `json:"experiment"`
	ResponseID string  `json:"response_id"`
	CustomerID string  `json:"customer_id"`
	Outcome    string  `json:"outcome"`
	Value      float64 `json:"value"`
	Rule       string  `json:"rule"`
	Status     string  `json:"status"`
	ResolvedBy *string `json:"resolved_by"`
	Note       *string `json:"note"`
	Delivery   *struct {
		ID             int64   `json:"id"`
		Status         string  `json:"status"`
		Attempts       int     `json:"attempts"`
		LastStatusCode *int    `json:"last_status_code"`
		LastClass      *string `json:"last_class"`
		LastError      *string `json:"last_error"`
	} `json:"delivery"`
	Attempts []struct {
		Attempt    int     `json:"attempt"`
		StatusCode *int    `json:"status_code"`
		Class      string  `json:"class"`
		Error      *string `json:"error"`
		DurationMS float64 `json:"duration_ms"`
	} `json:"attempts"`
}

func (e *env) alerts(query string) []alertReply {
	e.t.Helper()
	var out struct{ Alerts []alertReply }
	e.must(http.StatusOK, analyst, "GET", "/v1/alerts?"+query, nil).json(e.t, &out)
	return out.Alerts
}

// TestAlertsCloseTheLoop is the acceptance test: a detractor answer produces exactly one
// alert and one signed webhook delivery, retried once because the receiver fails first;
// replays and promoters raise nothing; resolving is audited; erasure removes the alert.
func TestAlertsCloseTheLoop(t *testing.T) {
	e := newEnv(t)
	e.svc.Webhooks = allowLoopback(t) // the receiver is an httptest server
	const key = "alerts-nps"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"nps", "krs"}, "primary_outcome": "nps"})
	rcv := newReceiver(t, 1)
	rulesPath := "/v1/experiments/" + key + "/alert-rules"

	// Refused rules: every problem at once.
	r := e.must(http.StatusUnprocessableEntity, editor, "PUT", rulesPath, map[string]any{
		"rules": []map[string]any{{"outcome": "krs", "op": "<=", "value": 40}, {"outcome": "ces", "op": "<=", "value": 3},
			{"outcome": "nps", "op": "=<", "value": 6}, {"outcome": "nps", "op": "<=", "value": 6}, {"outcome": "nps", "op": "<=", "value": 6}},
		"webhook": map[string]any{"url": "ftp://cx.example.com/x", "secret": "short"}})
	_, details := r.errorBody(t)
	fields := map[string]bool{}
	for _, d := range details {
		fields[d.Field] = true
	}
	for _, f := range []string{"rules[0].outcome", "rules[1].outcome", "rules[2].op", "rules[4]", "webhook.url", "webhook.secret"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s: %s", f, r.Body)
		}
	}
	e.must(http.StatusUnprocessableEntity, editor, "PUT", rulesPath, map[string]any{
		"rules": []map[string]any{{"outcome": "nps", "op": "<="}}})
	e.must(http.StatusBadRequest, editor, "PUT", rulesPath, map[string]any{"rules": []any{}, "colour": "red"})
	e.must(http.StatusForbidden, ingest, "PUT", rulesPath, map[string]any{"rules": []any{}})

	rules := map[string]any{
		"rules":   []map[string]any{{"outcome": "nps", "op": "<=", "value": 6}, {"outcome": "trust", "op": "<=", "value": 2}},
		"webhook": map[string]any{"url": rcv.srv.URL + "/hook?token=abc", "secret": alertSecret},
	}
	r = e.must(http.StatusOK, editor, "PUT", rulesPath, rules)
	var stored struct {
		Rules []struct {
			ID      int64
			Outcome string
		}
		Webhook struct {
			URL               string
			SecretFingerprint string `json:"secret_fingerprint"`
		}
	}
	r.json(t, &stored)
	if strings.Contains(string(r.Body), alertSecret) {
		t.Fatal("the secret is returned")
	}
	if len(stored.Rules) != 2 || stored.Rules[0].Outcome != "nps" || stored.Webhook.SecretFingerprint != (experiment.Webhook{Secret: alertSecret}).Fingerprint() {
		t.Fatalf("stored rules: %s", r.Body)
	}
	// Given again without the secret: the rules keep their ids, the secret stays.
	rules["webhook"] = map[string]any{"url": rcv.srv.URL + "/hook?token=abc"}
	again := e.must(http.StatusOK, editor, "PUT", rulesPath, rules)
	if !bytes.Equal(again.Body, r.Body) {
		t.Errorf("PUT again changed the rules:\n%s\n%s", r.Body, again.Body)
	}
	if got := e.must(http.StatusOK, analyst, "GET", rulesPath, nil); !bytes.Equal(got.Body, r.Body) {
		t.Errorf("GET %s, want %s", got.Body, r.Body)
	}
	audit := e.must(http.StatusOK, admin, "GET", "/v1/audit?experiment="+key, nil)
	if !strings.Contains(string(audit.Body), "experiment.alert_rules") || strings.Contains(string(audit.Body), alertSecret) {
		t.Errorf("alert rules audit: %s", audit.Body)
	}

	assign(t, e, key, "cust-detractor", "cust-promoter")
	detractor := map[string]any{"response_id": "survey-1", "customer_id": "cust-detractor", "answered_at": "2026-03-02T09:14:00Z",
		"answers": map[string]any{"nps": 3, "trust": 5, "satisfaction": 4, "love": 4}}
	respPath := "/v1/experiments/" + key + "/responses"
	e.must(http.StatusCreated, ingest, "POST", respPath, detractor)
	e.must(http.StatusCreated, ingest, "POST", respPath, map[string]any{"response_id": "survey-2", "customer_id": "cust-promoter",
		"answered_at": "2026-03-02T09:15:00Z", "answers": map[string]any{"nps": 10, "trust": 6}})
	e.must(http.StatusOK, ingest, "POST", respPath, detractor) // a replay

	open := e.alerts("experiment=" + key + "&status=open")
	if len(open) != 1 {
		t.Fatalf("%d open alerts, want 1: %+v", len(open), open)
	}
	a := open[0]
	if a.CustomerID != "cust-detractor" || a.ResponseID != "survey-1" || a.Outcome != "nps" || a.Value != 3 ||
		a.Rule != "nps <= 6" || a.Status != "open" || a.Delivery == nil || a.Delivery.Status != "pending" {
		t.Fatalf("alert %+v", a)
	}

	logs := &syncBuffer{}
	startWorker(t, logs, e.svc.Webhooks)
	id := strconv.FormatInt(a.ID, 10)
	var detail alertReply
	deadline := time.Now().Add(15 * time.Second)
	for {
		e.must(http.StatusOK, analyst, "GET", "/v1/alerts/"+id, nil).json(t, &detail)
		if detail.Delivery.Status != "pending" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if detail.Delivery.Status != "delivered" || detail.Delivery.Attempts != 2 || len(detail.Attempts) != 2 {
		t.Fatalf("delivery after the receiver failed once: %+v %+v", detail.Delivery, detail.Attempts)
	}
	if c := detail.Attempts[0].StatusCode; c == nil || *c != 500 || detail.Attempts[0].Class != "5xx" || detail.Attempts[0].Error != nil {
		t.Errorf("first attempt %+v", detail.Attempts[0])
	}
	if c := detail.Attempts[1].StatusCode; c == nil || *c != 204 || detail.Attempts[1].Class != "2xx" || detail.Attempts[1].Error != nil {
		t.Errorf("second attempt %+v", detail.Attempts[1])
	}
	if d := detail.Delivery; d.LastClass == nil || *d.LastClass != "2xx" || d.LastError != nil {
		t.Errorf("delivery %+v", d)
	}
	var asAdmin alertReply
	e.must(http.StatusOK, admin, "GET", "/v1/alerts/"+id, nil).json(t, &asAdmin)
	if x := asAdmin.Attempts[0].Error; x == nil || *x != "HTTP 500" {
		t.Errorf("first attempt as an admin sees it %+v", asAdmin.Attempts[0])
	}
	time.Sleep(300 * time.Millisecond) // longer than the backoff: nothing more is sent
	got := rcv.received()
	if len(got) != 2 {
		t.Fatalf("the receiver got %d requests, want 2", len(got))
	}
	for i, w := range got {
		if !w.SignatureOK || w.Delivery != strconv.FormatInt(detail.Delivery.ID, 10) || w.Timestamp == "" {
			t.Errorf("request %d: %+v", i+1, w)
		}
		b := w.Body
		if b.AlertID != a.ID || b.Experiment != key || b.CustomerID != "cust-detractor" || b.ResponseID != "survey-1" ||
			b.Outcome != "nps" || b.Value != 3 || b.Rule != "nps <= 6" || b.Attempt != i+1 ||
			!b.AnsweredAt.Equal(time.Date(2026, 3, 2, 9, 14, 0, 0, time.UTC)) || strconv.FormatInt(b.SentAt.Unix(), 10) != w.Timestamp {
			t.Errorf("request %d body %+v", i+1, b)
		}
	}
	if strings.Contains(logs.String(), "cust-detractor") || strings.Contains(logs.String(), "token=abc") {
		t.Errorf("the worker logged a customer id or the URL: %s", logs)
	}
	if !strings.Contains(logs.String(), "webhook delivered") {
		t.Errorf("no delivery logged: %s", logs)
	}

	// A replay after delivery still raises nothing.
	e.must(http.StatusOK, ingest, "POST", respPath, detractor)
	if all := e.alerts("experiment=" + key); len(all) != 1 {
		t.Errorf("%d alerts after a replay, want 1", len(all))
	}

	// Resolve: editors and admins, once, audited.
	e.must(http.StatusForbidden, analyst, "POST", "/v1/alerts/"+id+"/resolve", nil)
	e.must(http.StatusNotFound, editor, "POST", "/v1/alerts/999999/resolve", nil)
	e.must(http.StatusUnprocessableEntity, editor, "POST", "/v1/alerts/abc/resolve", nil)
	var resolved alertReply
	e.must(http.StatusOK, editor, "POST", "/v1/alerts/"+id+"/resolve", map[string]any{"note": "Called back; fee refunded."}).json(t, &resolved)
	if resolved.Status != "resolved" || resolved.Note == nil || *resolved.Note != "Called back; fee refunded." || resolved.ResolvedBy == nil {
		t.Errorf("resolved %+v", resolved)
	}
	r = e.must(http.StatusConflict, admin, "POST", "/v1/alerts/"+id+"/resolve", nil)
	if code, _ := r.errorBody(t); code != "conflict" {
		t.Errorf("second resolve: %s", r.Body)
	}
	if n := len(e.alerts("experiment=" + key + "&status=open")); n != 0 {
		t.Errorf("%d open alerts after resolving", n)
	}
	if n := len(e.alerts("experiment=" + key + "&status=resolved")); n != 1 {
		t.Errorf("%d resolved alerts, want 1", n)
	}
	var auditLog struct {
		Audit []struct {
			Action, Subject, Actor string
			Diff                   map[string]any
		}
	}
	e.must(http.StatusOK, admin, "GET", "/v1/audit?experiment="+key, nil).json(t, &auditLog)
	if len(auditLog.Audit) == 0 || auditLog.Audit[0].Action != "alert.resolve" || auditLog.Audit[0].Subject != id ||
		auditLog.Audit[0].Diff["note"] != "Called back; fee refunded." {
		t.Errorf("resolve not audited: %+v", auditLog.Audit)
	}

	// Bad queries.
	e.must(http.StatusUnprocessableEntity, analyst, "GET", "/v1/alerts?status=closed", nil)
	e.must(http.StatusUnprocessableEntity, analyst, "GET", "/v1/alerts?colour=red", nil)
	e.must(http.StatusNotFound, analyst, "GET", "/v1/alerts?experiment=no-such", nil)
	e.must(http.StatusForbidden, ingest, "GET", "/v1/alerts", nil)

	// Erasure takes the alert, its delivery and the delivery log with the responses.
	e.must(http.StatusOK, admin, "DELETE", "/v1/customers/cust-detractor", nil)
	if n := len(e.alerts("experiment=" + key)); n != 0 {
		t.Errorf("%d alerts after erasure, want 0", n)
	}
	e.must(http.StatusNotFound, analyst, "GET", "/v1/alerts/"+id, nil)
	var left int
	if err := pgtest.Store(t).DB().Get(&left, `SELECT (SELECT count(*) FROM webhook_deliveries WHERE alert_id = $1)
		+ (SELECT count(*) FROM webhook_attempts WHERE delivery_id = $2)`, a.ID, detail.Delivery.ID); err != nil || left != 0 {
		t.Errorf("%d deliveries or attempts left after erasure (%v)", left, err)
	}
}

// TestAlertsWithoutWebhook: alerts are recorded without a webhook, with no delivery.
func TestAlertsWithoutWebhook(t *testing.T) {
	e := newEnv(t)
	const key = "alerts-no-hook"
	e.createRunning(key, map[string]any{"arms": threeArms(), "outcomes": []string{"trust"}, "primary_outcome": "trust"})
	e.must(http.StatusOK, admin, "PUT", "/v1/experiments/"+key+"/alert-rules", map[string]any{
		"rules": []map[string]any{{"outcome": "trust", "op": "<=", "value": 2}}})
	// A webhook without a secret needs a stored one.
	e.must(http.StatusUnprocessableEntity, editor, "PUT", "/v1/experiments/"+key+"/alert-rules", map[string]any{
		"rules": []any{}, "webhook": map[string]any{"url": "https://cx.example.com/hook"}})
	assign(t, e, key, "c1", "c2")
	e.must(http.StatusCreated, ingest, "POST", "/v1/experiments/"+key+"/responses:batch", map[string]any{"responses": []map[string]any{
		{"response_id": "r1", "customer_id": "c1", "answered_at": "2026-03-02T09:00:00Z", "answers": map[string]any{"trust": 1}},
		{"response_id": "r2", "customer_id": "c2", "answered_at": "2026-03-02T09:00:00Z", "answers": map[string]any{"trust": 3}},
	}})
	got := e.alerts("experiment=" + key)
	if len(got) != 1 || got[0].CustomerID != "c1" || got[0].Delivery != nil {
		t.Fatalf("alerts %+v", got)
	}
	r := e.must(http.StatusOK, analyst, "GET", "/v1/experiments/"+key+"/alert-rules", nil)
	if !strings.Contains(string(r.Body), `"webhook":null`) {
		t.Errorf("rules without webhook: %s", r.Body)
	}
}
