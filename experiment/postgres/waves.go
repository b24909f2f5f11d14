package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// Survey waves (STATS.md, third part). A wave's results read the same responses as the
// whole experiment's, with the wave a condition on each answer's age, so nothing is copied
// and the wave costs one more join with the assignments (by their primary key).

// inWave is the condition that an answer given at answered belongs to wave w of a customer
// assigned at assigned: its age d = floor((answered - assigned) / 1 day) lies in [from_day,
// to_day], that is from_day days <= answered - assigned < (to_day + 1) days; and the
// customer is eligible at the wave's moment (assigned at least from_day days before it).
// Days are 86,400 seconds, never calendar days of a time zone, so that the age of an answer
// does not depend on the session's zone or on daylight saving time.
func inWave(a *args, answered, assigned string, w experiment.WaveWindow) string {
	from, to := a.add(w.Wave.FromDay), a.add(w.Wave.ToDay+1)
	eligible := a.add(w.Wave.EligibleBefore(w.At).UTC().Format(time.RFC3339Nano))
	return `(` + answered + ` >= ` + assigned + ` + ` + from + `::int * interval '86400 seconds'
		AND ` + answered + ` < ` + assigned + ` + ` + to + `::int * interval '86400 seconds'
		AND ` + assigned + ` <= ` + eligible + `::timestamptz)`
}

// inWaveJoin restricts the responses r (an alias) to those in wave w, nil for all of them:
// the join with the customer's assignment that inWave needs (by its primary key, aliased
// wa) and the condition itself, to follow the responses' own join and WHERE clause.
func inWaveJoin(a *args, r string, w *experiment.WaveWindow) (join, cond string) {
	if w == nil {
		return "", ""
	}
	return `
			JOIN assignments wa ON wa.experiment_id = ` + r + `.experiment_id AND wa.customer_id = ` + r + `.customer_id`,
		` AND ` + inWave(a, r+".answered_at", "wa.assigned_at", *w)
}

// summarizeWave is Summarize of one wave, in the caller's snapshot: the eligible customers
// and those with a response in the wave per arm, the outcomes over the wave's latest
// answers, and the version with the whole experiment's assigned counts (what
// SnapshotStore.DataVersion reads) and valid until the next customer becomes eligible.
func summarizeWave(ctx context.Context, tx *sqlx.Tx, experimentID int64, specs []experiment.SummarySpec, w experiment.WaveWindow, out *experiment.Summary) error {
	arms, version, err := waveTraffic(ctx, tx, experimentID, w, "")
	if err != nil {
		return err
	}
	data, err := outcomeData(ctx, tx, experimentID, "", specs)
	if err != nil {
		return err
	}
	*out = summaryOf(specs, arms[""], data[""])
	out.Version = version
	return nil
}

// waveTraffic is waveArmCounts per segment value of the attribute name ("" for none) with
// the data version a wave's analysis read: the whole experiment's, with every customer
// assigned per arm, valid until the next customer becomes eligible in the wave.
func waveTraffic(ctx context.Context, tx *sqlx.Tx, experimentID int64, w experiment.WaveWindow, name string) (map[string]map[string]experiment.ArmCount, experiment.DataVersion, error) {
	arms, total, next, err := waveArmCounts(ctx, tx, experimentID, w, name)
	if err != nil {
		return nil, experiment.DataVersion{}, err
	}
	version, err := dataVersionIn(ctx, tx, experimentID, total)
	if err != nil {
		return nil, experiment.DataVersion{}, err
	}
	if !next.IsZero() {
		version.ValidUntil = next.Add(time.Duration(w.Wave.FromDay) * 24 * time.Hour)
	}
	return arms, version, nil
}

