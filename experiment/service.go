package experiment

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// MaxBatch is the largest batch of assignments, responses or covariates in one request.
const MaxBatch = 10000

// Service carries out the use cases of krslab on a Store: it validates, applies the domain
// rules and writes the audit entries; the Store only persists.
type Service struct {
	Store Store
	Now   func() time.Time
	Keys  *KeyRing
	// SessionIdle is how long a console session may go unused; 0 is DefaultSessionIdle.
	SessionIdle time.Duration
	// Webhooks decides where alert webhooks may point; the zero value allows public
	// addresses only. The webhook worker must be given the same policy.
	Webhooks WebhookPolicy

	assign *assigner
	snaps  *snapshots // the analyses this instance keeps (snapshot.go)
	// refresh: the experiments the background pass could not analyse (refresh.go)
	refresh *refreshFailures
}

// NewService returns a Service over store with the wall clock.
func NewService(store Store) *Service {
	return &Service{Store: store, Now: func() time.Time { return time.Now().UTC() }, Keys: NewKeyRing(store),
		assign: newAssigner(store), snaps: newSnapshots(), refresh: newRefreshFailures()}
}

// Close stops the assignment of new customers: requests queued for a group commit are
// refused as unavailable, commits in flight finish. Call it after the server has drained.
func (s *Service) Close() { s.assign.close() }

// ObserveGroupCommits reports the size of every group of new assignments stored together
// (for metrics). Call it before serving.
func (s *Service) ObserveGroupCommits(fn func(size int)) { s.assign.batch.Store(&fn) }

func (s *Service) audit(ctx context.Context, action string, experimentID int64, subject string, diff any) AuditEntry {
	return AuditEntry{At: s.Now(), Actor: ActorFrom(ctx), Action: action, ExperimentID: experimentID, Subject: subject, Diff: diff}
}

// OutcomeMap returns every outcome by key.
func (s *Service) OutcomeMap(ctx context.Context) (map[string]Outcome, error) {
	list, err := s.Store.Outcomes(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Outcome, len(list))
	for _, o := range list {
		m[o.Key] = o
	}
	return m, nil
}

// Outcomes lists every outcome, built-ins first.
func (s *Service) Outcomes(ctx context.Context) ([]Outcome, error) { return s.Store.Outcomes(ctx) }

// Outcome returns one outcome.
func (s *Service) Outcome(ctx context.Context, key string) (Outcome, error) {
	m, err := s.OutcomeMap(ctx)
	if err != nil {
		return Outcome{}, err
	}
	o, ok := m[key]
	if !ok {
		return Outcome{}, Errorf(NotFound, "outcome %q not found", key)
	}
	return o, nil
}

// CreateOutcome defines a custom outcome or composite.
func (s *Service) CreateOutcome(ctx context.Context, o Outcome) (Outcome, error) {
	o.Normalize()
	o.BuiltIn = false
	known, err := s.OutcomeMap(ctx)
	if err != nil {
		return Outcome{}, err
	}
	if err := o.Validate(known); err != nil {
		return Outcome{}, err
	}
	if err := s.Store.CreateOutcome(ctx, o, s.audit(ctx, "outcome.create", 0, o.Key, o)); err != nil {
		return Outcome{}, err
	}
	return o, nil
}

// CheckExperiment validates a new experiment as CreateExperiment does, storing nothing:
// for a form that reports every problem at once, its own with the service's.
func (s *Service) CheckExperiment(ctx context.Context, e Experiment) error {
	e.ApplyDefaults()
	known, err := s.OutcomeMap(ctx)
	if err != nil {
		return err
	}
	return e.Validate(known)
}

// CreateExperiment validates and stores a new experiment in draft.
func (s *Service) CreateExperiment(ctx context.Context, e Experiment) (Experiment, error) {
	e.ApplyDefaults()
	e.Status = Draft
	known, err := s.OutcomeMap(ctx)
	if err != nil {
		return Experiment{}, err
	}
	if err := e.Validate(known); err != nil {
		return Experiment{}, err
	}
	err = s.Store.CreateExperiment(ctx, &e, func(tx ExperimentTx) (AuditEntry, error) {
		if err := placeIn(ctx, tx, &e); err != nil {
			return AuditEntry{}, err
		}
		now := tx.Now()
		e.CreatedAt, e.UpdatedAt = now, now
		return s.audit(ctx, "experiment.create", 0, e.Key, e), nil
	})
	if err != nil {
		return Experiment{}, err
	}
	return e, nil
}

