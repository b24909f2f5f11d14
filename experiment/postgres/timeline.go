package postgres

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

// SummarizeDays reads, in one snapshot, one outcome's per-arm statistics as they stood at
// the end of every UTC day on which it (a composite: one of its components) was answered:
// what Summarize with spec.Until at the next midnight reads, for every day at once, from
// one pass over the answers. Each answer counts from its day until the day a later answer
// of the same customer to the same outcome replaces it (the latest-answer rule: by
// answered_at, then arrival); a customer's composite from the day all its components are
// answered until one is answered again. So the query yields, per day, arm and level, what
// came in and what went out (timelineQuery), and a running sum over the days gives each
// day's statistics, in memory proportional to days x arms x levels. The traffic per arm
// is the current one, as in Summarize.
//
// With spec.Wave, only the answers in the wave count (by their age since the customer's
// assignment, inWave), the latest within the wave as of each day, and the days are those on
// which the wave was answered: each day is what Summarize of the wave with spec.Until at
// the next midnight reads. An answer in the wave is given at least from_day days after its
// customer's assignment, so its customer is eligible by the end of its day: the answers
// follow the wave's eligibility as of each day. The traffic is the wave's as of
// spec.Wave.At (its eligible customers, as in Summarize of the wave), as the whole
// experiment's timeline takes the current traffic, and the version is valid until the next
// customer becomes eligible.
func (s *Store) SummarizeDays(ctx context.Context, experimentID int64, spec experiment.SummarySpec) ([]experiment.DaySummary, error) {
	spec.Until = time.Time{}
	specs := []experiment.SummarySpec{spec}
	var out []experiment.DaySummary
	err := s.inSummaryTx(ctx, func(tx *sqlx.Tx) error {
		var arms map[string]map[string]experiment.ArmCount
		var version experiment.DataVersion
		var err error
		if spec.Wave != nil {
			arms, version, err = waveTraffic(ctx, tx, experimentID, *spec.Wave, "")
		} else {
			arms, err = armCounts(ctx, tx, experimentID, "")
		}
		if err != nil {
			return err
		}
		days, err := answerDays(ctx, tx, experimentID, answeredKeys(spec), spec.Wave)
		if err != nil {
			return err
		}
		refs, err := referenceValues(ctx, tx, experimentID, specs)
		if err != nil {
			return err
		}
		var a args
		var deltas []dayRow
		if err := tx.SelectContext(ctx, &deltas, timelineQuery(&a, experimentID, spec, refs), a...); err != nil {
			return err
		}
		out = runningSums(spec, days, deltas, refs, arms[""])
		if spec.Wave == nil {
			if version, err = dataVersionIn(ctx, tx, experimentID, arms[""]); err != nil {
				return err
			}
		}
		for i := range out {
			out[i].Summary.Version = version
		}
		return exactDaySums(ctx, tx, experimentID, spec, out)
	})
	return out, err
}

// dayRow is a summary row of the answers that came in (positive counts and sums) and went
// out (negative ones) on one day.
type dayRow struct {
	Day time.Time `db:"day"`
	summaryRow
}

// answeredKeys are the outcomes whose answers make a day of spec's timeline.
func answeredKeys(spec experiment.SummarySpec) []string {
	if spec.Outcome.Kind == experiment.Composite {
		return componentKeys(spec)
	}
	return []string{spec.Outcome.Key}
}

// answerDays are the UTC days on which any of keys was answered, in order (AnswerDays),
// by a response in wave w when w is not nil, from the responses' key sets, without
// unnesting their answers.
func answerDays(ctx context.Context, tx *sqlx.Tx, experimentID int64, keys []string, w *experiment.WaveWindow) ([]time.Time, error) {
	var days []time.Time
	a := args{experimentID, pq.StringArray(keys)}
	join, inWave := inWaveJoin(&a, "r", w)
	err := tx.SelectContext(ctx, &days, `
		SELECT DISTINCT date_trunc('day', r.answered_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
		FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set`+join+`
		WHERE r.experiment_id = $1 AND ks.outcome_keys && $2::text[]`+inWave+` ORDER BY day`, a...)
	for i := range days {
		days[i] = days[i].UTC()
	}
	return days, err
}

// utcDay is the UTC day of r.answered_at, as a timestamp without time zone.
const utcDay = `date_trunc('day', r.answered_at AT TIME ZONE 'UTC')`

