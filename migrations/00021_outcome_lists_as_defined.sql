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
-- The rows written before cannot tell a guardrail only from one in both lists. They keep
-- what they were read as (a guardrail only), except the primary outcome, which the
-- validation has always required among the outcomes.

-- +goose Up
ALTER TABLE experiment_outcomes ADD COLUMN listed boolean, ADD COLUMN guardrail_position integer;
UPDATE experiment_outcomes o SET listed = NOT o.guardrail OR o.outcome_key = e.primary_outcome,
                                 guardrail_position = CASE WHEN o.guardrail THEN o.position END
FROM experiments e WHERE e.id = o.experiment_id;
ALTER TABLE experiment_outcomes ALTER COLUMN listed SET DEFAULT true,
                                ALTER COLUMN listed SET NOT NULL,
                                ADD CONSTRAINT experiment_outcomes_listed_or_guardrail CHECK (listed OR guardrail),
                                ADD CONSTRAINT experiment_outcomes_guardrail_position
                                    CHECK (guardrail_position IS NULL OR (guardrail AND guardrail_position >= 0)),
                                ADD CONSTRAINT experiment_outcomes_experiment_id_guardrail_position_key
                                    UNIQUE (experiment_id, guardrail_position);

-- +goose Down
ALTER TABLE experiment_outcomes DROP COLUMN guardrail_position, DROP COLUMN listed;