// placeIn gives a layered experiment its range of the layer, with the layer locked.
func placeIn(ctx context.Context, tx ExperimentTx, e *Experiment) error {
	if e.Layer == "" {
		return nil
	}
	others, err := tx.Layer(ctx, e.Layer)
	if err != nil {
		return err
	}
	return e.placeInLayer(others)
}

// Experiment returns one experiment.
func (s *Service) Experiment(ctx context.Context, key string) (Experiment, error) {
	return s.Store.Experiment(ctx, key)
}

// Experiments lists experiments, all or those with the given status.
func (s *Service) Experiments(ctx context.Context, status Status) ([]Experiment, error) {
	switch status {
	case "", Draft, Running, Stopped, Decided:
	default:
		return nil, &Error{Code: Invalid, Message: "invalid filter", Details: []Detail{{Field: "status", Message: "must be draft, running, stopped or decided"}}}
	}
	return s.Store.Experiments(ctx, status)
}

// Patch lists the fields of a PATCH; nil means unchanged.
type Patch struct {
	Name                  *string
	Hypothesis            *string
	Arms                  *[]Arm
	PrimaryOutcome        *string
	Outcomes              *[]string
	Guardrails            *[]string
	GuardrailMargins      *map[string]float64
	Alpha                 *float64
	Correction            *string
	TargetResponsesPerArm *int
	MDE                   *float64
	Salt                  *string
	Coverage              *float64
	Layer                 *string
	Eligibility           *[]Rule
	Waves                 *[]Wave
	DecisionWave          *string
}

// AnyVersion, as the version a change expects, accepts whatever version is stored.
const AnyVersion int64 = 0

// PatchExperiment changes an experiment. In draft anything but the key may change; once
// running only the name, the hypothesis, the arms' names and descriptions, the waves'
// labels, and new waves after the last one (a later survey a team plans). The patch
// applies to the experiment as stored when the change is made, so concurrent patches of
// different fields all hold; with version (the ETag a client read) other than AnyVersion,
// it applies only if that is still the stored version (else PreconditionFailed).
func (s *Service) PatchExperiment(ctx context.Context, key string, p Patch, version int64) (Experiment, error) {
	known, err := s.OutcomeMap(ctx)
	if err != nil {
		return Experiment{}, err
	}
	e, err := s.Store.ChangeExperiment(ctx, key, func(e *Experiment, tx ExperimentTx) (AuditEntry, error) {
		if err := checkVersion(*e, version); err != nil {
			return AuditEntry{}, err
		}
		before := *e
		if err := e.applyPatch(p); err != nil {
			return AuditEntry{}, err
		}
		if err := e.Validate(known); err != nil {
			return AuditEntry{}, err
		}
		if e.Layer != "" && (p.Coverage != nil || p.Layer != nil) {
			others, err := tx.Layer(ctx, e.Layer)
			if err != nil {
				return AuditEntry{}, err
			}
			switch {
			case e.Status == Draft:
				if err := e.placeInLayer(others); err != nil {
					return AuditEntry{}, err
				}
			case !e.fitsInLayer(others):
				return AuditEntry{}, Errorf(Conflict, "coverage %g overlaps another experiment of layer %q", e.Coverage, e.Layer).
					With(Detail{Field: "coverage", Message: "overlaps another experiment of the layer"})
			}
		}
		e.UpdatedAt = tx.Now()
		return s.audit(ctx, "experiment.patch", e.ID, e.Key, map[string]any{"before": before, "after": *e}), nil
	})
	s.assign.forget(key)
	if err != nil {
		return Experiment{}, err
	}
	return e, nil
}

