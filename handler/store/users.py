"""The user's profile, memories and account."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes
from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg

MEMORY_COLUMNS = "id, content, type, status, created_at"


async def profile(pool: asyncpg.Pool, user_id: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        """
        SELECT u.id, u.email, u.name, u.role, u.status, u.global_instructions, u.tier,
               CASE WHEN c.window_started_at > now() - interval '24 hours'
                    THEN c.request_count ELSE 0 END AS daily_requests_count,
               CASE WHEN c.window_started_at > now() - interval '24 hours'
                    THEN c.window_started_at + interval '24 hours' END AS rate_limit_reset_at
        FROM users u LEFT JOIN usage_counters c ON c.user_id = u.id
        WHERE u.id = $1
        """,
        user_id,
    )
    result = dict(row)
    result["rate_limit_reset_at"] = iso(result["rate_limit_reset_at"])
    return result


async def set_global_instructions(pool: asyncpg.Pool, user_id: str, value: str | None) -> None:
    await pool.execute(
        "UPDATE users SET global_instructions = $2, updated_at = now() WHERE id = $1",
        user_id,
        value,
    )


async def memories(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {MEMORY_COLUMNS} FROM user_memories WHERE user_id = $1 "
        "ORDER BY created_at DESC, id",
        user_id,
    )
    return [shapes.memory(r) for r in rows]


async def add_memory(pool: asyncpg.Pool, user_id: str, content: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"INSERT INTO user_memories (user_id, content) VALUES ($1, $2) RETURNING {MEMORY_COLUMNS}",
        user_id,
        content,
    )
    return shapes.memory(row)


async def change_memory(
    pool: asyncpg.Pool, user_id: str, memory_id: uuid.UUID, *, type_: str | None, status: str
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"""
        UPDATE user_memories SET type = COALESCE($3, type), status = $4, updated_at = now()
        WHERE id = $1 AND user_id = $2 RETURNING {MEMORY_COLUMNS}
        """,
        memory_id,
        user_id,
        type_,
        status,
    )
    return shapes.memory(row) if row else None


async def delete_account(pool: asyncpg.Pool, user_id: str) -> None:
    """Delete the user; every row of theirs goes with it (ON DELETE CASCADE)."""
    await pool.execute("DELETE FROM users WHERE id = $1", user_id)
