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
        SELECT u.id, u.email, u.name, u.role,
               -- A block whose end has passed has lifted itself.
               CASE WHEN u.status = 'blocked' AND u.blocked_until <= now()
                    THEN 'active' ELSE u.status END AS status,
               u.global_instructions, u.tier,
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


async def delete_account(pool: asyncpg.Pool | asyncpg.Connection, user_id: str) -> None:
    """Delete the user; every row of theirs goes with it (ON DELETE CASCADE)."""
    await pool.execute("DELETE FROM users WHERE id = $1", user_id)


# Insert on first sight; update only when the token says something new or the
# request is a sign-in ($6: the front end's GET /protected), so an ordinary
# request does not write.
_UPSERT = """
WITH changed AS (
    INSERT INTO users (id, email, name, email_verified, sign_in_provider, last_login_at)
    VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
    ON CONFLICT (id) DO UPDATE SET
        email = EXCLUDED.email,
        name = COALESCE(EXCLUDED.name, users.name),
        email_verified = EXCLUDED.email_verified,
        sign_in_provider = EXCLUDED.sign_in_provider,
        last_login_at = COALESCE(EXCLUDED.last_login_at, users.last_login_at),
        updated_at = now()
    WHERE (users.email, users.email_verified, users.sign_in_provider)
              IS DISTINCT FROM (EXCLUDED.email, EXCLUDED.email_verified, EXCLUDED.sign_in_provider)
       OR (EXCLUDED.name IS NOT NULL AND users.name IS DISTINCT FROM EXCLUDED.name)
       OR $6
    RETURNING id, email, name, role, status, tier, blocked_until
)
SELECT * FROM changed
UNION ALL
SELECT id, email, name, role, status, tier, blocked_until FROM users
WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM changed)
"""

# When a concurrent first request inserted the row, the upsert above waits for
# it, changes nothing, and its SELECT still runs on the statement's snapshot,
# taken before that insert committed: it returns no row. A new statement sees it.
_SELECT = """
SELECT id, email, name, role, status, tier, blocked_until FROM users WHERE id = $1
"""


async def sign_in(
    pool: asyncpg.Pool,
    uid: str,
    email: str | None,
    name: str | None,
    email_verified: bool,
    sign_in_provider: str | None,
    *,
    signing_in: bool = False,
) -> Any:
    """The caller's row, created or refreshed; None if it vanished meanwhile.

    `signing_in` records the time as the user's last sign-in.
    """
    row = await pool.fetchrow(
        _UPSERT, uid, email, name, email_verified, sign_in_provider, signing_in
    )
    if row is None:
        row = await pool.fetchrow(_SELECT, uid)
    return row
