"""The chat allowance's window, the usage record, and the usage figures operators read.

As in the original: a window opens with the user's first chat request after
the previous window ended, and lasts WINDOW. `usage_counters.window_started_at`
is its start (what `profile/full` shows as `rate_limit_reset_at`); the 429's
`reset_at` and `X-RateLimit-Reset` are its end.

Every chat request is also recorded in `usage_hourly` (per UTC hour, user and
tier, allowed or refused) by the SAME statement that counts it, so the record
costs no extra round trip before the stream starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg

WINDOW = "24 hours"
TIERS = ("free", "basic", "pro", "teams")

# Count one request ($1 user, $2 the tier's limit, $3 the tier), or return no
# row when the open window is used up; either way record it in usage_hourly.
# A data-modifying CTE runs exactly once whether or not the outer query reads it.
_CONSUME = f"""
WITH counted AS (
    INSERT INTO usage_counters AS u (user_id, window_started_at, request_count)
    VALUES ($1, now(), 1)
    ON CONFLICT (user_id) DO UPDATE SET
        window_started_at = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                                 THEN now() ELSE u.window_started_at END,
        request_count = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                             THEN 1 ELSE u.request_count + 1 END
    WHERE u.window_started_at <= now() - interval '{WINDOW}' OR u.request_count < $2
    RETURNING request_count, window_started_at + interval '{WINDOW}' AS reset_at
), recorded AS (
    INSERT INTO usage_hourly AS h (hour, user_id, tier, requests, refused)
    SELECT date_trunc('hour', now(), 'UTC'), $1, $3,
           count(*)::int, 1 - count(*)::int
    FROM counted
    ON CONFLICT (hour, user_id, tier) DO UPDATE SET
        requests = h.requests + EXCLUDED.requests,
        refused = h.refused + EXCLUDED.refused
)
SELECT request_count, reset_at FROM counted
"""

_CURRENT = f"""
SELECT request_count, window_started_at + interval '{WINDOW}' AS reset_at
FROM usage_counters WHERE user_id = $1 AND window_started_at > now() - interval '{WINDOW}'
"""


async def consume(pool: asyncpg.Pool, user_id: str, limit: int, tier: str) -> Any:
    """Count and record one request: (request_count, reset_at), or None when refused."""
    return await pool.fetchrow(_CONSUME, user_id, limit, tier)


async def record(pool: asyncpg.Pool, user_id: str, tier: str) -> None:
    """Record an unlimited (the super user's) request in usage_hourly, counting nothing."""
    await pool.execute(
        """
        INSERT INTO usage_hourly AS h (hour, user_id, tier, requests, refused)
        VALUES (date_trunc('hour', now(), 'UTC'), $1, $2, 1, 0)
        ON CONFLICT (hour, user_id, tier) DO UPDATE SET requests = h.requests + 1
        """,
        user_id,
        tier,
    )


async def current(pool: asyncpg.Pool, user_id: str) -> Any:
    """The open window's (request_count, reset_at), or None when none is open."""
    return await pool.fetchrow(_CURRENT, user_id)


# "The last 24 hours" of hourly buckets: the current hour and the 23 before it.
LAST_24H = "date_trunc('hour', now(), 'UTC') - interval '23 hours'"
TODAY = "date_trunc('day', now(), 'UTC')"


async def stats(pool: asyncpg.Pool, days: int, top: int) -> dict[str, Any]:
    """Totals, requests per UTC day and per tier over `days`, and the `top` users now."""
    # Whole UTC days, as timestamps without a zone: a day is exactly 24 hours.
    first_day = "((now() AT TIME ZONE 'UTC')::date - ($1::int - 1))::timestamp"
    last_day = "(now() AT TIME ZONE 'UTC')::date::timestamp"
    async with pool.acquire() as conn:
        totals = await conn.fetchrow(
            f"""
            SELECT COALESCE(sum(requests) FILTER (WHERE hour >= {LAST_24H}), 0)::int
                       AS total_requests_24h,
                   COALESCE(sum(refused) FILTER (WHERE hour >= {LAST_24H}), 0)::int
                       AS blocked_requests_24h,
                   COALESCE(sum(requests) FILTER (WHERE hour >= {TODAY}), 0)::int
                       AS requests_today,
                   (count(DISTINCT user_id) FILTER (WHERE hour >= {LAST_24H}))::int
                       AS active_users_24h
            FROM usage_hourly WHERE hour >= {LAST_24H} - interval '1 day'
            """
        )
        per_day = await conn.fetch(
            f"""
            SELECT d.day::date AS day,
                   COALESCE(sum(h.requests), 0)::int AS requests,
                   COALESCE(sum(h.refused), 0)::int AS refused
            FROM generate_series({first_day}, {last_day}, interval '1 day') AS d (day)
            LEFT JOIN usage_hourly h ON h.hour >= d.day AT TIME ZONE 'UTC'
                                    AND h.hour < (d.day + interval '1 day') AT TIME ZONE 'UTC'
            GROUP BY d.day ORDER BY d.day
            """,
            days,
        )
        per_tier = await conn.fetch(
            f"""
            SELECT t.tier,
                   COALESCE(sum(h.requests), 0)::int AS requests,
                   COALESCE(sum(h.refused), 0)::int AS refused,
                   count(DISTINCT h.user_id)::int AS users
            FROM unnest($2::text[]) WITH ORDINALITY AS t (tier, position)
            LEFT JOIN usage_hourly h
                   ON h.tier = t.tier AND h.hour >= {first_day} AT TIME ZONE 'UTC'
            GROUP BY t.tier, t.position ORDER BY t.position
            """,
            days,
            list(TIERS),
        )
        top_users = await conn.fetch(
            f"""
            SELECT u.id, u.email, u.name, u.tier, c.request_count AS daily_requests_count,
                   c.window_started_at + interval '{WINDOW}' AS rate_limit_reset_at
            FROM usage_counters c JOIN users u ON u.id = c.user_id
            WHERE c.window_started_at > now() - interval '{WINDOW}'
            ORDER BY c.request_count DESC, u.id
            LIMIT $1
            """,
            top,
        )
    return {
        "stats": dict(totals),
        "per_day": [{**dict(r), "day": r["day"].isoformat()} for r in per_day],
        "per_tier": [dict(r) for r in per_tier],
        "top_users": [
            {**dict(r), "rate_limit_reset_at": iso(r["rate_limit_reset_at"])} for r in top_users
        ],
    }
