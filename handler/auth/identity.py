"""Who a token says the caller is, and the stored user behind it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Identity:
    """Claims of a verified Firebase ID token."""

    uid: str
    email: str | None
    name: str | None
    email_verified: bool
    sign_in_provider: str | None


@dataclass(frozen=True, slots=True)
class User:
    """The `users` row of the signed-in caller."""

    id: str
    email: str | None
    name: str | None
    role: str
    status: str
    tier: str
    blocked_until: datetime | None
