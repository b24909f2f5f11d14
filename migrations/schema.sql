-- The krslab schema as it stands after the newest migration, for reading: the migrations
-- (0*.sql, applied by krslab migrate) are what builds it. Generated from a migrated database
-- by pg_dump; do not edit, run make schema after adding a migration (a test compares it).

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: alerts_raise_rows(bigint[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.alerts_raise_rows(experiment_ids bigint[], response_ids text[]) RETURNS void
    LANGUAGE sql
    AS $$
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

--
-- Name: answer_key_set_id(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.answer_key_set_id(keys text[]) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    SELECT ('x' || encode(substr(sha256(convert_to(array_to_string(keys, ','), 'UTF8')), 1, 8), 'hex'))::bit(64)::bigint
$$;

--
-- Name: answer_keys_valid(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.answer_keys_valid(keys text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT array_position(keys, NULL) IS NULL
       AND (SELECT count(DISTINCT k) FROM unnest(keys) k) = cardinality(keys)
$$;

--
-- Name: assignments_keep_responses(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.assignments_keep_responses() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

--
-- Name: attribute_data_moved(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.attribute_data_moved() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        INSERT INTO attribute_data AS d (id) VALUES (true)
        ON CONFLICT (id) DO UPDATE SET version = d.version + 1, changed_at = now();
    END IF;
    RETURN NULL;
END $$;

--
-- Name: experiment_data_moved(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.experiment_data_moved() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    -- In experiment order, so that two statements that write several experiments wait for
    -- each other in one order, never in a cycle. A statement that wrote nothing moves
    -- nothing and locks nothing.
    INSERT INTO experiment_data AS d (experiment_id)
    SELECT DISTINCT experiment_id FROM changed ORDER BY experiment_id
    ON CONFLICT (experiment_id) DO UPDATE SET version = d.version + 1, changed_at = now();
    RETURN NULL;
END $$;

--
-- Name: responses_written(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.responses_written() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
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
END $_$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: alert_rules; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_rules (
    experiment_id bigint NOT NULL,
    rule_id bigint NOT NULL,
    outcome_key text NOT NULL,
    op text NOT NULL,
    value double precision NOT NULL,
    "position" integer NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alert_rules_op_check CHECK ((op = ANY (ARRAY['<='::text, '>='::text, '=='::text, '<'::text, '>'::text]))),
    CONSTRAINT alert_rules_position_check CHECK (("position" >= 0)),
    CONSTRAINT alert_rules_value_check CHECK (((value = value) AND (value > '-Infinity'::double precision) AND (value < 'Infinity'::double precision)))
);

--
-- Name: alert_rules_rule_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.alert_rules_rule_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: alert_rules_rule_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.alert_rules_rule_id_seq OWNED BY public.alert_rules.rule_id;

--
-- Name: alert_webhooks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_webhooks (
    experiment_id bigint NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT alert_webhooks_secret_check CHECK (((length(secret) >= 16) AND (length(secret) <= 256))),
    CONSTRAINT alert_webhooks_url_check CHECK (((url ~ '^https?://'::text) AND (length(url) <= 2048)))
);

--
-- Name: alerts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alerts (
    experiment_id bigint NOT NULL,
    alert_id bigint NOT NULL,
    response_id text NOT NULL COLLATE pg_catalog."C",
    rule_id bigint NOT NULL,
    outcome_key text NOT NULL,
    op text NOT NULL,
    threshold double precision NOT NULL,
    value double precision NOT NULL,
    answered_at timestamp with time zone NOT NULL,
    raised_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by text,
    note text,
    CONSTRAINT alerts_check CHECK (((status = 'resolved'::text) = (resolved_at IS NOT NULL))),
    CONSTRAINT alerts_status_check CHECK ((status = ANY (ARRAY['open'::text, 'resolved'::text])))
);

--
-- Name: alerts_alert_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.alerts_alert_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: alerts_alert_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.alerts_alert_id_seq OWNED BY public.alerts.alert_id;

--
-- Name: answer_key_sets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.answer_key_sets (
    id bigint NOT NULL,
    outcome_keys text[] NOT NULL,
    CONSTRAINT answer_key_sets_id_check CHECK ((id = public.answer_key_set_id(outcome_keys))),
    CONSTRAINT answer_key_sets_keys_check CHECK (public.answer_keys_valid(outcome_keys))
);

--
-- Name: responses; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.responses (
    experiment_id bigint NOT NULL,
    response_id text NOT NULL COLLATE pg_catalog."C",
    customer_id text NOT NULL COLLATE pg_catalog."C",
    answered_at timestamp with time zone NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    content_hash bytea NOT NULL,
    arm_key text NOT NULL,
    seq bigint NOT NULL,
    key_set bigint NOT NULL,
    answer_values double precision[] NOT NULL,
    first_response boolean DEFAULT false NOT NULL,
    CONSTRAINT responses_content_hash_check CHECK ((length(content_hash) = 32)),
    CONSTRAINT responses_response_id_check CHECK (((length(response_id) >= 1) AND (length(response_id) <= 128))),
    CONSTRAINT responses_values_check CHECK (((array_position(answer_values, NULL::double precision) IS NULL) AND (NOT (answer_values && '{NaN,Infinity,-Infinity}'::double precision[]))))
);

--
-- Name: answers; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.answers AS
 SELECT r.experiment_id,
    a.outcome_key,
    r.customer_id,
    r.response_id,
    r.arm_key,
    r.answered_at,
    r.seq,
    a.value,
    (NOT (EXISTS ( SELECT 1
           FROM (public.responses l
             JOIN public.answer_key_sets lk ON ((lk.id = l.key_set)))
          WHERE ((l.experiment_id = r.experiment_id) AND (l.customer_id = r.customer_id) AND (ROW(l.answered_at, l.seq) > ROW(r.answered_at, r.seq)) AND (a.outcome_key = ANY (lk.outcome_keys)))))) AS latest
   FROM ((public.responses r
     JOIN public.answer_key_sets ks ON ((ks.id = r.key_set)))
     CROSS JOIN LATERAL UNNEST(ks.outcome_keys, r.answer_values) a(outcome_key, value));

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id bigint NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    hash bytea NOT NULL,
    prefix text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT api_keys_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT api_keys_name_check CHECK ((name <> ''::text)),
    CONSTRAINT api_keys_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'editor'::text, 'analyst'::text, 'ingest'::text])))
);

--
-- Name: api_keys_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.api_keys_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: api_keys_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.api_keys_id_seq OWNED BY public.api_keys.id;

--
-- Name: arms; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.arms (
    experiment_id bigint NOT NULL,
    key text NOT NULL,
    "position" integer NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    weight double precision NOT NULL,
    control boolean DEFAULT false NOT NULL,
    CONSTRAINT arms_key_check CHECK ((key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT arms_position_check CHECK (("position" >= 0)),
    CONSTRAINT arms_weight_check CHECK (((weight > (0)::double precision) AND (weight < 'Infinity'::double precision)))
);

--
-- Name: assignments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.assignments (
    experiment_id bigint NOT NULL,
    customer_id text NOT NULL COLLATE pg_catalog."C",
    arm_key text NOT NULL,
    assigned_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT assignments_customer_id_check CHECK (((length(customer_id) >= 1) AND (length(customer_id) <= 128)))
);

--
-- Name: attribute_data; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.attribute_data (
    id boolean DEFAULT true NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT attribute_data_id_check CHECK (id),
    CONSTRAINT attribute_data_version_check CHECK ((version >= 1))
);

--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    id bigint NOT NULL,
    experiment_id bigint,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    subject text DEFAULT ''::text NOT NULL,
    diff jsonb DEFAULT '{}'::jsonb NOT NULL
);

--
-- Name: audit_log_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: audit_log_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_log_id_seq OWNED BY public.audit_log.id;

--
-- Name: console_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.console_sessions (
    id bigint NOT NULL,
    token_hash bytea NOT NULL,
    key_id bigint NOT NULL,
    person text NOT NULL,
    lang text DEFAULT 'en'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    seen_at timestamp with time zone DEFAULT now() NOT NULL,
    ended_at timestamp with time zone,
    CONSTRAINT console_sessions_lang_check CHECK ((lang = ANY (ARRAY['en'::text, 'nl'::text]))),
    CONSTRAINT console_sessions_person_check CHECK (((length(person) >= 1) AND (length(person) <= 100))),
    CONSTRAINT console_sessions_token_hash_check CHECK ((length(token_hash) = 32))
);

--
-- Name: console_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.console_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: console_sessions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.console_sessions_id_seq OWNED BY public.console_sessions.id;

--
-- Name: covariates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.covariates (
    experiment_id bigint NOT NULL,
    customer_id text NOT NULL COLLATE pg_catalog."C",
    outcome_key text NOT NULL,
    value double precision NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT covariates_customer_id_check CHECK (((length(customer_id) >= 1) AND (length(customer_id) <= 128))),
    CONSTRAINT covariates_value_check CHECK (((value = value) AND (value > '-Infinity'::double precision) AND (value < 'Infinity'::double precision)))
);

--
-- Name: customer_attributes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.customer_attributes (
    customer_id text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL,
    value text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT customer_attributes_customer_id_check CHECK (((length(customer_id) >= 1) AND (length(customer_id) <= 128))),
    CONSTRAINT customer_attributes_name_check CHECK ((name ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT customer_attributes_value_check CHECK ((((length(value) >= 1) AND (length(value) <= 128)) AND (value <> '(none)'::text)))
);

--
-- Name: experiment_data; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.experiment_data (
    experiment_id bigint NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT experiment_data_version_check CHECK ((version >= 1))
);

--
-- Name: experiment_outcomes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.experiment_outcomes (
    experiment_id bigint NOT NULL,
    outcome_key text NOT NULL,
    "position" integer NOT NULL,
    guardrail boolean DEFAULT false NOT NULL,
    margin double precision,
    listed boolean DEFAULT true NOT NULL,
    guardrail_position integer,
    CONSTRAINT experiment_outcomes_guardrail_position CHECK (((guardrail_position IS NULL) OR (guardrail AND (guardrail_position >= 0)))),
    CONSTRAINT experiment_outcomes_listed_or_guardrail CHECK ((listed OR guardrail)),
    CONSTRAINT experiment_outcomes_margin_guardrail CHECK (((margin IS NULL) OR guardrail)),
    CONSTRAINT experiment_outcomes_margin_positive CHECK (((margin > (0)::double precision) AND (margin < 'Infinity'::double precision))),
    CONSTRAINT experiment_outcomes_position_check CHECK (("position" >= 0))
);

--
-- Name: experiments; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.experiments (
    id bigint NOT NULL,
    key text NOT NULL,
    name text NOT NULL,
    hypothesis text DEFAULT ''::text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    primary_outcome text NOT NULL,
    alpha double precision DEFAULT 0.05 NOT NULL,
    correction text DEFAULT 'holm'::text NOT NULL,
    target_responses_per_arm integer,
    mde double precision,
    salt text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    started_at timestamp with time zone,
    stopped_at timestamp with time zone,
    decided_at timestamp with time zone,
    decision_arm text,
    decision_reason text,
    decided_by text,
    eligibility jsonb DEFAULT '[]'::jsonb NOT NULL,
    coverage double precision DEFAULT 1 NOT NULL,
    layer text,
    layer_offset double precision,
    erasures bigint DEFAULT 0 NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    waves jsonb DEFAULT '[]'::jsonb NOT NULL,
    decision_wave text,
    CONSTRAINT experiments_alpha_check CHECK (((alpha > (0)::double precision) AND (alpha < (0.5)::double precision))),
    CONSTRAINT experiments_check CHECK (((status = 'draft'::text) OR (started_at IS NOT NULL))),
    CONSTRAINT experiments_check1 CHECK (((status <> ALL (ARRAY['stopped'::text, 'decided'::text])) OR (stopped_at IS NOT NULL))),
    CONSTRAINT experiments_check2 CHECK (((status <> 'decided'::text) OR ((decided_at IS NOT NULL) AND (decision_arm IS NOT NULL)))),
    CONSTRAINT experiments_correction_check CHECK ((correction = ANY (ARRAY['holm'::text, 'bh'::text, 'none'::text]))),
    CONSTRAINT experiments_coverage_check CHECK (((coverage > (0)::double precision) AND (coverage <= (1)::double precision))),
    CONSTRAINT experiments_eligibility_check CHECK ((jsonb_typeof(eligibility) = 'array'::text)),
    CONSTRAINT experiments_erasures_check CHECK ((erasures >= 0)),
    CONSTRAINT experiments_key_check CHECK ((key ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT experiments_layer_check CHECK ((layer ~ '^[a-z0-9][a-z0-9_-]{0,62}$'::text)),
    CONSTRAINT experiments_layer_offset_check CHECK (((layer_offset >= (0)::double precision) AND (layer_offset < (1)::double precision))),
    CONSTRAINT experiments_layer_range CHECK ((((layer IS NULL) = (layer_offset IS NULL)) AND ((layer_offset IS NULL) OR ((layer_offset + coverage) <= (((1)::numeric + 0.000000001))::double precision)))),
    CONSTRAINT experiments_mde_check CHECK ((mde > (0)::double precision)),
    CONSTRAINT experiments_salt_check CHECK ((salt <> ''::text)),
    CONSTRAINT experiments_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'running'::text, 'stopped'::text, 'decided'::text]))),
    CONSTRAINT experiments_target_responses_per_arm_check CHECK ((target_responses_per_arm > 0)),
    CONSTRAINT experiments_version_check CHECK ((version >= 1)),
    CONSTRAINT experiments_waves_array CHECK ((jsonb_typeof(waves) = 'array'::text))
);

--
-- Name: COLUMN experiments.erasures; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.experiments.erasures IS 'customers erased from this experiment: an instance drops its cached assignments of the experiment when it changes';

--
-- Name: experiments_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.experiments_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: experiments_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.experiments_id_seq OWNED BY public.experiments.id;

--
-- Name: latest_answers; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.latest_answers AS
 SELECT answers.experiment_id,
    answers.outcome_key,
    answers.customer_id,
    answers.arm_key,
    answers.answered_at,
    answers.seq,
    answers.value
   FROM public.answers
  WHERE answers.latest;

--
-- Name: outcome_components; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outcome_components (
    outcome_key text NOT NULL,
    component_key text NOT NULL,
    "position" integer NOT NULL,
    CONSTRAINT outcome_components_check CHECK ((outcome_key <> component_key)),
    CONSTRAINT outcome_components_position_check CHECK (("position" >= 0))
);

--
-- Name: outcomes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outcomes (
    key text NOT NULL,
    kind text NOT NULL,
    label text NOT NULL,
    label_nl text NOT NULL,
    higher_is_better boolean DEFAULT true NOT NULL,
    min double precision,
    max double precision,
    top_min double precision,
    bottom_max double precision,
    builtin boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT outcomes_check CHECK (((min IS NULL) OR (max IS NULL) OR (min < max))),
    CONSTRAINT outcomes_check1 CHECK (((kind <> ALL (ARRAY['scale'::text, 'net'::text])) OR ((min IS NOT NULL) AND (max IS NOT NULL) AND (min = trunc(min)) AND (max = trunc(max))))),
    CONSTRAINT outcomes_check2 CHECK (((kind <> 'net'::text) OR ((top_min IS NOT NULL) AND (bottom_max IS NOT NULL) AND (bottom_max < top_min) AND (min <= bottom_max) AND (top_min <= max)))),
    CONSTRAINT outcomes_check3 CHECK (((kind = 'net'::text) OR ((top_min IS NULL) AND (bottom_max IS NULL)))),
    CONSTRAINT outcomes_check4 CHECK (((kind <> 'binary'::text) OR ((min = (0)::double precision) AND (max = (1)::double precision)))),
    CONSTRAINT outcomes_key_check CHECK ((key ~ '^[a-z][a-z0-9_]{0,62}$'::text)),
    CONSTRAINT outcomes_kind_check CHECK ((kind = ANY (ARRAY['scale'::text, 'net'::text, 'binary'::text, 'numeric'::text, 'composite'::text]))),
    CONSTRAINT outcomes_label_check CHECK ((label <> ''::text)),
    CONSTRAINT outcomes_label_nl_check CHECK ((label_nl <> ''::text))
);

--
-- Name: responses_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.responses_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: responses_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.responses_seq_seq OWNED BY public.responses.seq;

--
-- Name: result_headlines; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.result_headlines (
    experiment_id bigint NOT NULL,
    experiment_version bigint NOT NULL,
    data_version bigint NOT NULL,
    assigned bigint NOT NULL,
    computed_at timestamp with time zone NOT NULL,
    responses jsonb NOT NULL,
    min_responses bigint NOT NULL,
    action text NOT NULL,
    arm text,
    srm_mismatch boolean NOT NULL,
    differential_response boolean NOT NULL,
    CONSTRAINT result_headlines_assigned_check CHECK ((assigned >= 0)),
    CONSTRAINT result_headlines_min_responses_check CHECK ((min_responses >= 0))
);

--
-- Name: sequential_looks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sequential_looks (
    experiment_id bigint NOT NULL,
    outcome_key text NOT NULL,
    arm_key text NOT NULL,
    p_min double precision NOT NULL,
    looks bigint DEFAULT 1 NOT NULL,
    first_look_at timestamp with time zone DEFAULT now() NOT NULL,
    last_look_at timestamp with time zone DEFAULT now() NOT NULL,
    wave text DEFAULT ''::text NOT NULL,
    CONSTRAINT sequential_looks_looks_check CHECK ((looks > 0)),
    CONSTRAINT sequential_looks_p_min_check CHECK (((p_min >= (0)::double precision) AND (p_min <= (1)::double precision)))
);

--
-- Name: sign_in_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sign_in_links (
    token_hash bytea NOT NULL,
    key_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT sign_in_links_check CHECK ((expires_at > created_at)),
    CONSTRAINT sign_in_links_token_hash_check CHECK ((length(token_hash) = 32))
);

--
-- Name: webhook_attempts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_attempts (
    experiment_id bigint NOT NULL,
    delivery_id bigint NOT NULL,
    attempt integer NOT NULL,
    at timestamp with time zone NOT NULL,
    status_code integer,
    error text,
    duration_ms double precision NOT NULL,
    CONSTRAINT webhook_attempts_attempt_check CHECK ((attempt > 0)),
    CONSTRAINT webhook_attempts_duration_ms_check CHECK ((duration_ms >= (0)::double precision))
);

--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    experiment_id bigint NOT NULL,
    delivery_id bigint NOT NULL,
    alert_id bigint NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    last_status_code integer,
    last_error text,
    CONSTRAINT webhook_deliveries_attempts_check CHECK ((attempts >= 0)),
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text])))
);

