package postgres

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/big"
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

func cutOf(specs []experiment.SummarySpec) cut {
	if len(specs) == 0 {
		return cut{}
	}
	return cut{until: specs[0].Until, wave: specs[0].Wave}
}

// current says whether the cut reads the answers that count now, of every customer.
func (c cut) current() bool { return c.until.IsZero() && c.wave == nil && !c.repeats }

// covSums are the CUPED sums of the customers' values (c.y, shifted by K) with their
// covariates (v.x, shifted by KX).
const covSums = `count(v.x) AS nx, coalesce(sum(v.x), 0) AS sx, coalesce(sum(v.x * v.x), 0) AS sxx,
	coalesce(sum(v.x * c.y), 0) AS sxy, coalesce(sum(c.y) FILTER (WHERE v.x IS NOT NULL), 0) AS sy`

type summaryRow struct {
	Segment string  `db:"segment"` // "" when not segmented
	Outcome string  `db:"outcome_key"`
	Arm     string  `db:"arm_key"`
	Y       float64 `db:"y"` // the level of a counted outcome, the value less K of a composite, else 0
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
		if w := cutOf(specs).wave; w != nil {
			return summarizeWave(ctx, tx, experimentID, specs, *w, &out)
		}
		arms, err := armCounts(ctx, tx, experimentID, "")
		if err != nil {
			return err
		}
		data, err := outcomeData(ctx, tx, experimentID, "", specs)
		if err != nil {
			return err
		}
		out = summaryOf(specs, arms[""], data[""])
		out.Version, err = dataVersionIn(ctx, tx, experimentID, arms[""])
		return err
	})
	return out, err
}

// inSummaryTx reads in one snapshot, with plans fit for per-experiment aggregates.
func (s *Store) inSummaryTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		// Enough memory to group in a hash table rather than sort on disk; no JIT, whose
		// compilation costs more than these per-experiment aggregates save by it. A float8
		// reads as its shortest exact decimal form (exactSums relies on it).
		if _, err := tx.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'; SET LOCAL extra_float_digits = 1`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// summaryOf is the Summary of the traffic arms and the per-arm data of each spec (data[i],
// may be nil).
func summaryOf(specs []experiment.SummarySpec, arms map[string]experiment.ArmCount, data []map[string]stats.ArmData) experiment.Summary {
	sum := experiment.Summary{Arms: arms, Outcomes: make([]map[string]stats.ArmData, len(specs))}
	if sum.Arms == nil {
		sum.Arms = map[string]experiment.ArmCount{}
	}
	for i := range specs {
		if data != nil && data[i] != nil {
			sum.Outcomes[i] = data[i]
		} else {
			sum.Outcomes[i] = map[string]stats.ArmData{}
		}
	}
	return sum
}

// outcomeData computes the per-arm data of every spec per segment value (one value, "",
// when name is ""): data[value][spec][arm]. The sums are taken about each outcome's
// reference values (referenceValues), and the exact sums are added where the rounded ones
// cannot tell the mean (exactSums).
func outcomeData(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec) (map[string][]map[string]stats.ArmData, error) {
	refs, err := referenceValues(ctx, tx, experimentID, specs)
	if err != nil {
		return nil, err
	}
	rows, err := summaryRows(ctx, tx, experimentID, name, specs, refs)
	if err != nil {
		return nil, err
	}
	data := make(map[string][]map[string]stats.ArmData, len(rows))
	for value, r := range rows {
		d := make([]map[string]stats.ArmData, len(specs))
		for i, spec := range specs {
			d[i] = foldSummaries(spec, r[i], refs)
		}
		data[value] = d
	}
	if err := exactSums(ctx, tx, experimentID, name, specs, data); err != nil {
		return nil, err
	}
	return data, nil
}

// references are the values the sums of an outcome are taken about, so that values with a
// large offset and a small spread (1e9 + N(0,1), timestamps, balances) keep every digit of
// their spread (STATS.md): sums of v - K and (v - K)^2, not of v and v^2.
type references struct {
	// k is K per outcome: one of its stored values (numeric) or one customer's composite.
	// Counted outcomes have none (0): their sums are of small integers, exact.
	k map[string]float64
	// kx is KX per outcome with covariates: one of its stored covariates (its sums: KX
	// stands in for x, K for y).
	kx map[string]float64
	// withCovariates is whether the experiment has covariates at all.
	withCovariates bool
}

// midComposite is K of a composite that no single response answers whole: the middle of
// its 0..100 range, which bounds what cancellation can cost.
const midComposite = 50