// checkVersion refuses a change made against another version than the stored one.
func checkVersion(e Experiment, want int64) error {
	if want == AnyVersion || want == e.Version {
		return nil
	}
	return Errorf(PreconditionFailed, "experiment %q changed since version %d; it is now at version %d: read it again", e.Key, want, e.Version).
		With(fieldDetail("If-Match", Textf("the stored version is %d", e.Version)))
}

// applyPatch sets the fields of p, refusing those frozen by the experiment's status.
func (e *Experiment) applyPatch(p Patch) error {
	if e.Status != Draft {
		var frozen Problems
		// In a fixed order, so that the error lists the fields as the request names them.
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"primary_outcome", p.PrimaryOutcome != nil}, {"outcomes", p.Outcomes != nil},
			{"guardrails", p.Guardrails != nil}, {"guardrail_margins", p.GuardrailMargins != nil},
			{"alpha", p.Alpha != nil}, {"correction", p.Correction != nil},
			{"target_responses_per_arm", p.TargetResponsesPerArm != nil}, {"mde", p.MDE != nil}, {"salt", p.Salt != nil},
			{"decision_wave", p.DecisionWave != nil && *p.DecisionWave != e.DecisionWave},
		} {
			if f.set {
				frozen.Field(f.name, "cannot change once the experiment is %s", e.Status)
			}
		}
		if p.Layer != nil && *p.Layer != e.Layer {
			frozen.Field("layer", "cannot change once the experiment is %s", e.Status)
		}
		if p.Coverage != nil && *p.Coverage < e.Coverage {
			frozen.Field("coverage", "may only grow once the experiment is %s (customers already assigned stay)", e.Status)
		}
		if p.Waves != nil && !wavesAppended(e.Waves, *p.Waves) {
			frozen.Field("waves", "the waves are frozen once the experiment is %s; new waves may only be added after the last one, and labels changed", e.Status)
		}
		if p.Arms != nil && !sameArmDesign(e.Arms, *p.Arms) {
			frozen.Field("arms", "keys, order, weights and control are frozen once the experiment is %s; only names and descriptions may change", e.Status)
		}
		if frozen.Len() > 0 {
			err := frozen.Err(fmt.Sprintf("experiment %q is %s", e.Key, e.Status)).(*Error)
			err.Code = Conflict
			return err
		}
	}
	setIf(&e.Name, p.Name)
	setIf(&e.Hypothesis, p.Hypothesis)
	setIf(&e.Arms, p.Arms)
	nameArms(e.Arms)
	setIf(&e.PrimaryOutcome, p.PrimaryOutcome)
	setIf(&e.Outcomes, p.Outcomes)
	setIf(&e.Guardrails, p.Guardrails)
	setIf(&e.GuardrailMargins, p.GuardrailMargins)
	setIf(&e.Alpha, p.Alpha)
	setIf(&e.Correction, p.Correction)
	if p.TargetResponsesPerArm != nil {
		e.TargetResponsesPerArm = p.TargetResponsesPerArm
	}
	if p.MDE != nil {
		e.MDE = p.MDE
	}
	setIf(&e.Salt, p.Salt)
	setIf(&e.Coverage, p.Coverage)
	setIf(&e.Eligibility, p.Eligibility)
	setIf(&e.Layer, p.Layer)
	setIf(&e.Waves, p.Waves)
	for i := range e.Waves {
		if e.Waves[i].Label == "" {
			e.Waves[i].Label = e.Waves[i].Key
		}
	}
	setIf(&e.DecisionWave, p.DecisionWave)
	return nil
}

func sameArmDesign(a, b []Arm) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Weight != b[i].Weight || a[i].Control != b[i].Control {
			return false
		}
	}
	return true
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Start, Stop and Decide move an experiment through its lifecycle.
func (s *Service) Start(ctx context.Context, key string) (Experiment, error) {
	return s.transition(ctx, key, Running, nil)
}

