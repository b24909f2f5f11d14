-- A response keeps its answers itself, as two parallel arrays (outcome_keys, answer_values),
-- instead of one row per answer in a table of its own plus a second table of the latest
-- answers. A survey export of 100,000 responses with ten answers each is then 100,000 rows
-- and index entries, not 2.1 million: the import and the results read and write a tenth of
-- the rows and a fraction of the write-ahead log.
--
-- The latest-answer rule of DOMAIN.md (per customer and outcome, the latest by answered_at,
-- then by arrival) is kept on the rows: superseded lists the outcomes of a response that a
-- later response of the same customer answered again, and only_response says whether the
-- customer has no other response in the experiment. Nearly every customer answers once, so
-- superseded is nearly always empty and only_response true; the triggers below recompute
-- both for the customers a statement touches who have more than one response. The results
-- read a customer's latest answers straight from its only response, and group by customer
-- only the few who have several.
--
-- The views answers (one row per answer, with latest) and latest_answers (the answers that
-- count) keep the one-row-per-answer shape for the summaries and for ad-hoc SQL.

-- +goose Up
ALTER TABLE responses
    ADD COLUMN arm_key       text,
    ADD COLUMN seq           bigint,
    ADD COLUMN outcome_keys  text[],
    ADD COLUMN answer_values double precision[],
    ADD COLUMN superseded    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN only_response boolean NOT NULL DEFAULT true;

CREATE SEQUENCE responses_seq_seq OWNED BY responses.seq;

UPDATE responses r
SET arm_key = s.arm_key, seq = a.seq, outcome_keys = a.keys, answer_values = a.vals
FROM assignments s,
     (SELECT experiment_id, response_id, min(seq) AS seq,
             array_agg(outcome_key ORDER BY outcome_key) AS keys,
             array_agg(value ORDER BY outcome_key) AS vals
      FROM answers GROUP BY experiment_id, response_id) a
WHERE r.experiment_id = a.experiment_id AND r.response_id = a.response_id
  AND s.experiment_id = r.experiment_id AND s.customer_id = r.customer_id;

SELECT setval('responses_seq_seq', coalesce((SELECT max(seq) FROM responses), 0) + 1, false);

UPDATE responses r
SET arm_key = s.arm_key, seq = nextval('responses_seq_seq'), outcome_keys = '{}', answer_values = '{}'
FROM assignments s
WHERE r.seq IS NULL AND s.experiment_id = r.experiment_id AND s.customer_id = r.customer_id;

ALTER TABLE responses
    ALTER COLUMN arm_key SET NOT NULL,
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN seq SET DEFAULT nextval('responses_seq_seq'),
    ALTER COLUMN outcome_keys SET NOT NULL,
    ALTER COLUMN answer_values SET NOT NULL,
    -- One value per outcome, every value a finite number.
    ADD CONSTRAINT responses_answers_check CHECK (
        cardinality(outcome_keys) = cardinality(answer_values)
        AND array_position(outcome_keys, NULL) IS NULL
        AND array_position(answer_values, NULL) IS NULL
        AND NOT (answer_values && '{NaN,Infinity,-Infinity}'::double precision[])),
    -- The assignment is checked once per statement (responses_check), not row by row.
    DROP CONSTRAINT responses_experiment_id_customer_id_fkey;

DROP TRIGGER responses_delete_answers ON responses;
DROP FUNCTION responses_delete_answers();
DROP TABLE latest_answers, answers;
DROP FUNCTION latest_answers_insert(), latest_answers_delete(), answers_check();

