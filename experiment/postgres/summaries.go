package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// args numbers query parameters as they are added.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}

// latestCTE is, per customer and outcome, the answer that counts: the latest by answered_at,
// then by arrival (DOMAIN.md). Without a cut-off it is maintained in latest_answers; with
// one (the timeline) it is derived from the answers given before the cut-off.
func latestCTE(a *args, experimentID int64, keys []string, until time.Time) string {
	exp, ks := a.add(experimentID), a.add(pq.StringArray(keys))
	if until.IsZero() {
		return `latest AS (SELECT outcome_key, customer_id, arm_key, value FROM latest_answers
			WHERE experiment_id = ` + exp + ` AND outcome_key = ANY(` + ks + `::text[]))`
	}
	cut := a.add(until.UTC().Format(time.RFC3339Nano))
	return `latest AS (
		SELECT DISTINCT ON (outcome_key, customer_id) outcome_key, customer_id, arm_key, value
		FROM answers
		WHERE experiment_id = ` + exp + ` AND outcome_key = ANY(` + ks + `::text[]) AND answered_at < ` + cut + `::timestamptz
		ORDER BY outcome_key, customer_id, answered_at DESC, seq DESC)`
}

// covSums are the CUPED sums of the customers' values (c.y) with their covariates (v).
const covSums = `count(v.value) AS nx, coalesce(sum(v.value), 0) AS sx, coalesce(sum(v.value * v.value), 0) AS sxx,
	coalesce(sum(v.value * c.y), 0) AS sxy, coalesce(sum(c.y) FILTER (WHERE v.value IS NOT NULL), 0) AS sy`

type summaryRow struct {
	Outcome string  `db:"outcome_key"`
	Arm     string  `db:"arm_key"`
	Y       float64 `db:"y"`
	N       int64   `db:"n"`
	Sum     float64 `db:"sum"`
	SumSq   float64 `db:"sumsq"`
	NX      int64   `db:"nx"`
	SX      float64 `db:"sx"`
	SXX     float64 `db:"sxx"`
	SXY     float64 `db:"sxy"`
	SY      float64 `db:"sy"`
}

// Summarize computes the traffic per arm and the sufficient statistics of each outcome per
// arm inside PostgreSQL (counts per level for discrete outcomes, n / sum / sum of squares
// otherwise, and the CUPED cross sums), so that no raw answer leaves the database. All
// queries read one snapshot, so counts agree across outcomes.
func (s *Store) Summarize(ctx context.Context, experimentID int64, specs []experiment.SummarySpec) (experiment.Summary, error) {
	var out experiment.Summary
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		// Right after a bulk load the planner's statistics still say the tables are empty
		// and it picks nested loops that scan the covariates once per customer; hash joins
		// are never much worse for these per-experiment aggregates.
		// Enough memory to group in a hash table rather than sort on disk.
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		arms, err := armCounts(ctx, tx, experimentID)
		if err != nil {
			return err
		}
		out.Arms = arms
		out.Outcomes, err = summarize(ctx, tx, experimentID, specs)
		return err
	})
	return out, err
}

// summarize reads every simple outcome of one kind of summary (counts per level, or sums)
// in one pass, and each composite in one query.
func summarize(ctx context.Context, tx *sqlx.Tx, experimentID int64, specs []experiment.SummarySpec) ([]map[string]stats.ArmData, error) {
	out := make([]map[string]stats.ArmData, len(specs))
	var counted, summed []string
	for i, spec := range specs {
		switch {
		case spec.Outcome.Kind == experiment.Composite:
			rows, err := compositeRows(ctx, tx, experimentID, spec)
			if err != nil {
				return nil, err
			}
			out[i] = foldSummaries(spec, rows)
		case spec.Counts:
			counted = append(counted, spec.Outcome.Key)
		default:
			summed = append(summed, spec.Outcome.Key)
		}
	}
	var until time.Time
	if len(specs) > 0 {
		until = specs[0].Until // the specs of one call share their cut-off
	}
	byOutcome := map[string][]summaryRow{}
	for _, group := range []struct {
		keys   []string
		counts bool
	}{{counted, true}, {summed, false}} {
		if len(group.keys) == 0 {
			continue
		}
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, group.keys, until) + `
			SELECT c.outcome_key, c.arm_key, ` + aggregates(group.counts) + `,
			       0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy
			FROM (SELECT outcome_key, customer_id, arm_key, value AS y FROM latest) c
			GROUP BY c.outcome_key, c.arm_key` + map[bool]string{true: ", c.y", false: ""}[group.counts]
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			byOutcome[r.Outcome] = append(byOutcome[r.Outcome], r)
		}
	}
	// The CUPED sums cover only customers with a covariate, so they are read from the
	// covariates side: nothing to do for the many experiments without any.
	if simple := append(append([]string(nil), counted...), summed...); len(simple) > 0 {
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, simple, until) + `
			SELECT c.outcome_key, c.arm_key, 0 AS y, 0 AS n, 0 AS sum, 0 AS sumsq, ` + covSums + `
			FROM covariates v
			JOIN (SELECT outcome_key, customer_id, arm_key, value AS y FROM latest) c
			  ON c.outcome_key = v.outcome_key AND c.customer_id = v.customer_id
			WHERE v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ANY(` + a.add(pq.StringArray(simple)) + `::text[])
			GROUP BY c.outcome_key, c.arm_key`
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			byOutcome[r.Outcome] = append(byOutcome[r.Outcome], r)
		}
	}
	for i, spec := range specs {
		if spec.Outcome.Kind != experiment.Composite {
			out[i] = foldSummaries(spec, byOutcome[spec.Outcome.Key])
		}
	}
	return out, nil
}

