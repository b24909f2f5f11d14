-- A response names the outcomes it answers through a key set, one row of answer_key_sets
-- shared by every response that answers the same outcomes, instead of repeating the keys in
-- each row. The keys were two fifths of a response row; an export of 100,000 responses was
-- 41 MB of rows and is now about 26 MB, which every import, analysis and results pass reads
-- or writes. Key sets are few (the answered columns of the survey exports) and never change.
--
-- A key set's id is derived from its keys (answer_key_set_id): the first 8 bytes of the
-- SHA-256 of the keys joined by commas, read as a signed big-endian integer. The service
-- computes the same id itself, so it never has to ask for one, and an id always means the
-- same keys, on any copy of the database. The writers of responses add the key sets they
-- use in the same transaction (ON CONFLICT DO NOTHING).
--
-- The check of a response's values (one finite value per key) reads its key set, and the
-- views answers and latest_answers, the latest-answer rule and the alerts join them. The
-- alerts of a statement are raised by response id (alerts_raise_rows), so that the bulk
-- import, which adds the key sets of a file it copies once the file is in, raises its own.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION answer_keys_valid(keys text[]) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_position(keys, NULL) IS NULL
       AND (SELECT count(DISTINCT k) FROM unnest(keys) k) = cardinality(keys)
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION answer_key_set_id(keys text[]) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ('x' || encode(substr(sha256(convert_to(array_to_string(keys, ','), 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint
$$;
-- +goose StatementEnd

CREATE TABLE answer_key_sets (
    id           bigint PRIMARY KEY,
    outcome_keys text[] NOT NULL CONSTRAINT answer_key_sets_keys_check CHECK (answer_keys_valid(outcome_keys)),
    CONSTRAINT answer_key_sets_id_check CHECK (id = answer_key_set_id(outcome_keys))
);

INSERT INTO answer_key_sets (id, outcome_keys)
SELECT DISTINCT answer_key_set_id(outcome_keys), outcome_keys FROM responses;

-- The column is rewritten in place (one pass over the table, no second row version, no
-- trigger); the views that read it go first.
DROP VIEW latest_answers;
DROP VIEW answers;
ALTER TABLE responses ALTER COLUMN outcome_keys TYPE bigint USING answer_key_set_id(outcome_keys);
ALTER TABLE responses RENAME COLUMN outcome_keys TO key_set;

-- One row per answer. latest says whether it is the answer that counts for its customer.
CREATE VIEW answers AS
SELECT r.experiment_id, a.outcome_key, r.customer_id, r.response_id, r.arm_key, r.answered_at, r.seq,
       a.value, a.outcome_key <> ALL (r.superseded) AS latest
FROM responses r
JOIN answer_key_sets ks ON ks.id = r.key_set
CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS a(outcome_key, value);

-- Per customer and outcome, the answer that counts.
CREATE VIEW latest_answers AS
SELECT experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
FROM answers WHERE latest;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION responses_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text;
    exp bigint;
    others bigint;
    doubtful bigint;
BEGIN
    -- (A key set's keys are distinct by its own check, answer_key_sets_keys_check. In the
    -- modes below the writer has added the key sets it uses, or adds them before it commits.)
    -- The bulk import stages a file with bad lines, checks its lines the same way before it
    -- inserts them (the arm comes from the assignment by a join) and says so ('on').
    IF current_setting('krslab.checked', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- A file without bad lines it copies straight into responses ('outcomes'). It holds the
    -- experiment's responses lock exclusively, so that the locks below are needless, and has
    -- checked every line's outcomes and values. What is left to check is that every customer
    -- is assigned to the arm written: one join, planned for the size of the file rather than
    -- reusing a plan made for a batch of a few rows. When it fails the import reads the file
    -- again into staging, which names the lines. Such a statement writes one experiment,
    -- which the import's own steps after the copy (key sets, latest answers, alerts) rely on.
    IF current_setting('krslab.checked', true) = 'outcomes' THEN
        SELECT experiment_id INTO exp FROM written LIMIT 1;
        EXECUTE 'SELECT count(*) FILTER (WHERE w.experiment_id <> $1),
                        count(*) FILTER (WHERE s.arm_key IS DISTINCT FROM w.arm_key)
                 FROM written w
                 LEFT JOIN assignments s ON s.experiment_id = $1 AND s.customer_id = w.customer_id'
            INTO others, doubtful USING exp;
        IF others > 0 THEN
            RAISE EXCEPTION 'responses: a statement with krslab.checked = outcomes writes the responses of one experiment';
        END IF;
        IF doubtful > 0 THEN
            RAISE EXCEPTION 'responses: % responses of customers not assigned, or not to the arm written, in experiment %',
                doubtful, exp USING ERRCODE = 'foreign_key_violation';
        END IF;
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
    -- Every response holds one finite value per key of its key set.
    SELECT CASE WHEN ks.id IS NULL THEN format('response %s: key set %s does not exist', w.response_id, w.key_set)
                ELSE format('response %s: its answers must be one finite value per outcome key', w.response_id)
           END INTO problem
    FROM written w LEFT JOIN answer_key_sets ks ON ks.id = w.key_set
    WHERE ks.id IS NULL
       OR NOT (cardinality(ks.outcome_keys) = cardinality(w.answer_values)
               AND array_position(w.answer_values, NULL) IS NULL
               AND NOT w.answer_values && '{NaN,Infinity,-Infinity}')
    LIMIT 1;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'check_violation';
    END IF;
    WITH o AS (SELECT DISTINCT w.experiment_id, k.key
               FROM (SELECT DISTINCT experiment_id, key_set FROM written) w
               JOIN answer_key_sets ks ON ks.id = w.key_set, unnest(ks.outcome_keys) k(key))
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
    ) p
    LIMIT 1;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION responses_latest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    exps bigint[];
    custs text[];
BEGIN
    -- The bulk import recomputes the customers with other responses itself: staged ('on'),
    -- it finds them before it inserts (an index probe that finds nothing instead of one that
    -- finds the new row); copying a file ('outcomes'), after the copy, once the key sets of
    -- the rows, which the recomputation reads, are in.
    IF current_setting('krslab.checked', true) IN ('on', 'outcomes') THEN
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
-- responses_supersede recomputes superseded and only_response for every response of the
-- given customers.
CREATE OR REPLACE FUNCTION responses_supersede(experiment_ids bigint[], customer_ids text[]) RETURNS void LANGUAGE sql AS $$
    WITH c AS (SELECT DISTINCT * FROM unnest(experiment_ids, customer_ids) AS c(experiment_id, customer_id)),
    rs AS (
        SELECT r.experiment_id, r.response_id, r.customer_id, r.answered_at, r.seq, ks.outcome_keys,
               count(*) OVER (PARTITION BY r.experiment_id, r.customer_id) AS n
        FROM c JOIN responses r ON r.experiment_id = c.experiment_id AND r.customer_id = c.customer_id
        JOIN answer_key_sets ks ON ks.id = r.key_set
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
-- alerts_raise_rows raises the alerts of the given responses, and their webhook deliveries.
CREATE FUNCTION alerts_raise_rows(experiment_ids bigint[], response_ids text[]) RETURNS void LANGUAGE sql AS $$
    WITH raised AS (
        INSERT INTO alerts (experiment_id, response_id, rule_id, outcome_key, op, threshold, value, answered_at)
        SELECT i.experiment_id, i.response_id, r.rule_id, r.outcome_key, r.op, r.value, a.value, i.answered_at
        FROM unnest(experiment_ids, response_ids) AS x(experiment_id, response_id)
        JOIN responses i ON i.experiment_id = x.experiment_id AND i.response_id = x.response_id
        JOIN answer_key_sets ks ON ks.id = i.key_set
        CROSS JOIN LATERAL unnest(ks.outcome_keys, i.answer_values) AS a(outcome_key, value)
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
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION alerts_raise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most installations have no rules, and most answers concern no rule: leave at once.
    -- The bulk import copying a file raises the file's alerts itself, once its key sets are
    -- in (krslab.checked = 'outcomes').
    IF NOT EXISTS (SELECT 1 FROM alert_rules) OR current_setting('krslab.checked', true) = 'outcomes' THEN
        RETURN NULL;
    END IF;
    PERFORM alerts_raise_rows(array_agg(i.experiment_id), array_agg(i.response_id))
    FROM inserted i
    WHERE EXISTS (SELECT 1 FROM alert_rules r WHERE r.experiment_id = i.experiment_id);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
-- Going back would need every response's keys copied back into its row; restore a dump
-- taken before this migration instead.
-- +goose StatementBegin
DO $$ BEGIN
    RAISE EXCEPTION 'migration 00012 (answer key sets) cannot be undone; restore a dump taken before it';
END $$;
-- +goose StatementEnd
