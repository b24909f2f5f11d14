-- Survey waves (STATS.md, third part): an experiment may define waves, each a range of days
-- since assignment ({key, label, label_nl, from_day, to_day}, ascending, not overlapping,
-- at most 12), and a decision wave whose results the recommendation is. The waves are part
-- of the experiment's design, read with it on every analysis, and few: they live in the
-- experiment's row (like eligibility, 00007), a reference table on Citus; the service
-- validates them. A wave's results are computed from the responses as they are, with the
-- wave a condition on each answer's age (answered_at - assigned_at); nothing is copied.
--
-- The always-valid p-value is reported as the running minimum over the looks at the same
-- data (00003). A wave's answers are other data than the whole experiment's, so its looks
-- are kept apart: sequential_looks gains the wave ('' for the whole experiment).

-- +goose Up
ALTER TABLE experiments
    ADD COLUMN waves jsonb NOT NULL DEFAULT '[]' CONSTRAINT experiments_waves_array CHECK (jsonb_typeof(waves) = 'array'),
    ADD COLUMN decision_wave text;

ALTER TABLE sequential_looks
    ADD COLUMN wave text NOT NULL DEFAULT '',
    DROP CONSTRAINT sequential_looks_pkey,
    ADD PRIMARY KEY (experiment_id, wave, outcome_key, arm_key);

-- +goose Down
DELETE FROM sequential_looks WHERE wave <> '';
ALTER TABLE sequential_looks
    DROP CONSTRAINT sequential_looks_pkey,
    DROP COLUMN wave,
    ADD PRIMARY KEY (experiment_id, outcome_key, arm_key);
ALTER TABLE experiments DROP COLUMN decision_wave, DROP COLUMN waves;
