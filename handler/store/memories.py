"""The `user_memories` table: the memory ledger (ACTIVE, CANDIDATE, ARCHIVED facts).

As in the original (leczy642/DebugFlow backend/src/services/memoryService.js):
a fact the platform instructions already state is refused (`BLOCKED_BY_SGC`,
the original's name for them: its "super global context"), never suggested,
and not listed; `confidence` is 100 for a fact the user gave or approved, 20
for a new suggestion, plus 20 each time it is suggested again. Unlike the
original, a suggestion never becomes ACTIVE by itself: the user approves it.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from handler.store import settings, shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, content, type, status, confidence, created_at"

# The memory ledger's vocabulary, as the front end reads it.
ACTIVE, CANDIDATE, ARCHIVED = "ACTIVE", "CANDIDATE", "ARCHIVED"
EXPLICIT, INFERRED, PERSONAL_INFO = "EXPLICIT", "INFERRED", "PERSONAL_INFO"
ACTIVE_LIMIT = 20  # active memories per user, as in the original
MAX_CONTENT = 2_000  # characters of one memory
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
BLOCKED_BY_SGC = "BLOCKED_BY_SGC"
CERTAIN, FIRST_SUGGESTED, SUGGESTED_AGAIN = 100, 20, 20
# What the original strips before comparing a fact with the platform instructions.
_PUNCTUATION = re.compile(r"[.,/#!$%^&*;:{}=\-_`~()]")
# The unique index user_memories_fact compares facts this way.
_SAME_FACT = "md5(lower(btrim(content))) = md5(lower(btrim($2)))"


def _memory(row: Any) -> dict[str, Any]:
    return {**shapes.memory(row), "confidence": row["confidence"]}


def _normalized(text: str) -> str:
    return _PUNCTUATION.sub("", text.lower().strip())


def in_platform_rules(platform: str | None, fact: str) -> bool:
    """Whether the platform instructions already state `fact`: its words, whole,
    punctuation and case aside."""
    fact = _normalized(fact)
    if not platform or not fact:
        return False
    return re.search(rf"\b{re.escape(fact)}\b", _normalized(platform)) is not None


async def _platform_rules(conn: asyncpg.Connection | asyncpg.Pool) -> str | None:
    row = await settings.value(conn, settings.PLATFORM_INSTRUCTIONS)
    return row["value"] if row else None


async def list_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    """Active memories first, then suggestions, surest first; archived ones and those the
    platform instructions already state are not listed."""
    async with pool.acquire() as conn:
        platform = await _platform_rules(conn)
        rows = await conn.fetch(
            f"SELECT {COLUMNS} FROM user_memories WHERE user_id = $1 AND status <> $2 "
            "ORDER BY status = $3 DESC, confidence DESC, created_at DESC, id",
            user_id,
            ARCHIVED,
            ACTIVE,
        )
    return [_memory(r) for r in rows if not in_platform_rules(platform, r["content"])]


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

    None when the user already has ACTIVE_LIMIT active memories, BLOCKED_BY_SGC when
    the platform instructions already state it (nothing stored either way).
    """
    async with pool.acquire() as conn, conn.transaction():
        if in_platform_rules(await _platform_rules(conn), content):
            return BLOCKED_BY_SGC
        await _lock_ledger(conn, user_id)
        existing = await conn.fetchrow(
            f"SELECT {COLUMNS} FROM user_memories WHERE user_id = $1 AND {_SAME_FACT}",
            user_id,
            content,
        )
        if existing is not None and existing["status"] == ACTIVE:
            return _memory(existing)
        if await active_count(conn, user_id) >= ACTIVE_LIMIT:
            return None
        row = await conn.fetchrow(
            f"""
            INSERT INTO user_memories (user_id, content, type, status, confidence)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (user_id, md5(lower(btrim(content)))) DO UPDATE
                SET status = EXCLUDED.status, type = EXCLUDED.type,
                    confidence = EXCLUDED.confidence, updated_at = now()
            RETURNING {COLUMNS}
            """,
            user_id,
            content,
            type_,
            ACTIVE,
            CERTAIN,
        )
    return _memory(row)


async def propose(pool: asyncpg.Pool, user_id: str, facts: list[str]) -> int:
    """Store inferred facts as CANDIDATE suggestions; the number of new ones.

    A suggestion made again gains confidence; an active or rejected fact, or one the
    platform instructions state, is left as it is.
    """
    proposed = 0
    async with pool.acquire() as conn:
        platform = await _platform_rules(conn)
        for fact in facts:
            if in_platform_rules(platform, fact):
                continue
            inserted = await conn.fetchval(
                """
                INSERT INTO user_memories AS m (user_id, content, type, status, confidence)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (user_id, md5(lower(btrim(content)))) DO UPDATE
                    SET confidence = LEAST(m.confidence + $6, $7), updated_at = now()
                    WHERE m.status = $4
                RETURNING xmax = 0
                """,
                user_id,
                fact,
                INFERRED,
                CANDIDATE,
                FIRST_SUGGESTED,
                SUGGESTED_AGAIN,
                CERTAIN,
            )
            proposed += bool(inserted)
    return proposed


async def archive(pool: asyncpg.Pool, user_id: str, memory_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"UPDATE user_memories SET status = $3, updated_at = now() "
        f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}",
        memory_id,
        user_id,
        ARCHIVED,
    )
    return _memory(row) if row else None


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
            f"UPDATE user_memories SET status = $3, confidence = $4, updated_at = now() "
            f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}",
            memory_id,
            user_id,
            ACTIVE,
            CERTAIN,
        )
    return _memory(row)
