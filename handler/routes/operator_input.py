"""What the operator routes read from a request: uids, pages, roles, reasons, durations.

Each reader answers 400 naming the field for anything else, so no input of an
operator route reaches the database unchecked.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import roles, validation
from handler.errors import bad_request
from handler.store import admin as store

MAX_UID = 128  # Firebase uids are at most 128 characters
MAX_QUERY = 200
MAX_REASON = 1_000


def _storable(value: str) -> bool:
    """PostgreSQL text holds it: no NUL, and UTF-8 encodes it (no lone surrogate)."""
    return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)


def uid(value: Any, what: str) -> str:
    """A Firebase uid, never something PostgreSQL rejects."""
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_UID
        or not value.isprintable()
        or not _storable(value)
    ):
        raise bad_request(f"Invalid {what}: expected a Firebase uid")
    return value


def uid_param(request: web.Request, name: str = "id") -> str:
    return uid(request.match_info[name], "user id")


def optional_uid_query(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return None if value is None else uid(value, f"'{name}'")


def search_query(request: web.Request) -> str:
    query = request.match_info["query"].strip()
    if not query or len(query) > MAX_QUERY or not _storable(query):
        raise bad_request(f"The search must be 1 to {MAX_QUERY} characters")
    return query


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer") from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}")
    return value


def page(request: web.Request, default: int = 20, maximum: int = 100) -> tuple[int, int]:
    return (
        int_query(request, "limit", default, 1, maximum),
        int_query(request, "offset", 0, 0, 1_000_000),
    )


def grantable_role(body: dict[str, Any], key: str) -> str:
    """`admin` or `user`: a super user is made by a transfer or on the command line."""
    role = body.get(key)
    if role == roles.SUPER_USER:
        raise bad_request(f"'{key}' cannot be super_user: {roles.CLI_HINT}")
    if role not in roles.GRANTABLE:
        raise bad_request(f"'{key}' must be admin or user")
    return role


def reason(body: dict[str, Any]) -> str | None:
    text = validation.text(body, "reason", max_length=MAX_REASON, required=False, nullable=True)
    return text.strip() if text and text.strip() else None


def duration(body: dict[str, Any], *, allow_missing: bool) -> str | None:
    """A key of store.DURATIONS; None when absent (only if `allow_missing`) or null."""
    choices = ", ".join(store.DURATIONS)
    if "duration" not in body and not allow_missing:
        raise bad_request(f"'duration' is required: one of {choices}, or null to unblock")
    value = body.get("duration")
    if value is not None and (not isinstance(value, str) or value not in store.DURATIONS):
        raise bad_request(f"'duration' must be one of {choices}")
    return value
