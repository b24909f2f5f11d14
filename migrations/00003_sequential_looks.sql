-- The always-valid sequential p-value may be reported as the running minimum over the
-- looks taken at an experiment (STATS.md): one row per compared (outcome, treatment arm).

-- +goose Up
CREATE TABLE sequential_looks (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    arm_key       text NOT NULL,
    p_min         double precision NOT NULL CHECK (p_min >= 0 AND p_min <= 1),
    looks         bigint NOT NULL DEFAULT 1 CHECK (looks > 0),
    first_look_at timestamptz NOT NULL DEFAULT now(),
    last_look_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, outcome_key, arm_key),
    FOREIGN KEY (experiment_id, arm_key) REFERENCES arms (experiment_id, key) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE sequential_looks;