--
-- Name: webhook_deliveries_delivery_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.webhook_deliveries_delivery_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

--
-- Name: webhook_deliveries_delivery_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.webhook_deliveries_delivery_id_seq OWNED BY public.webhook_deliveries.delivery_id;

--
-- Name: alert_rules rule_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_rules ALTER COLUMN rule_id SET DEFAULT nextval('public.alert_rules_rule_id_seq'::regclass);

--
-- Name: alerts alert_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alerts ALTER COLUMN alert_id SET DEFAULT nextval('public.alerts_alert_id_seq'::regclass);

--
-- Name: api_keys id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys ALTER COLUMN id SET DEFAULT nextval('public.api_keys_id_seq'::regclass);

--
-- Name: audit_log id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log ALTER COLUMN id SET DEFAULT nextval('public.audit_log_id_seq'::regclass);

--
-- Name: console_sessions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions ALTER COLUMN id SET DEFAULT nextval('public.console_sessions_id_seq'::regclass);

--
-- Name: experiments id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiments ALTER COLUMN id SET DEFAULT nextval('public.experiments_id_seq'::regclass);

--
-- Name: responses seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.responses ALTER COLUMN seq SET DEFAULT nextval('public.responses_seq_seq'::regclass);

--
-- Name: webhook_deliveries delivery_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries ALTER COLUMN delivery_id SET DEFAULT nextval('public.webhook_deliveries_delivery_id_seq'::regclass);