// referenceSample is how many stored values the median K (or KX) is taken of. A value of
// the data can cost an arm or a segment precision only when it lies far outside the bulk
// of that arm's or segment's values (an outlier, a 0 among balances); the median of a few
// is in the bulk unless most of them are outliers.
const referenceSample = 25

// referenceValues reads K and KX of every spec in one statement: the median of the first
// referenceSample values (percentile_disc: one of them, so identical values sum to exactly
// 0 about it), found by index or within the first responses that hold the outcome. An
// outcome nobody answered costs one scan of the experiment's responses (without unnesting
// them); then it has no sums to take.
func referenceValues(ctx context.Context, tx *sqlx.Tx, experimentID int64, specs []experiment.SummarySpec) (references, error) {
	var a args
	exp := a.add(experimentID)
	sample := fmt.Sprint(referenceSample)
	median := func(value, from string) string {
		return `(SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY v) FROM (SELECT ` + value + ` AS v FROM ` + from + `) s)`
	}
	// responses holding every key of keys, with their key sets.
	holding := func(keys string) string {
		return `(SELECT key_set, answer_values FROM responses WHERE experiment_id = ` + exp + ` AND key_set = ANY(ARRAY(
			SELECT id FROM answer_key_sets WHERE outcome_keys @> ` + keys + `::text[])) LIMIT ` + sample + `) r
			JOIN answer_key_sets ks ON ks.id = r.key_set`
	}
	ks := make([]string, len(specs))
	kxs := make([]string, len(specs))
	for i, spec := range specs {
		key := a.add(spec.Outcome.Key)
		switch {
		case spec.Outcome.Kind == experiment.Composite:
			ks[i] = `coalesce(` + median(compositeExpr(&a, spec), holding(a.add(pq.StringArray(componentKeys(spec))))) + `, ` + fmt.Sprint(midComposite) + `)`
		case spec.Counts:
			ks[i] = `0`
		default:
			ks[i] = `coalesce(` + median(`r.answer_values[array_position(ks.outcome_keys, `+key+`::text)]`, holding(`ARRAY[`+key+`::text]`)) + `, 0)`
		}
		kxs[i] = `coalesce(` + median(`value`, `(SELECT value FROM covariates WHERE experiment_id = `+exp+` AND outcome_key = `+key+`::text LIMIT `+sample+`) c`) + `, 'NaN')`
	}
	var row struct {
		Cov bool            `db:"cov"`
		K   pq.Float64Array `db:"k"`
		KX  pq.Float64Array `db:"kx"`
	}
	q := `SELECT EXISTS (SELECT 1 FROM covariates WHERE experiment_id = ` + exp + `) AS cov,
		ARRAY[` + strings.Join(ks, ", ") + `]::float8[] AS k, ARRAY[` + strings.Join(kxs, ", ") + `]::float8[] AS kx`
	if err := tx.GetContext(ctx, &row, q, a...); err != nil {
		return references{}, err
	}
	refs := references{k: map[string]float64{}, kx: map[string]float64{}, withCovariates: row.Cov}
	for i, spec := range specs {
		refs.k[spec.Outcome.Key] = row.K[i]
		if !math.IsNaN(row.KX[i]) {
			refs.kx[spec.Outcome.Key] = row.KX[i]
		}
	}
	return refs, nil
}

