-- Operators: the super_user role, promotion requests, the audit log and the
-- per-hour usage record the admin dashboard reads.

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('user', 'admin', 'super_user'));
-- One super user at a time, as in the original; only the command line
-- (`python -m handler admin grant super_user UID`) makes one.
CREATE UNIQUE INDEX users_one_super_user ON users (role) WHERE role = 'super_user';
CREATE INDEX users_staff ON users (role) WHERE role <> 'user';
CREATE INDEX users_blocked ON users (blocked_until) WHERE status = 'blocked';

-- An admin's suggestion that a user change role, waiting for the super user.
ALTER TABLE users
    ADD COLUMN suggested_role    text CHECK (suggested_role IN ('user', 'admin')),
    ADD COLUMN suggestion_reason text,
    ADD COLUMN suggested_by      text,
    ADD COLUMN suggested_at      timestamptz;
CREATE INDEX users_suggested ON users (suggested_at) WHERE suggested_role IS NOT NULL;

-- Every operator action, written in the transaction that makes the change.
-- No foreign keys: the record outlives the accounts it names.
CREATE TABLE audit_log (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id   text,                 -- NULL: the command line
    actor_role text        NOT NULL, -- the actor's role when acting; 'operator' for the CLI
    target_id  text,                 -- NULL: a platform setting
    action     text        NOT NULL,
    details    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_target ON audit_log (target_id, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, id DESC);

-- Chat requests per UTC hour, user and tier (the tier at request time), counted
-- by the rate limiter's own statement: one row per active user-hour, not per
-- request. `refused` are the 429s.
CREATE TABLE usage_hourly (
    hour     timestamptz NOT NULL,
    user_id  text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier     text        NOT NULL,
    requests integer     NOT NULL DEFAULT 0,
    refused  integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, user_id, tier)
);
CREATE INDEX usage_hourly_user ON usage_hourly (user_id, hour);