// StartAsOf starts an experiment as of an earlier moment: a programme that ran before it was
// brought into krslab, whose customers are then imported with their historical assigned_at,
// began when its first customers were assigned, and its days running count from then. at
// may not lie in the future nor more than MaxWaveDay days back.
func (s *Service) StartAsOf(ctx context.Context, key string, at time.Time) (Experiment, error) {
	return s.transition(ctx, key, Running, func(e *Experiment) error {
		now := *e.StartedAt
		if at.After(now) || at.Before(now.AddDate(0, 0, -MaxWaveDay)) {
			return &Error{Code: Invalid, Message: "invalid start",
				Details: []Detail{{Field: "started_at", Message: fmt.Sprintf("must lie within the %d days before now", MaxWaveDay)}}}
		}
		at := at.UTC()
		e.StartedAt = &at
		return nil
	})
}

// Stop ends assignment; responses are still accepted.
func (s *Service) Stop(ctx context.Context, key string) (Experiment, error) {
	return s.transition(ctx, key, Stopped, nil)
}

// Decide records the product owner's decision on a stopped experiment.
func (s *Service) Decide(ctx context.Context, key, arm, reason string) (Experiment, error) {
	return s.transition(ctx, key, Decided, func(e *Experiment) error {
		var p Problems
		if _, ok := e.Arm(arm); !ok {
			p.Field("arm", "unknown arm %q", arm)
		}
		if strings.TrimSpace(reason) == "" {
			p.Field("reason", "is required: say why, for whoever reads the decision later")
		} else if msg := CheckText(reason, MaxDescription); !msg.IsZero() {
			p.Field("reason", "%s", msg)
		}
		if err := p.Err("invalid decision"); err != nil {
			return err
		}
		e.Decision = &Decision{Arm: arm, Reason: reason, DecidedBy: ActorFrom(ctx), DecidedAt: e.UpdatedAt}
		return nil
	})
}

func (s *Service) transition(ctx context.Context, key string, to Status, apply func(*Experiment) error) (Experiment, error) {
	e, err := s.Store.ChangeExperiment(ctx, key, func(e *Experiment, tx ExperimentTx) (AuditEntry, error) {
		from := e.Status
		if err := e.Transition(to, tx.Now()); err != nil {
			return AuditEntry{}, err
		}
		if apply != nil {
			if err := apply(e); err != nil {
				return AuditEntry{}, err
			}
		}
		diff := map[string]any{"from": from, "to": to}
		if to == Running && !e.StartedAt.Equal(tx.Now()) {
			diff["started_at"] = *e.StartedAt
		}
		if e.Decision != nil {
			diff["arm"], diff["reason"] = e.Decision.Arm, e.Decision.Reason
		}
		action := map[Status]string{Running: "experiment.start", Stopped: "experiment.stop", Decided: "experiment.decide"}[to]
		return s.audit(ctx, action, e.ID, e.Key, diff), nil
	})
	s.assign.forget(key)
	if err != nil {
		return Experiment{}, err
	}
	if to == Stopped {
		// Other instances answer repeat assignments from their copy of the experiment, which
		// is at most the copies' age old: once that has passed, every instance knows.
		s.assign.outlastCopies()
	}
	return e, nil
}

// Assign gives a customer an arm, or returns the arm given before; once the experiment is
// decided, the decided arm, to every customer and storing nothing (the roll-out). attributes,
// when given, stand in for the customer's stored attributes in the experiment's eligibility
// rules.
func (s *Service) Assign(ctx context.Context, key, customerID string, attributes map[string]string) (Assignment, error) {
	for name, v := range attributes {
		if !attributePattern.MatchString(name) || !CheckID(v).IsZero() {
			return Assignment{}, &Error{Code: Invalid, Message: "invalid attributes",
				Details: []Detail{{Field: "attributes." + name, Message: "names are lower-case identifiers, values 1-128 printable characters"}}}
		}
	}
	as, err := s.assignBatch(ctx, key, []string{customerID}, attributes)
	if err != nil {
		var e *Error
		if len(as) == 0 && asError(err, &e) && len(e.Details) == 1 && e.Details[0].Row == 1 {
			// A single assignment names the field, not row 1 of a batch.
			e.Details[0].Row, e.Details[0].Field = 0, "customer_id"
		}
		return Assignment{}, err
	}
	return as[0], nil
}

