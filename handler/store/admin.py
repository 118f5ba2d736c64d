"""Operators' reads and changes of users.

Every change runs inside `acting`: one transaction in which the actor's and
the target's rows are locked (in id order, so two operators acting on each
other cannot deadlock), the rules are checked against those locked rows, the
change is made and its audit entry written. Either all of it commits or none.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from handler.store.usage import TIERS, TODAY
from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg

# Block lengths as the front end names them (the original's: a month is 30 days).
DURATIONS = {
    "24h": timedelta(hours=24),
    "1w": timedelta(days=7),
    "1m": timedelta(days=30),
    "3m": timedelta(days=90),
    "forever": None,
}
STATUSES = ("active", "blocked", "banned")

LOCKED_COLUMNS = "id, email, role, status, blocked_until, tier, suggested_role"

# A block whose time has passed is over: shown as active, whatever the row says
# (the sign-in check lets such a user in too).
_LAPSED = "u.status = 'blocked' AND u.blocked_until <= now()"
VIEW_COLUMNS = f"""
    u.id, u.email, u.name, u.role,
    CASE WHEN {_LAPSED} THEN 'active' ELSE u.status END AS status,
    CASE WHEN {_LAPSED} THEN NULL ELSE u.blocked_until END AS block_expires_at,
    u.tier, u.suggested_role, u.suggestion_reason, u.suggested_by, u.suggested_at, u.created_at,
    u.last_login_at AS last_login
"""
_IN_FORCE = "u.status = 'blocked' AND (u.blocked_until IS NULL OR u.blocked_until > now())"


def view(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    for key in ("block_expires_at", "suggested_at", "created_at", "last_login"):
        if key in out:
            out[key] = iso(out[key])
    return out


@dataclass(slots=True)
class Acting:
    conn: asyncpg.Connection
    actor: asyncpg.Record | None  # None when the actor's account is gone
    target: asyncpg.Record | None  # None when there is no such user (or no target)


@asynccontextmanager
async def acting(
    pool: asyncpg.Pool, actor_id: str | None, target_id: str | None = None
) -> AsyncIterator[Acting]:
    """A transaction with the actor's and target's rows locked; raising rolls it back."""
    ids = [i for i in (actor_id, target_id) if i is not None]
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT {LOCKED_COLUMNS} FROM users WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
            ids,
        )
        by_id = {r["id"]: r for r in rows}
        yield Acting(
            conn,
            by_id.get(actor_id) if actor_id else None,
            by_id.get(target_id) if target_id else None,
        )


async def locked_user(conn: asyncpg.Connection, user_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT id, email, role FROM users WHERE id = $1 FOR UPDATE", user_id
    )


async def locked_super_user(conn: asyncpg.Connection) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT id, email FROM users WHERE role = 'super_user' FOR UPDATE")


async def super_user_id(pool: asyncpg.Pool) -> str | None:
    """The super user's id as of now (unlocked: `acting` locks and re-reads it)."""
    return await pool.fetchval("SELECT id FROM users WHERE role = 'super_user'")


async def set_block(
    conn: asyncpg.Connection, user_id: str, interval: timedelta | None, blocked: bool
) -> asyncpg.Record:
    """Block for `interval` (None: until lifted), or lift a block."""
    return await conn.fetchrow(
        """
        UPDATE users SET status = CASE WHEN $2 THEN 'blocked' ELSE 'active' END,
                         blocked_until = CASE WHEN $2 THEN now() + $3::interval END,
                         updated_at = now()
        WHERE id = $1 RETURNING status, blocked_until
        """,
        user_id,
        blocked,
        interval,
    )


async def set_status(
    conn: asyncpg.Connection, user_id: str, status: str, interval: timedelta | None
) -> asyncpg.Record:
    return await conn.fetchrow(
        """
        UPDATE users SET status = $2,
                         blocked_until = CASE WHEN $2 = 'blocked' THEN now() + $3::interval END,
                         updated_at = now()
        WHERE id = $1 RETURNING status, blocked_until
        """,
        user_id,
        status,
        interval,
    )


async def set_tier(conn: asyncpg.Connection, user_id: str, tier: str) -> None:
    await conn.execute(
        "UPDATE users SET tier = $2, updated_at = now() WHERE id = $1", user_id, tier
    )


