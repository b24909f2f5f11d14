package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

type outcomeRow struct {
	Key            string          `db:"key"`
	Kind           string          `db:"kind"`
	Label          string          `db:"label"`
	LabelNL        string          `db:"label_nl"`
	HigherIsBetter bool            `db:"higher_is_better"`
	Min            sql.NullFloat64 `db:"min"`
	Max            sql.NullFloat64 `db:"max"`
	TopMin         sql.NullFloat64 `db:"top_min"`
	BottomMax      sql.NullFloat64 `db:"bottom_max"`
	BuiltIn        bool            `db:"builtin"`
	Components     pq.StringArray  `db:"components"`
}

func nullable(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	v := f.Float64
	return &v
}

func toNull(f *float64) sql.NullFloat64 {
	if f == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *f, Valid: true}
}

func (r outcomeRow) domain() experiment.Outcome {
	o := experiment.Outcome{
		Key: r.Key, Kind: experiment.Kind(r.Kind), Label: r.Label, LabelNL: r.LabelNL,
		HigherIsBetter: r.HigherIsBetter, Min: nullable(r.Min), Max: nullable(r.Max),
		TopMin: nullable(r.TopMin), BottomMax: nullable(r.BottomMax), BuiltIn: r.BuiltIn,
	}
	if len(r.Components) > 0 {
		o.Components = []string(r.Components)
	}
	return o
}

// Outcomes lists every outcome, built-ins first.
func (s *Store) Outcomes(ctx context.Context) ([]experiment.Outcome, error) {
	var rows []outcomeRow
	err := s.db.SelectContext(ctx, &rows, `
		SELECT o.key, o.kind, o.label, o.label_nl, o.higher_is_better, o.min, o.max, o.top_min,
		       o.bottom_max, o.builtin,
		       coalesce((SELECT array_agg(c.component_key ORDER BY c.position)
		                 FROM outcome_components c WHERE c.outcome_key = o.key), '{}') AS components
		FROM outcomes o ORDER BY o.builtin DESC, o.created_at, o.key`)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.Outcome, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CreateOutcome stores a custom outcome with its components.
func (s *Store) CreateOutcome(ctx context.Context, o experiment.Outcome, audit experiment.AuditEntry) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO outcomes (key, kind, label, label_nl, higher_is_better, min, max, top_min, bottom_max)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			o.Key, o.Kind, o.Label, o.LabelNL, o.HigherIsBetter, toNull(o.Min), toNull(o.Max),
			toNull(o.TopMin), toNull(o.BottomMax))
		if err != nil {
			return err
		}
		for i, c := range o.Components {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO outcome_components (outcome_key, component_key, position) VALUES ($1, $2, $3)`,
				o.Key, c, i); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, audit)
	})
	if experiment.ErrorCode(err) == experiment.Conflict {
		return experiment.Errorf(experiment.Conflict, "outcome %q already exists", o.Key)
	}
	return err
}

type experimentRow struct {
	ID                    int64           `db:"id"`
	Key                   string          `db:"key"`
	Name                  string          `db:"name"`
	Hypothesis            string          `db:"hypothesis"`
	Status                string          `db:"status"`
	PrimaryOutcome        string          `db:"primary_outcome"`
	Alpha                 float64         `db:"alpha"`
	Correction            string          `db:"correction"`
	TargetResponsesPerArm sql.NullInt64   `db:"target_responses_per_arm"`
	MDE                   sql.NullFloat64 `db:"mde"`
	Salt                  string          `db:"salt"`
	Coverage              float64         `db:"coverage"`
	Erasures              int64           `db:"erasures"`
	Version               int64           `db:"version"`
	Eligibility           []byte          `db:"eligibility"`
	Waves                 []byte          `db:"waves"`
	DecisionWave          sql.NullString  `db:"decision_wave"`
	Layer                 sql.NullString  `db:"layer"`
	LayerOffset           sql.NullFloat64 `db:"layer_offset"`
	CreatedAt             time.Time       `db:"created_at"`
	UpdatedAt             time.Time       `db:"updated_at"`
	StartedAt             sql.NullTime    `db:"started_at"`
	StoppedAt             sql.NullTime    `db:"stopped_at"`
	DecidedAt             sql.NullTime    `db:"decided_at"`
	DecisionArm           sql.NullString  `db:"decision_arm"`
	DecisionReason        sql.NullString  `db:"decision_reason"`
	DecidedBy             sql.NullString  `db:"decided_by"`
	ArmsJSON              []byte          `db:"arms"`
	OutcomesJSON          []byte          `db:"outcomes"`
}

type armRow struct {
	Key         string  `json:"key"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Weight      float64 `json:"weight"`
	Control     bool    `json:"control"`
}

