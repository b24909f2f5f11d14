-- Customer and response identifiers compare as bytes (COLLATE "C").
--
-- They are opaque identifiers from the systems that send them: nothing sorts them for a
-- reader, and two of them are equal only when their bytes are. Under the database's own
-- collation every comparison of two of them went through the C library's strcoll (and a
-- sort of them could not use abbreviated keys), which is most of what a B-tree insert into
-- responses, assignments or their indexes costs beyond the page itself: an import of 100,000
-- responses spent 5 % of its time there. Byte order is also the same on every server,
-- whatever locale its database was created with, so an export ordered by customer lists
-- them the same everywhere.
--
-- Every column that holds one changes, so that a join between two of them compares with the
-- one collation. Text from elsewhere (a parameter, a staging table of the database's
-- default collation) takes the column's collation in a comparison with it. The tables are
-- not rewritten (the type stays text); their indexes on these columns are rebuilt, and the
-- views over responses are created again, unchanged, since a column a view reads cannot
-- change while the view stands.

-- +goose Up
DROP VIEW latest_answers;
DROP VIEW answers;

ALTER TABLE assignments ALTER COLUMN customer_id TYPE text COLLATE "C";
ALTER TABLE responses ALTER COLUMN customer_id TYPE text COLLATE "C",
                      ALTER COLUMN response_id TYPE text COLLATE "C";
ALTER TABLE alerts ALTER COLUMN response_id TYPE text COLLATE "C";
ALTER TABLE covariates ALTER COLUMN customer_id TYPE text COLLATE "C";
ALTER TABLE customer_attributes ALTER COLUMN customer_id TYPE text COLLATE "C";

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
DROP VIEW latest_answers;
DROP VIEW answers;

ALTER TABLE assignments ALTER COLUMN customer_id TYPE text COLLATE "default";
ALTER TABLE responses ALTER COLUMN customer_id TYPE text COLLATE "default",
                      ALTER COLUMN response_id TYPE text COLLATE "default";
ALTER TABLE alerts ALTER COLUMN response_id TYPE text COLLATE "default";
ALTER TABLE covariates ALTER COLUMN customer_id TYPE text COLLATE "default";
ALTER TABLE customer_attributes ALTER COLUMN customer_id TYPE text COLLATE "default";

CREATE VIEW answers AS
SELECT r.experiment_id, a.outcome_key, r.customer_id, r.response_id, r.arm_key, r.answered_at, r.seq, a.value,
       NOT EXISTS (SELECT 1 FROM responses l JOIN answer_key_sets lk ON lk.id = l.key_set
                   WHERE l.experiment_id = r.experiment_id AND l.customer_id = r.customer_id
                     AND (l.answered_at, l.seq) > (r.answered_at, r.seq)
                     AND a.outcome_key = ANY (lk.outcome_keys)) AS latest
FROM responses r
JOIN answer_key_sets ks ON ks.id = r.key_set
CROSS JOIN LATERAL unnest(ks.outcome_keys, r.answer_values) AS a(outcome_key, value);

CREATE VIEW latest_answers AS
SELECT experiment_id, outcome_key, customer_id, arm_key, answered_at, seq, value
FROM answers WHERE latest;