--
-- Name: alert_rules alert_rules_experiment_id_outcome_key_op_value_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_rules
    ADD CONSTRAINT alert_rules_experiment_id_outcome_key_op_value_key UNIQUE (experiment_id, outcome_key, op, value);

--
-- Name: alert_rules alert_rules_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_rules
    ADD CONSTRAINT alert_rules_pkey PRIMARY KEY (experiment_id, rule_id);

--
-- Name: alert_webhooks alert_webhooks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_webhooks
    ADD CONSTRAINT alert_webhooks_pkey PRIMARY KEY (experiment_id);

--
-- Name: alerts alerts_experiment_id_response_id_rule_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_experiment_id_response_id_rule_id_key UNIQUE (experiment_id, response_id, rule_id);

--
-- Name: alerts alerts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_pkey PRIMARY KEY (experiment_id, alert_id);

--
-- Name: answer_key_sets answer_key_sets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.answer_key_sets
    ADD CONSTRAINT answer_key_sets_pkey PRIMARY KEY (id);

--
-- Name: api_keys api_keys_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_hash_key UNIQUE (hash);

--
-- Name: api_keys api_keys_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_name_key UNIQUE (name);

--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

--
-- Name: arms arms_experiment_id_position_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.arms
    ADD CONSTRAINT arms_experiment_id_position_key UNIQUE (experiment_id, "position");