// experimentOutcomeRow is a row of experiment_outcomes: an outcome listed in outcomes, in
// guardrails or in both.
type experimentOutcomeRow struct {
	OutcomeKey        string   `json:"key"`
	Position          int      `json:"position"`
	Listed            bool     `json:"listed"`
	Guardrail         bool     `json:"guardrail"`
	GuardrailPosition *int     `json:"guardrail_position"`
	Margin            *float64 `json:"margin"`
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}

func (r experimentRow) domain() (experiment.Experiment, error) {
	e := experiment.Experiment{
		ID: r.ID, Key: r.Key, Name: r.Name, Hypothesis: r.Hypothesis, Status: experiment.Status(r.Status),
		PrimaryOutcome: r.PrimaryOutcome, Alpha: r.Alpha, Correction: r.Correction, MDE: nullable(r.MDE),
		Salt: r.Salt, Coverage: r.Coverage, Erasures: r.Erasures, Version: r.Version, Layer: r.Layer.String, LayerOffset: r.LayerOffset.Float64,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		StartedAt: nullTime(r.StartedAt), StoppedAt: nullTime(r.StoppedAt),
		Outcomes: []string{}, Guardrails: []string{}, GuardrailMargins: map[string]float64{},
	}
	if r.TargetResponsesPerArm.Valid {
		n := int(r.TargetResponsesPerArm.Int64)
		e.TargetResponsesPerArm = &n
	}
	if r.DecisionArm.Valid {
		e.Decision = &experiment.Decision{Arm: r.DecisionArm.String, Reason: r.DecisionReason.String,
			DecidedBy: r.DecidedBy.String, DecidedAt: r.DecidedAt.Time.UTC()}
	}
	var rules []ruleRow
	if err := json.Unmarshal(r.Eligibility, &rules); err != nil {
		return e, fmt.Errorf("eligibility of experiment %d: %w", r.ID, err)
	}
	for _, x := range rules {
		e.Eligibility = append(e.Eligibility, experiment.Rule(x))
	}
	var waves []waveRow
	if err := json.Unmarshal(r.Waves, &waves); err != nil {
		return e, fmt.Errorf("waves of experiment %d: %w", r.ID, err)
	}
	e.Waves = make([]experiment.Wave, len(waves))
	for i, w := range waves {
		e.Waves[i] = experiment.Wave(w)
	}
	e.DecisionWave = r.DecisionWave.String
	var arms []armRow
	var outcomes []experimentOutcomeRow
	if err := json.Unmarshal(r.ArmsJSON, &arms); err != nil {
		return e, fmt.Errorf("arms of experiment %d: %w", r.ID, err)
	}
	if err := json.Unmarshal(r.OutcomesJSON, &outcomes); err != nil {
		return e, fmt.Errorf("outcomes of experiment %d: %w", r.ID, err)
	}
	for _, a := range arms {
		e.Arms = append(e.Arms, experiment.Arm{Key: a.Key, Name: a.Name, Description: a.Description, Weight: a.Weight, Control: a.Control})
	}
	var guardrails []experimentOutcomeRow
	for _, o := range outcomes { // in position order
		if o.Margin != nil {
			e.GuardrailMargins[o.OutcomeKey] = *o.Margin
		}
		if o.Listed {
			e.Outcomes = append(e.Outcomes, o.OutcomeKey)
		}
		if o.Guardrail {
			guardrails = append(guardrails, o)
		}
	}
	// Guardrails in their own order; a row without a place among them (the store writes
	// none) after the others, by position.
	place := func(o experimentOutcomeRow) int {
		if o.GuardrailPosition != nil {
			return *o.GuardrailPosition
		}
		return math.MaxInt32 + o.Position
	}
	slices.SortStableFunc(guardrails, func(a, b experimentOutcomeRow) int { return cmp.Compare(place(a), place(b)) })
	for _, g := range guardrails {
		e.Guardrails = append(e.Guardrails, g.OutcomeKey)
	}
	return e, nil
}