async def set_role(conn: asyncpg.Connection, user_id: str, role: str) -> asyncpg.Record:
    """Change the role; a pending suggestion is settled by it."""
    return await conn.fetchrow(
        f"""
        UPDATE users u SET role = $2, suggested_role = NULL, suggestion_reason = NULL,
                           suggested_by = NULL, suggested_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING {VIEW_COLUMNS}
        """,
        user_id,
        role,
    )


async def suggest_role(
    conn: asyncpg.Connection, user_id: str, role: str, reason: str | None, by: str
) -> None:
    await conn.execute(
        "UPDATE users SET suggested_role = $2, suggestion_reason = $3, suggested_by = $4, "
        "suggested_at = now() WHERE id = $1",
        user_id,
        role,
        reason,
        by,
    )


async def clear_suggestion(conn: asyncpg.Connection, user_id: str) -> None:
    await conn.execute(
        "UPDATE users SET suggested_role = NULL, suggestion_reason = NULL, suggested_by = NULL, "
        "suggested_at = NULL WHERE id = $1",
        user_id,
    )


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def search(pool: asyncpg.Pool, query: str, limit: int, offset: int) -> list[dict[str, Any]]:
    """Users whose uid is `query`, or whose email or name contains it; exact uid first."""
    rows = await pool.fetch(
        f"""
        SELECT {VIEW_COLUMNS} FROM users u
        WHERE u.id = $1 OR u.email ILIKE $2 OR u.name ILIKE $2
        ORDER BY u.id = $1 DESC, lower(u.email) NULLS LAST, u.id
        LIMIT $3 OFFSET $4
        """,
        query,
        _like(query),
        limit,
        offset,
    )
    return [view(r) for r in rows]


async def blocked(pool: asyncpg.Pool, limit: int, offset: int) -> list[dict[str, Any]]:
    """Users blocked right now, the soonest to be let back in first, then the indefinite."""
    rows = await pool.fetch(
        f"""
        SELECT {VIEW_COLUMNS} FROM users u WHERE {_IN_FORCE}
        ORDER BY u.blocked_until NULLS LAST, u.id LIMIT $1 OFFSET $2
        """,
        limit,
        offset,
    )
    return [view(r) for r in rows]


async def staff(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """The super user, then admins by email."""
    rows = await pool.fetch(
        f"SELECT {VIEW_COLUMNS} FROM users u WHERE u.role <> 'user' "
        "ORDER BY u.role = 'super_user' DESC, lower(u.email) NULLS LAST, u.id"
    )
    return [view(r) for r in rows]


async def promotion_requests(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Pending role suggestions, promotions and demotions alike, oldest first: the
    super user settles each, and until then it holds further suggestions back."""
    rows = await pool.fetch(
        f"SELECT {VIEW_COLUMNS} FROM users u WHERE u.suggested_role IS NOT NULL "
        "ORDER BY u.suggested_at, u.id"
    )
    return [view(r) for r in rows]


async def dashboard(pool: asyncpg.Pool) -> dict[str, Any]:
    """The dashboard's figures in one round trip. Active: signed in (as the original)."""
    row = await pool.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM users)::int AS total_users,
               (SELECT count(*) FROM users
                WHERE last_login_at > now() - interval '1 day')::int AS daily,
               (SELECT count(*) FROM users
                WHERE last_login_at > now() - interval '7 days')::int AS weekly,
               (SELECT count(*) FROM users
                WHERE last_login_at > now() - interval '30 days')::int AS monthly,
               (SELECT count(*) FROM sessions)::int AS sessions,
               (SELECT count(*) FROM messages WHERE NOT is_deleted)::int AS messages,
               (SELECT COALESCE(sum(requests), 0) FROM usage_hourly
                WHERE hour >= {TODAY})::int AS chat_requests_today,
               (SELECT COALESCE(jsonb_object_agg(tier, n), '{{}}'::jsonb)
                FROM (SELECT tier, count(*) AS n FROM users GROUP BY tier) t)::text AS by_tier,
               (SELECT count(*) FROM users u WHERE {_IN_FORCE})::int AS blocked_users,
               (SELECT count(*) FROM users WHERE status = 'banned')::int AS banned_users
        """
    )
    by_tier = json.loads(row["by_tier"])
    return {
        "total_users": row["total_users"],
        "active_users": {k: row[k] for k in ("daily", "weekly", "monthly")},
        "sessions": row["sessions"],
        "messages": row["messages"],
        "chat_requests_today": row["chat_requests_today"],
        "users_by_tier": {tier: by_tier.get(tier, 0) for tier in TIERS},
        "blocked_users": row["blocked_users"],
        "banned_users": row["banned_users"],
    }