--
-- Name: arms arms_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.arms
    ADD CONSTRAINT arms_pkey PRIMARY KEY (experiment_id, key);

--
-- Name: arms arms_weight_max; Type: CHECK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.arms
    ADD CONSTRAINT arms_weight_max CHECK ((weight <= ('1000000'::numeric)::double precision)) NOT VALID;

--
-- Name: assignments assignments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.assignments
    ADD CONSTRAINT assignments_pkey PRIMARY KEY (experiment_id, customer_id);

--
-- Name: attribute_data attribute_data_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.attribute_data
    ADD CONSTRAINT attribute_data_pkey PRIMARY KEY (id);

--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);

--
-- Name: console_sessions console_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_pkey PRIMARY KEY (id);

--
-- Name: console_sessions console_sessions_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_token_hash_key UNIQUE (token_hash);

--
-- Name: covariates covariates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.covariates
    ADD CONSTRAINT covariates_pkey PRIMARY KEY (experiment_id, outcome_key, customer_id);

--
-- Name: customer_attributes customer_attributes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.customer_attributes
    ADD CONSTRAINT customer_attributes_pkey PRIMARY KEY (customer_id, name);

--
-- Name: experiment_data experiment_data_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_data
    ADD CONSTRAINT experiment_data_pkey PRIMARY KEY (experiment_id);

