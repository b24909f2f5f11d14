-- The krslab schema. Every large table (arms, assignments, responses, answers, covariates)
-- carries experiment_id first in its primary key, so that it can be distributed by
-- experiment_id (Citus) without changing a unique constraint or a join.

-- +goose Up
CREATE TABLE outcomes (
    key              text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,62}$'),
    kind             text NOT NULL CHECK (kind IN ('scale', 'net', 'binary', 'numeric', 'composite')),
    label            text NOT NULL CHECK (label <> ''),
    label_nl         text NOT NULL CHECK (label_nl <> ''),
    higher_is_better boolean NOT NULL DEFAULT true,
    min              double precision,
    max              double precision,
    top_min          double precision,
    bottom_max       double precision,
    builtin          boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (min IS NULL OR max IS NULL OR min < max),
    CHECK (kind NOT IN ('scale', 'net') OR (min IS NOT NULL AND max IS NOT NULL
           AND min = trunc(min) AND max = trunc(max))),
    CHECK (kind <> 'net' OR (top_min IS NOT NULL AND bottom_max IS NOT NULL
           AND bottom_max < top_min AND min <= bottom_max AND top_min <= max)),
    CHECK (kind = 'net' OR (top_min IS NULL AND bottom_max IS NULL)),
    CHECK (kind <> 'binary' OR (min = 0 AND max = 1))
);

-- A composite is the mean of its components rescaled to 0..100 (DOMAIN.md).
CREATE TABLE outcome_components (
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    component_key text NOT NULL REFERENCES outcomes (key),
    position      int  NOT NULL CHECK (position >= 0),
    PRIMARY KEY (outcome_key, component_key),
    UNIQUE (outcome_key, position),
    CHECK (outcome_key <> component_key)
);

CREATE TABLE experiments (
    id                       bigserial PRIMARY KEY,
    key                      text NOT NULL UNIQUE CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                     text NOT NULL,
    hypothesis               text NOT NULL DEFAULT '',
    status                   text NOT NULL DEFAULT 'draft'
                             CHECK (status IN ('draft', 'running', 'stopped', 'decided')),
    primary_outcome          text NOT NULL REFERENCES outcomes (key),
    alpha                    double precision NOT NULL DEFAULT 0.05 CHECK (alpha > 0 AND alpha < 0.5),
    correction               text NOT NULL DEFAULT 'holm' CHECK (correction IN ('holm', 'bh', 'none')),
    target_responses_per_arm int CHECK (target_responses_per_arm > 0),
    mde                      double precision CHECK (mde > 0),
    salt                     text NOT NULL CHECK (salt <> ''),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    started_at               timestamptz,
    stopped_at               timestamptz,
    decided_at               timestamptz,
    decision_arm             text,
    decision_reason          text,
    decided_by               text,
    CHECK (status = 'draft' OR started_at IS NOT NULL),
    CHECK (status NOT IN ('stopped', 'decided') OR stopped_at IS NOT NULL),
    CHECK (status <> 'decided' OR (decided_at IS NOT NULL AND decision_arm IS NOT NULL))
);

CREATE TABLE arms (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key           text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    position      int NOT NULL CHECK (position >= 0),
    name          text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    weight        double precision NOT NULL CHECK (weight > 0 AND weight < 'Infinity'),
    control       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (experiment_id, key),
    UNIQUE (experiment_id, position)
);
-- Exactly one control per experiment is checked by the domain; at most one is enforced here.
CREATE UNIQUE INDEX arms_one_control ON arms (experiment_id) WHERE control;

ALTER TABLE experiments ADD CONSTRAINT experiments_decision_arm_fk
    FOREIGN KEY (id, decision_arm) REFERENCES arms (experiment_id, key);

-- The outcomes an experiment analyses; guardrails must not get significantly worse.
CREATE TABLE experiment_outcomes (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    position      int NOT NULL CHECK (position >= 0),
    guardrail     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (experiment_id, outcome_key),
    UNIQUE (experiment_id, position)
);

CREATE TABLE assignments (
    experiment_id bigint NOT NULL,
    customer_id   text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    arm_key       text NOT NULL,
    assigned_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, customer_id),
    FOREIGN KEY (experiment_id, arm_key) REFERENCES arms (experiment_id, key)
);
CREATE INDEX assignments_arm ON assignments (experiment_id, arm_key);

CREATE TABLE responses (
    experiment_id bigint NOT NULL,
    response_id   text NOT NULL CHECK (length(response_id) BETWEEN 1 AND 128),
    customer_id   text NOT NULL,
    answered_at   timestamptz NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    content_hash  bytea NOT NULL CHECK (length(content_hash) = 32),
    PRIMARY KEY (experiment_id, response_id),
    FOREIGN KEY (experiment_id, customer_id) REFERENCES assignments (experiment_id, customer_id)
        ON UPDATE CASCADE
);
CREATE INDEX responses_customer ON responses (experiment_id, customer_id);

-- One row per response and outcome. arm_key, customer_id and answered_at are copied from the
-- response and assignment so that "latest answer per customer" and per-arm summaries read
-- one table; seq orders answers that share an answered_at by arrival.
CREATE TABLE answers (
    experiment_id bigint NOT NULL,
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    customer_id   text NOT NULL,
    response_id   text NOT NULL,
    arm_key       text NOT NULL,
    answered_at   timestamptz NOT NULL,
    seq           bigserial,
    value         double precision NOT NULL
                  CHECK (value = value AND value > '-Infinity' AND value < 'Infinity'),
    PRIMARY KEY (experiment_id, response_id, outcome_key),
    FOREIGN KEY (experiment_id, response_id) REFERENCES responses (experiment_id, response_id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    FOREIGN KEY (experiment_id, arm_key) REFERENCES arms (experiment_id, key)
);
CREATE INDEX answers_latest ON answers
    (experiment_id, outcome_key, customer_id, answered_at DESC, seq DESC);

-- Pre-experiment values for CUPED.
CREATE TABLE covariates (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    customer_id   text NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 128),
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    value         double precision NOT NULL
                  CHECK (value = value AND value > '-Infinity' AND value < 'Infinity'),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, outcome_key, customer_id)
);
CREATE INDEX covariates_customer ON covariates (customer_id);

CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name <> ''),
    role       text NOT NULL CHECK (role IN ('admin', 'editor', 'analyst', 'ingest')),
    hash       bytea NOT NULL UNIQUE CHECK (length(hash) = 32),
    prefix     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    experiment_id bigint REFERENCES experiments (id) ON DELETE SET NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    action        text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    diff          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_experiment ON audit_log (experiment_id, at);

-- +goose Down
DROP TABLE audit_log, api_keys, covariates, answers, responses, assignments,
    experiment_outcomes, arms, experiments, outcome_components, outcomes;
