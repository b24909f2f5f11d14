package experiment

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Closing the loop: an experiment may carry alert rules on answers (nps <= 6, trust <= 2)
// and a webhook. A response that matches a rule raises an alert, and the alert is posted,
// signed, to the webhook, so that the CX team can call the customer back. The store raises
// alerts in the same transaction as the answers (a trigger in PostgreSQL), so an
// acknowledged response never loses its alert and a replay never raises a second one; the
// WebhookWorker of `krslab serve` delivers them.

// Limits of alert rules.
const (
	MaxAlertRules      = 50
	MinWebhookSecret   = 16
	MaxWebhookSecret   = 256
	MaxWebhookURL      = 2048
	MaxAlertNote       = 4000
	DefaultAlertsLimit = 100
)

// AlertOps are the comparisons a rule may make between an answer and its threshold.
var AlertOps = []string{"<=", ">=", "==", "<", ">"}

// AlertRule raises an alert for every answer of Outcome that compares to Value with Op.
type AlertRule struct {
	ID      int64 // assigned by the store; a rule stored again unchanged keeps its id
	Outcome string
	Op      string
	Value   float64
}

// String reads like the rule: "nps <= 6".
func (r AlertRule) String() string { return fmt.Sprintf("%s %s %g", r.Outcome, r.Op, r.Value) }

// Matches reports whether an answer v raises the rule.
func (r AlertRule) Matches(v float64) bool {
	switch r.Op {
	case "<=":
		return v <= r.Value
	case ">=":
		return v >= r.Value
	case "==":
		return v == r.Value
	case "<":
		return v < r.Value
	case ">":
		return v > r.Value
	}
	return false
}

// Webhook is where alerts are posted, and the secret that signs them.
type Webhook struct {
	URL    string
	Secret string
}

// Fingerprint identifies the secret without revealing it: "sha256:" and the first 12 hex
// digits of its SHA-256.
func (w Webhook) Fingerprint() string {
	sum := sha256.Sum256([]byte(w.Secret))
	return "sha256:" + hex.EncodeToString(sum[:6])
}

// AlertRules are an experiment's rules and its webhook (nil: alerts are recorded, not
// posted).
type AlertRules struct {
	ExperimentID int64
	Rules        []AlertRule
	Webhook      *Webhook
}

// AlertStatus is open until someone resolves the alert.
type AlertStatus string

// The alert states.
const (
	AlertOpen     AlertStatus = "open"
	AlertResolved AlertStatus = "resolved"
)

// DeliveryStatus is the state of an alert's webhook delivery.
type DeliveryStatus string

// The delivery states.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryFailed    DeliveryStatus = "failed"
)

// Alert is one response that matched one rule. The rule is the one in force when the alert
// was raised (Outcome, Op, Threshold), also after the rules change.
type Alert struct {
	ID           int64
	ExperimentID int64
	Experiment   string // key
	ResponseID   string
	CustomerID   string
	RuleID       int64
	Outcome      string
	Op           string
	Threshold    float64
	Value        float64
	AnsweredAt   time.Time
	RaisedAt     time.Time
	Status       AlertStatus
	ResolvedAt   *time.Time
	ResolvedBy   string
	Note         string
	Delivery     *Delivery // nil when the experiment had no webhook
}

// Rule is the rule that raised the alert.
func (a Alert) Rule() AlertRule {
	return AlertRule{ID: a.RuleID, Outcome: a.Outcome, Op: a.Op, Value: a.Threshold}
}

// Delivery is the state of an alert's webhook delivery.
type Delivery struct {
	ID             int64
	Status         DeliveryStatus
	Attempts       int
	NextAttemptAt  *time.Time // while pending
	DeliveredAt    *time.Time
	LastStatusCode int // 0: no HTTP answer
	LastError      string
}

// DeliveryAttempt is one line of the delivery log.
type DeliveryAttempt struct {
	Attempt    int
	At         time.Time
	StatusCode int // 0: no HTTP answer
	Error      string
	Duration   time.Duration
}

// AlertFilter selects alerts: of one experiment (0: all) and status ("": both), newest
// first.
type AlertFilter struct {
	ExperimentID int64
	Status       AlertStatus
	Limit        int
}

