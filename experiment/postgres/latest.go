package postgres

import (
	"time"

	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// The latest-answer rule (DOMAIN.md): per customer and outcome, the answer that counts is
// the latest by answered_at, then by arrival (seq). A response is written once and never
// rewritten (migration 00019), so the rule is applied here, as the answers are read, in two
// halves that every reader combines:
//
//   - a customer with one response (nearly all) has the answers that count in that row:
//     alone selects those rows, whose answers need no ranking;
//   - the answers of the customers with a repeat (repeatCustomers, a partial index of the
//     responses that are not their customer's first) are ranked per outcome (latestQuery
//     with cut.repeats).
//
// A response's first_response says whether its writer knew it to be its customer's first;
// a unique index allows one per customer, and a writer that cannot tell says false. So a
// customer with several responses always has a repeat, and a first response of a customer
// without one is that customer's only response.

// repeatCustomers is the set of the customers of experiment exp (a parameter) with a response
// that is not their first: all customers with several responses.
func repeatCustomers(exp string) string {
	return `(SELECT customer_id FROM responses WHERE experiment_id = ` + exp + ` AND NOT first_response)`
}

// alone is the condition that the response r of experiment exp is its customer's only one.
// (NOT IN over the small set of repeat customers is one hashed lookup per row.)
func alone(r, exp string) string {
	return r + `.first_response AND ` + r + `.customer_id NOT IN ` + repeatCustomers(exp)
}

// latestCTE is latestQuery as the CTE latest.
func latestCTE(a *args, experimentID int64, keys []string, c cut) string {
	return `latest AS (` + latestQuery(a, experimentID, keys, c) + `)`
}

// latestQuery is, per customer and outcome of keys, the answer that counts among those the
// cut selects: of the answers given before a cut-off, or of those in a survey wave, or of
// the repeat customers' only (STATS.md third part for the waves).
func latestQuery(a *args, experimentID int64, keys []string, c cut) string {
	exp, ks := a.add(experimentID), a.add(pq.StringArray(keys))
	from, where := `answers an`, ``
	if !c.until.IsZero() {
		where += ` AND an.answered_at < ` + a.add(c.until.UTC().Format(time.RFC3339Nano)) + `::timestamptz`
	}
	if c.wave != nil {
		from += ` JOIN assignments s ON s.experiment_id = an.experiment_id AND s.customer_id = an.customer_id`
		where += ` AND ` + inWave(a, "an.answered_at", "s.assigned_at", *c.wave)
	}
	if c.repeats {
		where += ` AND an.customer_id IN ` + repeatCustomers(exp)
	}
	return `
		SELECT DISTINCT ON (an.outcome_key, an.customer_id) an.outcome_key, an.customer_id, an.arm_key, an.value
		FROM ` + from + `
		WHERE an.experiment_id = ` + exp + ` AND an.outcome_key = ANY(` + ks + `::text[])` + where + `
		ORDER BY an.outcome_key, an.customer_id, an.answered_at DESC, an.seq DESC` // (laterLast, descending)
}

// validity is, for the answers src (customer_id, arm_key, k, value, day, answered_at, seq)
// of customers with a repeat, each answer with the day a later answer of the
// same customer to the same outcome replaces it (until, NULL when none does): the answer
// counts at the end of the days from day until the day before until. Answers replaced on
// their own day never count.
func validity(src string) string {
	return `(SELECT * FROM (SELECT customer_id, arm_key, k, value, day,
		            lead(day) OVER (PARTITION BY customer_id, k ORDER BY ` + laterLast + `) AS until
		        FROM ` + src + ` s) w
		WHERE until IS NULL OR until > day)`
}

// laterLast orders a customer's answers by the rule: the later by answered_at, then by
// arrival, the last.
const laterLast = `answered_at, seq`

// cut is which answers a summary reads besides the current latest ones: those given before
// until (the timeline's days), or those of a survey wave (a wave's results), or only the
// repeat customers' (the second half of the current results). The specs of one call share
// until and wave.
type cut struct {
	until   time.Time
	wave    *experiment.WaveWindow
	repeats bool
}
