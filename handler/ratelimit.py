"""Per-user chat limits by tier, counted in PostgreSQL (see store/usage.py for the window).

One statement both checks and counts, so concurrent requests cannot slip past
the limit; a refused request is not counted against the window. The same
statement records the request (allowed or refused) in the operators' usage
record, so that costs no extra round trip. The super user is not limited (as in
the original's middleware/rateLimiter.js); their requests are still recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web

from handler.auth.identity import User
from handler.errors import ApiError
from handler.keys import DATABASE, SETTINGS
from handler.roles import SUPER_USER
from handler.store import usage
from handler.timeutil import iso


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


class Unlimited:
    """The super user's allowance: no limit, so no rate-limit headers."""

    def headers(self) -> dict[str, str]:
        return {}


async def consume(request: web.Request, user: User) -> Allowance | Unlimited:
    """Count one request against the user's tier, or raise the contract's 429."""
    pool = await request.app[DATABASE].pool()
    if user.role == SUPER_USER:
        await usage.record(pool, user.id, user.tier)
        return Unlimited()
    limit = request.app[SETTINGS].rate_limits.for_tier(user.tier)
    row = await usage.consume(pool, user.id, limit, user.tier)
    if row is not None:
        return Allowance(limit, row["request_count"], row["reset_at"])
    current = await usage.current(pool, user.id)
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
