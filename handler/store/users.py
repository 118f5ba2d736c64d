"""The user's profile, memories and account."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes, usage
from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg

MEMORY_COLUMNS = "id, content, type, status, created_at"

# The memory ledger's vocabulary, as the front end reads it.
ACTIVE, CANDIDATE, ARCHIVED = "ACTIVE", "CANDIDATE", "ARCHIVED"
EXPLICIT, INFERRED, PERSONAL_INFO = "EXPLICIT", "INFERRED", "PERSONAL_INFO"
ACTIVE_LIMIT = 20  # active memories per user, as in the original
MAX_CONTENT = 2_000  # characters of one memory
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
# The unique index user_memories_fact compares facts this way.
_SAME_FACT = "md5(lower(btrim(content))) = md5(lower(btrim($2)))"


async def profile(pool: asyncpg.Pool, user_id: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"""
        SELECT u.id, u.email, u.name, u.role, u.status, u.global_instructions, u.tier,
               CASE WHEN c.window_started_at > now() - interval '{usage.WINDOW}'
                    THEN c.request_count ELSE 0 END AS daily_requests_count,
               -- The START of the current window: the front end adds the 24 hours.
               CASE WHEN c.window_started_at > now() - interval '{usage.WINDOW}'
                    THEN c.window_started_at END AS rate_limit_reset_at
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
    """Active memories first, then suggestions; archived ones are not listed."""
    rows = await pool.fetch(
        f"SELECT {MEMORY_COLUMNS} FROM user_memories WHERE user_id = $1 AND status <> $2 "
        "ORDER BY status = $3 DESC, created_at DESC, id",
        user_id,
        ARCHIVED,
        ACTIVE,
    )
    return [shapes.memory(r) for r in rows]


async def active_memory_count(conn: asyncpg.Connection, user_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM user_memories WHERE user_id = $1 AND status = $2", user_id, ACTIVE
    )


async def _lock_ledger(conn: asyncpg.Connection, user_id: str) -> None:
    """Serialise changes to one user's ledger, so two requests cannot pass the limit."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def add_memory(
    pool: asyncpg.Pool, user_id: str, content: str, *, type_: str = EXPLICIT
) -> dict[str, Any] | None:
    """Store an active memory; the same fact again reactivates the existing row.

    None when the user already has ACTIVE_LIMIT active memories (nothing stored).
    """
    async with pool.acquire() as conn, conn.transaction():
        await _lock_ledger(conn, user_id)
        existing = await conn.fetchrow(
            f"SELECT {MEMORY_COLUMNS} FROM user_memories WHERE user_id = $1 AND {_SAME_FACT}",
            user_id,
            content,
        )
        if existing is not None and existing["status"] == ACTIVE:
            return shapes.memory(existing)
        if await active_memory_count(conn, user_id) >= ACTIVE_LIMIT:
            return None
        row = await conn.fetchrow(
            f"""
            INSERT INTO user_memories (user_id, content, type, status) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, md5(lower(btrim(content)))) DO UPDATE
                SET status = EXCLUDED.status, type = EXCLUDED.type, updated_at = now()
            RETURNING {MEMORY_COLUMNS}
            """,
            user_id,
            content,
            type_,
            ACTIVE,
        )
    return shapes.memory(row)


async def propose_memories(pool: asyncpg.Pool, user_id: str, facts: list[str]) -> int:
    """Store inferred facts as CANDIDATE suggestions; known facts (any status) are skipped."""
    proposed = 0
    for fact in facts:
        status = await pool.execute(
            "INSERT INTO user_memories (user_id, content, type, status) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (user_id, md5(lower(btrim(content)))) DO NOTHING",
            user_id,
            fact,
            INFERRED,
            CANDIDATE,
        )
        proposed += status == "INSERT 0 1"
    return proposed


async def archive_memory(
    pool: asyncpg.Pool, user_id: str, memory_id: uuid.UUID
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"UPDATE user_memories SET status = $3, updated_at = now() "
        f"WHERE id = $1 AND user_id = $2 RETURNING {MEMORY_COLUMNS}",
        memory_id,
        user_id,
        ARCHIVED,
    )
    return shapes.memory(row) if row else None


async def promote_memory(
    pool: asyncpg.Pool, user_id: str, memory_id: uuid.UUID
) -> dict[str, Any] | str | None:
    """Make a memory ACTIVE: the memory, LIMIT_EXCEEDED, or None when it is not theirs."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock_ledger(conn, user_id)
        current = await conn.fetchval(
            "SELECT status FROM user_memories WHERE id = $1 AND user_id = $2", memory_id, user_id
        )
        if current is None:
            return None
        if current != ACTIVE and await active_memory_count(conn, user_id) >= ACTIVE_LIMIT:
            return LIMIT_EXCEEDED
        row = await conn.fetchrow(
            f"UPDATE user_memories SET status = $3, updated_at = now() "
            f"WHERE id = $1 AND user_id = $2 RETURNING {MEMORY_COLUMNS}",
            memory_id,
            user_id,
            ACTIVE,
        )
    return shapes.memory(row)


async def delete_account(pool: asyncpg.Pool, user_id: str) -> None:
    """Delete the user; every row of theirs goes with it (ON DELETE CASCADE)."""
    await pool.execute("DELETE FROM users WHERE id = $1", user_id)
