"""The `users` table: profile, instructions, account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.store import usage
from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg


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


async def delete_account(pool: asyncpg.Pool, user_id: str) -> None:
    """Delete the user; every row of theirs goes with it (ON DELETE CASCADE)."""
    await pool.execute("DELETE FROM users WHERE id = $1", user_id)