// experimentSelect reads experiments with their arms and outcome lists in one query.
const experimentSelect = `SELECT e.id, e.key, e.name, e.hypothesis, e.status, e.primary_outcome, e.alpha,
	e.correction, e.target_responses_per_arm, e.mde, e.salt, e.eligibility, e.coverage, e.layer, e.layer_offset,
	e.erasures, e.version, e.waves, e.decision_wave,
	e.created_at, e.updated_at, e.started_at,
	e.stopped_at, e.decided_at, e.decision_arm, e.decision_reason, e.decided_by,
	(SELECT coalesce(json_agg(json_build_object('key', a.key, 'name', a.name, 'description', a.description,
	        'weight', a.weight, 'control', a.control) ORDER BY a.position), '[]')
	   FROM arms a WHERE a.experiment_id = e.id) AS arms,
	(SELECT coalesce(json_agg(json_build_object('key', o.outcome_key, 'position', o.position, 'listed', o.listed,
	        'guardrail', o.guardrail, 'guardrail_position', o.guardrail_position, 'margin', o.margin) ORDER BY o.position), '[]')
	   FROM experiment_outcomes o WHERE o.experiment_id = e.id) AS outcomes
	FROM experiments e`

// Experiment loads one experiment with its arms and outcomes.
func (s *Store) Experiment(ctx context.Context, key string) (experiment.Experiment, error) {
	return experimentOn(ctx, s.db, key, "")
}

// experimentOn loads one experiment on q (the pool or a transaction); lock, when not empty,
// locks its row (" FOR UPDATE OF e").
func experimentOn(ctx context.Context, q sqlx.QueryerContext, key, lock string) (experiment.Experiment, error) {
	var row experimentRow
	err := sqlx.GetContext(ctx, q, &row, experimentSelect+` WHERE e.key = $1`+lock, key)
	if errors.Is(err, sql.ErrNoRows) {
		return experiment.Experiment{}, experiment.Errorf(experiment.NotFound, "experiment %q not found", key)
	}
	if err != nil {
		return experiment.Experiment{}, mapErr(err)
	}
	e, err := row.domain()
	return e, mapErr(err)
}

// Experiments lists experiments, newest first, optionally of one status.
func (s *Store) Experiments(ctx context.Context, status experiment.Status) ([]experiment.Experiment, error) {
	var rows []experimentRow
	err := s.db.SelectContext(ctx, &rows, experimentSelect+`
		WHERE $1 = '' OR e.status = $1 ORDER BY e.created_at DESC, e.id DESC`, string(status))
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.Experiment, len(rows))
	for i, r := range rows {
		if out[i], err = r.domain(); err != nil {
			return nil, mapErr(err)
		}
	}
	return out, nil
}

// experimentTx is the transaction a change of an experiment runs in.
type experimentTx struct {
	tx  *sqlx.Tx
	now time.Time
}

func (t *experimentTx) Now() time.Time { return t.now }

// layerLock is the advisory lock class of layers (7541 is the responses' lock).
const layerLock = 7542