// shiftedBy is the expression value - K(key), K from shifts by the outcome key in the
// expression key; value itself when no outcome of keys has a K other than 0.
func shiftedBy(a *args, value, key string, keys []string, shifts map[string]float64) string {
	var whens []string
	for _, k := range keys {
		if v := shifts[k]; v != 0 {
			whens = append(whens, `WHEN `+a.add(k)+`::text THEN `+a.add(v)+`::float8`)
		}
	}
	if len(whens) == 0 {
		return value
	}
	return `(` + value + ` - CASE ` + key + ` ` + strings.Join(whens, ` `) + ` ELSE 0 END)`
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
// ""): rows[value][spec]: a level and its count for counted outcomes, n and sums about K for
// the others, and the CUPED sums about K and KX when the experiment has covariates. The
// results (current, before a cut-off, or of a survey wave: the cut) take one pass over the
// responses of the customers with one response (currentQuery) and one over those of the
// customers with a repeat (repeatsQuery). Both count the responses whose every answer
// counts by grouping sets when every spec is counted by level and no covariates are read,
// else by a row per answer (wholeCells).
func summaryRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec, refs references) (map[string][][]summaryRow, error) {
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
	c := cutOf(specs)
	// A statement of the summary: levels tells whether it counts by grouping sets, and
	// memory whether it needs levelsMemory to hash them.
	type pass struct {
		query          string
		params         args
		levels, memory bool
	}
	var passes []pass
	if len(simple) > 0 || len(composites) > 0 {
		sets, err := keySetsOf(ctx, tx, append(append([]string(nil), simple...), componentKeysOf(composites)...))
		if err != nil {
			return nil, err
		}
		// (An experiment whose customers answered once each, the usual first wave, skips the
		// second pass and the test of each response for a repeat: one entry of the partial
		// index tells.)
		repeats, err := hasRepeats(ctx, tx, experimentID)
		if err != nil {
			return nil, err
		}
		var a args
		if q, levels := currentQuery(&a, experimentID, name, simple, counted, composites, sets, c, refs, repeats); q != "" {
			passes = append(passes, pass{q, a, levels, levels})
		}
		if repeats {
			var r args
			// (The planner, which has no statistics of the ranked responses, expects few of
			// them to count for every answer and hashes every grouping set as it is.)
			q, levels := repeatsQuery(&r, experimentID, name, simple, counted, composites, sets, c, refs)
			passes = append(passes, pass{q, r, levels, false})
		}
	}
	for _, p := range passes {
		if p.levels && onLevels != nil {
			onLevels()
		}
		if p.memory {
			if _, err := tx.ExecContext(ctx, levelsMemory); err != nil {
				return nil, err
			}
		}
		var rows []summaryRow
		if err := tx.SelectContext(ctx, &rows, p.query, p.params...); err != nil {
			return nil, err
		}
		if p.memory {
			if _, err := tx.ExecContext(ctx, `SET LOCAL hash_mem_multiplier = DEFAULT`); err != nil {
				return nil, err
			}
		}
		byOutcome(rows)
	}
	return out, nil
}

// groupedByValue are the outcomes whose summary rows come per value (cells' level): the
// ones counted by level and the composites.
func groupedByValue(counted []string, composites []experiment.SummarySpec) []string {
	return append(slices.Clone(counted), outcomeKeys(composites)...)
}

// compositeExpr is a composite of one response r (with its key set ks), each component's
// value found by its key (compositeOfValues).
func compositeExpr(a *args, spec experiment.SummarySpec) string {
	return compositeOfValues(a, spec.Components, func(key string) string {
		return `r.answer_values[array_position(ks.outcome_keys, ` + a.add(key) + `::text)]`
	})
}

// compositeOfValues is a composite as every pass over the rows computes it (the summaries,
// referenceValues, the timeline, the drivers), value giving each component's value: the
// mean of the components rescaled to 0..100, in component order, so that all give the same
// float for the same answers.
func compositeOfValues(a *args, components []experiment.Outcome, value func(key string) string) string {
	terms := make([]string, len(components))
	for i, c := range components {
		lo, hi, _ := c.Bounds()
		l, h := a.add(lo), a.add(hi)
		terms[i] = fmt.Sprintf("100 * (%s - %s::float8) / (%s::float8 - %s::float8)", value(c.Key), l, h, l)
	}
	return fmt.Sprintf("(%s) / %d", strings.Join(terms, " + "), len(terms))
}

// componentKeys are a composite's component keys.
func componentKeys(spec experiment.SummarySpec) []string {
	keys := make([]string, len(spec.Components))
	for i, c := range spec.Components {
		keys[i] = c.Key
	}
	return keys
}

// currentQuery reads every spec of the customers with one response (nearly all; alone) among
// the responses the cut selects, in one pass: such a row holds the customer's latest
// answers (wholeCells). The customers with a repeat come from repeatsQuery. It is "" when no
// key set answers any spec; levels says whether it counts by grouping sets.
func currentQuery(a *args, experimentID int64, name string, simple, counted []string, composites []experiment.SummarySpec, sets []keySet, c cut, refs references, repeats bool) (q string, levels bool) {
	exp := a.add(experimentID)
	join, where := c.selects(a, "r")
	return wholeCells(a, experimentID, name, simple, counted, composites, sets, `responses r`+join,
		`r.experiment_id = `+exp+` AND `+aloneGiven("r", exp, repeats)+where, refs)
}