--
-- Name: experiment_outcomes experiment_outcomes_experiment_id_guardrail_position_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_outcomes
    ADD CONSTRAINT experiment_outcomes_experiment_id_guardrail_position_key UNIQUE (experiment_id, guardrail_position);

--
-- Name: experiment_outcomes experiment_outcomes_experiment_id_position_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_outcomes
    ADD CONSTRAINT experiment_outcomes_experiment_id_position_key UNIQUE (experiment_id, "position");

--
-- Name: experiment_outcomes experiment_outcomes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_outcomes
    ADD CONSTRAINT experiment_outcomes_pkey PRIMARY KEY (experiment_id, outcome_key);

--
-- Name: experiments experiments_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiments
    ADD CONSTRAINT experiments_key_key UNIQUE (key);

--
-- Name: experiments experiments_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiments
    ADD CONSTRAINT experiments_pkey PRIMARY KEY (id);

--
-- Name: outcome_components outcome_components_outcome_key_position_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outcome_components
    ADD CONSTRAINT outcome_components_outcome_key_position_key UNIQUE (outcome_key, "position");

--
-- Name: outcome_components outcome_components_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outcome_components
    ADD CONSTRAINT outcome_components_pkey PRIMARY KEY (outcome_key, component_key);

--
-- Name: outcomes outcomes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outcomes
    ADD CONSTRAINT outcomes_pkey PRIMARY KEY (key);

