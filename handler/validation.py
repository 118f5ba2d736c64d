"""Checks on request bodies and path parameters; each failure is a 400 naming the field."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from handler.errors import bad_request

_MISSING = object()


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object (413 past the size limit is raised by aiohttp)."""
    raw = await request.read()
    if not raw.strip():
        raise bad_request("Request body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def path_uuid(request: web.Request, name: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise bad_request(f"Invalid {what} id: expected a UUID") from None


def text(
    body: dict[str, Any],
    key: str,
    *,
    max_length: int,
    required: bool = True,
    nullable: bool = False,
    allow_empty: bool = False,
) -> str | None:
    value = body.get(key, _MISSING)
    if value is _MISSING:
        if required:
            raise bad_request(f"'{key}' is required")
        return None
    if value is None:
        if nullable:
            return None
        raise bad_request(f"'{key}' must be a string")
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a string")
    if not allow_empty and not value.strip():
        raise bad_request(f"'{key}' must not be empty")
    if len(value) > max_length:
        raise bad_request(f"'{key}' must be at most {max_length} characters")
    return value


def boolean(body: dict[str, Any], key: str, *, required: bool = True) -> bool | None:
    value = body.get(key, _MISSING)
    if value is _MISSING and not required:
        return None
    if not isinstance(value, bool):
        raise bad_request(f"'{key}' must be true or false")
    return value


def optional_uuid(body: dict[str, Any], key: str) -> uuid.UUID | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"'{key}' must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise bad_request(f"'{key}' must be a UUID") from None


def required_uuid(body: dict[str, Any], key: str) -> uuid.UUID:
    value = optional_uuid(body, key)
    if value is None:
        raise bad_request(f"'{key}' is required")
    return value
