package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/krslab/krslab/experiment"
)

// The one-response pass by grouping sets. When every spec is counted by level (scales, net
// scores, yes/no, and composites of those) and the experiment has no covariates, what
// currentQuery reads of the customers with one response is a count per level: per key set,
// per arm (and segment), per value of each column of values, a column being a position of
// the answers or a composite written in for the key sets that answer it whole. One grouping
// set per column counts every row into each of its columns at once; currentQuery makes a
// row per answer first and groups those, which is most of what it costs. At 100,000
// responses × 10 answers (krslab bench results) the grouping sets took 240 ms in one
// process where the rows per answer took 340 ms in two.

// byLevels says whether summaryRows takes this pass where it can, and onLevels, when set,
// is called each time it does (both for tests, which compare it with currentQuery).
var (
	byLevels = true
	onLevels func()
)

// maxLevelColumns is the most columns levelsQuery counts in one statement: GROUPING()
// tells the column of a row by a bit each, in an integer.
const maxLevelColumns = 31

// levelColumn is a column of values of levelsQuery: its SQL over the response r, and per
// key set id the outcome whose value it holds (a key set absent from holds answers none).
type levelColumn struct {
	expr  string
	holds map[int64]string
}

// levelColumns are the columns of values levelsQuery counts for the simple (all counted)
// keys and the composites, over the key sets sets; nil when there are none or more than
// maxLevelColumns.
func levelColumns(a *args, simple []string, composites []experiment.SummarySpec, sets []keySet) []levelColumn {
	var cols []levelColumn
	byPosition := map[int]int{} // answer position -> index in cols
	for _, set := range sets {
		pos := set.positions()
		for _, k := range set.keys {
			if !slices.Contains(simple, k) {
				continue
			}
			j, ok := byPosition[pos[k]]
			if !ok {
				j = len(cols)
				byPosition[pos[k]] = j
				cols = append(cols, levelColumn{expr: pos.value(k), holds: map[int64]string{}})
			}
			cols[j].holds[set.id] = k
		}
	}
	for _, spec := range composites {
		// (Components counted by level keep a composite's values few; a numeric one could
		// give every response a value of its own.)
		if slices.ContainsFunc(spec.Components, func(o experiment.Outcome) bool {
			return o.Kind != experiment.Scale && o.Kind != experiment.Net && o.Kind != experiment.Binary
		}) {
			return nil
		}
		col := levelColumn{holds: map[int64]string{}}
		var whens []string
		for _, set := range sets {
			pos := set.positions()
			if !pos.answersWhole(spec) {
				continue
			}
			whens = append(whens, `WHEN `+a.add(set.id)+`::bigint THEN `+compositeOfValues(a, spec.Components, pos.value))
			col.holds[set.id] = spec.Outcome.Key
		}
		if len(whens) > 0 {
			col.expr = `CASE r.key_set ` + strings.Join(whens, " ") + ` END`
			cols = append(cols, col)
		}
	}
	if len(cols) == 0 || len(cols) > maxLevelColumns {
		return nil
	}
	return cols
}

// levelsQuery counts the rows of the customers with one response among those the cut
// selects, per segment (name, as segmented), arm, key set and value of each column: a row
// per (segment, arm, key set, column g, value v).
func levelsQuery(a *args, experimentID int64, name string, cols []levelColumn, c cut, repeats bool) string {
	exp := a.add(experimentID)
	join, where := c.selects(a, "r")
	segment := `''`
	if name != "" {
		segment = `coalesce(ca.value, '` + experiment.NoSegment + `')`
		join += ` LEFT JOIN customer_attributes ca ON ca.name = ` + a.add(name) + ` AND ca.customer_id = r.customer_id`
	}
	names := make([]string, len(cols))
	exprs := make([]string, len(cols))
	sets := make([]string, len(cols))
	for i, col := range cols {
		names[i] = fmt.Sprintf("c%d", i)
		exprs[i] = col.expr + ` AS ` + names[i]
		sets[i] = `(s.segment, s.arm_key, s.key_set, s.` + names[i] + `)`
	}
	return `SELECT s.segment, s.arm_key, s.key_set, GROUPING(s.` + strings.Join(names, ", s.") + `) AS g,
		       coalesce(s.` + strings.Join(names, ", s.") + `) AS v, count(*) AS n
		FROM (SELECT ` + segment + ` AS segment, r.arm_key, r.key_set, ` + strings.Join(exprs, ", ") + `
		      FROM responses r` + join + `
		      WHERE r.experiment_id = ` + exp + ` AND ` + aloneGiven("r", exp, repeats) + where + `) s
		GROUP BY GROUPING SETS (` + strings.Join(sets, ", ") + `)`
}

// levelsMemory lets levelsQuery hash every grouping set: the planner, which knows nothing of
// the values at a position of the answers, expects nearly one group per row in each and
// sorts the rows again for the sets it cannot fit, where there are a few groups per level.
// (What the hash tables hold is bounded by the levels: levelColumns takes no value that is
// not counted by level.)
const levelsMemory = `SET LOCAL hash_mem_multiplier = 1000`

// levelRows reads levelsQuery and folds its counts into the rows of currentQuery: per
// segment, outcome, arm and y (the value less the outcome's K), n, and the sums of y.
func levelRows(ctx context.Context, tx *sqlx.Tx, query string, params args, cols []levelColumn, refs references) ([]summaryRow, error) {
	var counts []struct {
		Segment string   `db:"segment"`
		Arm     string   `db:"arm_key"`
		KeySet  int64    `db:"key_set"`
		G       int64    `db:"g"`
		V       *float64 `db:"v"`
		N       int64    `db:"n"`
	}
	if _, err := tx.ExecContext(ctx, levelsMemory); err != nil {
		return nil, err
	}
	if err := tx.SelectContext(ctx, &counts, query, params...); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL hash_mem_multiplier = DEFAULT`); err != nil {
		return nil, err
	}
	type cell struct {
		segment, outcome, arm string
		y                     float64
	}
	index := map[cell]int{}
	var rows []summaryRow
	all := int64(1)<<len(cols) - 1
	for _, r := range counts {
		if r.V == nil {
			continue // a position the row's key set does not have, a composite it does not answer whole
		}
		// GROUPING's bits are the columns in order, the first the highest; the column a
		// row counts is the one bit not set.
		j := len(cols) - 1
		for missing := all &^ r.G; missing > 1; missing >>= 1 {
			j--
		}
		key, ok := cols[j].holds[r.KeySet]
		if !ok {
			continue // a position that holds no outcome asked for in this key set
		}
		y := *r.V - refs.k[key]
		c := cell{r.Segment, key, r.Arm, y}
		i, ok := index[c]
		if !ok {
			i = len(rows)
			index[c] = i
			rows = append(rows, summaryRow{Segment: r.Segment, Outcome: key, Arm: r.Arm, Y: y})
		}
		rows[i].N += r.N
	}
	for i := range rows {
		n := float64(rows[i].N)
		rows[i].Sum, rows[i].SumSq = n*rows[i].Y, n*rows[i].Y*rows[i].Y
	}
	return rows, nil
}
