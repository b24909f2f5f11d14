package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

var _ experiment.DriverStore = (*Store)(nil)

// driverReferenceSample is how many customers' values the reference values of a drivers
// question are the median of (as referenceSample is for the summaries).
const driverReferenceSample = 25

// DriverSums sums, in one statement, the values and cross-products of the variables over
// the arm's customers who have a counted answer of every one (a composite: every
// component), each value less a reference value K (the median of the first
// driverReferenceSample such customers' values): n, Σ(v_i - K_i) and
// Σ(v_i - K_i)(v_j - K_j). Nothing per customer leaves the database, and the database
// holds nothing per customer but for the few who answered more than once.
func (s *Store) DriverSums(ctx context.Context, experimentID int64, arm string, vars []experiment.DriverVariable) (stats.CrossProducts, error) {
	var a args
	q := driverSumsQuery(&a, experimentID, arm, vars)
	var row struct {
		N     int64           `db:"n"`
		Shift pq.Float64Array `db:"shift"`
		Sum   pq.Float64Array `db:"sum"`
		Cross pq.Float64Array `db:"cross"`
	}
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		// One aggregate over the arm's responses: no JIT, whose compilation of this many
		// expressions costs more than it saves.
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		return tx.GetContext(ctx, &row, q, a...)
	})
	if err != nil {
		return stats.CrossProducts{}, mapErr(err)
	}
	m := len(vars)
	if len(row.Shift) != m || len(row.Sum) != m || len(row.Cross) != m*(m+1)/2 {
		return stats.CrossProducts{}, fmt.Errorf("drivers: %d variables but %d shifts, %d sums and %d cross-products",
			m, len(row.Shift), len(row.Sum), len(row.Cross))
	}
	return stats.CrossProducts{N: row.N, Shift: row.Shift, Sum: row.Sum, Cross: row.Cross}, nil
}

// driverSumsQuery is DriverSums' statement. The customers' values (one row of x0..x(m-1)
// per customer who has every one) come from two sources, as in currentQuery: a customer
// with one response (nearly all) has its latest answers in that row, which must hold
// every key the variables need (alone); the few with a repeat have their latest answers
// (latestQuery) grouped by customer. A composite is computed from its components
// as compositeExpr computes it.
func driverSumsQuery(a *args, experimentID int64, arm string, vars []experiment.DriverVariable) string {
	exp, armKey := a.add(experimentID), a.add(arm)
	// The answered keys the variables need, each a column of the grouped source.
	var needed []string
	for _, v := range vars {
		if v.Outcome.Kind == experiment.Composite {
			for _, c := range v.Components {
				if !slices.Contains(needed, c.Key) {
					needed = append(needed, c.Key)
				}
			}
		} else if !slices.Contains(needed, v.Outcome.Key) {
			needed = append(needed, v.Outcome.Key)
		}
	}
	keyParams := make(map[string]string, len(needed))
	for _, k := range needed {
		keyParams[k] = a.add(k)
	}
	neededParam := a.add(pq.StringArray(needed))

	// values are the variables' expressions given an answer's expression by key.
	values := func(answer func(key string) string) string {
		cols := make([]string, len(vars))
		for i, v := range vars {
			var x string
			if v.Outcome.Kind == experiment.Composite {
				x = compositeOfValues(a, v.Components, answer)
			} else {
				x = answer(v.Outcome.Key)
			}
			cols[i] = fmt.Sprintf("%s AS x%d", x, i)
		}
		return strings.Join(cols, ", ")
	}
	single := `SELECT ` + values(func(k string) string {
		return `r.answer_values[array_position(ks.outcome_keys, ` + keyParams[k] + `::text)]`
	}) + `
		FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set
		WHERE r.experiment_id = ` + exp + ` AND r.arm_key = ` + armKey + `::text AND ` + alone("r", exp) + `
		  AND r.key_set = ANY(ARRAY(SELECT id FROM answer_key_sets WHERE outcome_keys @> ` + neededParam + `::text[]))`
	pivot := make([]string, len(needed))
	present := make([]string, len(needed))
	column := map[string]string{}
	for i, k := range needed {
		column[k] = fmt.Sprintf("p.c%d", i)
		pivot[i] = fmt.Sprintf("max(l.value) FILTER (WHERE l.outcome_key = %s::text) AS c%d", keyParams[k], i)
		present[i] = column[k] + " IS NOT NULL"
	}
	several := `SELECT ` + values(func(k string) string { return column[k] }) + `
		FROM (SELECT l.customer_id, ` + strings.Join(pivot, ", ") + `
		      FROM (` + latestQuery(a, experimentID, needed, cut{repeats: true}) + `) l
		      WHERE l.arm_key = ` + armKey + `::text
		      GROUP BY l.customer_id) p
		WHERE ` + strings.Join(present, " AND ")
	rows := `(` + single + `
		UNION ALL
		` + several + `)`

	m := len(vars)
	var ks, diffs, shifts, sums, cross []string
	for i := range m {
		ks = append(ks, fmt.Sprintf("coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY v.x%d), 0) AS k%d", i, i))
		diffs = append(diffs, fmt.Sprintf("v.x%d - k.k%d AS d%d", i, i, i))
		shifts = append(shifts, fmt.Sprintf("k%d", i))
		sums = append(sums, fmt.Sprintf("coalesce(sum(d%d), 0)", i))
		for j := i; j < m; j++ { // in the order of stats.CrossIndex
			cross = append(cross, fmt.Sprintf("coalesce(sum(d%d * d%d), 0)", i, j))
		}
	}
	return `WITH k AS MATERIALIZED (
		SELECT ` + strings.Join(ks, ", ") + `
		FROM (SELECT * FROM ` + rows + ` v LIMIT ` + fmt.Sprint(driverReferenceSample) + `) v),
	d AS (SELECT ` + strings.Join(diffs, ", ") + ` FROM ` + rows + ` v CROSS JOIN k)
	SELECT (SELECT ARRAY[` + strings.Join(shifts, ", ") + `]::float8[] FROM k) AS shift, count(*) AS n,
		ARRAY[` + strings.Join(sums, ", ") + `]::float8[] AS sum,
		ARRAY[` + strings.Join(cross, ", ") + `]::float8[] AS cross
	FROM d`
}
