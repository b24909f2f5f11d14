package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
)

// The latest-answer rule (DOMAIN.md): per customer and outcome, the answer that counts is
// the latest by answered_at, then by arrival (seq). A response is written once and never
// rewritten (migration 00019), so the rule is applied here, as the answers are read, in two
// halves that every reader combines:
//
//   - a customer with one response (nearly all) has the answers that count in that row:
//     alone selects those rows, whose answers need no ranking (currentQuery);
//   - the responses of the customers with a repeat (repeatCustomers, a partial index of the
//     responses that are not their customer's first) are ranked per customer, each left
//     with the outcomes no later response answers (countingCTEs; repeatsQuery and
//     latestQuery read them).
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

// hasRepeats is whether any customer of the experiment has a repeat.
func hasRepeats(ctx context.Context, tx *sqlx.Tx, experimentID int64) (bool, error) {
	var some bool
	err := tx.GetContext(ctx, &some, `SELECT EXISTS `+repeatCustomers("$1"), experimentID)
	return some, err
}

// alone is the condition that the response r of experiment exp is its customer's only one.
// (NOT IN over the small set of repeat customers is one hashed lookup per row.)
func alone(r, exp string) string {
	return r + `.first_response AND ` + r + `.customer_id NOT IN ` + repeatCustomers(exp)
}

// aloneGiven is alone for a reader that knows, in its snapshot, whether any customer of the
// experiment has a repeat (hasRepeats): without one, every response is its customer's only
// one, and no row needs the test.
func aloneGiven(r, exp string, repeats bool) string {
	if !repeats {
		return `TRUE`
	}
	return alone(r, exp)
}

// latestCTE is latestQuery as the CTE latest.
func latestCTE(a *args, experimentID int64, keys []string, c cut) string {
	return `latest AS (` + latestQuery(a, experimentID, keys, c) + `)`
}

// latestQuery is, per customer and outcome of keys, the answer that counts among those the
// cut selects: of the answers given before a cut-off, or of those in a survey wave, or of
// the repeat customers' only (STATS.md third part for the waves).
//
// It ranks responses, not answers (a tenth of the rows): each key set becomes a mask of the
// keys it answers, and a running OR of the masks over a customer's responses from the
// latest down gives, for each response, the keys a later response answers; what is left of
// its own mask is what it counts for. A response whose every key a later one answers is not
// unnested at all.
func latestQuery(a *args, experimentID int64, keys []string, c cut) string {
	ks := a.add(pq.StringArray(keys))
	return `
		WITH ` + countingCTEs(a, experimentID, ks, len(keys), c) + `
		SELECT x.k AS outcome_key, r.customer_id, r.arm_key, x.v AS value
		FROM counting r JOIN answer_key_sets ks ON ks.id = r.key_set
		CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS x(k, v)
		WHERE r.counts <> ` + noKeys(len(keys)) + `
		  AND ` + countsFor("r", ks, "x.k")
}

// countingCTEs are the CTEs masks and counting: each response the cut selects that answers
// any of the keys (the parameter ks, n of them) with mask, the keys it answers (bit i:
// keys[i]), and counts, those it counts for (latestQuery); counts is mask for a response
// that no later one overrides in any of the keys.
func countingCTEs(a *args, experimentID int64, ks string, n int, c cut) string {
	exp := a.add(experimentID)
	join, where := c.selects(a, "r")
	if c.repeats {
		// (Not alone: a hashed lookup in the set of repeat customers, where IN would be
		// planned as a probe of its index per response.)
		where += ` AND NOT (` + alone("r", exp) + `)`
	}
	from := `responses r` + join
	return `masks AS MATERIALIZED (
			SELECT ks.id, (SELECT string_agg(CASE WHEN u.k = ANY (ks.outcome_keys) THEN '1' ELSE '0' END, '' ORDER BY u.p)
			               FROM unnest(` + ks + `::text[]) WITH ORDINALITY AS u(k, p))::varbit AS mask
			FROM answer_key_sets ks WHERE ks.outcome_keys && ` + ks + `::text[]),
		counting AS (
			SELECT r.customer_id, r.arm_key, r.key_set, r.answer_values, m.mask,
			       m.mask & ~coalesce(bit_or(m.mask) OVER (PARTITION BY r.customer_id ORDER BY ` + laterFirst("r") + `
			                                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), ` + noKeys(n) + `) AS counts
			FROM ` + from + ` JOIN masks m ON m.id = r.key_set
			WHERE r.experiment_id = ` + exp + where + `)`
}

// noKeys is the empty mask of n keys.
func noKeys(n int) string { return `B'` + strings.Repeat("0", n) + `'` }

// maskOf is the mask of the keys of some among keys, as a bit string literal.
func maskOf(keys, some []string) string {
	var b strings.Builder
	for _, k := range keys {
		if slices.Contains(some, k) {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return `B'` + b.String() + `'`
}

// counts is the condition that the row r of counting counts for the key expression k (ks:
// the parameter of the keys its mask is of).
func counts(r, ks, k string) string {
	return `substring(` + r + `.counts::text, array_position(` + ks + `::text[], ` + k + `), 1) = '1'`
}

// countsFor is counts for rows of which nearly all count for every key they answer (a
// customer's latest response): such a row counts for k when k is one of the keys, without
// its mask read as text. (In latestQuery at 100,000 customers with two responses each:
// 835 against 690 ms.)
func countsFor(r, ks, k string) string {
	return `CASE WHEN ` + r + `.counts = ` + r + `.mask THEN ` + k + ` = ANY(` + ks + `::text[]) ELSE ` + counts(r, ks, k) + ` END`
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

// selects is what a cut asks of the responses r it reads: a join (the customers'
// assignments, for a wave) and conditions (" AND ..."), both "" for the current answers.
func (c cut) selects(a *args, r string) (join, where string) {
	if !c.until.IsZero() {
		where += ` AND ` + r + `.answered_at < ` + a.add(c.until.UTC().Format(time.RFC3339Nano)) + `::timestamptz`
	}
	if c.wave != nil {
		join = ` JOIN assignments s ON s.experiment_id = ` + r + `.experiment_id AND s.customer_id = ` + r + `.customer_id`
		where += ` AND ` + inWave(a, r+".answered_at", "s.assigned_at", *c.wave)
	}
	return join, where
}

// laterLast orders a customer's answers by the rule: the later by answered_at, then by
// arrival, the last.
const laterLast = `answered_at, seq`

// laterFirst is the reverse order, of the rows aliased r.
func laterFirst(r string) string { return r + `.answered_at DESC, ` + r + `.seq DESC` }

// cut is which answers a summary reads besides the current latest ones: those given before
// until (the timeline's days), or those of a survey wave (a wave's results), or only the
// repeat customers' (the second half of the current results). The specs of one call share
// until and wave.
type cut struct {
	until   time.Time
	wave    *experiment.WaveWindow
	repeats bool
}
