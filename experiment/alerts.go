package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Closing the loop: an experiment may carry alert rules on answers (nps <= 6, trust <= 2)
// and a webhook. A response that matches a rule raises an alert, and the alert is posted,
// signed, to the webhook, so that the CX team can call the customer back. The store raises
// alerts in the same transaction as the answers (a trigger in PostgreSQL), so an
// acknowledged response never loses its alert and a replay never raises a second one; the
// webhook.Worker (experiment/webhook) of `krslab serve` delivers them.

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

// Parts is the status as a Text, as Status.Parts.
func (s AlertStatus) Parts() (format string, args []any) { return string(s), nil }

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

// alertExperiment returns the alert store and the experiment key names.
func (s *Service) alertExperiment(ctx context.Context, key string) (AlertStore, Experiment, error) {
	as, err := s.alertStore()
	if err != nil {
		return nil, Experiment{}, err
	}
	e, err := s.Store.Experiment(ctx, key)
	return as, e, err
}

// AlertRules returns an experiment's alert rules and webhook (secret included: the API
// shows only its fingerprint).
func (s *Service) AlertRules(ctx context.Context, key string) (Experiment, AlertRules, error) {
	as, e, err := s.alertExperiment(ctx, key)
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
	as, e, err := s.alertExperiment(ctx, key)
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
		if err := s.Webhooks.CheckURL(w.URL); err != nil {
			p.Field("webhook.url", "%s", err)
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
	if msg := CheckText(note, MaxAlertNote); !msg.IsZero() {
		return Alert{}, &Error{Code: Invalid, Message: "invalid note", Details: []Detail{fieldDetail("note", msg)}}
	}
	by := ActorFrom(ctx)
	audit := s.audit(ctx, "alert.resolve", 0, strconv.FormatInt(id, 10), map[string]any{"alert": id, "note": note})
	return as.ResolveAlert(ctx, id, note, by, s.Now(), audit)
}
