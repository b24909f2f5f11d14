-- One way to admit a response, and the latest-answer rule applied where the answers are read.
--
-- Until now every response row said which of its outcomes a later response of the same
-- customer answered again (superseded) and whether the customer had other responses
-- (only_response). Keeping both meant rewriting each customer's earlier responses whenever
-- the customer answered again: a second survey wave rewrote as many rows as it wrote, in
-- upkeep spread over two triggers, a function, the import's own steps and a Bloom filter,
-- with three modes of the setting krslab.checked that told the triggers what a writer had
-- checked itself, and that any session could set to skip every check.
--
-- Now:
--   - A response is written once and never rewritten. It says only whether it is its
--     customer's first response (first_response), which its writer knows when it writes
--     it. A unique index allows at most one first response per customer; a writer that
--     cannot tell says false, which is always safe. So a customer with several responses has
--     at least one that is not a first response, and the partial index responses_repeats
--     lists those customers.
--   - The readers apply the latest-answer rule of DOMAIN.md themselves: a customer with one
--     response has its latest answers in that row; the answers of the few customers with a
--     repeat are ranked as they are read (per outcome, the latest by answered_at, then seq).
--     The views answers and latest_answers do the same for ad-hoc SQL.
--   - Whatever can be checked on the row is a constraint (finite values, no NULL). What
--     needs other tables (the key set, the customer's assignment and arm, the experiment's
--     outcomes) is checked by one statement trigger for every writer, with no setting that
--     turns it off (responses_written, which then raises the alerts and moves the data
--     version, in that order). A foreign key would check the assignment row by row: 0.9 s
--     for 100,000 responses, where one join per statement takes 0.06 s.
--
-- migrations/schema.sql holds the schema as it stands after the newest migration.

-- +goose Up
DROP TRIGGER responses_latest_insert ON responses;
DROP TRIGGER responses_latest_delete ON responses;
DROP FUNCTION responses_latest_insert();
DROP FUNCTION responses_latest_delete();
DROP FUNCTION responses_supersede(bigint[], text[]);
DROP VIEW latest_answers;
DROP VIEW answers;

-- Every existing row is a first response (the default, without a rewrite of the table) but
-- the later responses of the customers who answered more than once.
ALTER TABLE responses ADD COLUMN first_response boolean NOT NULL DEFAULT true;
UPDATE responses r SET first_response = false
FROM (SELECT experiment_id, customer_id, min(seq) AS seq FROM responses
      GROUP BY experiment_id, customer_id HAVING count(*) > 1) m
WHERE r.experiment_id = m.experiment_id AND r.customer_id = m.customer_id AND r.seq <> m.seq;
ALTER TABLE responses ALTER COLUMN first_response SET DEFAULT false;

DROP INDEX responses_several;
ALTER TABLE responses DROP COLUMN superseded, DROP COLUMN only_response;

-- The customer's responses, and at most one first response per customer: a first response
-- takes 0 in the third column, any other its own seq (never 0), so that only first
-- responses can collide. It replaces the plain index on (experiment_id, customer_id), which
-- its first two columns serve as well.
DROP INDEX responses_customer;
CREATE UNIQUE INDEX responses_customer ON responses
    (experiment_id, customer_id, (CASE WHEN first_response THEN 0 ELSE seq END));

-- The customers with more than one response (and the few whose first one its writer could
-- not tell): the readers rank only their answers.
CREATE INDEX responses_repeats ON responses (experiment_id, customer_id) WHERE NOT first_response;

-- One finite value per key: the count against the key set needs the key set (the trigger
-- below); the values themselves are checked on the row.
ALTER TABLE responses ADD CONSTRAINT responses_values_check
    CHECK (array_position(answer_values, NULL) IS NULL
           AND NOT (answer_values && '{NaN,Infinity,-Infinity}'::double precision[]));

