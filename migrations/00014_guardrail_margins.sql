-- Guardrails may carry a non-inferiority margin (STATS.md, second part: guardrail_margins
-- {outcome: margin}, in the outcome's units): the guardrail must be shown no worse than
-- control by more than the margin for an arm to be rolled out. The margin belongs to the
-- experiment's guardrail row, so it is written with the design (in draft, frozen once
-- running like the guardrails themselves) and, on Citus, lives in the experiment's shard
-- with experiment_outcomes (distributed by experiment_id, see citus/distribute.sql). NULL:
-- no margin. Only guardrails have one.

-- +goose Up
ALTER TABLE experiment_outcomes ADD COLUMN margin float8
    CONSTRAINT experiment_outcomes_margin_positive CHECK (margin > 0 AND margin < 'Infinity'),
    ADD CONSTRAINT experiment_outcomes_margin_guardrail CHECK (margin IS NULL OR guardrail);

-- +goose Down
ALTER TABLE experiment_outcomes DROP COLUMN margin;
