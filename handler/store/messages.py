"""The `messages` table: the message tree of each session, its path, the growing answer,
and soft deletion. Ownership goes through the session (`sessions.user_id`)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import owned, shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, role, content, sources, created_at, parent_id, is_deleted, model"


async def list_for_session(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID
) -> list[dict[str, Any]] | None:
    """All messages in creation order (deleted ones flagged), or None for no such session."""
    rows = await owned.rows_under(
        pool,
        "sessions",
        session_id,
        user_id,
        f"SELECT {COLUMNS} FROM messages WHERE session_id = $1 ORDER BY created_at, id",
    )
    return None if rows is None else [shapes.message(r) for r in rows]


async def set_deleted(
    pool: asyncpg.Pool, user_id: str, message_id: uuid.UUID, deleted: bool
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        """
        UPDATE messages m SET is_deleted = $3, updated_at = clock_timestamp()
        FROM sessions s
        WHERE m.id = $1 AND m.session_id = s.id AND s.user_id = $2
        RETURNING m.id, m.role, m.content, m.sources, m.created_at, m.parent_id, m.is_deleted,
            m.model
        """,
        message_id,
        user_id,
        deleted,
    )
    return shapes.message(row) if row else None


async def get(pool: asyncpg.Pool, session_id: uuid.UUID, message_id: uuid.UUID):
    return await pool.fetchrow(
        "SELECT id, role, content, sources, parent_id FROM messages "
        "WHERE id = $1 AND session_id = $2 AND NOT is_deleted",
        message_id,
        session_id,
    )


async def path(
    pool: asyncpg.Pool, session_id: uuid.UUID, leaf: uuid.UUID | None
) -> list[dict[str, str]]:
    """The conversation from the root to `leaf` (inclusive), deleted messages left out."""
    if leaf is None:
        return []
    rows = await pool.fetch(
        """
        WITH RECURSIVE chain AS (
            SELECT id, parent_id, role, content, is_deleted, 0 AS depth
            FROM messages WHERE id = $1 AND session_id = $2
            UNION ALL
            SELECT m.id, m.parent_id, m.role, m.content, m.is_deleted, c.depth + 1
            FROM messages m JOIN chain c ON m.id = c.parent_id
            WHERE m.session_id = $2 AND c.depth < 1000
        )
        SELECT role, content FROM chain WHERE NOT is_deleted AND content <> ''
        ORDER BY depth DESC
        """,
        leaf,
        session_id,
    )
    return [{"role": r["role"], "content": r["content"]} for r in rows]


async def add(
    pool: asyncpg.Pool,
    session_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    role: str,
    content: str,
) -> uuid.UUID:
    # One statement, so one round trip (not four: BEGIN, INSERT, UPDATE, COMMIT) on the
    # way to the model's request; a statement is atomic by itself.
    return await pool.fetchval(
        """
        WITH added AS (
            INSERT INTO messages (session_id, parent_id, role, content)
            VALUES ($1, $2, $3, $4) RETURNING id
        ), touched AS (
            UPDATE sessions SET updated_at = now() WHERE id = $1
        )
        SELECT id FROM added
        """,
        session_id,
        parent_id,
        role,
        content,
    )


async def append_answer(
    pool: asyncpg.Pool,
    message_id: uuid.UUID,
    text: str,
    sources: list[dict[str, Any]],
    model: str | None = None,
) -> None:
    """Append to the stored answer in SQL, so two writers (two continuations) lose nothing.

    `model` is the one that wrote the newest text (None keeps what is stored).
    """
    await pool.execute(
        "UPDATE messages SET content = content || $2, sources = $3, "
        "model = COALESCE($4, model), updated_at = clock_timestamp() WHERE id = $1",
        message_id,
        text,
        sources,
        model,
    )


async def recent(pool: asyncpg.Pool, session_id: uuid.UUID, limit: int):
    rows = await pool.fetch(
        "SELECT role, content FROM messages WHERE session_id = $1 AND NOT is_deleted "
        "AND content <> '' ORDER BY created_at DESC LIMIT $2",
        session_id,
        limit,
    )
    return [{"role": r["role"], "content": r["content"]} for r in reversed(rows)]