// wholeCells is the rows of cells of the responses r that from (a FROM list over r) and
// where select, every answer of which counts: a customer's only response, or a repeat
// customer's that no later one overrides in any outcome asked for. They are counted by
// grouping sets (levels.go) when every spec is counted by level, no covariates are read and
// the key sets are written in, which levels then says; else a row is made per answer
// (wholeAnswers) and grouped. It is "" when no key set answers any spec.
func wholeCells(a *args, experimentID int64, name string, simple, counted []string, composites []experiment.SummarySpec, sets []keySet, from, where string, refs references) (q string, levels bool) {
	if byLevels && len(counted) == len(simple) && !refs.withCovariates && len(sets) <= inlineKeySets {
		// (levelColumns adds parameters for its columns: kept only when the columns are.)
		try := slices.Clone(*a)
		if cols := levelColumns(&try, simple, composites, sets); cols != nil {
			*a = try
			return levelsQuery(a, name, cols, from, where, refs), true
		}
	}
	w := wholeAnswers(a, simple, counted, composites, sets, refs)
	if w.unnest == "" {
		return "", false
	}
	src := `(SELECT r.customer_id, r.arm_key, x.k AS outcome_key, ` + w.y + ` AS y, ` + w.byValue + ` AS by_value
		FROM ` + from + w.join + `
		CROSS JOIN LATERAL ` + w.unnest + `
		WHERE ` + where + w.where + `) s`
	return cells(a, segmented(a, src, "s.customer_id, s.arm_key, s.outcome_key, s.y, s.by_value", name), experimentID,
		`CASE WHEN c.by_value THEN c.y ELSE 0 END`, refs), false
}

// answersOf is how a pass makes a row per answer of a response r: joined to join, unnested
// by unnest into x(k, v) (the outcome and its value), selected by where (" AND ...", or
// ""), y being the value less the outcome's K and byValue telling whether the outcome x.k
// is counted by level.
type answersOf struct {
	join, unnest, where, y, byValue string
}

// wholeAnswers makes the rows of the simple outcomes and composites (counted: those counted
// by level) of a response r whose every answer counts: a customer's only response, or a
// repeat customer's response that no later one overrides in any outcome asked for. Its
// simple outcomes are its answers, and a composite it answers whole is computed from its
// values; each value is less its outcome's K.
//
// What a row yields is worked out per key set in Go (sets: the key sets that answer any key
// asked for), so that no answer searches a list of keys: per key set, the keys asked for
// with the positions of their values, the composites it answers whole, and which of them
// are counted by level, chosen by the row's key set. With more than inlineKeySets key sets
// each answer's key is looked up in the lists instead. unnest is "" when no key set answers
// any spec.
func wholeAnswers(a *args, simple, counted []string, composites []experiment.SummarySpec, sets []keySet, refs references) answersOf {
	byValue := groupedByValue(counted, composites)
	if len(sets) > inlineKeySets {
		// Looked up per answer, a composite whose components the row does not all answer is
		// NULL.
		keys, values := `ks.outcome_keys`, `r.answer_values`
		if len(composites) > 0 {
			var exprs []string
			for _, spec := range composites {
				exprs = append(exprs, compositeExpr(a, spec)+` - `+a.add(refs.k[spec.Outcome.Key])+`::float8`)
			}
			keys = `ks.outcome_keys || ` + a.add(pq.StringArray(outcomeKeys(composites))) + `::text[]`
			values = `r.answer_values || ARRAY[` + strings.Join(exprs, ", ") + `]::float8[]`
		}
		wanted := append(append(pq.StringArray(nil), simple...), outcomeKeys(composites)...)
		return answersOf{
			join:    ` JOIN answer_key_sets ks ON ks.id = r.key_set`,
			unnest:  `unnest(` + keys + `, ` + values + `) AS x(k, v)`,
			where:   ` AND x.k = ANY(` + a.add(wanted) + `::text[]) AND x.v IS NOT NULL`,
			y:       shiftedBy(a, "x.v", "x.k", simple, refs.k),
			byValue: `x.k = ANY(` + a.add(pq.StringArray(byValue)) + `::text[])`,
		}
	}
	// Written in per key set, every value is one the row answers (values are never NULL),
	// less its K.
	var keyCases, valueCases, levelCases []string
	for _, set := range sets {
		pos := set.positions()
		value := pos.value
		var keys pq.StringArray
		var values []string
		for _, k := range simple {
			if _, ok := pos[k]; ok {
				v := value(k)
				if K := refs.k[k]; K != 0 {
					v += ` - ` + a.add(K) + `::float8`
				}
				keys, values = append(keys, k), append(values, v)
			}
		}
		for _, spec := range composites {
			if pos.answersWhole(spec) {
				keys = append(keys, spec.Outcome.Key)
				values = append(values, compositeOfValues(a, spec.Components, value)+` - `+a.add(refs.k[spec.Outcome.Key])+`::float8`)
			}
		}
		if len(keys) == 0 {
			continue
		}
		byLevel := make(pq.BoolArray, len(keys))
		for i, k := range keys {
			byLevel[i] = slices.Contains(byValue, k)
		}
		id := a.add(set.id)
		keyCases = append(keyCases, `WHEN `+id+`::bigint THEN `+a.add(keys)+`::text[]`)
		valueCases = append(valueCases, `WHEN `+id+`::bigint THEN ARRAY[`+strings.Join(values, ", ")+`]::float8[]`)
		levelCases = append(levelCases, `WHEN `+id+`::bigint THEN `+a.add(byLevel)+`::boolean[]`)
	}
	if len(keyCases) == 0 {
		return answersOf{}
	}
	return answersOf{
		unnest: `unnest(CASE r.key_set ` + strings.Join(keyCases, " ") + ` END,
		                 CASE r.key_set ` + strings.Join(valueCases, " ") + ` END,
		                 CASE r.key_set ` + strings.Join(levelCases, " ") + ` END) AS x(k, v, by_value)`,
		y:       `x.v`,
		byValue: `x.by_value`,
	}
}

