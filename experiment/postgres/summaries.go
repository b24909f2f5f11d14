package postgres

import (
	"context"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// latestCTE keeps, per customer and outcome, the answer that counts: the latest by
// answered_at, then by arrival (DOMAIN.md). $1 is the experiment, $3 the outcome keys,
// $4 the cut-off (answers before it count).
const latestCTE = `latest AS (
	SELECT DISTINCT ON (outcome_key, customer_id) outcome_key, customer_id, arm_key, value
	FROM answers
	WHERE experiment_id = $1 AND outcome_key = ANY($3::text[]) AND answered_at < $4::timestamptz
	ORDER BY outcome_key, customer_id, answered_at DESC, seq DESC
)`

// simpleCust gives one value per customer for an answered outcome.
const simpleCust = `cust AS (SELECT customer_id, arm_key, value AS y FROM latest)`

// compositeCust gives the composite of customers who answered every component: the mean
// of the components rescaled to 0..100 ($5, $6 are the component bounds in $3's order).
const compositeCust = `cust AS (
	SELECT l.customer_id, l.arm_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) AS y
	FROM latest l
	JOIN unnest($3::text[], $5::float8[], $6::float8[]) AS b(key, lo, hi) ON b.key = l.outcome_key
	GROUP BY l.customer_id, l.arm_key
	HAVING count(*) = cardinality($3::text[])
)`

// The CUPED sums join the covariates of the outcome ($2) to the customers' values.
const covJoin = ` FROM cust c LEFT JOIN covariates v
	ON v.experiment_id = $1 AND v.outcome_key = $2 AND v.customer_id = c.customer_id`

const covSums = `count(v.value) AS nx, coalesce(sum(v.value), 0) AS sx, coalesce(sum(v.value * v.value), 0) AS sxx,
	coalesce(sum(v.value * c.y), 0) AS sxy, coalesce(sum(c.y) FILTER (WHERE v.value IS NOT NULL), 0) AS sy`

type summaryRow struct {
	Arm   string  `db:"arm_key"`
	Y     float64 `db:"y"`
	N     int64   `db:"n"`
	Sum   float64 `db:"sum"`
	SumSq float64 `db:"sumsq"`
	NX    int64   `db:"nx"`
	SX    float64 `db:"sx"`
	SXX   float64 `db:"sxx"`
	SXY   float64 `db:"sxy"`
	SY    float64 `db:"sy"`
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
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off`); err != nil {
			return err
		}
		arms, err := armCounts(ctx, tx, experimentID)
		if err != nil {
			return err
		}
		out.Arms = arms
		out.Outcomes = make([]map[string]stats.ArmData, len(specs))
		for i, spec := range specs {
			if out.Outcomes[i], err = summarize(ctx, tx, experimentID, spec); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

func summarize(ctx context.Context, tx *sqlx.Tx, experimentID int64, spec experiment.SummarySpec) (map[string]stats.ArmData, error) {
	o := spec.Outcome
	keys := pq.StringArray{o.Key}
	var los, his pq.Float64Array
	cust := simpleCust
	if o.Kind == experiment.Composite {
		keys = keys[:0]
		for _, c := range spec.Components {
			lo, hi, _ := c.Bounds()
			keys, los, his = append(keys, c.Key), append(los, lo), append(his, hi)
		}
		cust = compositeCust
	}
	var query string
	if spec.Counts {
		query = `WITH ` + latestCTE + `, ` + cust + `
			SELECT c.arm_key, c.y, count(*) AS n, 0 AS sum, 0 AS sumsq, ` + covSums + covJoin + `
			GROUP BY c.arm_key, c.y`
	} else {
		query = `WITH ` + latestCTE + `, ` + cust + `
			SELECT c.arm_key, 0 AS y, count(*) AS n, sum(c.y) AS sum, sum(c.y * c.y) AS sumsq, ` + covSums + covJoin + `
			GROUP BY c.arm_key`
	}
	until := "infinity"
	if !spec.Until.IsZero() {
		until = spec.Until.UTC().Format(time.RFC3339Nano)
	}
	args := []any{experimentID, o.Key, keys, until}
	if o.Kind == experiment.Composite {
		args = append(args, los, his)
	}
	var rows []summaryRow
	if err := tx.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, err
	}
	return foldSummaries(spec, rows), nil
}

// foldSummaries turns the grouped rows into per-arm stats input.
func foldSummaries(spec experiment.SummarySpec, rows []summaryRow) map[string]stats.ArmData {
	out := map[string]stats.ArmData{}
	covs := map[string]*stats.CovariateSums{}
	var withCov int64
	lo, hi, _ := spec.Outcome.Bounds()
	for _, r := range rows {
		d := out[r.Arm]
		if spec.Counts {
			if d.Counts == nil {
				d.Counts = &stats.Counts{Min: int(lo), N: make([]int64, int(hi-lo)+1)}
			}
			level := int(math.Round(r.Y - lo))
			if level >= 0 && level < len(d.Counts.N) {
				d.Counts.N[level] += r.N
			}
		} else {
			d.Moments = stats.Moments{N: r.N, Sum: r.Sum, SumSq: r.SumSq}
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