--
-- Name: responses responses_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.responses
    ADD CONSTRAINT responses_pkey PRIMARY KEY (experiment_id, response_id);

--
-- Name: result_headlines result_headlines_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.result_headlines
    ADD CONSTRAINT result_headlines_pkey PRIMARY KEY (experiment_id);

--
-- Name: sequential_looks sequential_looks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequential_looks
    ADD CONSTRAINT sequential_looks_pkey PRIMARY KEY (experiment_id, wave, outcome_key, arm_key);

--
-- Name: sign_in_links sign_in_links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_links
    ADD CONSTRAINT sign_in_links_pkey PRIMARY KEY (token_hash);

--
-- Name: webhook_attempts webhook_attempts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_pkey PRIMARY KEY (experiment_id, delivery_id, attempt);

--
-- Name: webhook_deliveries webhook_deliveries_experiment_id_alert_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_experiment_id_alert_id_key UNIQUE (experiment_id, alert_id);

--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (experiment_id, delivery_id);

--
-- Name: alerts_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX alerts_id ON public.alerts USING btree (alert_id);

--
-- Name: alerts_open; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX alerts_open ON public.alerts USING btree (experiment_id, status, alert_id);

--
-- Name: arms_one_control; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX arms_one_control ON public.arms USING btree (experiment_id) WHERE control;

