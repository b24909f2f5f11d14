package postgres

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
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

// latestCTE is, per customer and outcome, the answer that counted at a cut-off: of the
// answers given before it, the latest by answered_at, then by arrival (DOMAIN.md). The
// current latest answers are kept on the response rows instead (currentQuery).
func latestCTE(a *args, experimentID int64, keys []string, until time.Time) string {
	exp, ks := a.add(experimentID), a.add(pq.StringArray(keys))
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
		// Enough memory to group in a hash table rather than sort on disk; no JIT, whose
		// compilation costs more than these per-experiment aggregates save by it.
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`); err != nil {
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
// ""): rows[value][spec]: a level and its count for counted outcomes, n and sums for the
// others, and the CUPED sums when the experiment has covariates. The current results take
// one pass over the experiment's responses (currentQuery) and one over the few customers
// with several (severalQuery); a cut-off one pass for simple outcomes and one for
// composites (cutOffQueries).
func summaryRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec) (map[string][][]summaryRow, error) {
	out := map[string][][]summaryRow{}
	index := map[string]int{}
	byOutcome := func(rows []summaryRow) {
		for _, r := range rows {
			if out[r.Segment] == nil {
				out[r.Segment] = make([][]summaryRow, len(specs))
			}
			i := index[r.Outcome]
			out[r.Segment][i] = append(out[r.Segment][i], r)
		}
	}
	var counted, simple []string
	var composites []experiment.SummarySpec
	for i, spec := range specs {
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
	var until time.Time
	if len(specs) > 0 {
		until = specs[0].Until // the specs of one call share their cut-off
	}
	var withCovariates bool
	if err := tx.GetContext(ctx, &withCovariates, `SELECT EXISTS (SELECT 1 FROM covariates WHERE experiment_id = $1)`, experimentID); err != nil {
		return nil, err
	}
	var queries []string
	var params []args
	switch {
	case len(simple) == 0 && len(composites) == 0:
	case until.IsZero():
		var a args
		queries = append(queries, currentQuery(&a, experimentID, name, simple, counted, composites, withCovariates))
		params = append(params, a)
		if len(composites) > 0 {
			var a args
			queries = append(queries, severalQuery(&a, experimentID, name, composites, withCovariates))
			params = append(params, a)
		}
	default:
		queries, params = cutOffQueries(experimentID, name, simple, counted, composites, until, withCovariates)
	}
	for i, q := range queries {
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, q, params[i]...); err != nil {
			return nil, err
		}
		byOutcome(rows)
	}
	return out, nil
}

// level is the y of a summary row of cells: the level of a counted outcome, 0 for the
// others, whose rows carry n and the sums.
func level(a *args, counted []string) string {
	return `CASE WHEN c.outcome_key = ANY(` + a.add(pq.StringArray(counted)) + `::text[]) THEN c.y ELSE 0 END`
}

// currentQuery reads every spec from one pass over the experiment's responses. A customer
// with one response (nearly all) has its latest answers in that row: its simple outcomes are
// its answers, and its composites are computed from the row's arrays and appended to them,
// so that one unnest per row yields both. The few customers with several responses get
// their composites from severalQuery instead.
func currentQuery(a *args, experimentID int64, name string, simple, counted []string, composites []experiment.SummarySpec, withCovariates bool) string {
	exp := a.add(experimentID)
	keys, values := `ks.outcome_keys`, `r.answer_values`
	if len(composites) > 0 {
		var names pq.StringArray
		var exprs, nulls []string
		for _, spec := range composites {
			var terms []string
			for _, c := range spec.Components {
				lo, hi, _ := c.Bounds()
				k, l, h := a.add(c.Key), a.add(lo), a.add(hi)
				terms = append(terms, fmt.Sprintf("100 * (r.answer_values[array_position(ks.outcome_keys, %s::text)] - %s::float8) / (%s::float8 - %s::float8)", k, l, h, l))
			}
			names = append(names, spec.Outcome.Key)
			exprs = append(exprs, fmt.Sprintf("(%s) / %d", strings.Join(terms, " + "), len(terms)))
			nulls = append(nulls, "NULL")
		}
		keys = `ks.outcome_keys || ` + a.add(names) + `::text[]`
		values = `r.answer_values || CASE WHEN r.only_response THEN ARRAY[` + strings.Join(exprs, ", ") + `]::float8[]
			ELSE '{` + strings.Join(nulls, ",") + `}'::float8[] END`
	}
	wanted := append(append(pq.StringArray(nil), simple...), outcomeKeys(composites)...)
	src := `(SELECT r.customer_id, r.arm_key, x.k AS outcome_key, x.v AS y
		FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set
		CROSS JOIN LATERAL unnest(` + keys + `, ` + values + `) AS x(k, v)
		WHERE r.experiment_id = ` + exp + ` AND x.k = ANY(` + a.add(wanted) + `::text[]) AND x.v IS NOT NULL
		  AND x.k <> ALL (r.superseded)) s`
	return cells(a, segmented(a, src, "s.customer_id, s.arm_key, s.outcome_key, s.y", name), experimentID, level(a, counted), withCovariates)
}

// severalQuery sums the composites of the customers with several responses, from the latest
// answers of each component grouped by customer (a partial index finds those customers).
func severalQuery(a *args, experimentID int64, name string, specs []experiment.SummarySpec, withCovariates bool) string {
	exp := a.add(experimentID)
	b, all := components(a, specs)
	src := `(` + compositeOf(b, `(SELECT r.customer_id, r.arm_key, u.k, u.v AS value
		      FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set
		      CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS u(k, v)
		      WHERE r.experiment_id = `+exp+` AND NOT r.only_response
		        AND u.k = ANY(`+a.add(all)+`::text[]) AND u.k <> ALL (r.superseded))`) + `) s`
	return cells(a, segmented(a, src, "s.customer_id, s.arm_key, s.outcome_key, s.y", name), experimentID, "0", withCovariates)
}

// components is the composites' components as a relation b(composite, key, lo, hi, n), n
// being the composite's number of components, and the distinct component keys.
func components(a *args, specs []experiment.SummarySpec) (string, pq.StringArray) {
	var composite, keys, all pq.StringArray
	var los, his pq.Float64Array
	var counts []int64
	for _, spec := range specs {
		for _, c := range spec.Components {
			lo, hi, _ := c.Bounds()
			composite, keys, los, his = append(composite, spec.Outcome.Key), append(keys, c.Key), append(los, lo), append(his, hi)
			counts = append(counts, int64(len(spec.Components)))
			if !slices.Contains(all, c.Key) {
				all = append(all, c.Key)
			}
		}
	}
	return `unnest(` + a.add(composite) + `::text[], ` + a.add(keys) + `::text[], ` + a.add(los) + `::float8[], ` +
		a.add(his) + `::float8[], ` + a.add(pq.Int64Array(counts)) + `::int[]) AS b(composite, key, lo, hi, n)`, all
}

// compositeOf is each customer's composites from the latest component answers l
// (customer_id, arm_key, k, value): the mean of the components rescaled to 0..100, for
// customers who answered every component.
func compositeOf(b, l string) string {
	return `SELECT l.customer_id, l.arm_key, b.composite AS outcome_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) AS y
		FROM ` + l + ` l JOIN ` + b + ` ON b.key = l.k
		GROUP BY b.composite, l.customer_id, l.arm_key
		HAVING count(*) = max(b.n)`
}

// cells groups the rows c (segment, customer_id, arm_key, outcome_key, y) into summary rows
// per segment, outcome, arm and level (an expression, "0" for none), with the CUPED sums
// when the experiment has covariates.
func cells(a *args, c string, experimentID int64, level string, withCovariates bool) string {
	cov, join := `0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy`, ``
	if withCovariates {
		cov = covSums
		join = `
		LEFT JOIN covariates v ON v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = c.outcome_key AND v.customer_id = c.customer_id`
	}
	group := `GROUP BY c.segment, c.outcome_key, c.arm_key`
	if level != "0" { // (a constant would name a column by position)
		group += `, ` + level
	}
	return `SELECT c.segment, c.outcome_key, c.arm_key, ` + level + ` AS y, count(*) AS n, sum(c.y) AS sum, sum(c.y * c.y) AS sumsq, ` + cov + `
		FROM ` + c + ` c` + join + `
		` + group
}

// outcomeKeys are the keys of the specs' outcomes.
func outcomeKeys(specs []experiment.SummarySpec) []string {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = s.Outcome.Key
	}
	return keys
}

// cutOffQueries read the specs as they stood before a cut-off (the timeline), deriving the
// latest answers from those given before it: all simple outcomes in one pass, all
// composites in another.
func cutOffQueries(experimentID int64, name string, simple, counted []string, composites []experiment.SummarySpec, until time.Time, withCovariates bool) ([]string, []args) {
	var queries []string
	var params []args
	if len(simple) > 0 {
		var a args
		latest := latestCTE(&a, experimentID, simple, until)
		c := segmented(&a, "latest s", "s.outcome_key, s.customer_id, s.arm_key, s.value AS y", name)
		queries = append(queries, `WITH `+latest+`
		`+cells(&a, c, experimentID, level(&a, counted), withCovariates))
		params = append(params, a)
	}
	if len(composites) > 0 {
		var a args
		queries = append(queries, compositeQuery(&a, experimentID, name, composites, until, withCovariates))
		params = append(params, a)
	}
	return queries, params
}

// compositeQuery sums every composite of customers who answered all its components, from
// each component's latest answer before the cut-off, with the CUPED sums of the composite's
// covariate. One pass serves all composites.
func compositeQuery(a *args, experimentID int64, name string, specs []experiment.SummarySpec, until time.Time, withCovariates bool) string {
	b, all := components(a, specs)
	cust := latestCTE(a, experimentID, all, until) + `,
		cust AS (` + compositeOf(b, `(SELECT customer_id, arm_key, outcome_key AS k, value FROM latest)`) + `)`
	return `WITH ` + cust + `
		` + cells(a, segmented(a, "cust s", "s.outcome_key, s.customer_id, s.arm_key, s.y", name), experimentID, "0", withCovariates)
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

// RecordLooks keeps the running minimum of sequential p-values in one statement. Readers
// record looks concurrently, so the rows are upserted in key order: two statements that
// update some of the same rows then wait for each other in one order, never in a cycle.
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
		SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::float8[]) AS t(outcome_key, arm_key, p)
		ORDER BY t.outcome_key, t.arm_key
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