// AssignBatch assigns many customers at once, returning assignments in request order.
func (s *Service) AssignBatch(ctx context.Context, key string, customerIDs []string) ([]Assignment, error) {
	return s.assignBatch(ctx, key, customerIDs, nil)
}

func (s *Service) assignBatch(ctx context.Context, key string, customerIDs []string, attributes map[string]string) ([]Assignment, error) {
	var p Problems
	if len(customerIDs) == 0 {
		p.Field("customer_ids", "at least one customer id is required")
	}
	if len(customerIDs) > MaxBatch {
		p.Field("customer_ids", "at most %d customer ids per batch", MaxBatch)
	}
	for i, id := range customerIDs {
		if msg := CheckID(id); !msg.IsZero() {
			p.Row(i+1, "customer_id", "%s", msg)
		}
	}
	if err := p.Err("invalid assignment request"); err != nil {
		return nil, err
	}
	return s.assign.serve(ctx, key, customerIDs, attributes)
}

// Assignment returns the stored assignment of a customer, without assigning; once the
// experiment is decided, the arm the customer is served, as Assign answers it (the stored
// arms stay in EachAssignment).
func (s *Service) Assignment(ctx context.Context, key, customerID string) (Assignment, error) {
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return Assignment{}, err
	}
	if e.Status == Decided {
		// Every customer is served, so an id that could name none is refused rather than
		// answered.
		if msg := CheckID(customerID); !msg.IsZero() {
			return Assignment{}, &Error{Code: Invalid, Message: "invalid customer id", Details: []Detail{fieldDetail("customer_id", msg)}}
		}
		as, err := s.assign.rollOut(ctx, e, []string{customerID})
		if err != nil {
			return Assignment{}, err
		}
		return as[0], nil
	}
	return s.Store.Assignment(ctx, e.ID, customerID)
}

// EachAssignment streams every assignment of an experiment.
func (s *Service) EachAssignment(ctx context.Context, key string, fn func(Assignment) error) error {
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return err
	}
	return s.Store.EachAssignment(ctx, e.ID, fn)
}

// RecordResponses validates and stores responses all-or-nothing. It returns, per response,
// whether it was an identical replay of one stored before.
func (s *Service) RecordResponses(ctx context.Context, key string, rs []Response, batch bool) ([]bool, error) {
	if batch && len(rs) == 0 {
		return nil, &Error{Code: Invalid, Message: "empty batch", Details: []Detail{{Field: "responses", Message: "at least one response is required"}}}
	}
	if len(rs) > MaxBatch {
		return nil, &Error{Code: Invalid, Message: "batch too large", Details: []Detail{{Field: "responses", Message: fmt.Sprintf("at most %d responses per batch", MaxBatch)}}}
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return nil, err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return nil, err
	}
	allowed := AnswerKeys(e, outcomes)
	now := s.Now()
	var p Problems
	seen := make(map[string]int, len(rs))
	for i, r := range rs {
		details := CheckResponse(r, allowed, outcomes, now)
		if first, dup := seen[r.ResponseID]; dup && r.ResponseID != "" {
			details = append(details, Detail{Field: "response_id", Message: fmt.Sprintf("duplicates row %d of this batch", first)})
		}
		seen[r.ResponseID] = i + 1
		for _, d := range details {
			if batch {
				d.Row = i + 1
			}
			p.Add(d)
		}
	}
	if err := p.Err("invalid responses"); err != nil {
		return nil, err
	}
	if !e.AcceptsResponses() {
		return nil, statusError(e, acceptsResponses)
	}
	for i := range rs {
		rs[i].AnsweredAt = rs[i].AnsweredAt.UTC()
	}
	replayed, err := s.Store.SaveResponses(ctx, e.ID, rs)
	if err != nil && !batch {
		var se *Error
		if asError(err, &se) {
			for i := range se.Details {
				se.Details[i].Row = 0
			}
		}
	}
	return replayed, err
}