-- +goose StatementBegin
-- responses_written is what happens after any statement writes responses, whoever the
-- writer, in this order (one function, so that the order is written down rather than
-- following from the triggers' names):
--
-- 1. Locks. The writers of an experiment's responses hold its responses lock (advisory lock
--    7541 on the experiment's id) shared; the bulk import and erasure hold it exclusively.
--    The assignments written to are locked FOR KEY SHARE, as a foreign key would lock
--    them, so that nothing rewrites their key (erasure does) between the check and the
--    commit; under the exclusive lock no other writer runs and no lock per row is needed.
-- 2. Checks, of the statement at once: the key set exists and the response holds one value
--    per key, and every outcome is one the experiment analyses or a component of one
--    (checked on the statement's few distinct key sets); the customer is assigned in the
--    experiment, to the arm written (one join, planned for the statement's size). No
--    setting turns them off.
-- 3. Alerts (inserts only): the rules the new answers meet (alerts_raise_rows).
-- 4. The experiment's data version, last, as every writer moves it last (migration 00016).
CREATE FUNCTION responses_written() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text;
    code text;
    exps bigint[];
    row_exps bigint[];
    row_sets bigint[];
    row_counts int[];
    doubtful bigint;
BEGIN
    -- The statement's distinct (experiment, key set, number of values): one pass over its
    -- rows, and a handful of triples, against which the key sets and outcomes are checked.
    SELECT array_agg(experiment_id), array_agg(key_set), array_agg(n) INTO row_exps, row_sets, row_counts
    FROM (SELECT experiment_id, key_set, cardinality(answer_values) AS n FROM written GROUP BY 1, 2, 3) g;
    IF row_exps IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT e ORDER BY e) INTO exps FROM unnest(row_exps) e;

    PERFORM pg_advisory_xact_lock_shared(7541, (e & 2147483647)::int) FROM unnest(exps) e;
    IF cardinality(exps) > 1 OR NOT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted AND l.mode = 'ExclusiveLock'
          AND l.classid = 7541 AND l.objid = (exps[1] & 2147483647)::oid AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) THEN
        PERFORM 1 FROM assignments a
        WHERE (a.experiment_id, a.customer_id) IN (SELECT experiment_id, customer_id FROM written)
        ORDER BY a.experiment_id, a.customer_id
        FOR KEY SHARE OF a;
    END IF;

    -- Key sets and values: found among the triples, named by the first such response.
    IF EXISTS (SELECT 1 FROM unnest(row_sets, row_counts) AS t(key_set, n)
               LEFT JOIN answer_key_sets ks ON ks.id = t.key_set
               WHERE ks.id IS NULL OR cardinality(ks.outcome_keys) <> t.n) THEN
        SELECT CASE WHEN ks.id IS NULL THEN format('response %s: key set %s does not exist', w.response_id, w.key_set)
                    ELSE format('response %s: its answers must be one finite value per outcome key', w.response_id) END
        INTO problem
        FROM written w LEFT JOIN answer_key_sets ks ON ks.id = w.key_set
        WHERE ks.id IS NULL OR cardinality(ks.outcome_keys) <> cardinality(w.answer_values)
        LIMIT 1;
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'check_violation';
    END IF;
    -- Outcomes, among the triples.
    SELECT format('outcome %s is neither an outcome of experiment %s nor a component of one', o.key, o.experiment_id)
    INTO problem
    FROM (SELECT DISTINCT t.experiment_id, k.key
          FROM unnest(row_exps, row_sets) AS t(experiment_id, key_set)
          JOIN answer_key_sets ks ON ks.id = t.key_set, unnest(ks.outcome_keys) k(key)) o
    WHERE NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                      WHERE e.experiment_id = o.experiment_id AND e.outcome_key = o.key)
      AND NOT EXISTS (SELECT 1 FROM experiment_outcomes e
                      JOIN outcome_components c ON c.outcome_key = e.outcome_key
                      WHERE e.experiment_id = o.experiment_id AND c.component_key = o.key)
    LIMIT 1;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Assignments, row by row in one join, planned for the statement's size (EXECUTE: a
    -- batch of a few rows probes an index, a file of 100,000 hashes; with a LIMIT the
    -- planner would probe row by row, expecting a problem early). The first such response
    -- is named once one is known to be there.
    EXECUTE $q$
        SELECT count(*) FROM written w
        LEFT JOIN assignments s ON s.experiment_id = w.experiment_id AND s.customer_id = w.customer_id
        WHERE s.arm_key IS DISTINCT FROM w.arm_key $q$ INTO doubtful;
    IF doubtful > 0 THEN
        SELECT CASE WHEN s.customer_id IS NULL
                    THEN format('response %s: customer %s is not assigned in experiment %s', w.response_id, w.customer_id, w.experiment_id)
                    ELSE format('response %s: customer %s is assigned to another arm than %s', w.response_id, w.customer_id, w.arm_key) END
        INTO problem
        FROM written w
        LEFT JOIN assignments s ON s.experiment_id = w.experiment_id AND s.customer_id = w.customer_id
        WHERE s.arm_key IS DISTINCT FROM w.arm_key
        LIMIT 1;
        RAISE EXCEPTION 'responses: %', problem USING ERRCODE = 'foreign_key_violation';
    END IF;

    -- (Most installations have no rules: then this reads one empty table.)
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM alert_rules WHERE experiment_id = ANY (exps)) THEN
        PERFORM alerts_raise_rows(array_agg(w.experiment_id), array_agg(w.response_id))
        FROM written w
        WHERE EXISTS (SELECT 1 FROM alert_rules r WHERE r.experiment_id = w.experiment_id);
    END IF;

    INSERT INTO experiment_data AS d (experiment_id)
    SELECT e FROM unnest(exps) e ORDER BY e
    ON CONFLICT (experiment_id) DO UPDATE SET version = d.version + 1, changed_at = now();
    RETURN NULL;
END $$;
-- +goose StatementEnd

DROP TRIGGER responses_check_insert ON responses;
DROP TRIGGER responses_check_update ON responses;
DROP TRIGGER responses_alerts ON responses;
DROP TRIGGER responses_version_insert ON responses;
DROP TRIGGER responses_version_update ON responses;
DROP FUNCTION responses_check();
DROP FUNCTION alerts_raise();
CREATE TRIGGER responses_written_insert AFTER INSERT ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_written();
CREATE TRIGGER responses_written_update AFTER UPDATE ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_written();
-- (A delete moves the version alone, by responses_version_delete of 00016.)

-- One row per answer. latest says whether it is the answer that counts for its customer:
-- no later response of the customer (by answered_at, then seq) answers the same outcome.
CREATE VIEW answers AS
SELECT r.experiment_id, a.outcome_key, r.customer_id, r.response_id, r.arm_key, r.answered_at, r.seq, a.value,
       NOT EXISTS (SELECT 1 FROM responses l JOIN answer_key_sets lk ON lk.id = l.key_set
                   WHERE l.experiment_id = r.experiment_id AND l.customer_id = r.customer_id
                     AND (l.answered_at, l.seq) > (r.answered_at, r.seq)
                     AND a.outcome_key = ANY (lk.outcome_keys)) AS latest
FROM responses r
JOIN answer_key_sets ks ON ks.id = r.key_set
CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS a(outcome_key, value);

-- Per customer and outcome, the answer that counts.
CREATE VIEW latest_answers AS
SELECT experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
FROM answers WHERE latest;

-- +goose Down
-- +goose StatementBegin
DO $$ BEGIN
    RAISE EXCEPTION 'migration 00019 (one way to admit a response) cannot be undone; restore a dump taken before it';
END $$;
-- +goose StatementEnd
