"""The `user_memories` table: the memory ledger (ACTIVE, CANDIDATE, ARCHIVED facts)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, content, type, status, created_at"

# The memory ledger's vocabulary, as the front end reads it.
ACTIVE, CANDIDATE, ARCHIVED = "ACTIVE", "CANDIDATE", "ARCHIVED"
EXPLICIT, INFERRED, PERSONAL_INFO = "EXPLICIT", "INFERRED", "PERSONAL_INFO"
ACTIVE_LIMIT = 20  # active memories per user, as in the original
MAX_CONTENT = 2_000  # characters of one memory
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
# The unique index user_memories_fact compares facts this way.
_SAME_FACT = "md5(lower(btrim(content))) = md5(lower(btrim($2)))"


async def list_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    """Active memories first, then suggestions; archived ones are not listed."""
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM user_memories WHERE user_id = $1 AND status <> $2 "
        "ORDER BY status = $3 DESC, created_at DESC, id",
        user_id,
        ARCHIVED,
        ACTIVE,
    )
    return [shapes.memory(r) for r in rows]


async def active_count(conn: asyncpg.Connection, user_id: str) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM user_memories WHERE user_id = $1 AND status = $2", user_id, ACTIVE
    )


async def _lock_ledger(conn: asyncpg.Connection, user_id: str) -> None:
    """Serialise changes to one user's ledger, so two requests cannot pass the limit."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)


async def add(
    pool: asyncpg.Pool, user_id: str, content: str, *, type_: str = EXPLICIT
) -> dict[str, Any] | None:
    """Store an active memory; the same fact again reactivates the existing row.

    None when the user already has ACTIVE_LIMIT active memories (nothing stored).
    """
    async with pool.acquire() as conn, conn.transaction():
        await _lock_ledger(conn, user_id)
        existing = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM user_memories WHERE user_id = $1 AND {_SAME_FACT}",
            user_id,
            content,
        )
        if existing is not None and existing["status"] == ACTIVE:
            return shapes.memory(existing)
        if await active_count(conn, user_id) >= ACTIVE_LIMIT:
            return None
        row = await conn.fetchrow(
            f"""
            INSERT INTO user_memories (user_id, content, type, status) VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id, md5(lower(btrim(content)))) DO UPDATE
                SET status = EXCLUDED.status, type = EXCLUDED.type, updated_at = now()
            RETURNING {COLUMNS}
            """,
            user_id,
            content,
            type_,
            ACTIVE,
        )
    return shapes.memory(row)


async def propose(pool: asyncpg.Pool, user_id: str, facts: list[str]) -> int:
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


async def archive(pool: asyncpg.Pool, user_id: str, memory_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"UPDATE user_memories SET status = $3, updated_at = now() "
        f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}",
        memory_id,
        user_id,
        ARCHIVED,
    )
    return shapes.memory(row) if row else None


async def promote(
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
        if current != ACTIVE and await active_count(conn, user_id) >= ACTIVE_LIMIT:
            return LIMIT_EXCEEDED
        row = await conn.fetchrow(
            f"UPDATE user_memories SET status = $3, updated_at = now() "
            f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}",
            memory_id,
            user_id,
            ACTIVE,
        )
    return shapes.memory(row)
