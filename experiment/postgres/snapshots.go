package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

var _ experiment.SnapshotStore = (*Store)(nil)

// dataVersionSQL reads what DataVersion reports in one statement.
const dataVersionSQL = `
	SELECT e.id, e.version, e.status = 'running' AS running,
	       coalesce((SELECT d.version FROM experiment_data d WHERE d.experiment_id = e.id), 0) AS data,
	       coalesce((SELECT a.version FROM attribute_data a), 0) AS attributes
	FROM experiments e WHERE e.key = $1`

// DataVersion reads the versions of an experiment's data as they stand (migration 00016).
func (s *Store) DataVersion(ctx context.Context, key string) (experiment.DataVersion, error) {
	stmt, err := s.prepared(ctx, dataVersionSQL)
	if err != nil {
		return experiment.DataVersion{}, err
	}
	var row struct {
		ID         int64 `db:"id"`
		Version    int64 `db:"version"`
		Running    bool  `db:"running"`
		Data       int64 `db:"data"`
		Attributes int64 `db:"attributes"`
	}
	err = stmt.GetContext(ctx, &row, key)
	if errors.Is(err, sql.ErrNoRows) {
		return experiment.DataVersion{}, experiment.Errorf(experiment.NotFound, "experiment %q not found", key)
	}
	if err != nil {
		return experiment.DataVersion{}, mapErr(err)
	}
	return experiment.DataVersion{Experiment: row.Version, Data: row.Data, Attributes: row.Attributes, Running: row.Running}, nil
}

// assignedPerArmSQL is an index-only scan of assignments_arm (the experiment's id a value
// of its own, so that the generic plan of the prepared statement scans the index too).
const assignedPerArmSQL = `
	SELECT arm_key, count(*) AS n FROM assignments
	WHERE experiment_id = (SELECT id FROM experiments WHERE key = $1) GROUP BY arm_key`

// AssignedPerArm counts the customers assigned per arm as they stand.
func (s *Store) AssignedPerArm(ctx context.Context, key string) (map[string]int64, error) {
	stmt, err := s.prepared(ctx, assignedPerArmSQL)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Arm string `db:"arm_key"`
		N   int64  `db:"n"`
	}
	if err := stmt.SelectContext(ctx, &rows, key); err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Arm] = r.N
	}
	return out, nil
}

// dataVersionIn reads the data versions of an experiment in tx's snapshot, for a summary
// read in the same snapshot; assigned are the counts per arm it read.
func dataVersionIn(ctx context.Context, tx *sqlx.Tx, experimentID int64, assigned map[string]experiment.ArmCount) (experiment.DataVersion, error) {
	var v experiment.DataVersion
	err := tx.QueryRowxContext(ctx, `SELECT
		coalesce((SELECT version FROM experiment_data WHERE experiment_id = $1), 0),
		coalesce((SELECT version FROM attribute_data), 0)`, experimentID).Scan(&v.Data, &v.Attributes)
	if err != nil {
		return v, err
	}
	v.Assigned = make(map[string]int64, len(assigned))
	for arm, n := range assigned {
		if n.Assigned > 0 {
			v.Assigned[arm] = n.Assigned
		}
	}
	return v, nil
}

