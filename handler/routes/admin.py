"""/api/admin/: the admin dashboard's routes (role admin or super_user).

Paths and fields are the original front end's (AdminDashboard.tsx) and the
original backend's (routes/admin.js). Every change is checked against locked
rows and audited in its own transaction (operator_changes.py); reads are not
audited. OPENAPI_PATHS describes each operation for /openapi.json.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from handler import roles, validation
from handler.errors import ApiError, bad_request
from handler.keys import SETTINGS, STARTED_AT, USER
from handler.routes import operator_input as read
from handler.routes.common import pool_of
from handler.routes.operator_changes import acting, apply_role, changing, switch_web_search
from handler.routes.operator_schema import (
    ADMIN_ROLE,
    INT,
    NULLABLE_TIME,
    PAGE,
    SUCCESS_MESSAGE,
    SUPER_ROLE,
    USER_LIST,
    operation,
)
from handler.routes.schema import obj
from handler.store import admin as store
from handler.store import audit, settings, usage
from handler.timeutil import iso

routes = web.RouteTableDef()

# The settings PUT /api/admin/settings/{key} may change (the original's list).
SETTING_KEYS = (settings.WEB_SEARCH_ENABLED,)
# The usage record counts the rate-limited endpoint only, as the original's did.
RATE_LIMITED_ENDPOINT = "/api/chat"


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
    query = read.search_query(request)
    limit, offset = read.page(request)
    pool = await pool_of(request)
    return web.json_response(await store.search(pool, query, limit, offset))


@routes.get("/api/admin/users/blocked")
@roles.admin
async def blocked_users(request: web.Request) -> web.Response:
    limit, offset = read.page(request, default=100, maximum=500)
    pool = await pool_of(request)
    return web.json_response(await store.blocked(pool, limit, offset))


@routes.patch("/api/admin/user/{id}/block")
@roles.admin
async def block(request: web.Request) -> web.Response:
    """Block for 24h/1w/1m/3m/forever, or unblock with `duration: null`."""
    target_id = read.uid_param(request)
    body = await validation.json_object(request)
    length = read.duration(body, allow_missing=False)
    roles.check_not_self(request[USER].id, target_id, "block or unblock")
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
    """Admins set plain users' tiers; the super user anyone's, their own included.

    The new tier's limit applies from the user's next chat request.
    """
    target_id = read.uid_param(request)
    body = await validation.json_object(request)
    tier = body.get("tier")
    if tier not in usage.TIERS:
        raise bad_request(f"'tier' must be one of {', '.join(usage.TIERS)}")
    async with changing(request, target_id, roles.STAFF) as act:
        if act.actor["role"] != roles.SUPER_USER:
            if target_id == act.actor["id"]:
                raise ApiError(403, "Forbidden: an admin cannot change their own tier")
            if act.target["role"] != roles.USER_ROLE:
                raise ApiError(403, "Forbidden: only the super user can change the tier of staff")
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
    target_id = read.uid(body.get("userId"), "'userId'")
    role = read.grantable_role(body, "suggestedRole")
    why = read.reason(body)
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
                    409,
                    f"A change to {act.target['suggested_role']} is already pending: the "
                    "super user approves or denies it (promotion requests) first",
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


@routes.post("/api/admin/self-demote")
@roles.admin
async def self_demote(request: web.Request) -> web.Response:
    """An admin steps down to user; the super user hands the role over instead."""
    async with acting(request, roles.STAFF) as act:
        if act.actor["role"] != roles.ADMIN:
            raise bad_request(
                "Only admins can demote themselves: the super user first transfers the "
                "role (POST /api/super-user/transfer/initiate)"
            )
        await store.set_role(act.conn, act.actor["id"], roles.USER_ROLE)
        await audit.record(
            act.conn,
            act.actor,
            audit.SELF_DEMOTED,
            act.actor["id"],
            {"from": roles.ADMIN, "to": roles.USER_ROLE},
        )
    return web.json_response({"success": True, "message": "You are now a user."})


@routes.post("/api/admin/transfer/accept")
@roles.admin
async def accept_transfer(request: web.Request) -> web.Response:
    """The admin the super user chose takes the role; the super user becomes an admin."""
    row = await settings.value(await pool_of(request), settings.PENDING_TRANSFER)
    offered = settings.decode_offer(row["value"] if row else None)
    if offered is None or offered.to != request[USER].id:
        raise ApiError(403, "Forbidden: no pending super-user transfer for your account")
    # Both rows locked in id order, as every other change locks them.
    async with acting(request, roles.STAFF, offered.offered_by) as act:
        stored = await settings.locked_value(act.conn, settings.PENDING_TRANSFER)
        if settings.decode_offer(stored) != offered:
            raise ApiError(409, "The transfer changed meanwhile; reload")
        roles.check_still(act.actor, frozenset({roles.ADMIN}))
        if act.target is None or act.target["role"] != roles.SUPER_USER:
            raise ApiError(
                409, "Whoever offered the transfer is no longer the super user; it has lapsed"
            )
        # The old super user steps down first: the database allows one at a time.
        await store.set_role(act.conn, act.target["id"], roles.ADMIN)
        await store.set_role(act.conn, act.actor["id"], roles.SUPER_USER)
        await settings.put(act.conn, settings.PENDING_TRANSFER, None)
        await audit.record(
            act.conn,
            act.actor,
            audit.TRANSFER_ACCEPTED,
            act.target["id"],
            {"from": act.target["id"], "to": act.actor["id"]},
        )
    return web.json_response(
        {"success": True, "message": "You are now the super user. Reload to see the panel."}
    )


@routes.get("/api/admin/settings")
@roles.admin
async def platform_settings(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response({"web_search_enabled": await settings.web_search_enabled(pool)})


@routes.put("/api/admin/settings/{key}")
@roles.super_user
async def put_setting(request: web.Request) -> web.Response:
    """The original's settings switch: `web_search_enabled`, the same one as
    PATCH /api/super-user/web-search."""
    key = request.match_info["key"]
    if key not in SETTING_KEYS:
        raise bad_request(f"Unknown setting key: the settings are {', '.join(SETTING_KEYS)}")
    value = (await validation.json_object(request)).get("value")
    # The original stored String(value): its front end may send "true" as well as true.
    if value not in (True, False, "true", "false") or not isinstance(value, (bool, str)):
        raise bad_request("'value' must be true or false")
    enabled = value in (True, "true")
    await switch_web_search(request, enabled)
    return web.json_response({"success": True, "key": key, "value": str(enabled).lower()})


@routes.get("/api/admin/usage/stats")
@roles.admin
async def usage_stats(request: web.Request) -> web.Response:
    days = read.int_query(request, "days", 30, 1, 366)
    top = read.int_query(request, "top", 10, 1, 100)
    pool = await pool_of(request)
    result = await usage.stats(pool, days, top)
    limits = request.app[SETTINGS].rate_limits
    for user in result["top_users"]:
        user["limit"] = limits.for_tier(user["tier"])
    stats = result["stats"]
    seen = stats["total_requests_24h"] + stats["blocked_requests_24h"]
    stats["top_endpoint"] = {"endpoint": RATE_LIMITED_ENDPOINT, "count": seen} if seen else None
    return web.json_response(result)


TIER = {"enum": list(usage.TIERS)}
BLOCK_RESULT = obj(
    ["success", "status", "expiresAt"],
    success={"const": True},
    status={"enum": ["active", "blocked"]},
    expiresAt=NULLABLE_TIME,
)
SELF_DEMOTE_ROLE = "Role: admin (403 for plain users; 400 for the super user). "
TRANSFER_ROLE = "Role: admin (403 for anyone else, the super user included). "

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/admin/dashboard": {
        "get": operation(
            "Dashboard figures",
            "Active users signed in (the front end's GET /protected after a sign-in) in the "
            "last day (daily), 7 days (weekly) or 30 days (monthly), as in the original. "
            "`chat_requests_today` counts allowed chat requests since 00:00 UTC; `messages` "
            "excludes deleted ones.",
            obj(
                ["metrics", "health"],
                metrics=obj(
                    ["total_users", "active_users", "sessions", "messages"],
                    total_users=INT,
                    active_users=obj(
                        ["daily", "weekly", "monthly"], daily=INT, weekly=INT, monthly=INT
                    ),
                    sessions=INT,
                    messages=INT,
                    chat_requests_today=INT,
                    users_by_tier=obj(**{t: INT for t in usage.TIERS}),
                    blocked_users=INT,
                    banned_users=INT,
                ),
                health=obj(
                    ["database", "api", "uptime"],
                    database={"const": "healthy"},
                    api={"const": "healthy"},
                    uptime={"type": "number"},
                ),
            ),
            role=ADMIN_ROLE,
        )
    },
    "/api/admin/users/search/{query}": {
        "get": operation(
            "Find users by uid, email or name",
            "An exact uid comes first, then users whose email or name contains the text "
            "(case-insensitive), by email. A block whose time has passed shows as `active`; "
            "`last_login` is the last sign-in.",
            USER_LIST,
            role=ADMIN_ROLE,
            path=("query",),
            query=PAGE,
        )
    },
    "/api/admin/users/blocked": {
        "get": operation(
            "Users blocked now",
            "Soonest `block_expires_at` first; blocks without an end (null) last.",
            USER_LIST,
            role=ADMIN_ROLE,
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
            role=ADMIN_ROLE,
            body=obj(["duration"], duration={"enum": [*store.DURATIONS, None]}),
            path=("id",),
            errors=(409,),
        )
    },
    "/api/admin/user/{id}/tier": {
        "patch": operation(
            "Set a user's tier",
            "The new tier's chat limit applies from the user's next chat request. Admins set "
            "plain users' tiers only (403 for their own, another admin's or the super "
            "user's); the super user sets anyone's, their own included. Audited as "
            "TIER_CHANGED.",
            obj(
                ["success", "id", "tier", "previous_tier"],
                success={"const": True},
                id={"type": "string"},
                tier=TIER,
                previous_tier=TIER,
            ),
            role=ADMIN_ROLE,
            body=obj(["tier"], tier=TIER),
            path=("id",),
        )
    },
    "/api/admin/suggest-role": {
        "post": operation(
            "Suggest (admin) or make (super user) a role change",
            "`suggestedRole` is `admin` or `user` (promotion or demotion); `super_user` is "
            "refused (400): the super user hands the role over with a transfer. An admin's "
            "suggestion waits for the super user (`/api/super-user/promotion-requests`, "
            "promotions and demotions alike; 409 while one is pending for that user); the "
            "super user's applies at once. Not for oneself (400). Audited as ROLE_SUGGESTED "
            "/ ROLE_CHANGED.",
            SUCCESS_MESSAGE,
            role=ADMIN_ROLE,
            body=obj(
                ["userId", "suggestedRole"],
                userId={"type": "string"},
                suggestedRole={"enum": list(roles.GRANTABLE)},
                reason={"type": ["string", "null"], "maxLength": read.MAX_REASON},
            ),
            errors=(404, 409),
        )
    },
    "/api/admin/self-demote": {
        "post": operation(
            "Step down from admin to user",
            "Applies at once (the admin routes answer 403 from the next request). Audited as "
            "SELF_DEMOTED.",
            SUCCESS_MESSAGE,
            role=SELF_DEMOTE_ROLE,
            errors=(400,),
        )
    },
    "/api/admin/transfer/accept": {
        "post": operation(
            "Accept the super-user role the super user offered you",
            "Only the admin named by POST /api/super-user/transfer/initiate (403 for anyone "
            "else, or when nothing is pending). The super user becomes an admin and the "
            "caller the super user, in one transaction; 409 if the super user changed since. "
            "Audited as TRANSFER_ACCEPTED (target: the previous super user).",
            SUCCESS_MESSAGE,
            role=TRANSFER_ROLE,
            errors=(409,),
        )
    },
    "/api/admin/settings": {
        "get": operation(
            "Platform settings",
            "`web_search_enabled`: whether chat may search the web (on unless switched off).",
            obj(["web_search_enabled"], web_search_enabled={"type": "boolean"}),
            role=ADMIN_ROLE,
        )
    },
    "/api/admin/settings/{key}": {
        "put": operation(
            "Change a platform setting",
            "`key`: `web_search_enabled` (400 for any other); `value`: true or false (or "
            '"true" / "false"). The same switch as PATCH /api/super-user/web-search; audited '
            "as WEB_SEARCH_CHANGED. Answers the value as the string `true` or `false`.",
            obj(
                ["success", "key", "value"],
                success={"const": True},
                key={"const": settings.WEB_SEARCH_ENABLED},
                value={"enum": ["true", "false"]},
            ),
            role=SUPER_ROLE,
            body=obj(["value"], value={"enum": [True, False, "true", "false"]}),
            path=("key",),
        )
    },
    "/api/admin/usage/stats": {
        "get": operation(
            "Chat usage",
            "From the usage record the rate limiter writes on every chat request. `stats`: "
            "allowed (`total_requests_24h`) and refused (`blocked_requests_24h`, the 429s) "
            "requests in the last 24 whole UTC hours, and since 00:00 UTC; `top_endpoint` is "
            "the most requested rate-limited endpoint in that time with its requests (the "
            "chat: the only one), null when there were none. `per_day` (UTC days, oldest "
            "first, zeros included) and `per_tier` (the tier at request time) cover the last "
            "`days` days. `top_users`: the heaviest users of their current 24 h window; here "
            "`rate_limit_reset_at` is when that window ENDS, and `limit` their tier's "
            "allowance.",
            obj(
                ["stats", "per_day", "per_tier", "top_users"],
                stats=obj(
                    ["total_requests_24h", "blocked_requests_24h", "top_endpoint"],
                    total_requests_24h=INT,
                    blocked_requests_24h=INT,
                    requests_today=INT,
                    active_users_24h=INT,
                    top_endpoint={
                        "oneOf": [
                            obj(["endpoint", "count"], endpoint={"type": "string"}, count=INT),
                            {"type": "null"},
                        ]
                    },
                ),
                per_day={
                    "type": "array",
                    "items": obj(
                        ["day", "requests", "refused"],
                        day={"type": "string", "format": "date"},
                        requests=INT,
                        refused=INT,
                    ),
                },
                per_tier={
                    "type": "array",
                    "items": obj(
                        ["tier", "requests", "refused", "users"],
                        tier=TIER,
                        requests=INT,
                        refused=INT,
                        users=INT,
                    ),
                },
                top_users={
                    "type": "array",
                    "items": obj(
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
            role=ADMIN_ROLE,
            query=(
                ("days", "days covered by per_day and per_tier (1-366)"),
                ("top", "how many top users (1-100)"),
            ),
        )
    },
}