// aggregates are the per-group columns: a level and its count, or n and the sums.
func aggregates(counts bool) string {
	if counts {
		return `c.y, count(*) AS n, 0 AS sum, 0 AS sumsq`
	}
	return `0 AS y, count(*) AS n, sum(c.y) AS sum, sum(c.y * c.y) AS sumsq`
}

// compositeRows sums the composite of customers who answered every component: the mean of
// the components rescaled to 0..100.
func compositeRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, spec experiment.SummarySpec) ([]summaryRow, error) {
	var keys []string
	var los, his pq.Float64Array
	for _, c := range spec.Components {
		lo, hi, _ := c.Bounds()
		keys, los, his = append(keys, c.Key), append(los, lo), append(his, hi)
	}
	var a args
	if spec.Until.IsZero() {
		return compositeFromRollup(ctx, tx, experimentID, spec, keys, los, his)
	}
	latest := latestCTE(&a, experimentID, keys, spec.Until)
	query := `WITH ` + latest + `,
		cust AS (
			SELECT l.customer_id, l.arm_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) AS y
			FROM latest l
			JOIN unnest(` + a.add(pq.StringArray(keys)) + `::text[], ` + a.add(los) + `::float8[], ` + a.add(his) + `::float8[]) AS b(key, lo, hi)
			  ON b.key = l.outcome_key
			GROUP BY l.customer_id, l.arm_key
			HAVING count(*) = ` + a.add(len(keys)) + `
		)
		SELECT '' AS outcome_key, c.arm_key, ` + aggregates(false) + `, ` + covSums + `
		FROM cust c LEFT JOIN covariates v
		  ON v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ` + a.add(spec.Outcome.Key) + ` AND v.customer_id = c.customer_id
		GROUP BY c.arm_key`
	var rows []summaryRow
	err := tx.SelectContext(ctx, &rows, query, a...)
	return rows, err
}

// compositeFromRollup joins the components' latest answers customer by customer: each
// component is one range of the rollup's primary key, so the join needs no sort or
// grouping by customer.
func compositeFromRollup(ctx context.Context, tx *sqlx.Tx, experimentID int64, spec experiment.SummarySpec,
	keys []string, los, his []float64) ([]summaryRow, error) {
	var a args
	exp := a.add(experimentID)
	var from, terms string
	for i, k := range keys {
		alias := fmt.Sprintf("c%d", i)
		lo, hi := a.add(los[i]), a.add(his[i])
		terms += fmt.Sprintf(" + 100 * (%s.value - %s::float8) / (%s::float8 - %s::float8)", alias, lo, hi, lo)
		if i == 0 {
			from = fmt.Sprintf("latest_answers %s", alias)
			continue
		}
		from += fmt.Sprintf(" JOIN latest_answers %s ON %s.experiment_id = c0.experiment_id AND %s.outcome_key = %s AND %s.customer_id = c0.customer_id",
			alias, alias, alias, a.add(k), alias)
	}
	query := `WITH cust AS (
			SELECT c0.customer_id, c0.arm_key, (` + terms[3:] + `) / ` + a.add(float64(len(keys))) + `::float8 AS y
			FROM ` + from + `
			WHERE c0.experiment_id = ` + exp + ` AND c0.outcome_key = ` + a.add(keys[0]) + `
		)
		SELECT '' AS outcome_key, c.arm_key, ` + aggregates(false) + `, ` + covSums + `
		FROM cust c LEFT JOIN covariates v
		  ON v.experiment_id = ` + exp + ` AND v.outcome_key = ` + a.add(spec.Outcome.Key) + ` AND v.customer_id = c.customer_id
		GROUP BY c.arm_key`
	var rows []summaryRow
	err := tx.SelectContext(ctx, &rows, query, a...)
	return rows, err
}

