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
	Segment string  `db:"segment"` // "" when not segmented
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
	err := s.inSummaryTx(ctx, func(tx *sqlx.Tx) error {
		arms, err := armCounts(ctx, tx, experimentID, "")
		if err != nil {
			return err
		}
		rows, err := summaryRows(ctx, tx, experimentID, "", specs)
		if err != nil {
			return err
		}
		out = summaryOf(specs, arms[""], rows[""])
		return nil
	})
	return out, err
}

// inSummaryTx reads in one snapshot, with plans fit for per-experiment aggregates.
func (s *Store) inSummaryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		// Right after a bulk load the planner's statistics still say the tables are empty
		// and it picks nested loops that scan the covariates once per customer; hash joins
		// are never much worse for these per-experiment aggregates. Enough memory to group
		// in a hash table rather than sort on disk.
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// summaryOf folds the rows of each spec (rows[i], may be nil) into a Summary.
func summaryOf(specs []experiment.SummarySpec, arms map[string]experiment.ArmCount, rows [][]summaryRow) experiment.Summary {
	sum := experiment.Summary{Arms: arms, Outcomes: make([]map[string]stats.ArmData, len(specs))}
	if sum.Arms == nil {
		sum.Arms = map[string]experiment.ArmCount{}
	}
	for i, spec := range specs {
		var r []summaryRow
		if rows != nil {
			r = rows[i]
		}
		sum.Outcomes[i] = foldSummaries(spec, r)
	}
	return sum
}

// segmented selects the columns cols of the rows src (aliased s, with a customer_id) with a
// column segment: the customer's value of the attribute named by the parameter name
// (NoSegment when it lacks one), or "" when name is "" (no segmentation). The attribute's
// primary key makes the join add no rows.
func segmented(a *args, src, cols, name string) string {
	if name == "" {
		return `(SELECT ` + cols + `, '' AS segment FROM ` + src + `)`
	}
	return `(SELECT ` + cols + `, coalesce(ca.value, '` + experiment.NoSegment + `') AS segment
		FROM ` + src + ` LEFT JOIN customer_attributes ca ON ca.name = ` + a.add(name) + ` AND ca.customer_id = s.customer_id)`
}

// summaryRows reads the rows of every spec per segment value (one value, "", when name is
// ""): rows[value][spec]. Simple outcomes of one kind of summary (counts per level, or sums)
// take one pass together; each composite takes one query.
func summaryRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec) (map[string][][]summaryRow, error) {
	out := map[string][][]summaryRow{}
	add := func(i int, rows []summaryRow) {
		for _, r := range rows {
			if out[r.Segment] == nil {
				out[r.Segment] = make([][]summaryRow, len(specs))
			}
			out[r.Segment][i] = append(out[r.Segment][i], r)
		}
	}
	index := map[string]int{}
	var counted, summed []string
	for i, spec := range specs {
		switch {
		case spec.Outcome.Kind == experiment.Composite:
			rows, err := compositeRows(ctx, tx, experimentID, name, spec)
			if err != nil {
				return nil, err
			}
			add(i, rows)
		case spec.Counts:
			counted = append(counted, spec.Outcome.Key)
			index[spec.Outcome.Key] = i
		default:
			summed = append(summed, spec.Outcome.Key)
			index[spec.Outcome.Key] = i
		}
	}
	var until time.Time
	if len(specs) > 0 {
		until = specs[0].Until // the specs of one call share their cut-off
	}
	byOutcome := func(rows []summaryRow) {
		for _, r := range rows {
			add(index[r.Outcome], []summaryRow{r})
		}
	}
	// The latest answer of each customer and outcome, with its segment.
	cust := func(a *args) string {
		return segmented(a, "latest s", "s.outcome_key, s.customer_id, s.arm_key, s.value AS y", name) + ` c`
	}
	for _, group := range []struct {
		keys   []string
		counts bool
	}{{counted, true}, {summed, false}} {
		if len(group.keys) == 0 {
			continue
		}
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, group.keys, until) + `
			SELECT c.segment, c.outcome_key, c.arm_key, ` + aggregates(group.counts) + `,
			       0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy
			FROM ` + cust(&a) + `
			GROUP BY c.segment, c.outcome_key, c.arm_key` + map[bool]string{true: ", c.y", false: ""}[group.counts]
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		byOutcome(rows)
	}
	// The CUPED sums cover only customers with a covariate, so they are read from the
	// covariates side: nothing to do for the many experiments without any.
	if simple := append(append([]string(nil), counted...), summed...); len(simple) > 0 {
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, simple, until) + `
			SELECT c.segment, c.outcome_key, c.arm_key, 0 AS y, 0 AS n, 0 AS sum, 0 AS sumsq, ` + covSums + `
			FROM covariates v
			JOIN ` + cust(&a) + ` ON c.outcome_key = v.outcome_key AND c.customer_id = v.customer_id
			WHERE v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ANY(` + a.add(pq.StringArray(simple)) + `::text[])
			GROUP BY c.segment, c.outcome_key, c.arm_key`
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		byOutcome(rows)
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
// the components rescaled to 0..100. Without a cut-off the components' latest answers are
// joined customer by customer on the rollup's primary key (each component is one range of
// it, so the join needs no sort or grouping by customer); with one they are grouped from
// the answers given before it.
func compositeRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, spec experiment.SummarySpec) ([]summaryRow, error) {
	var keys []string
	var los, his []float64
	for _, c := range spec.Components {
		lo, hi, _ := c.Bounds()
		keys, los, his = append(keys, c.Key), append(los, lo), append(his, hi)
	}
	var a args
	var cust string
	if spec.Until.IsZero() {
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
		cust = `cust AS (
			SELECT c0.customer_id, c0.arm_key, (` + terms[3:] + `) / ` + a.add(float64(len(keys))) + `::float8 AS y
			FROM ` + from + `
			WHERE c0.experiment_id = ` + exp + ` AND c0.outcome_key = ` + a.add(keys[0]) + `)`
	} else {
		cust = latestCTE(&a, experimentID, keys, spec.Until) + `,
		cust AS (
			SELECT l.customer_id, l.arm_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) AS y
			FROM latest l
			JOIN unnest(` + a.add(pq.StringArray(keys)) + `::text[], ` + a.add(pq.Float64Array(los)) + `::float8[], ` + a.add(pq.Float64Array(his)) + `::float8[]) AS b(key, lo, hi)
			  ON b.key = l.outcome_key
			GROUP BY l.customer_id, l.arm_key
			HAVING count(*) = ` + a.add(len(keys)) + `)`
	}
	query := `WITH ` + cust + `
		SELECT c.segment, '' AS outcome_key, c.arm_key, ` + aggregates(false) + `, ` + covSums + `
		FROM ` + segmented(&a, "cust s", "s.customer_id, s.arm_key, s.y", name) + ` c
		LEFT JOIN covariates v
		  ON v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ` + a.add(spec.Outcome.Key) + ` AND v.customer_id = c.customer_id
		GROUP BY c.segment, c.arm_key`
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
