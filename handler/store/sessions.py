"""The `sessions` table: debug sessions, their titles and summaries, and the context a
chat turn starts from (the session joined with its owner, project and memories).

Deletion wins over a summary written in the background: a deletion holds the rows
it removes (`deleting`) from before it clears the vector index until they are gone,
and a summary is saved (`save_summary`) only under a share lock on its session and
owner, after its vector was written. Either the save comes first, and the deletion
then clears its vector, or it waits for the deletion and finds the session gone,
and its writer takes the vector back. Locks go user row first, then session row.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from handler.store import owned, shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, title, pinned, project_id, created_at, updated_at"
DEFAULT_TITLE = "New Debug Session"


async def list_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY pinned DESC, updated_at DESC",
        user_id,
    )
    return [shapes.session(r) for r in rows]


async def create(
    pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID | None
) -> dict[str, Any] | None:
    """The new session, or None when `project_id` is not one of the user's projects."""
    row = await pool.fetchrow(
        f"""
        INSERT INTO sessions (user_id, project_id)
        SELECT $1, $2
        WHERE $2::uuid IS NULL
           OR EXISTS (SELECT 1 FROM projects WHERE id = $2 AND user_id = $1)
        RETURNING {COLUMNS}
        """,
        user_id,
        project_id,
    )
    return shapes.session(row) if row else None


async def get(pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return shapes.session(row) if row else None


async def update(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply title/pinned/project_id changes; None when the session (or project) is not theirs."""
    columns = [c for c in ("title", "pinned", "project_id") if c in changes]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    project_owned = ""
    if changes.get("project_id") is not None:
        n = columns.index("project_id") + 3
        project_owned = f"AND EXISTS (SELECT 1 FROM projects WHERE id = ${n} AND user_id = $2)"
    row = await pool.fetchrow(
        f"UPDATE sessions SET {assignments}, updated_at = now() "
        f"WHERE id = $1 AND user_id = $2 {project_owned} RETURNING {COLUMNS}",
        session_id,
        user_id,
        *(changes[c] for c in columns),
    )
    return shapes.session(row) if row else None


@contextlib.asynccontextmanager
async def deleting(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID | None = None
) -> AsyncIterator[asyncpg.Connection | None]:
    """A transaction that holds what a deletion removes: the user's session, or with no
    session the user's row (all their history, or the account). It yields the
    connection to delete with, or None when there is no such session (or user).
    Clear the vector index inside it, then delete: no summary save can commit between."""
    async with pool.acquire() as connection, connection.transaction():
        if session_id is None:
            found = await connection.fetchval(
                "SELECT true FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id
            )
        else:
            found = await connection.fetchval(
                "SELECT true FROM sessions WHERE id = $1 AND user_id = $2 FOR NO KEY UPDATE",
                session_id,
                user_id,
            )
        yield connection if found else None


async def delete(
    pool: asyncpg.Pool | asyncpg.Connection, user_id: str, session_id: uuid.UUID
) -> bool:
    status = await pool.execute(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return status == "DELETE 1"


async def delete_all(pool: asyncpg.Pool | asyncpg.Connection, user_id: str) -> int:
    """Delete every session (and with them every message) of the user."""
    status = await pool.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return int(status.split()[-1])


async def project_summaries(
    pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID
) -> list[dict[str, Any]] | None:
    """The project's memory: its sessions that have a summary; None if not the user's."""
    rows = await owned.rows_under(
        pool,
        "projects",
        project_id,
        user_id,
        "SELECT id, title, summary, summary_updated_at FROM sessions "
        "WHERE project_id = $1 AND user_id = $2 AND summary IS NOT NULL "
        "ORDER BY summary_updated_at DESC NULLS LAST, id",
        user_id,
    )
    return None if rows is None else [shapes.summary(r) for r in rows]


async def summary(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID
) -> tuple[bool, str | None]:
    """(the session is the user's, its summary or None)."""
    row = await pool.fetchrow(
        "SELECT summary FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return (row is not None, row["summary"] if row else None)


async def forget_summary(pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID) -> bool:
    """Clear the summary; a new one is written only after REFRESH_AFTER more messages."""
    status = await pool.execute(
        "UPDATE sessions SET summary = NULL, summary_updated_at = NULL "
        "WHERE id = $1 AND user_id = $2",
        session_id,
        user_id,
    )
    return status == "UPDATE 1"


async def context(pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID) -> asyncpg.Record | None:
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


async def save_summary(
    pool: asyncpg.Pool, session_id: uuid.UUID, summary: str, message_count: int
) -> bool:
    """Save the summary, unless the session (or its owner) is gone or being deleted:
    then False, after that deletion has committed (see the module's docstring)."""
    async with pool.acquire() as connection, connection.transaction():
        owner = await connection.fetchval(
            "SELECT u.id FROM users u JOIN sessions s ON s.user_id = u.id "
            "WHERE s.id = $1 FOR SHARE OF u",
            session_id,
        )
        status = await connection.execute(
            "UPDATE sessions SET summary = $2, summary_message_count = $3, "
            "summary_updated_at = now() WHERE id = $1 AND user_id = $4",
            session_id,
            summary,
            message_count,
            owner,
        )
    return status == "UPDATE 1"