// timelineQuery yields the deltas of spec per day, arm and level (as summaryRows: the
// level of a counted outcome, the value less K of a composite, else 0), with the CUPED
// sums: each customer's value y (less K) enters on the day it starts to count (+1) and
// leaves on the day it is replaced (-1). A customer with one response (nearly all) has its
// answers there, which nothing replaces, so only the few with several are ordered. With
// spec.Wave every source of answers takes only the responses in the wave (inWaveJoin), so
// that an answer is replaced only by a later one within the wave.
func timelineQuery(a *args, experimentID int64, spec experiment.SummarySpec, refs references) string {
	exp := a.add(experimentID)
	key := spec.Outcome.Key
	join, inWave := inWaveJoin(a, "r", spec.Wave)
	var steps string // (customer_id, arm_key, day, until, y): y counts from day until until
	if spec.Outcome.Kind == experiment.Composite {
		k := a.add(refs.k[key])
		b, all := components(a, []experiment.SummarySpec{spec}, refs)
		answers := `(SELECT r.customer_id, r.arm_key, u.k, u.v AS value, ` + utcDay + ` AS day, r.answered_at, r.seq
			FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set` + join + `
			CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS u(k, v)
			WHERE r.experiment_id = ` + exp + ` AND r.customer_id IN ` + repeatCustomers(exp) + ` AND u.k = ANY(` + a.add(all) + `::text[])` + inWave + `)`
		// The composite of a customer with several responses at each day one of its
		// components starts to count, once all are answered (compositeOf).
		several := `(SELECT customer_id, arm_key, day, lead(day) OVER (PARTITION BY customer_id ORDER BY day) AS until, y
			FROM (SELECT v.customer_id, v.arm_key, c.day, avg(100 * (v.value - b.lo) / (b.hi - b.lo)) - max(b.k) AS y
			      FROM valid v JOIN ` + b + ` ON b.key = v.k
			      JOIN (SELECT DISTINCT customer_id, day FROM valid) c
			        ON c.customer_id = v.customer_id AND v.day <= c.day AND (v.until IS NULL OR v.until > c.day)
			      GROUP BY v.customer_id, v.arm_key, c.day
			      HAVING count(*) = max(b.n)) x)`
		single := `(SELECT customer_id, arm_key, day, NULL::timestamp AS until, y
			FROM (SELECT r.customer_id, r.arm_key, ` + utcDay + ` AS day, ` + compositeExpr(a, spec) + ` - ` + k + `::float8 AS y
			      FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set` + join + `
			      WHERE r.experiment_id = ` + exp + ` AND ` + alone("r", exp) + inWave + `) x
			WHERE y IS NOT NULL)`
		steps = `WITH valid AS MATERIALIZED ` + validity(answers) + `,
		steps AS (` + single + ` UNION ALL ` + several + `)`
	} else {
		ka := a.add(key)
		answers := `(SELECT r.customer_id, r.arm_key, ` + alone("r", exp) + ` AS alone, ` + ka + `::text AS k, x.v AS value, ` + utcDay + ` AS day, r.answered_at, r.seq
			FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set` + join + `
			CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS x(k, v)
			WHERE r.experiment_id = ` + exp + ` AND x.k = ` + ka + `::text` + inWave + `)`
		y := shiftedBy(a, "value", "k", []string{key}, refs.k)
		steps = `WITH answers AS MATERIALIZED ` + answers + `,
		steps AS (SELECT customer_id, arm_key, day, NULL::timestamp AS until, ` + y + ` AS y FROM answers WHERE alone
			UNION ALL
			SELECT customer_id, arm_key, day, until, ` + y + ` FROM ` + validity(`(SELECT * FROM answers WHERE NOT alone)`) + ` v)`
	}
	level := "0"
	if spec.Counts || spec.Outcome.Kind == experiment.Composite {
		level = "c.y"
	}
	cov, join := `0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy`, ``
	if refs.withCovariates {
		cov = `coalesce(sum(c.sign) FILTER (WHERE v.x IS NOT NULL), 0) AS nx, coalesce(sum(c.sign * v.x), 0) AS sx,
			coalesce(sum(c.sign * v.x * v.x), 0) AS sxx, coalesce(sum(c.sign * v.x * c.y), 0) AS sxy,
			coalesce(sum(c.sign * c.y) FILTER (WHERE v.x IS NOT NULL), 0) AS sy`
		keys := []string{key}
		if _, ok := refs.kx[key]; !ok {
			keys = nil
		}
		join = `
		LEFT JOIN (SELECT customer_id, ` + shiftedBy(a, "value", "outcome_key", keys, refs.kx) + ` AS x
		           FROM covariates WHERE experiment_id = ` + exp + ` AND outcome_key = ` + a.add(key) + `::text) v ON v.customer_id = c.customer_id`
	}
	group := `GROUP BY c.day, c.arm_key`
	if level != "0" {
		group += `, ` + level
	}
	return steps + `,
		deltas AS (SELECT customer_id, arm_key, day, y, 1 AS sign FROM steps
		           UNION ALL
		           SELECT customer_id, arm_key, until, y, -1 FROM steps WHERE until IS NOT NULL)
		SELECT c.day AT TIME ZONE 'UTC' AS day, '' AS segment, ` + a.add(key) + `::text AS outcome_key, c.arm_key, ` + level + ` AS y,
		       sum(c.sign) AS n, coalesce(sum(c.sign * c.y), 0) AS sum, coalesce(sum(c.sign * c.y * c.y), 0) AS sumsq, ` + cov + `
		FROM deltas c` + join + `
		` + group
}

