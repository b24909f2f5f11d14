package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/krslab/krslab/experiment"
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

// SummarizeSegments computes, per value of the attribute, what Summarize computes for the
// whole experiment, or for one survey wave when the specs have one, with the same queries
// grouped by the customer's value as well; no raw answer leaves the database. All queries
// read one snapshot.
func (s *Store) SummarizeSegments(ctx context.Context, experimentID int64, name string, specs []experiment.SummarySpec, maxValues int) ([]experiment.SegmentSummary, error) {
	var out []experiment.SegmentSummary
	err := s.inSummaryTx(ctx, func(tx *sqlx.Tx) error {
		var arms map[string]map[string]experiment.ArmCount
		var version experiment.DataVersion
		var err error
		wave := cutOf(specs).wave
		if wave != nil {
			// The wave's eligible customers per value, and the version of a wave.
			arms, version, err = waveTraffic(ctx, tx, experimentID, *wave, name)
		} else {
			arms, err = armCounts(ctx, tx, experimentID, name)
		}
		if err != nil {
			return err
		}
		if len(arms) > maxValues {
			return &experiment.Error{Code: experiment.Invalid, Message: "invalid query", Details: []experiment.Detail{{Field: "segment",
				Message: fmt.Sprintf("attribute %q has %d distinct values among the experiment's customers; at most %d can be analysed", name, len(arms), maxValues)}}}
		}
		data, err := outcomeData(ctx, tx, experimentID, name, specs)
		if err != nil {
			return err
		}
		values := make([]string, 0, len(arms))
		for v := range arms {
			values = append(values, v)
		}
		for v := range data {
			if _, ok := arms[v]; !ok {
				values = append(values, v)
			}
		}
		experiment.SortSegmentValues(values)
		if wave == nil {
			total := map[string]experiment.ArmCount{}
			for _, byArm := range arms {
				for arm, n := range byArm {
					t := total[arm]
					t.Assigned += n.Assigned
					total[arm] = t
				}
			}
			if version, err = dataVersionIn(ctx, tx, experimentID, total); err != nil {
				return err
			}
		}
		for _, v := range values {
			sum := summaryOf(specs, arms[v], data[v])
			sum.Version = version
			out = append(out, experiment.SegmentSummary{Value: v, Summary: sum})
		}
		return nil
	})
	return out, err
}
