"""Checks on request bodies and path parameters; each failure is a 400 naming the field."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiohttp import web

from handler.errors import ApiError, bad_request

_MISSING = object()


# Longest wait for a request body once the headers are in: a client that
# stops sending must not hold a connection (and a handler) open forever.
BODY_TIMEOUT = 30.0


async def body_bytes(request: web.Request) -> bytes:
    """The raw body, read within BODY_TIMEOUT (408 after it)."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await request.read()
    except TimeoutError:
        raise ApiError(408, f"Request body not received within {BODY_TIMEOUT:g} s") from None


async def json_object(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object, or {} for no body when `optional`.

    413 past the size limit is raised by aiohttp.
    """
    raw = await body_bytes(request)
    if not raw.strip():
        if optional:
            return {}
        raise bad_request("Request body must be a JSON object")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Request body is not valid JSON") from None
    except RecursionError:
        raise bad_request("Request body is nested too deeply") from None
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
    # PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate
    # (JSON's "\ud800" escape parses to one).
    if "\x00" in value:
        raise bad_request(f"'{key}' must not contain NUL characters (\\u0000)")
    if not _encodable(value):
        raise bad_request(f"'{key}' contains an unpaired surrogate (invalid Unicode)")
    return value


# The original's guard on the user's and the project's instructions
# (leczy642/DebugFlow backend/src/routes/projects.js: /ignore.*platform.*rule/i,
# /override.*super.*global/i, /disregard.*system.*instruction/i), with its message.
# Matched as the regexes do (the words in order, on one line, case ignored), but by
# searching each word after the last: linear, where the regexes backtrack.
OVERRIDE_ATTEMPTS = (
    ("ignore", "platform", "rule"),
    ("override", "super", "global"),
    ("disregard", "system", "instruction"),
)
OVERRIDE_REFUSED = "Your instructions contain forbidden attempts to override platform-wide rules."


def _in_order(line: str, words: tuple[str, ...]) -> bool:
    at = 0
    for word in words:
        at = line.find(word, at)
        if at < 0:
            return False
        at += len(word)
    return True


def instructions(value: str | None) -> str | None:
    """`value`, unless it tries to override the platform's rules (400, as the original)."""
    for line in (value or "").lower().splitlines():
        if any(_in_order(line, words) for words in OVERRIDE_ATTEMPTS):
            raise bad_request(OVERRIDE_REFUSED)
    return value


def _encodable(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


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
