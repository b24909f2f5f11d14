-- The latest-answer upkeep costs what the rows it writes cost, whatever the customers'
-- history and however many responses one statement writes (issue 19, item 3). Surveying
-- the same customers again is the normal case: a second wave of 3,000 customers took 32 s
-- where the first took 0.14 s, a batch of 10,000 repeat responses ran past the 60 s
-- statement timeout, and an import of 10,000 took six minutes.
--
-- responses_supersede (00010, 00012) ranked the customers' answers in one subquery and
-- joined the ranks back to the responses in another. A SQL function is planned without its
-- arguments' values, so the planner took the customers for about ten and their responses
-- for a few, and re-ran the ranks' aggregate for every response: a nested loop over the
-- wave's responses times their answers. It now reads each response once and ranks
-- responses rather than their answers (a tenth of the rows), and looks up and rewrites
-- only the responses whose flags change.
--
-- What a wave of repeat responses must write is the new rows and, once more, each
-- customer's previous response (its answers no longer count). The rest goes:
--   - the batches and the import copying a file store a new response with the
--     only_response it will have, so that the upkeep does not rewrite the new rows;
--   - the upkeep's own update no longer runs responses_check again on the rows it
--     rewrites, locks included: the update trigger compares the rows before and after and
--     checks only when a checked column changed;
--   - the import copying a file adds its key sets before each COPY (it copies in chunks),
--     so that the triggers recompute its repeat customers and raise its alerts, as for
--     any writer, from the rows written instead of from a scan of the experiment's
--     responses after the copy.

-- +goose Up
-- +goose StatementBegin
-- responses_supersede recomputes superseded and only_response for every response of the
-- given customers: an answer is superseded when a later response of its customer (by
-- answered_at, then seq) answers the same outcome.
--
-- It works on responses, not on answers. The outcomes of the key sets involved (a
-- handful) are numbered, each key set becomes a mask of them, and a running OR of the
-- masks over a customer's responses from the latest down gives, for each response, the
-- outcomes answered later; ANDed with its own mask, the outcomes it no longer counts for.
-- The few distinct masks are turned back into key lists once. Every step reads each
-- response once: no join reads a subquery again, whatever the planner believes about the
-- arrays' sizes (it plans a SQL function without its arguments' values).
CREATE OR REPLACE FUNCTION responses_supersede(experiment_ids bigint[], customer_ids text[]) RETURNS void LANGUAGE sql AS $$
    WITH rs AS MATERIALIZED (
        SELECT r.experiment_id, r.customer_id, r.response_id, r.answered_at, r.seq, r.key_set,
               r.superseded AS was_superseded, r.only_response AS was_only,
               count(*) OVER (PARTITION BY r.experiment_id, r.customer_id) = 1 AS only_response
        FROM (SELECT DISTINCT * FROM unnest(experiment_ids, customer_ids) AS c(experiment_id, customer_id)) c
        JOIN responses r ON r.experiment_id = c.experiment_id AND r.customer_id = c.customer_id
    ),
    sets AS MATERIALIZED (
        SELECT ks.id, ks.outcome_keys FROM answer_key_sets ks WHERE ks.id IN (SELECT key_set FROM rs)
    ),
    keys AS MATERIALIZED (
        SELECT key, (row_number() OVER (ORDER BY key))::int AS pos
        FROM (SELECT DISTINCT unnest(outcome_keys) AS key FROM sets) k
    ),
    -- Bit pos of a key set's mask is set when it answers key pos. (Without any key, every
    -- mask is one zero bit, so that the masks always have one length.)
    masks AS MATERIALIZED (
        SELECT s.id, string_agg(CASE WHEN k.key = ANY (s.outcome_keys) THEN '1' ELSE '0' END, '' ORDER BY k.pos)::varbit AS mask
        FROM sets s LEFT JOIN keys k ON true
        GROUP BY s.id
    ),
    -- later: the response's outcomes that a later response of the customer answers, as a
    -- mask in text (NULL for the latest response).
    ranked AS MATERIALIZED (
        SELECT rs.experiment_id, rs.response_id, rs.was_superseded, rs.was_only, rs.only_response,
               (m.mask & bit_or(m.mask) OVER (PARTITION BY rs.experiment_id, rs.customer_id
                                             ORDER BY rs.answered_at DESC, rs.seq DESC
                                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))::text AS later
        FROM rs JOIN masks m ON m.id = rs.key_set
    ),
    lists AS MATERIALIZED (
        SELECT l.later, coalesce(array_agg(k.key ORDER BY k.key) FILTER (WHERE k.key IS NOT NULL), '{}') AS superseded
        FROM (SELECT DISTINCT later FROM ranked WHERE later IS NOT NULL) l
        LEFT JOIN keys k ON substr(l.later, k.pos, 1) = '1'
        GROUP BY l.later
    ),
    -- Only the responses whose flags change are looked up again and rewritten.
    sup AS MATERIALIZED (
        SELECT x.experiment_id, x.response_id, x.only_response, coalesce(l.superseded, '{}') AS superseded
        FROM ranked x LEFT JOIN lists l ON l.later = x.later
        WHERE x.was_superseded <> coalesce(l.superseded, '{}') OR x.was_only <> x.only_response
    )
    UPDATE responses r SET superseded = sup.superseded, only_response = sup.only_response
    FROM sup
    WHERE r.experiment_id = sup.experiment_id AND r.response_id = sup.response_id
      AND (r.superseded <> sup.superseded OR r.only_response <> sup.only_response);
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION responses_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    problem text;
    exp bigint;
    others bigint;
    doubtful bigint;