// waveArmCounts reads, in one pass over the experiment's assignments, per segment value of
// the attribute name (one value, "", when name is "") and arm: the customers eligible in
// the wave (assigned) and those of them with a response in it (responded); and per arm
// every customer assigned (total, for the data version), and the earliest assignment of a
// customer not yet eligible (zero when there is none), whose eligibility is the next change
// of the counts that time alone brings. Every value of the assigned customers has its
// counts, eligible or not. Whether a customer responded in the wave is looked up per
// assignment (an index probe by customer) rather than joined from a list of respondents:
// the planner takes a new experiment for a few rows until its statistics catch up, and
// would join such a list by a nested loop whose cost grows with the square of the customers.
func waveArmCounts(ctx context.Context, tx *sqlx.Tx, experimentID int64, w experiment.WaveWindow, name string) (arms map[string]map[string]experiment.ArmCount, total map[string]experiment.ArmCount, next time.Time, err error) {
	var a args
	exp := a.add(experimentID)
	eligible := a.add(w.Wave.EligibleBefore(w.At).UTC().Format(time.RFC3339Nano))
	src := segmented(&a, `(SELECT experiment_id, customer_id, arm_key, assigned_at FROM assignments WHERE experiment_id = `+exp+`) s`,
		"s.experiment_id, s.customer_id, s.arm_key, s.assigned_at", name)
	q := `
		SELECT s.segment, s.arm_key, count(*) AS total, count(*) FILTER (WHERE s.assigned_at <= ` + eligible + `::timestamptz) AS assigned,
		       count(*) FILTER (WHERE EXISTS (
		           SELECT 1 FROM responses r
		           WHERE r.experiment_id = s.experiment_id AND r.customer_id = s.customer_id
		             AND ` + inWave(&a, "r.answered_at", "s.assigned_at", w) + `)) AS responded,
		       min(s.assigned_at) FILTER (WHERE s.assigned_at > ` + eligible + `::timestamptz) AS next
		FROM ` + src + ` s
		GROUP BY s.segment, s.arm_key`
	var rows []struct {
		Segment   string       `db:"segment"`
		Arm       string       `db:"arm_key"`
		Total     int64        `db:"total"`
		Assigned  int64        `db:"assigned"`
		Responded int64        `db:"responded"`
		Next      sql.NullTime `db:"next"`
	}
	if err := tx.SelectContext(ctx, &rows, q, a...); err != nil {
		return nil, nil, time.Time{}, err
	}
	arms, total = map[string]map[string]experiment.ArmCount{}, map[string]experiment.ArmCount{}
	for _, r := range rows {
		if arms[r.Segment] == nil {
			arms[r.Segment] = map[string]experiment.ArmCount{}
		}
		arms[r.Segment][r.Arm] = experiment.ArmCount{Assigned: r.Assigned, Responded: r.Responded}
		t := total[r.Arm]
		t.Assigned += r.Total
		total[r.Arm] = t
		if r.Next.Valid && (next.IsZero() || r.Next.Time.Before(next)) {
			next = r.Next.Time.UTC()
		}
	}
	return arms, total, next, nil
}