// PendingDelivery is a delivery claimed by a worker, with what it must post.
type PendingDelivery struct {
	ID      int64
	Attempt int // the number of this attempt, from 1
	Alert   Alert
	URL     string // "" when the experiment's webhook was removed
	Secret  string
}

// AlertStore is what alerts need from a Store beyond the Store interface. The postgres
// Store implements it; the service and the worker find it by a type assertion.
type AlertStore interface {
	// AlertRules returns an experiment's rules (by id) and webhook, secret included.
	AlertRules(ctx context.Context, experimentID int64) (AlertRules, error)
	// SetAlertRules replaces the rules and the webhook in one transaction with the audit
	// entry; rules stored before unchanged keep their id. It returns what is stored.
	SetAlertRules(ctx context.Context, r AlertRules, audit AuditEntry) (AlertRules, error)
	// Alerts lists alerts with their delivery state, newest first.
	Alerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// Alert returns one alert and its delivery log, oldest attempt first.
	Alert(ctx context.Context, id int64) (Alert, []DeliveryAttempt, error)
	// ResolveAlert resolves an open alert (Conflict when it is resolved already) in one
	// transaction with the audit entry, whose ExperimentID it sets.
	ResolveAlert(ctx context.Context, id int64, note, by string, at time.Time, audit AuditEntry) (Alert, error)
	// ClaimDeliveries takes up to limit due pending deliveries that no one else holds
	// (FOR UPDATE SKIP LOCKED), counts the attempt and hides them from other workers for
	// lease.
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]PendingDelivery, error)
	// RecordDeliveryAttempt logs an attempt and sets the delivery's status; a pending
	// delivery is due again after retryIn. A delivery that no longer exists (erased) is
	// ignored.
	RecordDeliveryAttempt(ctx context.Context, d PendingDelivery, a DeliveryAttempt, status DeliveryStatus, retryIn time.Duration) error
}

func (s *Service) alertStore() (AlertStore, error) {
	as, ok := s.Store.(AlertStore)
	if !ok {
		return nil, &Error{Code: Internal, Message: "internal error", Cause: fmt.Errorf("store %T keeps no alerts", s.Store)}
	}
	return as, nil
}

// AlertRules returns an experiment's alert rules and webhook (secret included: the API
// shows only its fingerprint).
func (s *Service) AlertRules(ctx context.Context, key string) (Experiment, AlertRules, error) {
	as, err := s.alertStore()
	if err != nil {
		return Experiment{}, AlertRules{}, err
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return Experiment{}, AlertRules{}, err
	}
	r, err := as.AlertRules(ctx, e.ID)
	return e, r, err
}

// SetAlertRules validates and replaces an experiment's alert rules and webhook. A webhook
// without a secret keeps the stored one; no webhook removes it (alerts are then recorded but
// not posted). Rules apply to responses stored from now on, never to earlier ones.
func (s *Service) SetAlertRules(ctx context.Context, key string, in AlertRules) (Experiment, AlertRules, error) {
	as, err := s.alertStore()
	if err != nil {
		return Experiment{}, AlertRules{}, err
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return Experiment{}, AlertRules{}, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return Experiment{}, AlertRules{}, err
	}
	var p Problems
	checkAlertRules(&p, in.Rules, AnswerKeys(e, outcomes), outcomes)
	if w := in.Webhook; w != nil {
		if msg := checkWebhookURL(w.URL); msg != "" {
			p.Field("webhook.url", "%s", msg)
		}
		if w.Secret == "" {
			stored, err := as.AlertRules(ctx, e.ID)
			if err != nil {
				return Experiment{}, AlertRules{}, err
			}
			if stored.Webhook == nil {
				p.Field("webhook.secret", "is required (%d to %d characters)", MinWebhookSecret, MaxWebhookSecret)
			} else {
				in.Webhook = &Webhook{URL: w.URL, Secret: stored.Webhook.Secret}
			}
		} else if msg := checkWebhookSecret(w.Secret); msg != "" {
			p.Field("webhook.secret", "%s", msg)
		}
	}
	if err := p.Err("invalid alert rules"); err != nil {
		return Experiment{}, AlertRules{}, err
	}
	in.ExperimentID = e.ID
	diff := map[string]any{"rules": ruleStrings(in.Rules), "webhook": nil}
	if in.Webhook != nil {
		// Never the secret: the audit log is readable by admins.
		diff["webhook"] = map[string]string{"url": in.Webhook.URL, "secret_fingerprint": in.Webhook.Fingerprint()}
	}
	stored, err := as.SetAlertRules(ctx, in, s.audit(ctx, "experiment.alert_rules", e.ID, e.Key, diff))
	return e, stored, err
}