// SaveHeadline upserts the headline of an analysis. It is a copy of what any instance
// computes again, so it does not wait for the flush of its commit (synchronous_commit
// off): a crash may lose the last headlines, never a response.
func (s *Store) SaveHeadline(ctx context.Context, experimentID int64, v experiment.DataVersion, h experiment.HeadlineAnalysis) error {
	responses, err := json.Marshal(h.Responses)
	if err != nil {
		return err
	}
	var assigned int64
	for _, n := range v.Assigned {
		assigned += n
	}
	arm := sql.NullString{String: h.Arm, Valid: h.Arm != ""}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO result_headlines AS h (experiment_id, experiment_version, data_version, assigned, computed_at,
			                                   responses, min_responses, action, arm, srm_mismatch, differential_response)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (experiment_id) DO UPDATE SET
			    experiment_version = excluded.experiment_version, data_version = excluded.data_version,
			    assigned = excluded.assigned, computed_at = excluded.computed_at, responses = excluded.responses,
			    min_responses = excluded.min_responses, action = excluded.action, arm = excluded.arm,
			    srm_mismatch = excluded.srm_mismatch, differential_response = excluded.differential_response
			WHERE excluded.experiment_version >= h.experiment_version AND excluded.data_version >= h.data_version
			  AND excluded.assigned >= h.assigned`,
			experimentID, v.Experiment, v.Data, assigned, h.ComputedAt, responses, h.MinResponses, h.Action, arm,
			h.SRMMismatch, h.DifferentialResponse)
		return err
	})
}

// OverviewSQL is the console's list (Overview): experiments with their arms, the headline of
// their latest analysis (whether its versions are still the experiment's) and their open
// alerts (an index-only count on alerts_open), newest first. $1 is a status or ”, $2 a
// part of the name or key or ”. Exported for `krslab bench list`, which runs it raw.
const OverviewSQL = `
	SELECT e.key, e.name, e.status, e.created_at, e.started_at, e.stopped_at, e.decided_at, e.target_responses_per_arm,
	       a.keys AS arm_keys, a.names AS arm_names, a.controls AS arm_controls,
	       (SELECT count(*) FROM alerts al WHERE al.experiment_id = e.id AND al.status = 'open') AS open_alerts,
	       h.computed_at, h.responses, h.min_responses, h.action, h.arm, h.srm_mismatch, h.differential_response,
	       e.version AS experiment_version, coalesce(d.version, 0) AS data_version,
	       h.experiment_version = e.version AND h.data_version = coalesce(d.version, 0) AS current
	FROM experiments e
	CROSS JOIN LATERAL (SELECT array_agg(key ORDER BY position) AS keys, array_agg(name ORDER BY position) AS names,
	                           array_agg(control ORDER BY position) AS controls
	                    FROM arms WHERE experiment_id = e.id) a
	LEFT JOIN result_headlines h ON h.experiment_id = e.id
	LEFT JOIN experiment_data d ON d.experiment_id = e.id
	WHERE ($1 = '' OR e.status = $1)
	  AND ($2 = '' OR strpos(lower(e.name), lower($2)) > 0 OR strpos(e.key, lower($2)) > 0)
	ORDER BY e.created_at DESC, e.id DESC`

// Overview reads the console's list in one query.
func (s *Store) Overview(ctx context.Context, status experiment.Status, search string) ([]experiment.Headline, error) {
	var rows []struct {
		Key          string         `db:"key"`
		Name         string         `db:"name"`
		Status       string         `db:"status"`
		CreatedAt    time.Time      `db:"created_at"`
		StartedAt    sql.NullTime   `db:"started_at"`
		StoppedAt    sql.NullTime   `db:"stopped_at"`
		DecidedAt    sql.NullTime   `db:"decided_at"`
		Target       sql.NullInt64  `db:"target_responses_per_arm"`
		ArmKeys      pq.StringArray `db:"arm_keys"`
		ArmNames     pq.StringArray `db:"arm_names"`
		ArmControls  pq.BoolArray   `db:"arm_controls"`
		OpenAlerts   int64          `db:"open_alerts"`
		ComputedAt   sql.NullTime   `db:"computed_at"`
		Responses    []byte         `db:"responses"`
		MinResponses sql.NullInt64  `db:"min_responses"`
		Action       sql.NullString `db:"action"`
		Arm          sql.NullString `db:"arm"`
		SRM          sql.NullBool   `db:"srm_mismatch"`
		Differential sql.NullBool   `db:"differential_response"`
		Experiment   int64          `db:"experiment_version"`
		Data         int64          `db:"data_version"`
		Current      sql.NullBool   `db:"current"`
	}
	if err := s.db.SelectContext(ctx, &rows, OverviewSQL, string(status), search); err != nil {
		return nil, mapErr(err)
	}
	out := make([]experiment.Headline, len(rows))
	for i, r := range rows {
		h := experiment.Headline{Key: r.Key, Name: r.Name, Status: experiment.Status(r.Status), CreatedAt: r.CreatedAt.UTC(),
			StartedAt: nullTime(r.StartedAt), StoppedAt: nullTime(r.StoppedAt), DecidedAt: nullTime(r.DecidedAt),
			OpenAlerts: r.OpenAlerts, ExperimentVersion: r.Experiment, DataVersion: r.Data}
		if r.Target.Valid {
			n := int(r.Target.Int64)
			h.TargetResponsesPerArm = &n
		}
		if len(r.ArmNames) != len(r.ArmKeys) || len(r.ArmControls) != len(r.ArmKeys) {
			return nil, experiment.Errorf(experiment.Internal, "arms of experiment %q do not line up", r.Key)
		}
		h.Arms = make([]experiment.HeadlineArm, len(r.ArmKeys))
		for i, key := range r.ArmKeys {
			h.Arms[i] = experiment.HeadlineArm{Key: key, Name: r.ArmNames[i], Control: r.ArmControls[i]}
		}
		if r.ComputedAt.Valid {
			a := &experiment.HeadlineAnalysis{ComputedAt: r.ComputedAt.Time.UTC(), Current: r.Current.Bool,
				MinResponses: r.MinResponses.Int64, Action: r.Action.String, Arm: r.Arm.String,
				SRMMismatch: r.SRM.Bool, DifferentialResponse: r.Differential.Bool}
			if err := json.Unmarshal(r.Responses, &a.Responses); err != nil {
				return nil, mapErr(err)
			}
			h.Analysis = a
		}
		out[i] = h
	}
	return out, nil
}

// lockDataVersions moves the data versions of the given experiments, in experiment order,
// for a transaction that will write their data in more than one statement (erasure): its
// statements' own moves then find the rows locked already, so that it takes them in one
// order, as every single statement does (migration 00016).
func lockDataVersions(ctx context.Context, tx *sqlx.Tx, experimentIDs []int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO experiment_data AS d (experiment_id)
		SELECT DISTINCT id FROM unnest($1::bigint[]) AS id ORDER BY id
		ON CONFLICT (experiment_id) DO UPDATE SET version = d.version + 1, changed_at = now()`, pq.Int64Array(experimentIDs))
	return err
}
