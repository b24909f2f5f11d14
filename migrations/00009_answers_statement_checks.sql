-- The references of answers (to their response, to an outcome of the experiment and to one
-- of its arms) are checked once per statement, over every row it wrote, instead of row by
-- row: an import writes a million answers in one statement, and the per-row foreign-key
-- checks were most of its time. The check is stricter than the keys were: the outcome must
-- be one the experiment analyses or a component of one of its composites, not just any
-- outcome. Deleting responses still deletes their answers.
--
-- Answers are only ever inserted in the transaction that inserts their response, so no
-- concurrent transaction can delete the response between the check and the commit; the row
-- locks a foreign key takes are not needed for that.

-- +goose Up
ALTER TABLE answers
    DROP CONSTRAINT answers_experiment_id_response_id_fkey,
    DROP CONSTRAINT answers_outcome_key_fkey,
    DROP CONSTRAINT answers_experiment_id_arm_key_fkey;

-- +goose StatementBegin
CREATE FUNCTION answers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text;
BEGIN
    -- One pass over the written rows per kind of reference, each distinct reference probed once.
    WITH r AS MATERIALIZED (SELECT DISTINCT experiment_id, response_id, arm_key FROM written),
         o AS (SELECT DISTINCT experiment_id, outcome_key FROM written)
    SELECT p.problem INTO problem FROM (
        (SELECT format('response %s of experiment %s does not exist', r.response_id, r.experiment_id) AS problem
         FROM r
         WHERE NOT EXISTS (SELECT 1 FROM responses s
                           WHERE s.experiment_id = r.experiment_id AND s.response_id = r.response_id)
         LIMIT 1)
        UNION ALL
        (SELECT format('arm %s is not an arm of experiment %s', a.arm_key, a.experiment_id)
         FROM (SELECT DISTINCT experiment_id, arm_key FROM r) a
         WHERE NOT EXISTS (SELECT 1 FROM arms m WHERE m.experiment_id = a.experiment_id AND m.key = a.arm_key)
         LIMIT 1)
        UNION ALL
        (SELECT format('outcome %s is neither an outcome of experiment %s nor a component of one', o.outcome_key, o.experiment_id)
         FROM o
         WHERE NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                           WHERE e.experiment_id = o.experiment_id AND e.outcome_key = o.outcome_key)
           AND NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                           JOIN outcome_components c ON c.outcome_key = e.outcome_key
                           WHERE e.experiment_id = o.experiment_id AND c.component_key = o.outcome_key)
         LIMIT 1)
    ) p
    LIMIT 1;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'answers: %', problem USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER answers_check_insert AFTER INSERT ON answers
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION answers_check();
CREATE TRIGGER answers_check_update AFTER UPDATE ON answers
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION answers_check();

-- +goose StatementBegin
CREATE FUNCTION responses_delete_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM answers a USING deleted d
    WHERE a.experiment_id = d.experiment_id AND a.response_id = d.response_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER responses_delete_answers AFTER DELETE ON responses
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION responses_delete_answers();

-- +goose Down
DROP TRIGGER responses_delete_answers ON responses;
DROP FUNCTION responses_delete_answers();
DROP TRIGGER answers_check_update ON answers;
DROP TRIGGER answers_check_insert ON answers;
DROP FUNCTION answers_check();
ALTER TABLE answers
    ADD FOREIGN KEY (experiment_id, response_id) REFERENCES responses (experiment_id, response_id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    ADD FOREIGN KEY (outcome_key) REFERENCES outcomes (key),
    ADD FOREIGN KEY (experiment_id, arm_key) REFERENCES arms (experiment_id, key);
