"""Debug sessions and their message trees."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, title, pinned, project_id, created_at, updated_at"
MESSAGE_COLUMNS = "id, role, content, sources, created_at, parent_id, is_deleted"
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


async def messages(
    pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID
) -> list[dict[str, Any]] | None:
    """All messages in creation order (deleted ones flagged), or None for no such session."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        owned = await conn.fetchval(
            "SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
        )
        if not owned:
            return None
        rows = await conn.fetch(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE session_id = $1 ORDER BY created_at, id",
            session_id,
        )
    return [shapes.message(r) for r in rows]


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


async def delete(pool: asyncpg.Pool, user_id: str, session_id: uuid.UUID) -> bool:
    status = await pool.execute(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2", session_id, user_id
    )
    return status == "DELETE 1"


async def delete_all(pool: asyncpg.Pool, user_id: str) -> int:
    """Delete every session (and with them every message) of the user."""
    status = await pool.execute("DELETE FROM sessions WHERE user_id = $1", user_id)
    return int(status.split()[-1])


async def project_summaries(
    pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID
) -> list[dict[str, Any]] | None:
    """The project's memory: its sessions that have a summary; None if not the user's."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        owned = await conn.fetchval(
            "SELECT 1 FROM projects WHERE id = $1 AND user_id = $2", project_id, user_id
        )
        if not owned:
            return None
        rows = await conn.fetch(
            "SELECT id, title, summary, summary_updated_at FROM sessions "
            "WHERE project_id = $1 AND user_id = $2 AND summary IS NOT NULL "
            "ORDER BY summary_updated_at DESC NULLS LAST, id",
            project_id,
            user_id,
        )
    return [shapes.summary(r) for r in rows]


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