func ruleStrings(rs []AlertRule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

func checkAlertRules(p *Problems, rules []AlertRule, allowed, outcomes map[string]Outcome) {
	if len(rules) > MaxAlertRules {
		p.Field("rules", "at most %d rules", MaxAlertRules)
	}
	seen := map[AlertRule]int{}
	for i, r := range rules {
		field := fmt.Sprintf("rules[%d]", i)
		switch o, known := outcomes[r.Outcome]; {
		case r.Outcome == "":
			p.Field(field+".outcome", "is required")
		case known && o.Kind == Composite:
			p.Field(field+".outcome", "%s is a composite, which is never answered; alert on its components %v", r.Outcome, o.Components)
		case !isAllowed(allowed, r.Outcome):
			p.Field(field+".outcome", "outcome %q is not answered in this experiment", r.Outcome)
		}
		if !validOp(r.Op) {
			p.Field(field+".op", "must be one of <=, >=, ==, <, >")
		}
		if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			p.Field(field+".value", "must be a finite number")
		}
		k := AlertRule{Outcome: r.Outcome, Op: r.Op, Value: r.Value}
		if j, dup := seen[k]; dup {
			p.Field(field, "duplicates rules[%d]", j)
		} else {
			seen[k] = i
		}
	}
}

func isAllowed(allowed map[string]Outcome, key string) bool {
	_, ok := allowed[key]
	return ok
}

func validOp(op string) bool {
	for _, o := range AlertOps {
		if o == op {
			return true
		}
	}
	return false
}