-- +goose StatementBegin
-- responses_check checks what a statement wrote, once per distinct reference, where a
-- foreign key would check every row: the customer is assigned in the experiment and the arm
-- is the assigned one; every outcome is one the experiment analyses or a component of one of
-- them, and appears once in its response.
CREATE FUNCTION responses_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text;
BEGIN
    -- The bulk import checks its staged lines the same way before it inserts them (the arm
    -- comes from the assignment by a join) and says so for its one statement.
    IF current_setting('krslab.checked', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- Two transactions that store responses of the same customer at once would not see each
    -- other's. The writers of an experiment's responses hold the advisory lock (7541, the
    -- experiment's id) shared, which the bulk import holds exclusively (it then needs no lock
    -- per customer); among themselves they lock the customer's assignment row, in a fixed
    -- order, so that the second waits for the first to commit and then sees its response.
    -- Taken before the checks, so that they see an erasure that committed meanwhile; this
    -- trigger fires before responses_latest_insert (triggers fire in the order of their names).
    PERFORM pg_advisory_xact_lock_shared(7541, (e.experiment_id & 2147483647)::int)
    FROM (SELECT DISTINCT experiment_id FROM written ORDER BY 1) e;
    PERFORM 1 FROM assignments a
    WHERE (a.experiment_id, a.customer_id) IN (SELECT experiment_id, customer_id FROM written)
    ORDER BY a.experiment_id, a.customer_id
    FOR NO KEY UPDATE OF a;
    WITH o AS (SELECT DISTINCT w.experiment_id, k.key
               FROM (SELECT DISTINCT experiment_id, outcome_keys FROM written) w, unnest(w.outcome_keys) k(key))
    SELECT p.problem INTO problem FROM (
        (SELECT CASE WHEN s.customer_id IS NULL
                     THEN format('response %s: customer %s is not assigned in experiment %s', w.response_id, w.customer_id, w.experiment_id)
                     ELSE format('response %s: customer %s is assigned to another arm than %s', w.response_id, w.customer_id, w.arm_key)
                END AS problem
         FROM written w LEFT JOIN assignments s ON s.experiment_id = w.experiment_id AND s.customer_id = w.customer_id
         WHERE s.arm_key IS DISTINCT FROM w.arm_key
         LIMIT 1)
        UNION ALL
        (SELECT format('outcome %s is neither an outcome of experiment %s nor a component of one', o.key, o.experiment_id)
         FROM o
         WHERE NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                           WHERE e.experiment_id = o.experiment_id AND e.outcome_key = o.key)
           AND NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                           JOIN outcome_components c ON c.outcome_key = e.outcome_key
                           WHERE e.experiment_id = o.experiment_id AND c.component_key = o.key)
         LIMIT 1)
        UNION ALL
        (SELECT format('a response answers an outcome more than once: %s', d.outcome_keys)
         FROM (SELECT DISTINCT outcome_keys FROM written WHERE cardinality(outcome_keys) > 1) d
         WHERE (SELECT count(DISTINCT k) FROM unnest(d.outcome_keys) k) < cardinality(d.outcome_keys)
         LIMIT 1)
    ) p
    LIMIT 1;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
-- The other side of that reference: an assignment with responses is neither deleted nor
-- moved to another customer or arm. (Erasure deletes the responses before it anonymises the
-- assignment.)
CREATE FUNCTION assignments_keep_responses() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    exp bigint;
    cust text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT o.experiment_id, o.customer_id INTO exp, cust FROM old_rows o
        WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.experiment_id = o.experiment_id
                            AND n.customer_id = o.customer_id AND n.arm_key = o.arm_key)
          AND EXISTS (SELECT 1 FROM responses r WHERE r.experiment_id = o.experiment_id AND r.customer_id = o.customer_id)
        LIMIT 1;
    ELSE
        SELECT o.experiment_id, o.customer_id INTO exp, cust FROM old_rows o
        WHERE EXISTS (SELECT 1 FROM responses r WHERE r.experiment_id = o.experiment_id AND r.customer_id = o.customer_id)
        LIMIT 1;
    END IF;
    IF cust IS NOT NULL THEN
        RAISE EXCEPTION 'assignments: customer % of experiment % has responses', cust, exp
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER assignments_keep_responses_update AFTER UPDATE ON assignments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION assignments_keep_responses();
CREATE TRIGGER assignments_keep_responses_delete AFTER DELETE ON assignments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION assignments_keep_responses();

CREATE TRIGGER responses_check_insert AFTER INSERT ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_check();
CREATE TRIGGER responses_check_update AFTER UPDATE ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_check();

-- +goose StatementBegin
-- responses_supersede recomputes superseded and only_response for every response of the
-- given customers.
CREATE FUNCTION responses_supersede(experiment_ids bigint[], customer_ids text[]) RETURNS void LANGUAGE sql AS $$
    WITH c AS (SELECT DISTINCT * FROM unnest(experiment_ids, customer_ids) AS c(experiment_id, customer_id)),
    rs AS (
        SELECT r.experiment_id, r.response_id, r.customer_id, r.answered_at, r.seq, r.outcome_keys,
               count(*) OVER (PARTITION BY r.experiment_id, r.customer_id) AS n
        FROM c JOIN responses r ON r.experiment_id = c.experiment_id AND r.customer_id = c.customer_id
    ),
    ranked AS (
        SELECT rs.experiment_id, rs.response_id, k.key,
               row_number() OVER (PARTITION BY rs.experiment_id, rs.customer_id, k.key
                                  ORDER BY rs.answered_at DESC, rs.seq DESC) AS rank
        FROM rs CROSS JOIN LATERAL unnest(rs.outcome_keys) AS k(key)
    ),
    later AS (
        SELECT experiment_id, response_id, array_agg(key ORDER BY key) AS superseded
        FROM ranked WHERE rank > 1 GROUP BY experiment_id, response_id
    ),
    sup AS (
        SELECT rs.experiment_id, rs.response_id, rs.n = 1 AS only_response,
               coalesce(later.superseded, '{}') AS superseded
        FROM rs LEFT JOIN later ON later.experiment_id = rs.experiment_id AND later.response_id = rs.response_id
    )
    UPDATE responses r SET superseded = sup.superseded, only_response = sup.only_response
    FROM sup
    WHERE r.experiment_id = sup.experiment_id AND r.response_id = sup.response_id
      AND (r.superseded <> sup.superseded OR r.only_response <> sup.only_response);
