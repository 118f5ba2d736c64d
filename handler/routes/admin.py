"""/api/admin/: the admin dashboard's routes (role admin or super_user).

Paths and fields are the original front end's (AdminDashboard.tsx). Every
change is checked against locked rows and audited in its own transaction
(store/admin.py); reads are not audited.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from handler import roles, validation
from handler.errors import ApiError, bad_request, not_found
from handler.keys import SETTINGS, STARTED_AT, USER
from handler.routes.common import pool_of
from handler.routes.openapi import _obj, _op
from handler.store import admin as store
from handler.store import audit, usage
from handler.timeutil import iso

routes = web.RouteTableDef()

MAX_UID = 128  # Firebase uids are at most 128 characters
MAX_QUERY = 200
MAX_REASON = 1_000


@asynccontextmanager
async def changing(
    request: web.Request, target_id: str, still: frozenset[str]
) -> AsyncIterator[store.Acting]:
    """One audited change to a user: both rows locked, the actor still holding a role
    in `still`, the target existing (404 otherwise)."""
    async with store.acting(await pool_of(request), request[USER].id, target_id) as act:
        roles.check_still(act.actor, still)
        if act.target is None:
            raise not_found("User")
        yield act


def grantable_role(body: dict[str, Any], key: str) -> str:
    """`admin` or `user`: no HTTP route makes a super user."""
    role = body.get(key)
    if role == roles.SUPER_USER:
        raise bad_request(f"'{key}' cannot be super_user: {roles.CLI_HINT}")
    if role not in roles.GRANTABLE:
        raise bad_request(f"'{key}' must be admin or user")
    return role


async def apply_role(act: store.Acting, target_id: str, role: str, why: str | None) -> Any:
    """Change the role now, audited in the same transaction; the user's new row."""
    row = await store.set_role(act.conn, target_id, role)
    await audit.record(
        act.conn,
        act.actor,
        audit.ROLE_CHANGED,
        target_id,
        {"from": act.target["role"], "to": role, "reason": why},
    )
    return row


def uid_param(request: web.Request, name: str = "id") -> str:
    """A user id from the path: Firebase's shape, never something PostgreSQL rejects."""
    return _uid(request.match_info[name], "user id")


def _uid(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"Invalid {what}: expected a Firebase uid")
    if len(value) > MAX_UID or "\x00" in value or not value.isprintable():
        raise bad_request(f"Invalid {what}: expected a Firebase uid")
    return value


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