func checkWebhookURL(raw string) string {
	if raw == "" {
		return "is required"
	}
	if len(raw) > MaxWebhookURL {
		return fmt.Sprintf("at most %d characters", MaxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "must be an absolute http or https URL"
	}
	if u.User != nil {
		return "must not carry user information; the signature authenticates krslab"
	}
	if u.Fragment != "" {
		return "must not have a fragment"
	}
	return ""
}

func checkWebhookSecret(secret string) string {
	n := utf8.RuneCountInString(secret)
	if !utf8.ValidString(secret) || n < MinWebhookSecret || n > MaxWebhookSecret {
		return fmt.Sprintf("must be %d to %d characters", MinWebhookSecret, MaxWebhookSecret)
	}
	for _, r := range secret {
		if !unicode.IsPrint(r) {
			return "must contain printable characters only"
		}
	}
	return ""
}

// Alerts lists alerts, newest first: of one experiment (by key) or of all, open, resolved or
// both.
func (s *Service) Alerts(ctx context.Context, key string, status AlertStatus, limit int) ([]Alert, error) {
	as, err := s.alertStore()
	if err != nil {
		return nil, err
	}
	var p Problems
	if status != "" && status != AlertOpen && status != AlertResolved {
		p.Field("status", "must be open or resolved")
	}
	if limit <= 0 || limit > 1000 {
		p.Field("limit", "must be from 1 to 1000")
	}
	if err := p.Err("invalid query"); err != nil {
		return nil, err
	}
	f := AlertFilter{Status: status, Limit: limit}
	if key != "" {
		e, err := s.Store.Experiment(ctx, key)
		if err != nil {
			return nil, err
		}
		f.ExperimentID = e.ID
	}
	return as.Alerts(ctx, f)
}

// Alert returns one alert with its delivery log.
func (s *Service) Alert(ctx context.Context, id int64) (Alert, []DeliveryAttempt, error) {
	as, err := s.alertStore()
	if err != nil {
		return Alert{}, nil, err
	}
	return as.Alert(ctx, id)
}

// ResolveAlert marks an open alert resolved, with an optional note (what was done), audited.
func (s *Service) ResolveAlert(ctx context.Context, id int64, note string) (Alert, error) {
	as, err := s.alertStore()
	if err != nil {
		return Alert{}, err
	}
	if !utf8.ValidString(note) || utf8.RuneCountInString(note) > MaxAlertNote {
		return Alert{}, &Error{Code: Invalid, Message: "invalid note",
			Details: []Detail{{Field: "note", Message: fmt.Sprintf("at most %d characters of valid UTF-8", MaxAlertNote)}}}
	}
	by := ActorFrom(ctx)
	audit := s.audit(ctx, "alert.resolve", 0, strconv.FormatInt(id, 10), map[string]any{"alert": id, "note": note})
	return as.ResolveAlert(ctx, id, note, by, s.Now(), audit)
}

// SignWebhook is the X-Krslab-Signature of a webhook body: "sha256=" and the hex
// HMAC-SHA256 of the body with the webhook's secret.
func SignWebhook(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a signature in constant time, for receivers written in Go.
func VerifyWebhook(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(SignWebhook(secret, body)), []byte(signature))
}

// WebhookPayload is the JSON body of a webhook. It names the customer: that is its point.
type WebhookPayload struct {
	AlertID    int64     `json:"alert_id"`
	DeliveryID int64     `json:"delivery_id"`
	Attempt    int       `json:"attempt"`
	Experiment string    `json:"experiment"`
	CustomerID string    `json:"customer_id"`
	ResponseID string    `json:"response_id"`
	Outcome    string    `json:"outcome"`
	Value      float64   `json:"value"`
	Rule       string    `json:"rule"`
	AnsweredAt time.Time `json:"answered_at"`
	RaisedAt   time.Time `json:"raised_at"`
	SentAt     time.Time `json:"sent_at"`
}

// WebhookOptions tune the WebhookWorker; zero values take the defaults.
type WebhookOptions struct {
	Client      *http.Client  // default: no redirects followed, Timeout per attempt
	Timeout     time.Duration // per attempt, default 10 s
	Poll        time.Duration // how often due deliveries are looked for, default 1 s
	Backoff     time.Duration // wait before the first retry, doubled each time; default 1 s
	MaxBackoff  time.Duration // default 10 min
	MaxAttempts int           // then the delivery fails; default 8
	Batch       int           // deliveries claimed (and posted concurrently) per poll, default 16
	Logger      *slog.Logger
	Now         func() time.Time
}

// WebhookWorker posts pending alert deliveries to their webhooks: at least once, signed,
// retried with exponential backoff, every attempt logged. Any number of workers (one per
// `krslab serve`) may run on one database: a delivery is claimed by one at a time.
type WebhookWorker struct {
	store AlertStore
	opt   WebhookOptions
}

// NewWebhookWorker returns a worker over store.
func NewWebhookWorker(store AlertStore, opt WebhookOptions) *WebhookWorker {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Backoff <= 0 {
		opt.Backoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.Batch <= 0 {
		opt.Batch = 16
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = func() time.Time { return time.Now().UTC() }
	}
	if opt.Client == nil {
		opt.Client = &http.Client{
			Timeout: opt.Timeout,
			// A redirect would turn the POST into a GET elsewhere: it counts as a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &WebhookWorker{store: store, opt: opt}
}

// lease is how long a claimed delivery is hidden from other workers: longer than an attempt
// and its bookkeeping, so that it is posted twice only if its worker died.
func (w *WebhookWorker) lease() time.Duration { return 2*w.opt.Timeout + 30*time.Second }

// Run delivers until ctx is done, then lets the attempts in flight finish.
func (w *WebhookWorker) Run(ctx context.Context) {
	failing := false
	for {
		n, err := w.DeliverDue(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			// Once per outage, not once per poll.
			if !failing {
				w.opt.Logger.Warn("webhook worker cannot claim deliveries", "err", err)
			}
			failing = true
		case err == nil && failing:
			w.opt.Logger.Info("webhook worker claims deliveries again")
			failing = false
		}
		if n == w.opt.Batch && err == nil && ctx.Err() == nil {
			continue // more may be due
		}
		t := time.NewTimer(w.opt.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// DeliverDue claims the deliveries due now and posts them, concurrently; it returns how
// many it attempted.
func (w *WebhookWorker) DeliverDue(ctx context.Context) (int, error) {
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	due, err := w.store.ClaimDeliveries(ctx, w.opt.Batch, w.lease())
	if err != nil {
		return 0, err
	}
	// A claimed delivery is attempted and recorded even when ctx ends meanwhile (shutdown):
	// the attempt is bounded by the client's timeout.
	dctx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, d := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.deliver(dctx, d)
		}()
	}
	wg.Wait()
	return len(due), nil
}

func (w *WebhookWorker) deliver(ctx context.Context, d PendingDelivery) {
	start := w.opt.Now()
	attempt := DeliveryAttempt{Attempt: d.Attempt, At: start}
	if d.URL == "" {
		attempt.Error = "the experiment has no webhook any more"
		w.record(ctx, d, attempt, DeliveryFailed, 0)
		return
	}
	body, err := json.Marshal(WebhookPayload{
		AlertID: d.Alert.ID, DeliveryID: d.ID, Attempt: d.Attempt, Experiment: d.Alert.Experiment,
		CustomerID: d.Alert.CustomerID, ResponseID: d.Alert.ResponseID, Outcome: d.Alert.Outcome,
		Value: d.Alert.Value, Rule: d.Alert.Rule().String(), AnsweredAt: d.Alert.AnsweredAt.UTC(),
		RaisedAt: d.Alert.RaisedAt.UTC(), SentAt: start.UTC().Truncate(time.Second),
	})
	if err == nil {
		attempt.StatusCode, err = w.post(ctx, d, body, start)
	}
	attempt.Duration = w.opt.Now().Sub(start)
	if attempt.Duration < 0 {
		attempt.Duration = 0
	}
	ok := err == nil && attempt.StatusCode >= 200 && attempt.StatusCode < 300
	switch {
	case err != nil:
		attempt.Error = err.Error()
	case !ok:
		attempt.Error = fmt.Sprintf("HTTP %d", attempt.StatusCode)
	}
	// Never the customer id or the URL in the log: the delivery id leads to both.
	attrs := []any{"delivery_id", d.ID, "alert_id", d.Alert.ID, "experiment", d.Alert.Experiment,
		"attempt", d.Attempt, "status", attempt.StatusCode, "duration_ms", float64(attempt.Duration.Microseconds()) / 1000}
	switch {
	case ok:
		w.opt.Logger.Info("webhook delivered", attrs...)
		w.record(ctx, d, attempt, DeliveryDelivered, 0)
	case d.Attempt >= w.opt.MaxAttempts:
		w.opt.Logger.Warn("webhook delivery failed for good", append(attrs, "err", attempt.Error)...)
		w.record(ctx, d, attempt, DeliveryFailed, 0)
	default:
		retry := w.backoff(d.Attempt)
		w.opt.Logger.Warn("webhook delivery failed; will retry", append(attrs, "err", attempt.Error, "retry_in", retry.String())...)
		w.record(ctx, d, attempt, DeliveryPending, retry)
	}
}

// post sends one attempt and returns the HTTP status.
func (w *WebhookWorker) post(ctx context.Context, d PendingDelivery, body []byte, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "krslab-webhook/1")
	req.Header.Set("X-Krslab-Signature", SignWebhook(d.Secret, body))
	req.Header.Set("X-Krslab-Delivery", strconv.FormatInt(d.ID, 10))
	req.Header.Set("X-Krslab-Timestamp", strconv.FormatInt(at.Unix(), 10))
	res, err := w.opt.Client.Do(req)
	if err != nil {
		// url.Error repeats the URL, which may carry a token of the receiver's: keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			if ue.Timeout() {
				return 0, fmt.Errorf("no answer within %s", w.opt.Timeout)
			}
			return 0, ue.Err
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}

// backoff is the wait after failed attempt n (from 1): Backoff, 2 Backoff, 4 Backoff...,
// at most MaxBackoff.
func (w *WebhookWorker) backoff(n int) time.Duration {
	d := w.opt.Backoff
	for i := 1; i < n && d < w.opt.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opt.MaxBackoff)
}

func (w *WebhookWorker) record(ctx context.Context, d PendingDelivery, a DeliveryAttempt, status DeliveryStatus, retryIn time.Duration) {
	if len(a.Error) > 1000 {
		a.Error = strings.ToValidUTF8(a.Error[:1000], "")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.store.RecordDeliveryAttempt(ctx, d, a, status, retryIn); err != nil {
		// The lease runs out and the delivery is attempted again.
		w.opt.Logger.Warn("webhook attempt not recorded", "delivery_id", d.ID, "err", err)
	}
}