// runningSums adds up the deltas day by day: each day of days gets the summary of the
// rows of that day and every day before, folded as Summarize folds its rows.
func runningSums(spec experiment.SummarySpec, days []time.Time, deltas []dayRow, refs references, arms map[string]experiment.ArmCount) []experiment.DaySummary {
	slices.SortStableFunc(deltas, func(x, y dayRow) int { return x.Day.Compare(y.Day) })
	type cell struct {
		arm string
		y   float64
	}
	cum := map[cell]*summaryRow{}
	var order []cell // in first appearance, so that the fold is deterministic
	if arms == nil {
		arms = map[string]experiment.ArmCount{}
	}
	out := make([]experiment.DaySummary, len(days))
	next := 0
	for i, day := range days {
		for ; next < len(deltas) && !deltas[next].Day.After(day); next++ {
			d := deltas[next].summaryRow
			c := cell{d.Arm, d.Y}
			r := cum[c]
			if r == nil {
				r = &summaryRow{Outcome: d.Outcome, Arm: d.Arm, Y: d.Y}
				cum[c] = r
				order = append(order, c)
			}
			r.N, r.Sum, r.SumSq = r.N+d.N, r.Sum+d.Sum, r.SumSq+d.SumSq
			r.NX, r.SX, r.SXX, r.SXY, r.SY = r.NX+d.NX, r.SX+d.SX, r.SXX+d.SXX, r.SXY+d.SXY, r.SY+d.SY
		}
		var rows []summaryRow
		for _, c := range order {
			if r := cum[c]; r.N > 0 {
				rows = append(rows, *r)
			}
		}
		out[i] = experiment.DaySummary{Day: day, Summary: experiment.Summary{Arms: arms,
			Outcomes: []map[string]stats.ArmData{foldSummaries(spec, rows, refs)}}}
	}
	return out
}

// exactDaySums adds the exact sums of a numeric outcome (exactSums) to the days on which
// an arm's rounded sums cannot give its mean: the deltas of its values' shortest decimal
// forms as numeric, added up day by day without rounding.
func exactDaySums(ctx context.Context, tx *sqlx.Tx, experimentID int64, spec experiment.SummarySpec, days []experiment.DaySummary) error {
	if spec.Counts || spec.Outcome.Kind == experiment.Composite {
		return nil
	}
	need := make([]bool, len(days))
	needed := false
	for i, d := range days {
		for _, arm := range d.Summary.Outcomes[0] {
			if arm.Moments.NeedsExactSum() {
				need[i], needed = true, true
			}
		}
	}
	if !needed {
		return nil
	}
	var a args
	exp, key := a.add(experimentID), a.add(spec.Outcome.Key)
	join, inWave := inWaveJoin(&a, "r", spec.Wave)
	answers := `(SELECT r.customer_id, r.arm_key, ` + alone("r", exp) + ` AS alone, ` + key + `::text AS k, x.v AS value, ` + utcDay + ` AS day, r.answered_at, r.seq
		FROM responses r JOIN answer_key_sets ks ON ks.id = r.key_set` + join + `
		CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS x(k, v)
		WHERE r.experiment_id = ` + exp + ` AND x.k = ` + key + `::text` + inWave + `)`
	q := `WITH answers AS MATERIALIZED ` + answers + `,
		steps AS (SELECT arm_key, day, NULL::timestamp AS until, value FROM answers WHERE alone
			UNION ALL
			SELECT arm_key, day, until, value FROM ` + validity(`(SELECT * FROM answers WHERE NOT alone)`) + ` v),
		deltas AS (SELECT arm_key, day, value::text::numeric AS v FROM steps
		           UNION ALL
		           SELECT arm_key, until, -(value::text::numeric) FROM steps WHERE until IS NOT NULL)
		SELECT day AT TIME ZONE 'UTC' AS day, arm_key, sum(v)::text AS exact FROM deltas GROUP BY day, arm_key ORDER BY day`
	var rows []struct {
		Day   time.Time `db:"day"`
		Arm   string    `db:"arm_key"`
		Exact string    `db:"exact"`
	}
	if err := tx.SelectContext(ctx, &rows, q, a...); err != nil {
		return err
	}
	cum := map[string]*big.Rat{}
	next := 0
	for i, d := range days {
		for ; next < len(rows) && !rows[next].Day.After(d.Day); next++ {
			r := rows[next]
			delta, ok := new(big.Rat).SetString(r.Exact)
			if !ok {
				return fmt.Errorf("exact sum %q of %s/%s on %s: not a number", r.Exact, spec.Outcome.Key, r.Arm, r.Day)
			}
			if cum[r.Arm] == nil {
				cum[r.Arm] = new(big.Rat)
			}
			cum[r.Arm] = new(big.Rat).Add(cum[r.Arm], delta)
		}
		if !need[i] {
			continue
		}
		data := d.Summary.Outcomes[0]
		for arm, ad := range data {
			if s := cum[arm]; s != nil {
				ad.Moments.Exact = new(big.Rat).Set(s)
				data[arm] = ad
			}
		}
	}
	return nil
}