// SummarizeChange reads the within-customer deltas between waves from and to (STATS.md,
// third part) in one snapshot: per spec and arm, over the customers with a counted answer
// of the outcome in both waves (each wave's latest), the customers counted by their pair of
// levels (counted outcomes: at most levels² rows) or the moments of their deltas. A delta
// takes the difference of two answers of one customer, so the values' offset cancels in it;
// its moments are raw sums. Composites are computed per customer and wave from the latest
// component answers within the wave, as in the wave's results.
func (s *Store) SummarizeChange(ctx context.Context, experimentID int64, from, to experiment.WaveWindow, specs []experiment.SummarySpec) ([]map[string]experiment.ArmChange, error) {
	out := make([]map[string]experiment.ArmChange, len(specs))
	index := map[string]int{}
	var simple, counted []string
	var composites []experiment.SummarySpec
	for i, spec := range specs {
		out[i] = map[string]experiment.ArmChange{}
		index[spec.Outcome.Key] = i
		switch {
		case spec.Outcome.Kind == experiment.Composite:
			composites = append(composites, spec)
		case spec.Counts:
			counted = append(counted, spec.Outcome.Key)
			simple = append(simple, spec.Outcome.Key)
		default:
			simple = append(simple, spec.Outcome.Key)
		}
	}
	var rows []changeRow
	err := s.inSummaryTx(ctx, func(tx *sqlx.Tx) error {
		if len(simple) > 0 {
			var a args
			q := `WITH first AS (` + latestQuery(&a, experimentID, simple, cut{wave: &from}) + `),
				last AS (` + latestQuery(&a, experimentID, simple, cut{wave: &to}) + `)` +
				changeCells(&a, "first", "last", counted)
			if err := tx.SelectContext(ctx, &rows, q, a...); err != nil {
				return err
			}
		}
		if len(composites) > 0 {
			var a args
			refs := references{k: map[string]float64{}}
			b, all := components(&a, composites, refs)
			q := `WITH la AS (` + latestQuery(&a, experimentID, all, cut{wave: &from}) + `),
				lb AS (` + latestQuery(&a, experimentID, all, cut{wave: &to}) + `),
				first AS (` + compositeOf(b, `(SELECT customer_id, arm_key, outcome_key AS k, value FROM la)`) + `),
				last AS (` + compositeOf(b, `(SELECT customer_id, arm_key, outcome_key AS k, value FROM lb)`) + `)` +
				changeCells(&a, "(SELECT outcome_key, customer_id, arm_key, y AS value FROM first)", "(SELECT outcome_key, customer_id, arm_key, y AS value FROM last)", nil)
			var more []changeRow
			if err := tx.SelectContext(ctx, &more, q, a...); err != nil {
				return err
			}
			rows = append(rows, more...)
		}
		return nil
	})
	if err != nil {
		return nil, mapErr(err)
	}
	for _, r := range rows {
		i := index[r.Outcome]
		c := out[i][r.Arm]
		if r.First.Valid {
			c.Pairs.Add(r.First.Float64, r.Last.Float64, r.N)
		} else {
			c.Moments = c.Moments.Merge(stats.Moments{N: r.N, Sum: r.Sum, SumSq: r.SumSq})
		}
		out[i][r.Arm] = c
	}
	return out, nil
}

// changeRow is one cell of SummarizeChange: the customers of an arm with a pair of levels
// (First and Last, counted outcomes), or the sums of the deltas (the others).
type changeRow struct {
	Outcome string          `db:"outcome_key"`
	Arm     string          `db:"arm_key"`
	First   sql.NullFloat64 `db:"first"`
	Last    sql.NullFloat64 `db:"last"`
	N       int64           `db:"n"`
	Sum     float64         `db:"sum"`
	SumSq   float64         `db:"sumsq"`
}

// changeCells pairs each customer's latest answer in the first wave (relation first:
// outcome_key, customer_id, arm_key, value) with that in the last (relation last, the same
// columns) and groups them per outcome and arm, and for the counted outcomes also per pair
// of levels. The pairs come from one grouping of both waves' answers per outcome and
// customer rather than from a join of the two: the planner cannot estimate how many rows
// the waves' latest answers (or composites) give, and, taking them for a handful, joins
// them by a nested loop whose cost grows with the square of the customers.
func changeCells(a *args, first, last string, counted []string) string {
	isCounted := `p.outcome_key = ANY(` + a.add(pq.StringArray(counted)) + `::text[])`
	return `
		SELECT p.outcome_key, p.arm_key,
		       CASE WHEN ` + isCounted + ` THEN p.f END AS first,
		       CASE WHEN ` + isCounted + ` THEN p.l END AS last,
		       count(*) AS n, sum(p.l - p.f) AS sum, sum((p.l - p.f) * (p.l - p.f)) AS sumsq
		FROM (SELECT u.outcome_key, u.customer_id, min(u.arm_key) AS arm_key,
		             min(u.value) FILTER (WHERE u.w = 0) AS f, min(u.value) FILTER (WHERE u.w = 1) AS l
		      FROM (SELECT 0 AS w, outcome_key, customer_id, arm_key, value FROM ` + first + ` x
		            UNION ALL
		            SELECT 1 AS w, outcome_key, customer_id, arm_key, value FROM ` + last + ` y) u
		      GROUP BY u.outcome_key, u.customer_id) p
		WHERE p.f IS NOT NULL AND p.l IS NOT NULL
		GROUP BY 1, 2, 3, 4`
}
