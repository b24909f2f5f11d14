-- An experiment's outcomes and guardrails are read back as they were defined.
--
-- An outcome may be listed in outcomes, in guardrails or in both (the default outcomes hold
-- ces, and ces is the usual guardrail). experiment_outcomes kept one row per outcome with a
-- guardrail flag, so an outcome in both lists came back as a guardrail only: the experiment
-- read back was not the one created; one whose primary outcome was also a guardrail could
-- not be changed at all (its primary outcome was no longer among its outcomes); and a
-- draft's patch of guardrails to [] dropped such an outcome from the analysis. Each row now
-- says whether the outcome is listed in outcomes (listed) and where it stands among the
-- guardrails (guardrail_position; position stays its place among the outcomes, or after
-- them for a guardrail only).
--
-- The rows written before put the outcomes at positions 0 to n-1 and each guardrail that
-- was not one of them at n + its place among the guardrails. So a guardrail row is listed
-- when it stands before a row known to be listed: a row that is no guardrail, or the
-- primary outcome (the validation has always required it among the outcomes). A guardrail
-- after every such row cannot be told from a guardrail only, and keeps what it was read as
-- (a guardrail only). Its place among the guardrails is its position, as it was read.
--
-- Both columns take what a binary from before this migration still writes during a rolling
-- deploy (no listed, no guardrail_position): such a guardrail reads back as listed too,
-- which analyses the same outcomes, and in its position among the guardrails.
--
-- One constraint per statement: Citus adds a constraint to a distributed table only alone.

-- +goose Up
ALTER TABLE experiment_outcomes ADD COLUMN listed boolean;
ALTER TABLE experiment_outcomes ADD COLUMN guardrail_position integer;
UPDATE experiment_outcomes o
SET listed = NOT o.guardrail OR o.position <= k.last_listed,
    guardrail_position = CASE WHEN o.guardrail THEN o.position END
FROM (SELECT x.experiment_id, max(x.position) AS last_listed
      FROM experiment_outcomes x JOIN experiments e ON e.id = x.experiment_id
      WHERE NOT x.guardrail OR x.outcome_key = e.primary_outcome
      GROUP BY x.experiment_id) k
WHERE k.experiment_id = o.experiment_id;
UPDATE experiment_outcomes SET listed = NOT guardrail, guardrail_position = CASE WHEN guardrail THEN position END
WHERE listed IS NULL; -- an experiment without a row known to be listed
ALTER TABLE experiment_outcomes ALTER COLUMN listed SET DEFAULT true;
ALTER TABLE experiment_outcomes ALTER COLUMN listed SET NOT NULL;
ALTER TABLE experiment_outcomes ADD CONSTRAINT experiment_outcomes_listed_or_guardrail CHECK (listed OR guardrail);
ALTER TABLE experiment_outcomes ADD CONSTRAINT experiment_outcomes_guardrail_position
    CHECK (guardrail_position IS NULL OR (guardrail AND guardrail_position >= 0));
ALTER TABLE experiment_outcomes ADD CONSTRAINT experiment_outcomes_experiment_id_guardrail_position_key
    UNIQUE (experiment_id, guardrail_position);

-- +goose Down
ALTER TABLE experiment_outcomes DROP COLUMN guardrail_position, DROP COLUMN listed;
