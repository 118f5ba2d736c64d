-- The default vector index: pgvector in the same database. Skipped where the
-- extension is not installed (the service then answers without retrieval);
-- RDS PostgreSQL and the embedded dev server both ship it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE vector_items (
            id         text PRIMARY KEY,
            kind       text        NOT NULL CHECK (kind IN ('session_summary', 'known_log')),
            -- NULL for known logs, which every user may retrieve.
            user_id    text        REFERENCES users (id) ON DELETE CASCADE,
            project_id uuid        REFERENCES projects (id) ON DELETE SET NULL,
            session_id uuid        REFERENCES sessions (id) ON DELETE CASCADE,
            title      text        NOT NULL,
            url        text,
            content    text        NOT NULL,
            embedding  vector(384) NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX vector_items_user ON vector_items (user_id, kind);
        CREATE INDEX vector_items_project ON vector_items (project_id);
        CREATE INDEX vector_items_session ON vector_items (session_id);
        CREATE INDEX vector_items_embedding ON vector_items
            USING hnsw (embedding vector_cosine_ops);
    END IF;
END
$$;
