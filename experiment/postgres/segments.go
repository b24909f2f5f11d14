package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats"
)

var _ experiment.SegmentStore = (*Store)(nil)

// SaveAttributes upserts every attribute of every customer in one statement, so a batch
// is stored whole or not at all.
func (s *Store) SaveAttributes(ctx context.Context, cs []experiment.CustomerAttributes, at time.Time) error {
	var ids, names, values pq.StringArray
	for _, c := range cs {
		for name, v := range c.Attributes {
			ids, names, values = append(ids, c.CustomerID), append(names, name), append(values, v)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO customer_attributes AS a (customer_id, name, value, updated_at)
		SELECT t.customer_id, t.name, t.value, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(customer_id, name, value)
		ON CONFLICT (customer_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		ids, names, values, at.UTC())
	return mapErr(err)
}

// withSegment selects the columns cols of the rows src (which have a customer_id) with the
// customer's value of the attribute named by the parameter name as column segment:
// NoSegment when the customer lacks it. The attribute's primary key makes the join add no
// rows.
func withSegment(src, cols, name string) string {
	return `(SELECT ` + cols + `, coalesce(ca.value, '` + experiment.NoSegment + `') AS segment
		FROM ` + src + ` LEFT JOIN customer_attributes ca ON ca.name = ` + name + ` AND ca.customer_id = s.customer_id)`
}

type segmentRow struct {
	Segment string `db:"segment"`
	summaryRow
}

// SummarizeSegments computes, per value of the attribute, what Summarize computes for the
// whole experiment, with the same queries grouped by the customer's value as well; no raw
// answer leaves the database. All queries read one snapshot.
func (s *Store) SummarizeSegments(ctx context.Context, experimentID int64, name string, specs []experiment.SummarySpec, maxValues int) ([]experiment.SegmentSummary, error) {
	var out []experiment.SegmentSummary
	err := s.inReadTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'`); err != nil {
			return err
		}
		arms, err := segmentArmCounts(ctx, tx, experimentID, name)
		if err != nil {
			return err
		}
		if len(arms) > maxValues {
			return &experiment.Error{Code: experiment.Invalid, Message: "invalid query", Details: []experiment.Detail{{Field: "segment",
				Message: fmt.Sprintf("attribute %q has %d distinct values among the experiment's customers; at most %d can be analysed", name, len(arms), maxValues)}}}
		}
		rows, err := segmentRows(ctx, tx, experimentID, name, specs)
		if err != nil {
			return err
		}
		values := make([]string, 0, len(arms))
		for v := range arms {
			values = append(values, v)
		}
		for v := range rows {
			if _, ok := arms[v]; !ok {
				values = append(values, v)
			}
		}
		experiment.SortSegmentValues(values)
		for _, v := range values {
			sum := experiment.Summary{Arms: arms[v], Outcomes: make([]map[string]stats.ArmData, len(specs))}
			if sum.Arms == nil {
				sum.Arms = map[string]experiment.ArmCount{}
			}
			for i, spec := range specs {
				sum.Outcomes[i] = foldSummaries(spec, rows[v][i])
			}
			out = append(out, experiment.SegmentSummary{Value: v, Summary: sum})
		}
		return nil
	})
	return out, err
}

// segmentArmCounts is armCounts per value of the attribute.
func segmentArmCounts(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string) (map[string]map[string]experiment.ArmCount, error) {
	var rows []struct {
		Segment   string `db:"segment"`
		Arm       string `db:"key"`
		Assigned  int64  `db:"assigned"`
		Responded int64  `db:"responded"`
	}
	err := tx.SelectContext(ctx, &rows, `
		SELECT coalesce(ca.value, '`+experiment.NoSegment+`') AS segment, s.arm_key AS key,
		       count(*) AS assigned, count(r.customer_id) AS responded
		FROM assignments s
		LEFT JOIN customer_attributes ca ON ca.name = $2 AND ca.customer_id = s.customer_id
		LEFT JOIN (SELECT DISTINCT customer_id FROM responses WHERE experiment_id = $1) r ON r.customer_id = s.customer_id
		WHERE s.experiment_id = $1
		GROUP BY coalesce(ca.value, '`+experiment.NoSegment+`'), s.arm_key`, experimentID, name)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]experiment.ArmCount{}
	for _, r := range rows {
		if out[r.Segment] == nil {
			out[r.Segment] = map[string]experiment.ArmCount{}
		}
		out[r.Segment][r.Arm] = experiment.ArmCount{Assigned: r.Assigned, Responded: r.Responded}
	}
	return out, nil
}

