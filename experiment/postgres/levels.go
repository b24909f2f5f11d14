package postgres

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// The pass by grouping sets. When every spec is counted by level (scales, net scores,
// yes/no, and composites of those) and the experiment has no covariates, what the summaries
// read of the responses whose every answer counts (a customer's only response; a repeat
// customer's that no later one overrides: wholeCells) is a count per level: per key set,
// per arm (and segment), per value of each column of values, a column being a position of
// the answers or a composite written in for the key sets that answer it whole. One grouping
// set per column counts every row into each of its columns at once; the other pass makes a
// row per answer first and groups those, which is most of what it costs. At 100,000
// responses × 10 answers (krslab bench results) the grouping sets took 240 ms in one
// process where the rows per answer took 340 ms in two. After a second wave of every
// customer, with the repeat customers' whole responses counted so too, a cold /results
// took 0.96-1.03 s at 100,000 (1.6-2.3 s before) and 11.7 s at 1,000,000 (17.5 s).

// byLevels says whether summaryRows takes this pass where it can, and onLevels, when set,
// is called for each statement that does (both for tests, which compare it with the pass by
// rows per answer).
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

// levelsQuery counts the responses r that from (a FROM list over r: customer_id, arm_key,
// key_set, answer_values) and where select, every answer of which counts: per segment
// (name, as segmented), arm, key set and value of each column, one grouping set per
// column. It folds the counts into the rows of cells: per segment, outcome, arm and y (the
// value less the outcome's K), n and the sums of y. A count's column is told by GROUPING(),
// whose bits are the columns in order, the first the highest, all set but the column's.
func levelsQuery(a *args, name string, cols []levelColumn, from, where string, refs references) string {
	segment := `''`
	if name != "" {
		segment = `coalesce(ca.value, '` + experiment.NoSegment + `')`
		from += ` LEFT JOIN customer_attributes ca ON ca.name = ` + a.add(name) + ` AND ca.customer_id = r.customer_id`
	}
	names := make([]string, len(cols))
	exprs := make([]string, len(cols))
	sets := make([]string, len(cols))
	// What each (key set, column) holds: the outcome and its K.
	var holdSets, holdGroups pq.Int64Array
	var holdKeys pq.StringArray
	var holdK pq.Float64Array
	all := int64(1)<<len(cols) - 1
	for i, col := range cols {
		names[i] = fmt.Sprintf("c%d", i)
		exprs[i] = col.expr + ` AS ` + names[i]
		sets[i] = `(s.segment, s.arm_key, s.key_set, s.` + names[i] + `)`
		for _, id := range slices.Sorted(maps.Keys(col.holds)) {
			key := col.holds[id]
			holdSets, holdGroups = append(holdSets, id), append(holdGroups, all&^(1<<(len(cols)-1-i)))
			holdKeys, holdK = append(holdKeys, key), append(holdK, refs.k[key])
		}
	}
	counts := `SELECT s.segment, s.arm_key, s.key_set, GROUPING(s.` + strings.Join(names, ", s.") + `) AS g,
		       coalesce(s.` + strings.Join(names, ", s.") + `) AS v, count(*) AS n
		FROM (SELECT ` + segment + ` AS segment, r.arm_key, r.key_set, ` + strings.Join(exprs, ", ") + `
		      FROM ` + from + `
		      WHERE ` + where + `) s
		GROUP BY GROUPING SETS (` + strings.Join(sets, ", ") + `)`
	// (A NULL value is a position the row's key set does not have, or a composite it does
	// not answer whole; a key set a column does not hold answers no outcome asked for there.)
	return `SELECT l.segment, l.outcome_key, l.arm_key, l.y, sum(l.n)::bigint AS n,
		       sum(l.n)::float8 * l.y AS sum, sum(l.n)::float8 * l.y * l.y AS sumsq, 0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy
		FROM (SELECT c.segment, h.outcome_key, c.arm_key, c.v - h.k AS y, c.n
		      FROM (` + counts + `) c
		      JOIN unnest(` + a.add(holdSets) + `::bigint[], ` + a.add(holdGroups) + `::int[], ` + a.add(holdKeys) + `::text[], ` + a.add(holdK) + `::float8[])
		           AS h(key_set, g, outcome_key, k) ON h.key_set = c.key_set AND h.g = c.g
		      WHERE c.v IS NOT NULL) l
		GROUP BY l.segment, l.outcome_key, l.arm_key, l.y`
}

// levelsMemory lets levelsQuery hash every grouping set: the planner, which knows nothing of
// the values at a position of the answers, expects nearly one group per row in each and
// sorts the rows again for the sets it cannot fit, where there are a few groups per level.
// (What the hash tables hold is bounded by the levels: levelColumns takes no value that is
// not counted by level.)
const levelsMemory = `SET LOCAL hash_mem_multiplier = 1000`