--
-- Name: assignments_arm; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX assignments_arm ON public.assignments USING btree (experiment_id, arm_key);

--
-- Name: audit_log_experiment; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_log_experiment ON public.audit_log USING btree (experiment_id, at);

--
-- Name: console_sessions_key; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX console_sessions_key ON public.console_sessions USING btree (key_id);

--
-- Name: covariates_customer; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX covariates_customer ON public.covariates USING btree (customer_id);

--
-- Name: customer_attributes_name; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX customer_attributes_name ON public.customer_attributes USING btree (name, customer_id) INCLUDE (value);

--
-- Name: responses_customer; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX responses_customer ON public.responses USING btree (experiment_id, customer_id, (
CASE
    WHEN first_response THEN (0)::bigint
    ELSE seq
END));

--
-- Name: responses_repeats; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX responses_repeats ON public.responses USING btree (experiment_id, customer_id) WHERE (NOT first_response);

--
-- Name: webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX webhook_deliveries_due ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = 'pending'::text);

--
-- Name: assignments assignments_keep_responses_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER assignments_keep_responses_delete AFTER DELETE ON public.assignments REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_keep_responses();

--
-- Name: assignments assignments_keep_responses_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER assignments_keep_responses_update AFTER UPDATE ON public.assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.assignments_keep_responses();

--
-- Name: covariates covariates_version_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER covariates_version_delete AFTER DELETE ON public.covariates REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.experiment_data_moved();

--
-- Name: covariates covariates_version_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER covariates_version_insert AFTER INSERT ON public.covariates REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.experiment_data_moved();

--
-- Name: covariates covariates_version_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER covariates_version_update AFTER UPDATE ON public.covariates REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.experiment_data_moved();

--
-- Name: customer_attributes customer_attributes_version_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_attributes_version_delete AFTER DELETE ON public.customer_attributes REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.attribute_data_moved();

--
-- Name: customer_attributes customer_attributes_version_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_attributes_version_insert AFTER INSERT ON public.customer_attributes REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.attribute_data_moved();

--
-- Name: customer_attributes customer_attributes_version_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER customer_attributes_version_update AFTER UPDATE ON public.customer_attributes REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.attribute_data_moved();

--
-- Name: responses responses_version_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER responses_version_delete AFTER DELETE ON public.responses REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION public.experiment_data_moved();

--
-- Name: responses responses_written_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER responses_written_insert AFTER INSERT ON public.responses REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION public.responses_written();

--
-- Name: responses responses_written_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER responses_written_update AFTER UPDATE ON public.responses REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION public.responses_written();

--
-- Name: alert_rules alert_rules_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_rules
    ADD CONSTRAINT alert_rules_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: alert_rules alert_rules_outcome_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_rules
    ADD CONSTRAINT alert_rules_outcome_key_fkey FOREIGN KEY (outcome_key) REFERENCES public.outcomes(key);