func (t *experimentTx) Layer(ctx context.Context, name string) ([]experiment.Experiment, error) {
	if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, layerLock, name); err != nil {
		return nil, err
	}
	// A new statement: it sees every placement committed before the lock was granted.
	var rows []experimentRow
	if err := t.tx.SelectContext(ctx, &rows, experimentSelect+` WHERE e.layer = $1 ORDER BY e.id`, name); err != nil {
		return nil, err
	}
	out := make([]experiment.Experiment, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.domain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// begin reads the database's clock for a change (after the locks it has taken so far).
func beginChange(ctx context.Context, tx *sqlx.Tx) (*experimentTx, error) {
	var now time.Time
	if err := tx.GetContext(ctx, &now, `SELECT clock_timestamp()`); err != nil {
		return nil, err
	}
	return &experimentTx{tx: tx, now: now.UTC()}, nil
}

// CreateExperiment stores a new experiment and sets its ID and version.
func (s *Store) CreateExperiment(ctx context.Context, e *experiment.Experiment, prepare func(experiment.ExperimentTx) (experiment.AuditEntry, error)) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		change, err := beginChange(ctx, tx)
		if err != nil {
			return err
		}
		audit, err := prepare(change)
		if err != nil {
			return err
		}
		e.Version = 1
		err = tx.GetContext(ctx, &e.ID, `
			INSERT INTO experiments (key, name, hypothesis, status, primary_outcome, alpha, correction,
			                         target_responses_per_arm, mde, salt, created_at, updated_at,
			                         coverage, layer, layer_offset, eligibility, waves, decision_wave)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			e.Key, e.Name, e.Hypothesis, e.Status, e.PrimaryOutcome, e.Alpha, e.Correction,
			targetParam(e.TargetResponsesPerArm), toNull(e.MDE), e.Salt, e.CreatedAt,
			e.Coverage, layerParam(*e), layerOffsetParam(*e), rulesParam(*e), wavesParam(*e), decisionWaveParam(*e))
		if err != nil {
			return err
		}
		if err := writeDesign(ctx, tx, *e); err != nil {
			return err
		}
		audit.ExperimentID = e.ID
		return writeAudit(ctx, tx, audit)
	})
	if experiment.ErrorCode(err) == experiment.Conflict {
		return experiment.Errorf(experiment.Conflict, "experiment %q already exists", e.Key).
			With(experiment.Detail{Field: "key", Message: "already exists"})
	}
	return err
}

// ruleRow is an eligibility rule as stored (JSON).
type ruleRow struct {
	Attribute string   `json:"attribute"`
	Op        string   `json:"op"`
	Value     string   `json:"value,omitempty"`
	Values    []string `json:"values,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
}

func rulesParam(e experiment.Experiment) []byte {
	rows := make([]ruleRow, len(e.Eligibility))
	for i, r := range e.Eligibility {
		rows[i] = ruleRow(r)
	}
	b, _ := json.Marshal(rows)
	return b
}

// waveRow is a survey wave as stored (JSON).
type waveRow struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	LabelNL string `json:"label_nl"`
	FromDay int    `json:"from_day"`
	ToDay   int    `json:"to_day"`
}

func wavesParam(e experiment.Experiment) []byte {
	rows := make([]waveRow, len(e.Waves))
	for i, w := range e.Waves {
		rows[i] = waveRow(w)
	}
	b, _ := json.Marshal(rows)
	return b
}

func decisionWaveParam(e experiment.Experiment) sql.NullString {
	return sql.NullString{String: e.DecisionWave, Valid: e.DecisionWave != ""}
}

func layerParam(e experiment.Experiment) sql.NullString {
	return sql.NullString{String: e.Layer, Valid: e.Layer != ""}
}

func layerOffsetParam(e experiment.Experiment) sql.NullFloat64 {
	return sql.NullFloat64{Float64: e.LayerOffset, Valid: e.Layer != ""}
}

func targetParam(n *int) sql.NullInt64 {
	if n == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*n), Valid: true}
}

