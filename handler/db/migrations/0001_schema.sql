-- The whole schema the HTTP contract needs. Users are keyed by Firebase uid;
-- everything a user owns is deleted with them (ON DELETE CASCADE).

CREATE TABLE users (
    id                  text PRIMARY KEY,
    email               text,
    name                text,
    email_verified      boolean     NOT NULL DEFAULT false,
    sign_in_provider    text,
    role                text        NOT NULL DEFAULT 'user'
                        CHECK (role IN ('user', 'admin')),
    status              text        NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'blocked', 'banned')),
    blocked_until       timestamptz,
    tier                text        NOT NULL DEFAULT 'free'
                        CHECK (tier IN ('free', 'basic', 'pro', 'teams')),
    global_instructions text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                 text        NOT NULL,
    context_instructions text,
    context_enabled      boolean     NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user_updated ON projects (user_id, updated_at DESC);

CREATE TABLE sessions (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id               text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Deleting a project moves its sessions back to "no project".
    project_id            uuid        REFERENCES projects (id) ON DELETE SET NULL,
    title                 text        NOT NULL DEFAULT 'New Debug Session',
    pinned                boolean     NOT NULL DEFAULT false,
    summary               text,
    summary_message_count integer     NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_listing ON sessions (user_id, pinned DESC, updated_at DESC);
CREATE INDEX sessions_project ON sessions (project_id);

CREATE TABLE messages (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- The message answered or continued; the front end builds branches from it.
    parent_id  uuid        REFERENCES messages (id) ON DELETE SET NULL,
    role       text        NOT NULL CHECK (role IN ('user', 'assistant')),
    content    text        NOT NULL DEFAULT '',
    sources    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    is_deleted boolean     NOT NULL DEFAULT false,
    -- clock_timestamp, not now(): two messages of one transaction still order.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_session_created ON messages (session_id, created_at, id);
CREATE INDEX messages_parent ON messages (parent_id);

CREATE TABLE user_memories (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content    text        NOT NULL,
    type       text        NOT NULL DEFAULT 'short_term'
               CHECK (type IN ('short_term', 'long_term')),
    status     text        NOT NULL DEFAULT 'active'
               CHECK (status IN ('active', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_memories_user_created ON user_memories (user_id, created_at DESC);

-- One rolling 24-hour window per user, counted atomically by the rate limiter.
CREATE TABLE usage_counters (
    user_id           text        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    request_count     integer     NOT NULL DEFAULT 0
);

-- Platform-wide settings, such as the instructions every answer starts from.
CREATE TABLE global_settings (
    key        text PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