// inlineKeySets is how many key sets currentQuery writes into its statement (a variable for
// tests): a survey export has a handful, but the key sets of every experiment that answers
// the same built-in outcomes count, and a statement of hundreds would cost its planning.
var inlineKeySets = 64

// keySet is a row of answer_key_sets.
type keySet struct {
	id   int64
	keys []string
}

// keyPositions are the positions (from 1) of a key set's keys in a response's values.
type keyPositions map[string]int

func (s keySet) positions() keyPositions {
	pos := make(keyPositions, len(s.keys))
	for i, k := range s.keys {
		pos[k] = i + 1
	}
	return pos
}

// value is the value of key in the response r, a key of the set.
func (pos keyPositions) value(key string) string {
	return fmt.Sprintf("r.answer_values[%d]", pos[key])
}

// answersWhole says whether a response of the key set answers every component of the
// composite spec.
func (pos keyPositions) answersWhole(spec experiment.SummarySpec) bool {
	return !slices.ContainsFunc(spec.Components, func(o experiment.Outcome) bool { _, ok := pos[o.Key]; return !ok })
}

// keySetsOf reads the key sets that answer any of keys (a handful: the answered columns of
// the survey exports).
func keySetsOf(ctx context.Context, tx *sqlx.Tx, keys []string) ([]keySet, error) {
	var rows []struct {
		ID   int64          `db:"id"`
		Keys pq.StringArray `db:"outcome_keys"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, outcome_keys FROM answer_key_sets WHERE outcome_keys && $1::text[] ORDER BY id`, pq.StringArray(keys)); err != nil {
		return nil, err
	}
	sets := make([]keySet, len(rows))
	for i, r := range rows {
		sets[i] = keySet{id: r.ID, keys: r.Keys}
	}
	return sets, nil
}

// componentKeysOf are the component keys of the composites.
func componentKeysOf(composites []experiment.SummarySpec) []string {
	var keys []string
	for _, spec := range composites {
		keys = append(keys, componentKeys(spec)...)
	}
	return keys
}

