-- Closing the loop: per experiment, alert rules on answers (e.g. nps <= 6) and an optional
-- webhook. A statement-level trigger on answers raises the alerts and queues their webhook
-- deliveries in the same transaction as the answers, so that every acknowledged response
-- that matches a rule has its alert, whichever way it was written (API or bulk import), and a
-- replayed response (whose answers are not inserted again) never raises a second one.
-- Erasure deletes the customer's responses; alerts, deliveries and attempts cascade.
--
-- Every table's primary key starts with experiment_id (Citus: distributed, co-located).

-- +goose Up
CREATE TABLE alert_rules (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    rule_id       bigserial,
    outcome_key   text NOT NULL REFERENCES outcomes (key),
    op            text NOT NULL CHECK (op IN ('<=', '>=', '==', '<', '>')),
    value         double precision NOT NULL
                  CHECK (value = value AND value > '-Infinity' AND value < 'Infinity'),
    position      int NOT NULL CHECK (position >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id, rule_id),
    UNIQUE (experiment_id, outcome_key, op, value)
);

-- The secret signs the webhook bodies (HMAC-SHA256), so it is stored as given: protect the
-- database (and its backups) accordingly. The API never returns it, only a fingerprint.
CREATE TABLE alert_webhooks (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    url           text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    secret        text NOT NULL CHECK (length(secret) BETWEEN 16 AND 256),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (experiment_id)
);

-- One alert per response and rule. The rule is copied (outcome, op, threshold) so that an
-- alert keeps its meaning when the rules change later. The customer is read through the
-- response, never copied: erasure deletes the response and the alert with it.
CREATE TABLE alerts (
    experiment_id bigint NOT NULL,
    alert_id      bigserial,
    response_id   text NOT NULL,
    rule_id       bigint NOT NULL,
    outcome_key   text NOT NULL,
    op            text NOT NULL,
    threshold     double precision NOT NULL,
    value         double precision NOT NULL,
    answered_at   timestamptz NOT NULL,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_at   timestamptz,
    resolved_by   text,
    note          text,
    PRIMARY KEY (experiment_id, alert_id),
    UNIQUE (experiment_id, response_id, rule_id),
    FOREIGN KEY (experiment_id, response_id) REFERENCES responses (experiment_id, response_id)
        ON DELETE CASCADE ON UPDATE CASCADE,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
-- POST /v1/alerts/{id}/resolve finds an alert by its id alone.
CREATE INDEX alerts_id ON alerts (alert_id);
CREATE INDEX alerts_open ON alerts (experiment_id, status, alert_id);

-- One webhook delivery per alert, raised with it when the experiment has a webhook. The
-- worker of `krslab serve` claims due deliveries (FOR UPDATE SKIP LOCKED), posts them and
-- retries with exponential backoff until delivered or failed.
CREATE TABLE webhook_deliveries (
    experiment_id    bigint NOT NULL,
    delivery_id      bigserial,
    alert_id         bigint NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    last_status_code int,
    last_error       text,
    PRIMARY KEY (experiment_id, delivery_id),
    UNIQUE (experiment_id, alert_id),
    FOREIGN KEY (experiment_id, alert_id) REFERENCES alerts (experiment_id, alert_id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- The delivery log: every attempt with its outcome.
CREATE TABLE webhook_attempts (
    experiment_id bigint NOT NULL,
    delivery_id   bigint NOT NULL,
    attempt       int NOT NULL CHECK (attempt > 0),
    at            timestamptz NOT NULL,
    status_code   int,
    error         text,
    duration_ms   double precision NOT NULL CHECK (duration_ms >= 0),
    PRIMARY KEY (experiment_id, delivery_id, attempt),
    FOREIGN KEY (experiment_id, delivery_id) REFERENCES webhook_deliveries (experiment_id, delivery_id)
        ON DELETE CASCADE
);

-- +goose StatementBegin
CREATE FUNCTION alerts_raise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Most installations have no rules, and most answers concern no rule: leave at once.
    IF NOT EXISTS (SELECT 1 FROM alert_rules) THEN
        RETURN NULL;
    END IF;
    WITH raised AS (
        INSERT INTO alerts (experiment_id, response_id, rule_id, outcome_key, op, threshold, value, answered_at)
        SELECT i.experiment_id, i.response_id, r.rule_id, r.outcome_key, r.op, r.value, i.value, i.answered_at
        FROM inserted i
        JOIN alert_rules r ON r.experiment_id = i.experiment_id AND r.outcome_key = i.outcome_key
        WHERE CASE r.op
                WHEN '<=' THEN i.value <= r.value
                WHEN '>=' THEN i.value >= r.value
                WHEN '==' THEN i.value = r.value
                WHEN '<'  THEN i.value < r.value
                WHEN '>'  THEN i.value > r.value
              END
        ORDER BY i.experiment_id, i.response_id, r.rule_id
        ON CONFLICT (experiment_id, response_id, rule_id) DO NOTHING
        RETURNING experiment_id, alert_id
    )
    INSERT INTO webhook_deliveries (experiment_id, alert_id)
    SELECT a.experiment_id, a.alert_id
    FROM raised a JOIN alert_webhooks w ON w.experiment_id = a.experiment_id
    ORDER BY a.experiment_id, a.alert_id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER answers_alerts AFTER INSERT ON answers
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION alerts_raise();

-- +goose Down
DROP TRIGGER answers_alerts ON answers;
DROP FUNCTION alerts_raise();
DROP TABLE webhook_attempts, webhook_deliveries, alerts, alert_webhooks, alert_rules;