// RecordCovariates stores pre-experiment values all-or-nothing (a later value replaces an
// earlier one for the same customer and outcome).
func (s *Service) RecordCovariates(ctx context.Context, key string, cs []Covariate) error {
	var p Problems
	if len(cs) == 0 {
		p.Field("covariates", "at least one covariate is required")
	}
	if len(cs) > MaxBatch {
		p.Field("covariates", "at most %d covariates per batch", MaxBatch)
	}
	e, err := s.Store.Experiment(ctx, key)
	if err != nil {
		return err
	}
	outcomes, err := s.OutcomeMap(ctx)
	if err != nil {
		return err
	}
	rules := newCovariateRules(e, outcomes)
	type pair struct{ c, o string }
	seen := map[pair]int{}
	for i, c := range cs {
		for _, d := range rules.problems(c) {
			d.Row = i + 1
			p.Add(d)
		}
		if first, dup := seen[pair{c.CustomerID, c.Outcome}]; dup {
			p.Row(i+1, "customer_id", "duplicates row %d of this batch", first)
		}
		seen[pair{c.CustomerID, c.Outcome}] = i + 1
	}
	if err := p.Err("invalid covariates"); err != nil {
		return err
	}
	return s.Store.SaveCovariates(ctx, e.ID, cs)
}

// CreateAPIKey makes a new key for role and returns its secret, shown once.
func (s *Service) CreateAPIKey(ctx context.Context, name string, role Role) (string, APIKey, error) {
	var p Problems
	if msg := CheckID(name); !msg.IsZero() {
		p.Field("name", "%s", msg)
	}
	if !role.Valid() {
		p.Field("role", "must be admin, editor, analyst or ingest")
	}
	if err := p.Err("invalid API key"); err != nil {
		return "", APIKey{}, err
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return "", APIKey{}, err
	}
	k := APIKey{Name: name, Role: role, Hash: hash, Prefix: secret[:len(KeyPrefix)+4], CreatedAt: s.Now()}
	audit := s.audit(ctx, "apikey.create", 0, name, map[string]any{"name": name, "role": role})
	if err := s.Store.CreateAPIKey(ctx, &k, audit); err != nil {
		return "", APIKey{}, err
	}
	return secret, k, nil
}

// RevokeAPIKey revokes a key by name.
func (s *Service) RevokeAPIKey(ctx context.Context, name string) error {
	err := s.Store.RevokeAPIKey(ctx, name, s.audit(ctx, "apikey.revoke", 0, name, map[string]any{"name": name}))
	s.Keys.Invalidate()
	return err
}

// Authenticate returns the active key with the given secret.
func (s *Service) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	return s.Keys.Authenticate(ctx, secret)
}

// Audit lists the audit log, newest first: of one experiment (by key) or of everything.
func (s *Service) Audit(ctx context.Context, key string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		return nil, &Error{Code: Invalid, Message: "invalid query", Details: []Detail{{Field: "limit", Message: "must be from 1 to 1000"}}}
	}
	var id int64
	if key != "" {
		e, err := s.Store.Experiment(ctx, key)
		if err != nil {
			return nil, err
		}
		id = e.ID
	}
	return s.Store.Audit(ctx, id, limit)
}

// EraseCustomer forgets a customer (the right to be forgotten): answers and covariates go in
// every experiment; assignments stay, under a random id, so arm counts hold. Nothing kept
// leads back to the customer: one who comes back is a new customer (the same arm by the hash
// rule, a new assignment). It returns once no instance can still answer from a copy made
// before the erasure.
func (s *Service) EraseCustomer(ctx context.Context, customerID string) (Erasure, error) {
	if msg := CheckID(customerID); !msg.IsZero() {
		return Erasure{}, &Error{Code: Invalid, Message: "invalid customer id", Details: []Detail{fieldDetail("customer_id", msg)}}
	}
	id := NewErasureID()
	er, err := s.Store.EraseCustomer(ctx, customerID, s.audit(ctx, "customer.erase", 0, id, nil))
	if err != nil {
		return Erasure{}, err
	}
	er.ID = id
	s.assign.sticky.drop(customerID)
	s.assign.forgetAll()
	s.assign.outlastCopies()
	return er, nil
}
