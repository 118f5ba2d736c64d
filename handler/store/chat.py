"""The SQL of one chat turn: the session, the message path, and saving the answer."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store.sessions import DEFAULT_TITLE

if TYPE_CHECKING:
    import asyncpg


async def session_context(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID
) -> asyncpg.Record | None:
    """The user's session with everything the prompt needs from its owner and project."""
    return await pool.fetchrow(
        """
        SELECT s.id, s.title, s.project_id,
               u.global_instructions,
               p.context_instructions, COALESCE(p.context_enabled, false) AS context_enabled,
               (SELECT value FROM global_settings WHERE key = 'platform_instructions')
                   AS platform_instructions,
               -- Only ACTIVE memories reach the model; suggestions wait for approval.
               ARRAY(SELECT content FROM user_memories
                     WHERE user_id = u.id AND status = 'ACTIVE'
                     ORDER BY type = 'INFERRED', created_at DESC) AS memories
        FROM sessions s
        JOIN users u ON u.id = s.user_id
        LEFT JOIN projects p ON p.id = s.project_id
        WHERE s.id = $1 AND s.user_id = $2
        """,
        session_id,
        user_id,
    )


async def message(pool: asyncpg.Pool, session_id: uuid.UUID, message_id: uuid.UUID):
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


async def add_message(
    pool: asyncpg.Pool,
    session_id: uuid.UUID,
    parent_id: uuid.UUID | None,
    role: str,
    content: str,
) -> uuid.UUID:
    async with pool.acquire() as conn, conn.transaction():
        message_id = await conn.fetchval(
            "INSERT INTO messages (session_id, parent_id, role, content) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            session_id,
            parent_id,
            role,
            content,
        )
        await conn.execute("UPDATE sessions SET updated_at = now() WHERE id = $1", session_id)
    return message_id


async def append_answer(
    pool: asyncpg.Pool, message_id: uuid.UUID, text: str, sources: list[dict[str, Any]]
) -> None:
    """Append to the stored answer in SQL, so two writers (two continuations) lose nothing."""
    await pool.execute(
        "UPDATE messages SET content = content || $2, sources = $3, "
        "updated_at = clock_timestamp() WHERE id = $1",
        message_id,
        text,
        sources,
    )


async def set_title_if_default(pool: asyncpg.Pool, session_id: uuid.UUID, title: str) -> bool:
    status = await pool.execute(
        "UPDATE sessions SET title = $2 WHERE id = $1 AND title = $3",
        session_id,
        title,
        DEFAULT_TITLE,
    )
    return status == "UPDATE 1"


async def summary_state(pool: asyncpg.Pool, session_id: uuid.UUID) -> asyncpg.Record | None:
    return await pool.fetchrow(
        """
        SELECT s.id, s.user_id, s.project_id, s.title, s.summary_message_count,
               (SELECT count(*) FROM messages m
                WHERE m.session_id = s.id AND NOT m.is_deleted AND m.content <> '') AS messages
        FROM sessions s WHERE s.id = $1
        """,
        session_id,
    )


async def recent_messages(pool: asyncpg.Pool, session_id: uuid.UUID, limit: int):
    rows = await pool.fetch(
        "SELECT role, content FROM messages WHERE session_id = $1 AND NOT is_deleted "
        "AND content <> '' ORDER BY created_at DESC LIMIT $2",
        session_id,
        limit,
    )
    return [{"role": r["role"], "content": r["content"]} for r in reversed(rows)]


async def save_summary(
    pool: asyncpg.Pool, session_id: uuid.UUID, summary: str, message_count: int
) -> None:
    await pool.execute(
        "UPDATE sessions SET summary = $2, summary_message_count = $3, "
        "summary_updated_at = now() WHERE id = $1",
        session_id,
        summary,
        message_count,
    )