// writeDesign replaces the arms and outcome lists of an experiment.
func writeDesign(ctx context.Context, tx *sqlx.Tx, e experiment.Experiment) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM arms WHERE experiment_id = $1`, e.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM experiment_outcomes WHERE experiment_id = $1`, e.ID); err != nil {
		return err
	}
	for i, a := range e.Arms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO arms (experiment_id, key, position, name, description, weight, control)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ID, a.Key, i, a.Name, a.Description, a.Weight, a.Control); err != nil {
			return err
		}
	}
	// One row per outcome: its place among the outcomes (or after them for a guardrail
	// only), whether it is listed in outcomes, and its place among the guardrails.
	rows := map[string]*experimentOutcomeRow{}
	var order []*experimentOutcomeRow
	for i, k := range e.Outcomes {
		r := &experimentOutcomeRow{OutcomeKey: k, Position: i, Listed: true}
		rows[k], order = r, append(order, r)
	}
	for i, k := range e.Guardrails {
		r, ok := rows[k]
		if !ok {
			r = &experimentOutcomeRow{OutcomeKey: k, Position: len(e.Outcomes) + i}
			rows[k], order = r, append(order, r)
		}
		r.Guardrail, r.GuardrailPosition = true, &i
		if m, ok := e.GuardrailMargins[k]; ok {
			r.Margin = &m
		}
	}
	for _, r := range order {
		if _, err := tx.ExecContext(ctx, `INSERT INTO experiment_outcomes
			(experiment_id, outcome_key, position, listed, guardrail, guardrail_position, margin)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			e.ID, r.OutcomeKey, r.Position, r.Listed, r.Guardrail, r.GuardrailPosition, r.Margin); err != nil {
			return err
		}
	}
	return nil
}

// ChangeExperiment applies change to the experiment as stored, with its row locked: FOR
// UPDATE waits for every transaction that holds the row, among them the assignment
// statements in flight (they lock it shared), and makes every other change wait for this one.
func (s *Store) ChangeExperiment(ctx context.Context, key string, change func(*experiment.Experiment, experiment.ExperimentTx) (experiment.AuditEntry, error)) (experiment.Experiment, error) {
	var e experiment.Experiment
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if e, err = experimentOn(ctx, tx, key, " FOR UPDATE OF e"); err != nil {
			return err
		}
		etx, err := beginChange(ctx, tx)
		if err != nil {
			return err
		}
		from := e.Status
		audit, err := change(&e, etx)
		if err != nil {
			return err
		}
		var decidedAt sql.NullTime
		var decisionArm, decisionReason, decidedBy sql.NullString
		if d := e.Decision; d != nil {
			decidedAt = sql.NullTime{Time: d.DecidedAt, Valid: true}
			decisionArm = sql.NullString{String: d.Arm, Valid: true}
			decisionReason = sql.NullString{String: d.Reason, Valid: true}
			decidedBy = sql.NullString{String: d.DecidedBy, Valid: true}
		}
		if err := tx.GetContext(ctx, &e.Version, `
			UPDATE experiments SET name = $2, hypothesis = $3, status = $4, primary_outcome = $5,
			       alpha = $6, correction = $7, target_responses_per_arm = $8, mde = $9, salt = $10,
			       updated_at = $11, started_at = $12, stopped_at = $13, decided_at = $14,
			       decision_arm = $15, decision_reason = $16, decided_by = $17,
			       coverage = $18, layer = $19, layer_offset = $20, eligibility = $21,
			       waves = $22, decision_wave = $23,
			       version = version + 1
			WHERE id = $1
			RETURNING version`,
			e.ID, e.Name, e.Hypothesis, e.Status, e.PrimaryOutcome, e.Alpha, e.Correction,
			targetParam(e.TargetResponsesPerArm), toNull(e.MDE), e.Salt, e.UpdatedAt,
			e.StartedAt, e.StoppedAt, decidedAt, decisionArm, decisionReason, decidedBy,
			e.Coverage, layerParam(e), layerOffsetParam(e), rulesParam(e), wavesParam(e), decisionWaveParam(e)); err != nil {
			return err
		}
		if from == experiment.Draft && e.Status == experiment.Draft {
			if err := writeDesign(ctx, tx, e); err != nil {
				return err
			}
		} else {
			for _, a := range e.Arms {
				if _, err := tx.ExecContext(ctx, `UPDATE arms SET name = $3, description = $4
					WHERE experiment_id = $1 AND key = $2`, e.ID, a.Key, a.Name, a.Description); err != nil {
					return err
				}
			}
		}
		return writeAudit(ctx, tx, audit)
	})
	if err != nil {
		return experiment.Experiment{}, err
	}
	return e, nil
}

func auditJSON(v any) ([]byte, error) {
	if v == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(v)
}

// Audit lists audit entries newest first.
func (s *Store) Audit(ctx context.Context, experimentID int64, limit int) ([]experiment.AuditEntry, error) {
	var rows []struct {
		ID           int64         `db:"id"`
		ExperimentID sql.NullInt64 `db:"experiment_id"`
		At           time.Time     `db:"at"`
		Actor        string        `db:"actor"`
		Action       string        `db:"action"`
		Subject      string        `db:"subject"`
		Diff         []byte        `db:"diff"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT id, experiment_id, at, actor, action, subject, diff
		FROM audit_log WHERE $1 = 0 OR experiment_id = $1 ORDER BY id DESC LIMIT $2`, experimentID, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = experiment.AuditEntry{ID: r.ID, ExperimentID: r.ExperimentID.Int64, At: r.At.UTC(), Actor: r.Actor,
			Action: r.Action, Subject: r.Subject, Diff: json.RawMessage(r.Diff)}
	}
	return out, nil
}