// repeatsQuery reads every spec of the customers with a repeat in one statement, as
// currentQuery reads the others: each of their responses the cut selects counts for the keys
// no later response of the customer answers (countingCTEs). A response that counts for every
// key it answers (a customer's latest, nearly always) is read as currentQuery reads a row
// (wholeCells; levels says whether by grouping sets). Of the others, the simple outcomes are
// the answers they count for, and a composite whose components one counts for, all of them,
// is computed from the row and appended to its values. The composites whose latest
// components are spread over several responses of a customer (no response counts for all
// of them, and then none counts for all) are grouped by customer.
func repeatsQuery(a *args, experimentID int64, name string, simple, counted []string, composites []experiment.SummarySpec, sets []keySet, c cut, refs references) (q string, levels bool) {
	keys := slices.Clone(simple)
	var b string
	if len(composites) > 0 {
		var all pq.StringArray
		b, all = components(a, composites, refs)
		for _, k := range all {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	ks := a.add(pq.StringArray(keys))
	none := noKeys(len(keys))
	c.repeats = true
	q = `WITH ` + countingCTEs(a, experimentID, ks, len(keys), c)
	wholeRows, levels := wholeCells(a, experimentID, name, simple, counted, composites, sets, `counting r`, `r.counts = r.mask`, refs)
	if wholeRows != "" {
		q += `
		` + wholeRows + `
		UNION ALL`
	}
	keysExpr, valuesExpr := `ks.outcome_keys`, `r.answer_values`
	var names pq.StringArray
	var exprs, whole, partial []string
	for _, spec := range composites {
		m := maskOf(keys, componentKeys(spec))
		names = append(names, spec.Outcome.Key)
		exprs = append(exprs, `CASE WHEN r.counts & `+m+` = `+m+` THEN `+compositeExpr(a, spec)+` - `+a.add(refs.k[spec.Outcome.Key])+`::float8 END`)
		whole = append(whole, `(`+a.add(spec.Outcome.Key)+`::text, `+m+`::varbit)`)
		partial = append(partial, `(r.counts & `+m+` NOT IN (`+none+`, `+m+`))`)
	}
	if len(composites) > 0 {
		keysExpr += ` || ` + a.add(names) + `::text[]`
		valuesExpr += ` || ARRAY[` + strings.Join(exprs, ", ") + `]::float8[]`
	}
	src := `(SELECT r.customer_id, r.arm_key, x.k AS outcome_key, ` + shiftedBy(a, "x.v", "x.k", simple, refs.k) + ` AS y
		FROM counting r JOIN answer_key_sets ks ON ks.id = r.key_set
		CROSS JOIN LATERAL unnest(` + keysExpr + `, ` + valuesExpr + `) AS x(k, v)
		WHERE r.counts <> ` + none + ` AND r.counts <> r.mask AND x.v IS NOT NULL
		  AND (x.k = ANY(` + a.add(names) + `::text[]) OR (x.k = ANY(` + a.add(pq.StringArray(simple)) + `::text[]) AND ` + counts("r", ks, "x.k") + `))) s`
	q += `
		` + cells(a, segmented(a, src, "s.customer_id, s.arm_key, s.outcome_key, s.y", name), experimentID,
		`CASE WHEN c.outcome_key = ANY(`+a.add(pq.StringArray(groupedByValue(counted, composites)))+`::text[]) THEN c.y ELSE 0 END`, refs)
	if len(composites) > 0 {
		// (The rows that count for part of a composite are picked first: nearly none.)
		spread := `(SELECT r.customer_id, r.arm_key, cm.composite, u.k, u.v AS value
			FROM (SELECT * FROM counting r WHERE ` + strings.Join(partial, " OR ") + ` OFFSET 0) r
			JOIN answer_key_sets ks ON ks.id = r.key_set
			JOIN (VALUES ` + strings.Join(whole, ", ") + `) AS cm(composite, mask)
			  ON (r.counts & cm.mask) <> ` + none + ` AND (r.counts & cm.mask) <> cm.mask
			CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS u(k, v)
			WHERE ` + counts("r", ks, "u.k") + `)`
		grouped := `(SELECT l.customer_id, l.arm_key, b.composite AS outcome_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) - max(b.k) AS y
			FROM ` + spread + ` l JOIN ` + b + ` ON b.key = l.k AND b.composite = l.composite
			GROUP BY b.composite, l.customer_id, l.arm_key
			HAVING count(*) = max(b.n)) s`
		q += `
		UNION ALL
		` + cells(a, segmented(a, grouped, "s.customer_id, s.arm_key, s.outcome_key, s.y", name), experimentID, "c.y", refs)
	}
	return q, levels
}

// components is the composites' components as a relation b(composite, key, lo, hi, n, k), n
// being the composite's number of components and k its K, and the distinct component keys.
func components(a *args, specs []experiment.SummarySpec, refs references) (string, pq.StringArray) {
	var composite, keys, all pq.StringArray
	var los, his, ks pq.Float64Array
	var counts []int64
	for _, spec := range specs {
		for _, c := range spec.Components {
			lo, hi, _ := c.Bounds()
			composite, keys, los, his = append(composite, spec.Outcome.Key), append(keys, c.Key), append(los, lo), append(his, hi)
			counts = append(counts, int64(len(spec.Components)))
			ks = append(ks, refs.k[spec.Outcome.Key])
			if !slices.Contains(all, c.Key) {
				all = append(all, c.Key)
			}
		}
	}
	return `unnest(` + a.add(composite) + `::text[], ` + a.add(keys) + `::text[], ` + a.add(los) + `::float8[], ` +
		a.add(his) + `::float8[], ` + a.add(pq.Int64Array(counts)) + `::int[], ` + a.add(ks) + `::float8[]) AS b(composite, key, lo, hi, n, k)`, all
}

// compositeOf is each customer's composites from the latest component answers l
// (customer_id, arm_key, k, value): the mean of the components rescaled to 0..100, for
// customers who answered every component, less the composite's K.
func compositeOf(b, l string) string {
	return `SELECT l.customer_id, l.arm_key, b.composite AS outcome_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) - max(b.k) AS y
		FROM ` + l + ` l JOIN ` + b + ` ON b.key = l.k
		GROUP BY b.composite, l.customer_id, l.arm_key
		HAVING count(*) = max(b.n)`
}

// cells groups the rows c (segment, customer_id, arm_key, outcome_key, y) into summary rows
// per segment, outcome, arm and level (an expression, "0" for none; "c.y" for rows of
// composites only, grouped by value), with the CUPED sums when the experiment has
// covariates, each covariate less its outcome's KX. The level is that of a counted outcome
// and the value (less K) of a composite, 0 for the others, and every row carries n and the
// sums: so a composite comes as one row per distinct value and arm, which the bounds need
// (stats.Distinct), in the same pass and in memory proportional to the distinct values, not
// the customers.
func cells(a *args, c string, experimentID int64, level string, refs references) string {
	cov, join := `0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy`, ``
	if refs.withCovariates {
		cov = covSums
		exp := a.add(experimentID)
		keys := slices.Sorted(maps.Keys(refs.kx))
		join = `
		LEFT JOIN (SELECT outcome_key, customer_id, ` + shiftedBy(a, "value", "outcome_key", keys, refs.kx) + ` AS x
		           FROM covariates WHERE experiment_id = ` + exp + `) v ON v.outcome_key = c.outcome_key AND v.customer_id = c.customer_id`
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

// foldSummaries turns the grouped rows into per-arm stats input, the sums about the
// outcome's K and KX; a composite's rows, one per distinct value, also into its
// stats.Distinct.
func foldSummaries(spec experiment.SummarySpec, rows []summaryRow, refs references) map[string]stats.ArmData {
	out := map[string]stats.ArmData{}
	covs := map[string]*stats.CovariateSums{}
	type values struct {
		v []float64
		n []int64
	}
	distinct := map[string]*values{}
	composite := spec.Outcome.Kind == experiment.Composite
	var withCov int64
	lo, hi, _ := spec.Outcome.Bounds()
	k := refs.k[spec.Outcome.Key]
	kx := refs.kx[spec.Outcome.Key]
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
			d.Moments = d.Moments.Merge(stats.Moments{N: r.N, Shift: k, Sum: r.Sum, SumSq: r.SumSq})
			if composite {
				vs := distinct[r.Arm]
				if vs == nil {
					vs = &values{}
					distinct[r.Arm] = vs
				}
				vs.v, vs.n = append(vs.v, k+r.Y), append(vs.n, r.N)
			}
		}
		c := covs[r.Arm]
		if c == nil {
			c = &stats.CovariateSums{ShiftX: kx, ShiftY: k}
			covs[r.Arm] = c
		}
		*c = c.Merge(stats.CovariateSums{NX: r.NX, ShiftX: kx, ShiftY: k, SumX: r.SX, SumXX: r.SXX, SumXY: r.SXY, SumY: r.SY})
		withCov += r.NX
		out[r.Arm] = d
	}
	for arm, d := range out {
		if d.Counts != nil {
			d.Moments = d.Counts.Moments()
		}
		if vs := distinct[arm]; vs != nil {
			dv := stats.DistinctFrom(vs.v, vs.n)
			d.Distinct = &dv
		}
		if withCov > 0 {
			d.Cov = covs[arm]
		}
		out[arm] = d
	}
	return out
}

// exactSums adds the exact sum of the values (stats.Moments.Exact) to the numeric outcomes
// whose rounded sums cannot give an arm's mean, nor so tell whether it is exactly 0
// (stats.Moments.NeedsExactSum: values that cancel, such as 1e16, -1e16, 3, -3; never
// values with an offset). A second pass over just those outcomes' counted answers sums each
// value's shortest decimal form (float8 text at extra_float_digits 1, the number as the API
// reads and writes it; a cast of float8 to numeric would keep only 15 digits) as numeric,
// which adds without rounding. Composites (0..100) and counted outcomes (integers) need
// none.
func exactSums(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec, data map[string][]map[string]stats.ArmData) error {
	index := map[string]int{}
	var keys []string
	c := cutOf(specs)
	for i, spec := range specs {
		if spec.Counts || spec.Outcome.Kind == experiment.Composite {
			continue
		}
		if needsExactSum(data, i) {
			index[spec.Outcome.Key] = i
			keys = append(keys, spec.Outcome.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	var a args
	var src, with string
	if c.current() {
		exp := a.add(experimentID)
		src = `(SELECT r.customer_id, r.arm_key, x.k AS outcome_key, x.v AS y
			FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set
			CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS x(k, v)
			WHERE r.experiment_id = ` + exp + ` AND ` + alone("r", exp) + ` AND x.k = ANY(` + a.add(pq.StringArray(keys)) + `::text[])
			UNION ALL
			SELECT customer_id, arm_key, outcome_key, value FROM (` + latestQuery(&a, experimentID, keys, cut{repeats: true}) + `) l) s`
	} else {
		with = `WITH ` + latestCTE(&a, experimentID, keys, c)
		src = `(SELECT customer_id, arm_key, outcome_key, value AS y FROM latest) s`
	}
	var rows []struct {
		Segment string `db:"segment"`
		Outcome string `db:"outcome_key"`
		Arm     string `db:"arm_key"`
		Exact   string `db:"exact"`
	}
	q := with + `
		SELECT c.segment, c.outcome_key, c.arm_key, sum(c.y::text::numeric)::text AS exact
		FROM ` + segmented(&a, src, "s.customer_id, s.arm_key, s.outcome_key, s.y", name) + ` c
		GROUP BY c.segment, c.outcome_key, c.arm_key`
	if err := tx.SelectContext(ctx, &rows, q, a...); err != nil {
		return err
	}
	for _, r := range rows {
		sum, ok := new(big.Rat).SetString(r.Exact)
		d, found := data[r.Segment]
		if !ok || !found {
			return fmt.Errorf("exact sum %q of %s/%s in segment %q: no such cell", r.Exact, r.Outcome, r.Arm, r.Segment)
		}
		arm := d[index[r.Outcome]][r.Arm]
		arm.Moments.Exact = sum
		d[index[r.Outcome]][r.Arm] = arm
	}
	return nil
}

// needsExactSum is whether any arm of spec i in any segment needs its exact sum.
func needsExactSum(data map[string][]map[string]stats.ArmData, i int) bool {
	for _, d := range data {
		for _, a := range d[i] {
			if a.Moments.NeedsExactSum() {
				return true
			}
		}
	}
	return false
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

// RecordLooks keeps the running minimum of sequential p-values in one statement, per wave
// (the empty wave for the whole experiment: a wave's answers are other data). Readers record looks
// concurrently, so the rows are upserted in key order: two statements that update some of
// the same rows then wait for each other in one order, never in a cycle.
func (s *Store) RecordLooks(ctx context.Context, experimentID int64, looks []experiment.Look) ([]float64, error) {
	waves := make(pq.StringArray, len(looks))
	outcomes := make(pq.StringArray, len(looks))
	arms := make(pq.StringArray, len(looks))
	ps := make(pq.Float64Array, len(looks))
	for i, l := range looks {
		waves[i], outcomes[i], arms[i], ps[i] = l.Wave, l.Outcome, l.Arm, l.PValue
	}
	var rows []struct {
		Wave    string  `db:"wave"`
		Outcome string  `db:"outcome_key"`
		Arm     string  `db:"arm_key"`
		PMin    float64 `db:"p_min"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		INSERT INTO sequential_looks AS s (experiment_id, wave, outcome_key, arm_key, p_min)
		SELECT $1, t.* FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[]) AS t(wave, outcome_key, arm_key, p)
		ORDER BY t.wave, t.outcome_key, t.arm_key
		ON CONFLICT (experiment_id, wave, outcome_key, arm_key) DO UPDATE
		SET p_min = least(s.p_min, excluded.p_min), looks = s.looks + 1, last_look_at = now()
		RETURNING wave, outcome_key, arm_key, p_min`, experimentID, waves, outcomes, arms, ps)
	if err != nil {
		return nil, mapErr(err)
	}
	type key struct{ w, o, a string }
	min := make(map[key]float64, len(rows))
	for _, r := range rows {
		min[key{r.Wave, r.Outcome, r.Arm}] = r.PMin
	}
	out := make([]float64, len(looks))
	for i, l := range looks {
		out[i] = min[key{l.Wave, l.Outcome, l.Arm}]
	}
	return out, nil
}
