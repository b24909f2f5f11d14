-- The console signs people in with an API key, or with a one-time link made for a key, and
-- keeps a session for them. Only hashes of the session and link tokens are stored: the
-- database never holds what a browser presents. A session names the person (asked at sign
-- in), which the audit log and a decision's decided_by record beside the key's name; its
-- role is its key's, so a revoked key ends its sessions. seen_at drives the idle expiry and
-- moves at most once a minute. On Citus both tables stay on the coordinator, like audit_log.

-- +goose Up
CREATE TABLE console_sessions (
    id         bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    key_id     bigint NOT NULL REFERENCES api_keys (id),
    person     text NOT NULL CHECK (length(person) BETWEEN 1 AND 100),
    lang       text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'nl')),
    created_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now(),
    ended_at   timestamptz
);
CREATE INDEX console_sessions_key ON console_sessions (key_id);

CREATE TABLE sign_in_links (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    key_id     bigint NOT NULL REFERENCES api_keys (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (expires_at > created_at)
);

-- +goose Down
DROP TABLE sign_in_links, console_sessions;