// foldSummaries turns the grouped rows into per-arm stats input.
func foldSummaries(spec experiment.SummarySpec, rows []summaryRow) map[string]stats.ArmData {
	out := map[string]stats.ArmData{}
	covs := map[string]*stats.CovariateSums{}
	var withCov int64
	lo, hi, _ := spec.Outcome.Bounds()
	for _, r := range rows {
		d := out[r.Arm]
		// Rows carry either answers (N > 0) or CUPED sums (NX > 0).
		switch {
		case r.N == 0:
		case spec.Counts:
			if d.Counts == nil {
				d.Counts = &stats.Counts{Min: int(lo), N: make([]int64, int(hi-lo)+1)}
			}
			level := int(math.Round(r.Y - lo))
			if level >= 0 && level < len(d.Counts.N) {
				d.Counts.N[level] += r.N
			}
		default:
			d.Moments.N += r.N
			d.Moments.Sum += r.Sum
			d.Moments.SumSq += r.SumSq
		}
		c := covs[r.Arm]
		if c == nil {
			c = &stats.CovariateSums{}
			covs[r.Arm] = c
		}
		c.NX += r.NX
		c.SumX += r.SX
		c.SumXX += r.SXX
		c.SumXY += r.SXY
		c.SumY += r.SY
		withCov += r.NX
		out[r.Arm] = d
	}
	for arm, d := range out {
		if d.Counts != nil {
			d.Moments = d.Counts.Moments()
		}
		if withCov > 0 {
			d.Cov = covs[arm]
		}
		out[arm] = d
	}
	return out
}

// AnswerDays lists the UTC days on which any of the given outcomes was answered, in order.
func (s *Store) AnswerDays(ctx context.Context, experimentID int64, outcomes []string) ([]time.Time, error) {
	var days []time.Time
	err := s.db.SelectContext(ctx, &days, `
		SELECT DISTINCT date_trunc('day', answered_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
		FROM answers WHERE experiment_id = $1 AND outcome_key = ANY($2) ORDER BY day`,
		experimentID, pq.StringArray(outcomes))
	if err != nil {
		return nil, mapErr(err)
	}
	for i := range days {
		days[i] = days[i].UTC()
	}
	return days, nil
}

// RecordLooks keeps the running minimum of sequential p-values in one statement.
func (s *Store) RecordLooks(ctx context.Context, experimentID int64, looks []experiment.Look) ([]float64, error) {
	outcomes := make(pq.StringArray, len(looks))
	arms := make(pq.StringArray, len(looks))
	ps := make(pq.Float64Array, len(looks))
	for i, l := range looks {
		outcomes[i], arms[i], ps[i] = l.Outcome, l.Arm, l.PValue
	}
	var rows []struct {
		Outcome string  `db:"outcome_key"`
		Arm     string  `db:"arm_key"`
		PMin    float64 `db:"p_min"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		INSERT INTO sequential_looks AS s (experiment_id, outcome_key, arm_key, p_min)
		SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::float8[]) AS t
		ON CONFLICT (experiment_id, outcome_key, arm_key) DO UPDATE
		SET p_min = least(s.p_min, excluded.p_min), looks = s.looks + 1, last_look_at = now()
		RETURNING outcome_key, arm_key, p_min`, experimentID, outcomes, arms, ps)
	if err != nil {
		return nil, mapErr(err)
	}
	type pair struct{ o, a string }
	min := make(map[pair]float64, len(rows))
	for _, r := range rows {
		min[pair{r.Outcome, r.Arm}] = r.PMin
	}
	out := make([]float64, len(looks))
	for i, l := range looks {
		out[i] = min[pair{l.Outcome, l.Arm}]
	}
	return out, nil
}
