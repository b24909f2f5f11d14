-- customer_attributes holds what is known about a customer before an experiment (channel,
-- tenure, NPS group...), one row per customer and attribute name. Attributes belong to the
-- customer, not to an experiment: every experiment the customer is in can be split by them
-- (GET /v1/experiments/{key}/results?segment=NAME). Erasure deletes them with the answers.

-- +goose Up
CREATE TABLE customer_attributes (
    customer_id text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    value       text NOT NULL CHECK (length(value) BETWEEN 1 AND 128 AND value <> '(none)'),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, name)
);
-- A segmented analysis reads one attribute of many customers: by name, then customer.
CREATE INDEX customer_attributes_name ON customer_attributes (name, customer_id) INCLUDE (value);

-- +goose Down
DROP TABLE customer_attributes;
