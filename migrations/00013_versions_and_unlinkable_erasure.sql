-- Experiments carry a version, moved by every change, for ETag / If-Match on the API: a
-- PATCH sent with the version it read is refused (412) when another change came first.
--
-- Erasure becomes unlinkable. Until now an erased customer's assignment kept the id
-- 'erased:' || SHA-256(salt, customer id), and the audit entry an unsalted SHA-256 of the id,
-- so anyone holding a candidate id could find the row again. Both are replaced by random
-- ids, which no function of the customer id gives back. A customer who comes back is a new
-- customer (same arm by the hash rule, a new assignment).

-- Arm weights are relative shares of at most 1,000,000 each (experiment.MaxWeight), so that
-- their total is always finite. NOT VALID: arms stored before keep their weights; every new
-- or changed arm is checked.

-- +goose Up
ALTER TABLE experiments ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE arms ADD CONSTRAINT arms_weight_max CHECK (weight <= 1e6) NOT VALID;

UPDATE assignments SET customer_id = 'erased:' || replace(gen_random_uuid()::text, '-', '')
WHERE customer_id LIKE 'erased:%';

UPDATE audit_log
SET subject = 'erasure:' || replace(gen_random_uuid()::text, '-', ''),
    diff = diff - 'erasure'
WHERE action = 'customer.erase';

COMMENT ON COLUMN experiments.erasures IS
    'customers erased from this experiment: an instance drops its cached assignments of the experiment when it changes';

-- +goose Down
-- The random ids stay: the hashes they replaced cannot (and must not) be computed back.
ALTER TABLE arms DROP CONSTRAINT arms_weight_max;
ALTER TABLE experiments DROP COLUMN version;
