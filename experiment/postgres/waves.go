package postgres

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/krslab/krslab/experiment"
)

// Survey waves (STATS.md, third part). A wave's results read the same responses as the
// whole experiment's, with the wave a condition on each answer's age, so nothing is copied
// and the wave costs one more join with the assignments (by their primary key).

// inWave is the condition that an answer given at answered belongs to wave w of a customer
// assigned at assigned: its age d = floor((answered - assigned) / 1 day) lies in [from_day,
// to_day], that is from_day days <= answered - assigned < (to_day + 1) days; and the
// customer is eligible at the wave's moment (assigned at least from_day days before it).
// Days are 86,400 seconds, never calendar days of a time zone, so that the age of an answer
// does not depend on the session's zone or on daylight saving time.
func inWave(a *args, answered, assigned string, w experiment.WaveWindow) string {
	from, to := a.add(w.Wave.FromDay), a.add(w.Wave.ToDay+1)
	eligible := a.add(w.Wave.EligibleBefore(w.At).UTC().Format(time.RFC3339Nano))
	return `(` + answered + ` >= ` + assigned + ` + ` + from + `::int * interval '86400 seconds'
		AND ` + answered + ` < ` + assigned + ` + ` + to + `::int * interval '86400 seconds'
		AND ` + assigned + ` <= ` + eligible + `::timestamptz)`
}

// summarizeWave is Summarize of one wave, in the caller's snapshot: the eligible customers
// and those with a response in the wave per arm, the outcomes over the wave's latest
// answers, and the version with the whole experiment's assigned counts (what
// SnapshotStore.DataVersion reads) and valid until the next customer becomes eligible.
func summarizeWave(ctx context.Context, tx *sqlx.Tx, experimentID int64, specs []experiment.SummarySpec, w experiment.WaveWindow, out *experiment.Summary) error {
	arms, total, next, err := waveArmCounts(ctx, tx, experimentID, w)
	if err != nil {
		return err
	}
	data, err := outcomeData(ctx, tx, experimentID, "", specs)
	if err != nil {
		return err
	}
	*out = summaryOf(specs, arms, data[""])
	if out.Version, err = dataVersionIn(ctx, tx, experimentID, total); err != nil {
		return err
	}
	if !next.IsZero() {
		out.Version.ValidUntil = next.Add(time.Duration(w.Wave.FromDay) * 24 * time.Hour)
	}
	return nil
}

// waveArmCounts reads, in one pass over the experiment's assignments, per arm: the customers
// eligible in the wave (assigned) and those of them with a response in it (responded), every
// customer assigned (total, for the data version), and the earliest assignment of a customer
// not yet eligible (zero when there is none), whose eligibility is the next change of the
// counts that time alone brings.
func waveArmCounts(ctx context.Context, tx *sqlx.Tx, experimentID int64, w experiment.WaveWindow) (arms, total map[string]experiment.ArmCount, next time.Time, err error) {
	var a args
	exp := a.add(experimentID)
	eligible := a.add(w.Wave.EligibleBefore(w.At).UTC().Format(time.RFC3339Nano))
	q := `
		SELECT s.arm_key, count(*) AS total, count(*) FILTER (WHERE s.assigned_at <= ` + eligible + `::timestamptz) AS assigned,
		       count(r.customer_id) AS responded,
		       min(s.assigned_at) FILTER (WHERE s.assigned_at > ` + eligible + `::timestamptz) AS next
		FROM assignments s
		LEFT JOIN (SELECT DISTINCT r.customer_id
		           FROM responses r JOIN assignments a ON a.experiment_id = r.experiment_id AND a.customer_id = r.customer_id
		           WHERE r.experiment_id = ` + exp + ` AND ` + inWave(&a, "r.answered_at", "a.assigned_at", w) + `) r
		  ON r.customer_id = s.customer_id
		WHERE s.experiment_id = ` + exp + `
		GROUP BY s.arm_key`
	var rows []struct {
		Arm       string       `db:"arm_key"`
		Total     int64        `db:"total"`
		Assigned  int64        `db:"assigned"`
		Responded int64        `db:"responded"`
		Next      sql.NullTime `db:"next"`
	}
	if err := tx.SelectContext(ctx, &rows, q, a...); err != nil {
		return nil, nil, time.Time{}, err
	}
	arms, total = map[string]experiment.ArmCount{}, map[string]experiment.ArmCount{}
	for _, r := range rows {
		arms[r.Arm] = experiment.ArmCount{Assigned: r.Assigned, Responded: r.Responded}
		total[r.Arm] = experiment.ArmCount{Assigned: r.Total}
		if r.Next.Valid && (next.IsZero() || r.Next.Time.Before(next)) {
			next = r.Next.Time.UTC()
		}
	}
	return arms, total, next, nil
}