BEGIN
    -- An update checks the rows whose checked columns it changed. The latest-answer upkeep
    -- (responses_supersede) rewrites superseded and only_response of every earlier response
    -- of a customer who answers again, rows checked when they were written: checking them
    -- again, locks included, cost as much as the upkeep itself.
    -- (Nested: the transition table before exists only for an update.)
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT 1 FROM written w
            WHERE NOT EXISTS (SELECT 1 FROM before b
                              WHERE b.experiment_id = w.experiment_id AND b.response_id = w.response_id
                                AND b.customer_id = w.customer_id AND b.arm_key = w.arm_key
                                AND b.key_set = w.key_set AND b.answer_values = w.answer_values)) THEN
            RETURN NULL;
        END IF;
    END IF;
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
    -- which that join relies on.
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
-- responses_latest_insert recomputes the latest answers of the customers of the new rows who
-- have other responses. The batches and the import copying a file store each new response
-- with the only_response it will have (false when its customer has another response,
-- stored or in the same write), so that the recomputation rewrites the customers' earlier
-- responses and none of the new ones: a survey wave of repeat responses writes each new
-- row once, not twice.
CREATE OR REPLACE FUNCTION responses_latest_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    exps bigint[];
    custs text[];
BEGIN
    IF current_setting('krslab.checked', true) = 'on' THEN
        -- The staged import finds the customers with other responses before it inserts (an
        -- index probe that finds nothing instead of one that finds the new row) and
        -- recomputes them itself.
        RETURN NULL;
    ELSIF current_setting('krslab.checked', true) = 'outcomes' THEN
        -- The import copying a file holds the experiment's responses lock exclusively and
        -- knows which of its lines' customers have other responses, stored or earlier in its
        -- file (and has added its key sets before each statement): those it writes with
        -- only_response false are the customers recomputed, found without a probe per line.
        SELECT array_agg(experiment_id), array_agg(customer_id) INTO exps, custs
        FROM (SELECT DISTINCT experiment_id, customer_id FROM written WHERE NOT only_response) c;
    ELSE
        -- Any other writer: the customers who have another response, by one index probe per
        -- new row (LATERAL ... LIMIT 1, whatever the planner believes of the sizes: a
        -- semi-join of a large batch would scan every experiment's responses), and those the
        -- writer said had one, which the recomputation corrects when they have not.
        -- (responses_check, which fires first, has locked the customers.)
        SELECT array_agg(experiment_id), array_agg(customer_id) INTO exps, custs
        FROM (SELECT w.experiment_id, w.customer_id
              FROM written w
              CROSS JOIN LATERAL (SELECT 1 FROM responses r
                                  WHERE r.experiment_id = w.experiment_id AND r.customer_id = w.customer_id
                                    AND r.response_id <> w.response_id
                                  LIMIT 1) other
              UNION
              SELECT experiment_id, customer_id FROM written
              WHERE NOT only_response OR superseded <> '{}') c;
    END IF;
    IF exps IS NOT NULL THEN
        PERFORM responses_supersede(exps, custs);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION alerts_raise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most installations have no rules, and most answers concern no rule: leave at once.
    -- (Every writer, the bulk import included, adds the key sets of its rows before it
    -- writes them.)
    IF NOT EXISTS (SELECT 1 FROM alert_rules) THEN
        RETURN NULL;
    END IF;
    PERFORM alerts_raise_rows(array_agg(i.experiment_id), array_agg(i.response_id))
    FROM inserted i
    WHERE EXISTS (SELECT 1 FROM alert_rules r WHERE r.experiment_id = i.experiment_id);
    RETURN NULL;
END $$;
-- +goose StatementEnd

DROP TRIGGER responses_check_update ON responses;
CREATE TRIGGER responses_check_update AFTER UPDATE ON responses
    REFERENCING OLD TABLE AS before NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_check();

-- +goose Down
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

DROP TRIGGER responses_check_update ON responses;
CREATE TRIGGER responses_check_update AFTER UPDATE ON responses
    REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION responses_check();

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