// segmentRows reads the summary rows of every spec, per value of the attribute: rows[value][spec].
func segmentRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, specs []experiment.SummarySpec) (map[string][][]summaryRow, error) {
	out := map[string][][]summaryRow{}
	add := func(i int, rows []segmentRow) {
		for _, r := range rows {
			if out[r.Segment] == nil {
				out[r.Segment] = make([][]summaryRow, len(specs))
			}
			out[r.Segment][i] = append(out[r.Segment][i], r.summaryRow)
		}
	}
	index := map[string]int{}
	var counted, summed []string
	for i, spec := range specs {
		switch {
		case spec.Outcome.Kind == experiment.Composite:
			rows, err := segmentCompositeRows(ctx, tx, experimentID, name, spec)
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
	byOutcome := func(rows []segmentRow) {
		for _, r := range rows {
			add(index[r.Outcome], []segmentRow{r})
		}
	}
	// The answers of each customer, with its segment.
	cust := func(a *args) string {
		return withSegment("latest s", "s.outcome_key, s.customer_id, s.arm_key, s.value AS y", a.add(name)) + ` c`
	}
	for _, group := range []struct {
		keys   []string
		counts bool
	}{{counted, true}, {summed, false}} {
		if len(group.keys) == 0 {
			continue
		}
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, group.keys, time.Time{}) + `
			SELECT c.segment, c.outcome_key, c.arm_key, ` + aggregates(group.counts) + `,
			       0 AS nx, 0 AS sx, 0 AS sxx, 0 AS sxy, 0 AS sy
			FROM ` + cust(&a) + `
			GROUP BY c.segment, c.outcome_key, c.arm_key` + map[bool]string{true: ", c.y", false: ""}[group.counts]
		var rows []segmentRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		byOutcome(rows)
	}
	if simple := append(append([]string(nil), counted...), summed...); len(simple) > 0 {
		var a args
		query := `WITH ` + latestCTE(&a, experimentID, simple, time.Time{}) + `
			SELECT c.segment, c.outcome_key, c.arm_key, 0 AS y, 0 AS n, 0 AS sum, 0 AS sumsq, ` + covSums + `
			FROM covariates v
			JOIN ` + cust(&a) + ` ON c.outcome_key = v.outcome_key AND c.customer_id = v.customer_id
			WHERE v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ANY(` + a.add(pq.StringArray(simple)) + `::text[])
			GROUP BY c.segment, c.outcome_key, c.arm_key`
		var rows []segmentRow
		if err := tx.SelectContext(ctx, &rows, query, a...); err != nil {
			return nil, err
		}
		byOutcome(rows)
	}
	return out, nil
}

// segmentCompositeRows is compositeRows per value of the attribute: the mean of the
// components rescaled to 0..100, for customers who answered every component.
func segmentCompositeRows(ctx context.Context, tx *sqlx.Tx, experimentID int64, name string, spec experiment.SummarySpec) ([]segmentRow, error) {
	var keys []string
	var los, his pq.Float64Array
	for _, c := range spec.Components {
		lo, hi, _ := c.Bounds()
		keys, los, his = append(keys, c.Key), append(los, lo), append(his, hi)
	}
	var a args
	latest := latestCTE(&a, experimentID, keys, time.Time{})
	query := `WITH ` + latest + `,
		cust AS (
			SELECT l.customer_id, l.arm_key, avg(100 * (l.value - b.lo) / (b.hi - b.lo)) AS y
			FROM latest l
			JOIN unnest(` + a.add(pq.StringArray(keys)) + `::text[], ` + a.add(los) + `::float8[], ` + a.add(his) + `::float8[]) AS b(key, lo, hi)
			  ON b.key = l.outcome_key
			GROUP BY l.customer_id, l.arm_key
			HAVING count(*) = ` + a.add(len(keys)) + `
		)
		SELECT c.segment, '' AS outcome_key, c.arm_key, ` + aggregates(false) + `, ` + covSums + `
		FROM ` + withSegment("cust s", "s.customer_id, s.arm_key, s.y", a.add(name)) + ` c
		LEFT JOIN covariates v
		  ON v.experiment_id = ` + a.add(experimentID) + ` AND v.outcome_key = ` + a.add(spec.Outcome.Key) + ` AND v.customer_id = c.customer_id
		GROUP BY c.segment, c.arm_key`
	var rows []segmentRow
	err := tx.SelectContext(ctx, &rows, query, a...)
	return rows, err
}
