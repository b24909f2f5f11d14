-- latest_answers keeps, per experiment, outcome and customer, the answer that counts (the
-- latest by answered_at, then by arrival), so that /results aggregates it directly instead of
-- sorting every answer. Statement-level triggers on answers keep it exact for every way
-- answers are written (API batches, bulk import) or deleted (erasure).

-- +goose Up
CREATE TABLE latest_answers (
    experiment_id bigint NOT NULL,
    outcome_key   text NOT NULL,
    customer_id   text NOT NULL,
    arm_key       text NOT NULL,
    answered_at   timestamptz NOT NULL,
    seq           bigint NOT NULL,
    value         double precision NOT NULL,
    PRIMARY KEY (experiment_id, outcome_key, customer_id)
);

INSERT INTO latest_answers (experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value)
SELECT DISTINCT ON (experiment_id, outcome_key, customer_id)
       experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
FROM answers
ORDER BY experiment_id, outcome_key, customer_id, answered_at DESC, seq DESC;

-- +goose StatementBegin
CREATE FUNCTION latest_answers_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO latest_answers AS l (experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value)
    SELECT DISTINCT ON (experiment_id, outcome_key, customer_id)
           experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
    FROM inserted
    ORDER BY experiment_id, outcome_key, customer_id, answered_at DESC, seq DESC
    ON CONFLICT (experiment_id, outcome_key, customer_id) DO UPDATE
    SET arm_key = excluded.arm_key, answered_at = excluded.answered_at, seq = excluded.seq, value = excluded.value
    WHERE (excluded.answered_at, excluded.seq) > (l.answered_at, l.seq);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION latest_answers_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Forget the deleted answers' latest rows, then derive them again from what is left.
    DELETE FROM latest_answers l USING (SELECT DISTINCT experiment_id, outcome_key, customer_id FROM deleted) d
    WHERE l.experiment_id = d.experiment_id AND l.outcome_key = d.outcome_key AND l.customer_id = d.customer_id;
    INSERT INTO latest_answers (experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value)
    SELECT DISTINCT ON (a.experiment_id, a.outcome_key, a.customer_id)
           a.experiment_id, a.outcome_key, a.customer_id, a.arm_key, a.answered_at, a.seq, a.value
    FROM answers a JOIN (SELECT DISTINCT experiment_id, outcome_key, customer_id FROM deleted) d
      ON a.experiment_id = d.experiment_id AND a.outcome_key = d.outcome_key AND a.customer_id = d.customer_id
    ORDER BY a.experiment_id, a.outcome_key, a.customer_id, a.answered_at DESC, a.seq DESC;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER answers_latest_insert AFTER INSERT ON answers
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION latest_answers_insert();
CREATE TRIGGER answers_latest_delete AFTER DELETE ON answers
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION latest_answers_delete();

-- +goose Down
DROP TRIGGER answers_latest_delete ON answers;
DROP TRIGGER answers_latest_insert ON answers;
DROP FUNCTION latest_answers_delete();
DROP FUNCTION latest_answers_insert();
DROP TABLE latest_answers;
