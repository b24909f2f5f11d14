-- Analyses are kept and served again while the data they read is unchanged. For that every
-- write that changes what an analysis reads moves a version, in the writer's own
-- transaction, whichever instance or tool writes:
--
--   experiments.version (00013)     every change of the experiment itself: design, status,
--                                   names, a decision.
--   experiment_data.version         every statement that writes an experiment's responses
--                                   (insert, the latest-answer upkeep, delete) or covariates;
--                                   an erasure moves it through its deletes. No row yet
--                                   means nothing was written: version 0.
--   attribute_data.version          every statement that writes customer attributes.
--                                   Attributes belong to customers, not to experiments
--                                   (00005); finding every experiment of a batch of customers
--                                   would scan the assignments of all of them. Only
--                                   segmented analyses read attributes, and they read this
--                                   version besides their experiment's.
--
-- Assignments move no version. Assignment is the hot path (a group commit per experiment,
-- compared with pgbench's single-row upserts), and a counter per experiment would make its
-- concurrent inserts queue behind one row. What an analysis reads of the assignments is the
-- count per arm, so a kept analysis of a running experiment is checked against those counts
-- re-read (an index-only count on assignments_arm). A high-water mark would be cheaper to
-- read but is not safe: assigned_at (statement_timestamp) and any sequence are taken before
-- commit, so a transaction can commit a smaller mark after a reader has seen a larger one.
-- Counts read in the reader's snapshot have no such gap. Outside running nothing is
-- assigned (the insert and the import check the status under the experiment's row lock,
-- and a stop waits for them), so the versions alone tell.
--
-- The versions are moved by statement-level triggers, after the statement's rows are
-- written, once per statement and experiment, whichever path wrote them (the API, the bulk
-- import and its COPY, ad-hoc SQL); no setting turns them off.
--
-- Lock order. The version rows are the last locks a writer takes: the experiment rows
-- (changes, erasure, imports), the responses advisory locks (7541), assignment rows, the
-- covariate, attribute and response rows written, then experiment_data rows in experiment
-- order, then the attribute_data row. A writer holds its version row until it commits, so
-- writers of one experiment's data commit one after the other, and none of them waits for
-- a row another takes before its version, so no cycle goes through the rows. An erasure,
-- which writes several experiments in several statements, moves their versions first, in
-- experiment order, once it holds the customer's rows. Response writers hold the experiment
-- row at most shared and never update it, which is why the version has a table of its own.
--
-- result_headlines keeps the headline of the latest analysis of each experiment, with the
-- versions it read, for the console's list (Overview): one query over experiments, their
-- headlines and their open alerts.

-- +goose Up
CREATE TABLE experiment_data (
    experiment_id bigint PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
    version       bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    changed_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE attribute_data (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    version    bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- +goose StatementBegin
CREATE FUNCTION experiment_data_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- In experiment order, so that two statements that write several experiments wait for
    -- each other in one order, never in a cycle. A statement that wrote nothing moves
    -- nothing and locks nothing.
    INSERT INTO experiment_data AS d (experiment_id)
    SELECT DISTINCT experiment_id FROM changed ORDER BY experiment_id
    ON CONFLICT (experiment_id) DO UPDATE SET version = d.version + 1, changed_at = now();
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION attribute_data_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        INSERT INTO attribute_data AS d (id) VALUES (true)
        ON CONFLICT (id) DO UPDATE SET version = d.version + 1, changed_at = now();
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- (A trigger with a transition table serves one event. On responses these fire after the
-- checks and the latest-answer upkeep of the same statement, which share the transition
-- tables, but nothing here depends on that order.)
CREATE TRIGGER responses_version_insert AFTER INSERT ON responses
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();
CREATE TRIGGER responses_version_update AFTER UPDATE ON responses
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();
CREATE TRIGGER responses_version_delete AFTER DELETE ON responses
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();

CREATE TRIGGER covariates_version_insert AFTER INSERT ON covariates
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();
CREATE TRIGGER covariates_version_update AFTER UPDATE ON covariates
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();
CREATE TRIGGER covariates_version_delete AFTER DELETE ON covariates
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION experiment_data_moved();

CREATE TRIGGER customer_attributes_version_insert AFTER INSERT ON customer_attributes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION attribute_data_moved();
CREATE TRIGGER customer_attributes_version_update AFTER UPDATE ON customer_attributes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION attribute_data_moved();
CREATE TRIGGER customer_attributes_version_delete AFTER DELETE ON customer_attributes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION attribute_data_moved();

-- The headline of an experiment's latest analysis. A row is replaced only by an analysis
-- of data at least as new (the versions and the assigned count only grow), so that an
-- analysis that finishes late never hides a newer one.
CREATE TABLE result_headlines (
    experiment_id         bigint PRIMARY KEY REFERENCES experiments (id) ON DELETE CASCADE,
    experiment_version    bigint NOT NULL,
    data_version          bigint NOT NULL,
    assigned              bigint NOT NULL CHECK (assigned >= 0),
    computed_at           timestamptz NOT NULL,
    -- Per arm key: customers whose answer to the primary outcome counts (what
    -- target_responses_per_arm counts).
    responses             jsonb NOT NULL,
    min_responses         bigint NOT NULL CHECK (min_responses >= 0),
    action                text NOT NULL,
    arm                   text,
    srm_mismatch          boolean NOT NULL,
    differential_response boolean NOT NULL
);

-- +goose Down
DROP TABLE result_headlines;
DROP TRIGGER customer_attributes_version_delete ON customer_attributes;
DROP TRIGGER customer_attributes_version_update ON customer_attributes;
DROP TRIGGER customer_attributes_version_insert ON customer_attributes;
DROP TRIGGER covariates_version_delete ON covariates;
DROP TRIGGER covariates_version_update ON covariates;
DROP TRIGGER covariates_version_insert ON covariates;
DROP TRIGGER responses_version_delete ON responses;
DROP TRIGGER responses_version_update ON responses;
DROP TRIGGER responses_version_insert ON responses;
DROP FUNCTION attribute_data_moved(), experiment_data_moved();
DROP TABLE attribute_data, experiment_data;