$$;
-- +goose StatementEnd

-- +goose StatementBegin
-- After an insert: the written customers who now have more than one response. Most imports
-- and batches bring customers who answer for the first time, for whom nothing is done.
CREATE FUNCTION responses_latest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    exps bigint[];
    custs text[];
BEGIN
    -- The bulk import holds the experiment's advisory lock exclusively and finds the
    -- customers with other responses before it inserts (an index probe that finds nothing
    -- instead of one that finds the new row), and recomputes them itself.
    IF current_setting('krslab.checked', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- (responses_check, which fires first, has locked the customers.)
    SELECT array_agg(experiment_id), array_agg(customer_id) INTO exps, custs
    FROM (SELECT DISTINCT w.experiment_id, w.customer_id FROM written w
          WHERE EXISTS (SELECT 1 FROM responses r
                        WHERE r.experiment_id = w.experiment_id AND r.customer_id = w.customer_id
                          AND r.response_id <> w.response_id)) c;
    IF exps IS NOT NULL THEN
        PERFORM responses_supersede(exps, custs);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION responses_latest_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    exps bigint[];
    custs text[];
BEGIN
    SELECT array_agg(experiment_id), array_agg(customer_id) INTO exps, custs
    FROM (SELECT DISTINCT experiment_id, customer_id FROM deleted) c;
    IF exps IS NOT NULL THEN
        PERFORM responses_supersede(exps, custs);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The few customers with several responses, whose latest answers the results group.
CREATE INDEX responses_several ON responses (experiment_id, customer_id) WHERE NOT only_response;

CREATE TRIGGER responses_latest_insert AFTER INSERT ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_latest_insert();
CREATE TRIGGER responses_latest_delete AFTER DELETE ON responses
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION responses_latest_delete();

SELECT responses_supersede(array_agg(experiment_id), array_agg(customer_id))
FROM (SELECT experiment_id, customer_id FROM responses GROUP BY 1, 2 HAVING count(*) > 1) c;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION alerts_raise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most installations have no rules, and most answers concern no rule: leave at once.
    IF NOT EXISTS (SELECT 1 FROM alert_rules) THEN
        RETURN NULL;
    END IF;
    WITH raised AS (
        INSERT INTO alerts (experiment_id, response_id, rule_id, outcome_key, op, threshold, value, answered_at)
        SELECT i.experiment_id, i.response_id, r.rule_id, r.outcome_key, r.op, r.value, a.value, i.answered_at
        FROM inserted i
        CROSS JOIN LATERAL unnest(i.outcome_keys, i.answer_values) AS a(outcome_key, value)
        JOIN alert_rules r ON r.experiment_id = i.experiment_id AND r.outcome_key = a.outcome_key
        WHERE CASE r.op
                WHEN '<=' THEN a.value <= r.value
                WHEN '>=' THEN a.value >= r.value
                WHEN '==' THEN a.value = r.value
                WHEN '<'  THEN a.value < r.value
                WHEN '>'  THEN a.value > r.value
              END
        ORDER BY i.experiment_id, i.response_id, r.rule_id
        ON CONFLICT (experiment_id, response_id, rule_id) DO NOTHING
        RETURNING experiment_id, alert_id
    )
    INSERT INTO webhook_deliveries (experiment_id, alert_id)
    SELECT a.experiment_id, a.alert_id
    FROM raised a JOIN alert_webhooks w ON w.experiment_id = a.experiment_id
    ORDER BY a.experiment_id, a.alert_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER responses_alerts AFTER INSERT ON responses
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION alerts_raise();

-- One row per answer. latest says whether it is the answer that counts for its customer.
CREATE VIEW answers AS
SELECT r.experiment_id, a.outcome_key, r.customer_id, r.response_id, r.arm_key, r.answered_at, r.seq,
       a.value, a.outcome_key <> ALL (r.superseded) AS latest
FROM responses r
CROSS JOIN LATERAL unnest(r.outcome_keys, r.answer_values) AS a(outcome_key, value);

-- Per customer and outcome, the answer that counts.
CREATE VIEW latest_answers AS
SELECT experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
FROM answers WHERE latest;

-- +goose Down
-- Going back would need the tables of one row per answer rebuilt with their triggers; restore
-- a dump taken before this migration instead.
-- +goose StatementBegin
DO $$ BEGIN
    RAISE EXCEPTION 'migration 00010 (answers in responses) cannot be undone; restore a dump taken before it';
END $$;
-- +goose StatementEnd