--
-- Name: alert_webhooks alert_webhooks_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_webhooks
    ADD CONSTRAINT alert_webhooks_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: alerts alerts_experiment_id_response_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alerts
    ADD CONSTRAINT alerts_experiment_id_response_id_fkey FOREIGN KEY (experiment_id, response_id) REFERENCES public.responses(experiment_id, response_id) ON UPDATE CASCADE ON DELETE CASCADE;

--
-- Name: arms arms_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.arms
    ADD CONSTRAINT arms_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: assignments assignments_experiment_id_arm_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.assignments
    ADD CONSTRAINT assignments_experiment_id_arm_key_fkey FOREIGN KEY (experiment_id, arm_key) REFERENCES public.arms(experiment_id, key);

--
-- Name: audit_log audit_log_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE SET NULL;

--
-- Name: console_sessions console_sessions_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.console_sessions
    ADD CONSTRAINT console_sessions_key_id_fkey FOREIGN KEY (key_id) REFERENCES public.api_keys(id);

--
-- Name: covariates covariates_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.covariates
    ADD CONSTRAINT covariates_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: covariates covariates_outcome_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.covariates
    ADD CONSTRAINT covariates_outcome_key_fkey FOREIGN KEY (outcome_key) REFERENCES public.outcomes(key);

--
-- Name: experiment_data experiment_data_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_data
    ADD CONSTRAINT experiment_data_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: experiment_outcomes experiment_outcomes_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_outcomes
    ADD CONSTRAINT experiment_outcomes_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: experiment_outcomes experiment_outcomes_outcome_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiment_outcomes
    ADD CONSTRAINT experiment_outcomes_outcome_key_fkey FOREIGN KEY (outcome_key) REFERENCES public.outcomes(key);

--
-- Name: experiments experiments_decision_arm_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiments
    ADD CONSTRAINT experiments_decision_arm_fk FOREIGN KEY (id, decision_arm) REFERENCES public.arms(experiment_id, key);

--
-- Name: experiments experiments_primary_outcome_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.experiments
    ADD CONSTRAINT experiments_primary_outcome_fkey FOREIGN KEY (primary_outcome) REFERENCES public.outcomes(key);

--
-- Name: outcome_components outcome_components_component_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outcome_components
    ADD CONSTRAINT outcome_components_component_key_fkey FOREIGN KEY (component_key) REFERENCES public.outcomes(key);

--
-- Name: outcome_components outcome_components_outcome_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outcome_components
    ADD CONSTRAINT outcome_components_outcome_key_fkey FOREIGN KEY (outcome_key) REFERENCES public.outcomes(key);

--
-- Name: result_headlines result_headlines_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.result_headlines
    ADD CONSTRAINT result_headlines_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: sequential_looks sequential_looks_experiment_id_arm_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequential_looks
    ADD CONSTRAINT sequential_looks_experiment_id_arm_key_fkey FOREIGN KEY (experiment_id, arm_key) REFERENCES public.arms(experiment_id, key) ON DELETE CASCADE;

--
-- Name: sequential_looks sequential_looks_experiment_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequential_looks
    ADD CONSTRAINT sequential_looks_experiment_id_fkey FOREIGN KEY (experiment_id) REFERENCES public.experiments(id) ON DELETE CASCADE;

--
-- Name: sequential_looks sequential_looks_outcome_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequential_looks
    ADD CONSTRAINT sequential_looks_outcome_key_fkey FOREIGN KEY (outcome_key) REFERENCES public.outcomes(key);

--
-- Name: sign_in_links sign_in_links_key_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sign_in_links
    ADD CONSTRAINT sign_in_links_key_id_fkey FOREIGN KEY (key_id) REFERENCES public.api_keys(id);

--
-- Name: webhook_attempts webhook_attempts_experiment_id_delivery_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_attempts
    ADD CONSTRAINT webhook_attempts_experiment_id_delivery_id_fkey FOREIGN KEY (experiment_id, delivery_id) REFERENCES public.webhook_deliveries(experiment_id, delivery_id) ON DELETE CASCADE;

--
-- Name: webhook_deliveries webhook_deliveries_experiment_id_alert_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_experiment_id_alert_id_fkey FOREIGN KEY (experiment_id, alert_id) REFERENCES public.alerts(experiment_id, alert_id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
