"""Per-user request limits by tier over a rolling 24-hour window, counted in PostgreSQL.

One statement both checks and counts, so concurrent requests cannot slip past
the limit; a refused request is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from handler.auth.identity import User
from handler.errors import ApiError
from handler.keys import DATABASE, SETTINGS
from handler.timeutil import iso

WINDOW = "24 hours"

CONSUME = f"""
INSERT INTO usage_counters AS u (user_id, window_started_at, request_count)
VALUES ($1, now(), 1)
ON CONFLICT (user_id) DO UPDATE SET
    window_started_at = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                             THEN now() ELSE u.window_started_at END,
    request_count = CASE WHEN u.window_started_at <= now() - interval '{WINDOW}'
                         THEN 1 ELSE u.request_count + 1 END
WHERE u.window_started_at <= now() - interval '{WINDOW}' OR u.request_count < $2
RETURNING request_count, window_started_at + interval '{WINDOW}' AS reset_at
"""

CURRENT = f"""
SELECT request_count, window_started_at + interval '{WINDOW}' AS reset_at
FROM usage_counters WHERE user_id = $1 AND window_started_at > now() - interval '{WINDOW}'
"""


@dataclass(frozen=True, slots=True)
class Allowance:
    limit: int
    used: int
    reset_at: datetime

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset_at.timestamp())),
        }


async def consume(request: web.Request, user: User) -> Allowance:
    """Count one request against the user's tier, or raise the contract's 429."""
    limit = request.app[SETTINGS].rate_limits.for_tier(user.tier)
    pool = await request.app[DATABASE].pool()
    row = await pool.fetchrow(CONSUME, user.id, limit)
    if row is not None:
        return Allowance(limit, row["request_count"], row["reset_at"])
    current = await pool.fetchrow(CURRENT, user.id)
    if current is None:  # the window ended between the two statements
        return await consume(request, user)
    allowance = Allowance(limit, current["request_count"], current["reset_at"])
    raise ApiError(
        429,
        "Rate limit exceeded",
        headers=allowance.headers(),
        message=(
            f"The {user.tier} tier allows {limit} requests per 24 hours. "
            f"Try again after {iso(allowance.reset_at)}."
        ),
        tier=user.tier,
        limit=limit,
        reset_at=iso(allowance.reset_at),
    )