@routes.get("/api/admin/dashboard")
@roles.admin
async def dashboard(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    metrics = await store.dashboard(pool)
    health = {
        # The figures above came from the database, so it answers.
        "database": "healthy",
        "api": "healthy",
        "uptime": round(time.monotonic() - request.app[STARTED_AT], 3),
    }
    return web.json_response({"metrics": metrics, "health": health})


@routes.get("/api/admin/users/search/{query}")
@roles.admin
async def search(request: web.Request) -> web.Response:
    return await search_users(request)


async def search_users(request: web.Request) -> web.Response:
    """The admin's and the super user's search (the role is checked by the route)."""
    query = request.match_info["query"].strip()
    if not query or len(query) > MAX_QUERY or "\x00" in query:
        raise bad_request(f"The search must be 1 to {MAX_QUERY} characters")
    limit, offset = page(request)
    pool = await pool_of(request)
    return web.json_response(await store.search(pool, query, limit, offset))


@routes.get("/api/admin/users/blocked")
@roles.admin
async def blocked_users(request: web.Request) -> web.Response:
    limit, offset = page(request, default=100, maximum=500)
    pool = await pool_of(request)
    return web.json_response(await store.blocked(pool, limit, offset))


@routes.patch("/api/admin/user/{id}/block")
@roles.admin
async def block(request: web.Request) -> web.Response:
    """Block for 24h/1w/1m/3m/forever, or unblock with `duration: null`."""
    target_id = uid_param(request)
    body = await validation.json_object(request)
    length = duration(body, allow_missing=False)
    actor_id = request[USER].id
    roles.check_not_self(actor_id, target_id, "block or unblock")
    async with changing(request, target_id, roles.STAFF) as act:
        roles.check_may_manage(act.actor, act.target, "block")
        if act.target["status"] == "banned":
            raise ApiError(409, "This account is banned; only the super user can change that")
        row = await store.set_block(
            act.conn, target_id, store.DURATIONS.get(length or ""), length is not None
        )
        await audit.record(
            act.conn,
            act.actor,
            audit.USER_BLOCKED if length else audit.USER_UNBLOCKED,
            target_id,
            {
                "duration": length,
                "until": iso(row["blocked_until"]),
                "previous_status": act.target["status"],
                "previous_until": iso(act.target["blocked_until"]),
            },
        )
    return web.json_response(
        {"success": True, "status": row["status"], "expiresAt": iso(row["blocked_until"])}
    )


@routes.patch("/api/admin/user/{id}/tier")
@roles.admin
async def set_tier(request: web.Request) -> web.Response:
    """The new tier's limit applies from the user's next chat request."""
    target_id = uid_param(request)
    body = await validation.json_object(request)
    tier = body.get("tier")
    if tier not in usage.TIERS:
        raise bad_request(f"'tier' must be one of {', '.join(usage.TIERS)}")
    actor_id = request[USER].id
    async with changing(request, target_id, roles.STAFF) as act:
        if target_id == actor_id and act.actor["role"] != roles.SUPER_USER:
            raise ApiError(403, "Forbidden: an admin cannot change their own tier")
        await store.set_tier(act.conn, target_id, tier)
        await audit.record(
            act.conn,
            act.actor,
            audit.TIER_CHANGED,
            target_id,
            {"from": act.target["tier"], "to": tier},
        )
    return web.json_response(
        {"success": True, "id": target_id, "tier": tier, "previous_tier": act.target["tier"]}
    )


@routes.post("/api/admin/suggest-role")
@roles.admin
async def suggest_role(request: web.Request) -> web.Response:
    """An admin's suggestion waits for the super user; the super user's applies at once."""
    body = await validation.json_object(request)
    target_id = _uid(body.get("userId"), "'userId'")
    role = grantable_role(body, "suggestedRole")
    why = reason(body)
    actor_id = request[USER].id
    roles.check_not_self(actor_id, target_id, "suggest a role for")
    async with changing(request, target_id, roles.STAFF) as act:
        if act.target["role"] == roles.SUPER_USER:
            raise bad_request(f"The super user's role cannot change over HTTP: {roles.CLI_HINT}")
        if act.target["role"] == role:
            raise bad_request(f"The user is already {role}")
        email = act.target["email"] or target_id
        if act.actor["role"] == roles.SUPER_USER:
            await apply_role(act, target_id, role, why)
            message = f"{email} is now {role}."
        else:
            if act.target["suggested_role"] is not None:
                raise ApiError(
                    409, f"A change to {act.target['suggested_role']} is already pending"
                )
            await store.suggest_role(act.conn, target_id, role, why, actor_id)
            await audit.record(
                act.conn,
                act.actor,
                audit.ROLE_SUGGESTED,
                target_id,
                {"from": act.target["role"], "to": role, "reason": why},
            )
            message = f"Suggestion that {email} become {role} sent to the super user."
    return web.json_response({"success": True, "message": message})


@routes.get("/api/admin/usage/stats")
@roles.admin
async def usage_stats(request: web.Request) -> web.Response:
    days = int_query(request, "days", 30, 1, 366)
    top = int_query(request, "top", 10, 1, 100)
    pool = await pool_of(request)
    result = await usage.stats(pool, days, top)
    limits = request.app[SETTINGS].rate_limits
    for user in result["top_users"]:
        user["limit"] = limits.for_tier(user["tier"])
    return web.json_response(result)


# OpenAPI: merged into handler/routes/openapi.py's PATHS.
ROLE = "Role: admin or super_user (403 for anyone else). "
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
TIER = {"enum": list(usage.TIERS)}
ROLE_ENUM = {"enum": list(roles.ROLES)}

OPERATOR_USER = _obj(
    ["id", "email", "name", "role", "status", "block_expires_at", "tier"],
    id={"type": "string"},
    email={"type": ["string", "null"]},
    name={"type": ["string", "null"]},
    role=ROLE_ENUM,
    status={"enum": list(store.STATUSES)},
    block_expires_at=NULLABLE_TIME,
    tier=TIER,
    suggested_role={"enum": [*roles.GRANTABLE, None]},
    suggestion_reason={"type": ["string", "null"]},
    suggested_by={"type": ["string", "null"]},
    suggested_at=NULLABLE_TIME,
    created_at={"type": "string", "format": "date-time"},
)
USER_LIST = {"type": "array", "items": OPERATOR_USER}
INT = {"type": "integer"}
BLOCK_RESULT = _obj(
    ["success", "status", "expiresAt"],
    success={"const": True},
    status={"enum": ["active", "blocked"]},
    expiresAt=NULLABLE_TIME,
)


def operation(
    summary: str,
    description: str,
    response: Any,
    *,
    role: str = ROLE,
    body: Any = None,
    path: tuple[str, ...] = (),
    query: tuple[tuple[str, str], ...] = (),
    text_query: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    """`_op` with the role in the description, string path parameters (uids) and queries."""
    codes = set(errors)
    if "id" in path:
        codes |= {400, 404}
    if path or query or text_query:
        codes.add(400)
    op = _op(summary, response, body=body, errors=tuple(sorted(codes)))
    op["description"] = role + description
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": INT, "description": text}
        for name, text in query
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in text_query
    ]
    if parameters:
        op["parameters"] = parameters
    return op


PAGE = (("limit", "page size"), ("offset", "rows to skip"))

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/admin/dashboard": {
        "get": operation(
            "Dashboard figures",
            "Active users sent at least one chat request in the last 24 hours (daily), 7 days "
            "(weekly) or 30 days (monthly), counted in whole UTC hours. `chat_requests_today` "
            "counts allowed chat requests since 00:00 UTC; `messages` excludes deleted ones.",
            _obj(
                ["metrics", "health"],
                metrics=_obj(
                    ["total_users", "active_users", "sessions", "messages"],
                    total_users=INT,
                    active_users=_obj(
                        ["daily", "weekly", "monthly"], daily=INT, weekly=INT, monthly=INT
                    ),
                    sessions=INT,
                    messages=INT,
                    chat_requests_today=INT,
                    users_by_tier=_obj(**{t: INT for t in usage.TIERS}),
                    blocked_users=INT,
                    banned_users=INT,
                ),
                health=_obj(
                    ["database", "api", "uptime"],
                    database={"const": "healthy"},
                    api={"const": "healthy"},
                    uptime={"type": "number"},
                ),
            ),
        )
    },
    "/api/admin/users/search/{query}": {
        "get": operation(
            "Find users by uid, email or name",
            "An exact uid comes first, then users whose email or name contains the text "
            "(case-insensitive), by email. A block whose time has passed shows as `active`.",
            USER_LIST,
            path=("query",),
            query=PAGE,
        )
    },
    "/api/admin/users/blocked": {
        "get": operation(
            "Users blocked now",
            "Soonest `block_expires_at` first; blocks without an end (null) last.",
            USER_LIST,
            query=PAGE,
        )
    },
    "/api/admin/user/{id}/block": {
        "patch": operation(
            "Block or unblock a user",
            "`duration`: `24h`, `1w`, `1m` (30 days), `3m` (90 days) or `forever`; `null` "
            "unblocks. The user is refused (403) from their next request on, including a "
            "chat stream; a block lifts itself when its time passes. Admins may block plain "
            "users only (403 for an admin or the super user); nobody blocks themselves "
            "(400); a banned account answers 409. Audited as USER_BLOCKED / USER_UNBLOCKED.",
            BLOCK_RESULT,
            body=_obj(
                ["duration"],
                duration={"enum": [*store.DURATIONS, None]},
            ),
            path=("id",),
            errors=(409,),
        )
    },
    "/api/admin/user/{id}/tier": {
        "patch": operation(
            "Set a user's tier",
            "The new tier's chat limit applies from the user's next chat request. An admin "
            "cannot change their own tier (403). Audited as TIER_CHANGED.",
            _obj(
                ["success", "id", "tier", "previous_tier"],
                success={"const": True},
                id={"type": "string"},
                tier=TIER,
                previous_tier=TIER,
            ),
            body=_obj(["tier"], tier=TIER),
            path=("id",),
        )
    },
    "/api/admin/suggest-role": {
        "post": operation(
            "Suggest (admin) or make (super user) a role change",
            "`suggestedRole` is `admin` or `user`; `super_user` is refused (400): no HTTP "
            "route makes a super user. An admin's suggestion waits for the super user "
            "(`/api/super-user/promotion-requests`; 409 if one is pending); the super "
            "user's applies at once. Not for oneself (400). Audited as ROLE_SUGGESTED / "
            "ROLE_CHANGED.",
            _obj(["success", "message"], success={"const": True}, message={"type": "string"}),
            body=_obj(
                ["userId", "suggestedRole"],
                userId={"type": "string"},
                suggestedRole={"enum": list(roles.GRANTABLE)},
                reason={"type": ["string", "null"], "maxLength": MAX_REASON},
            ),
            errors=(404, 409),
        )
    },
    "/api/admin/usage/stats": {
        "get": operation(
            "Chat usage",
            "From the usage record the rate limiter writes on every chat request. `stats`: "
            "allowed (`total_requests_24h`) and refused (`blocked_requests_24h`, the 429s) "
            "requests in the last 24 whole UTC hours, and since 00:00 UTC. `per_day` (UTC "
            "days, oldest first, zeros included) and `per_tier` (the tier at request time) "
            "cover the last `days` days. `top_users`: the heaviest users of their current "
            "24 h window; here `rate_limit_reset_at` is when that window ENDS, and `limit` "
            "their tier's allowance.",
            _obj(
                ["stats", "per_day", "per_tier", "top_users"],
                stats=_obj(
                    ["total_requests_24h", "blocked_requests_24h"],
                    total_requests_24h=INT,
                    blocked_requests_24h=INT,
                    requests_today=INT,
                    active_users_24h=INT,
                ),
                per_day={
                    "type": "array",
                    "items": _obj(
                        ["day", "requests", "refused"],
                        day={"type": "string", "format": "date"},
                        requests=INT,
                        refused=INT,
                    ),
                },
                per_tier={
                    "type": "array",
                    "items": _obj(
                        ["tier", "requests", "refused", "users"],
                        tier=TIER,
                        requests=INT,
                        refused=INT,
                        users=INT,
                    ),
                },
                top_users={
                    "type": "array",
                    "items": _obj(
                        ["id", "tier", "daily_requests_count", "rate_limit_reset_at", "limit"],
                        id={"type": "string"},
                        email={"type": ["string", "null"]},
                        name={"type": ["string", "null"]},
                        tier=TIER,
                        daily_requests_count=INT,
                        rate_limit_reset_at={"type": "string", "format": "date-time"},
                        limit=INT,
                    ),
                },
            ),
            query=(
                ("days", "days covered by per_day and per_tier (1-366)"),
                ("top", "how many top users (1-100)"),
            ),
        )
    },
}
