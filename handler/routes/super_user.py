"""/api/super-user/: the super-user panel's routes (role super_user only).

Paths and fields are the original front end's (SuperUserPanel.tsx) and the
original backend's (routes/superUser.js), plus the web search switch and the
audit log. A super user is made only by the transfer (initiated here, accepted
by the chosen admin at /api/admin/transfer/accept) or on the command line
(`python -m handler admin grant super_user UID`). OPENAPI_PATHS describes each
operation for /openapi.json.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import roles, validation
from handler.chat.prompt import DEFAULT_PLATFORM_INSTRUCTIONS
from handler.errors import bad_request, not_found
from handler.keys import USER
from handler.routes import operator_input as read
from handler.routes.common import pool_of
from handler.routes.operator_changes import acting, apply_role, changing, switch_web_search
from handler.routes.operator_schema import (
    NULLABLE_TIME,
    OPERATOR_USER,
    PAGE,
    SUCCESS_MESSAGE,
    SUPER_ROLE,
    USER_LIST,
    operation,
)
from handler.routes.schema import obj
from handler.store import admin as store
from handler.store import audit, settings
from handler.timeutil import iso

routes = web.RouteTableDef()

MAX_INSTRUCTIONS = 16_000  # as the user's own instructions


@routes.get("/api/super-user/admins")
@roles.super_user
async def admins(request: web.Request) -> web.Response:
    return web.json_response(await store.staff(await pool_of(request)))


@routes.get("/api/super-user/promotion-requests")
@roles.super_user
async def promotion_requests(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response(await store.promotion_requests(pool))


@routes.delete("/api/super-user/promotion-request/{id}")
@roles.super_user
async def deny_promotion(request: web.Request) -> web.Response:
    """Turn down a pending role suggestion (404 when there is none)."""
    target_id = read.uid_param(request)
    async with acting(request, roles.SUPER_ONLY, target_id) as act:
        if act.target is None or act.target["suggested_role"] is None:
            raise not_found("Promotion request")
        await store.clear_suggestion(act.conn, target_id)
        await audit.record(
            act.conn,
            act.actor,
            audit.SUGGESTION_DENIED,
            target_id,
            {"suggested_role": act.target["suggested_role"]},
        )
    return web.json_response({"success": True, "message": "Promotion request denied."})


@routes.get("/api/super-user/users/search/{query}")
@roles.super_user
async def super_search(request: web.Request) -> web.Response:
    query = read.search_query(request)
    limit, offset = read.page(request)
    pool = await pool_of(request)
    return web.json_response(await store.search(pool, query, limit, offset))


@routes.patch("/api/super-user/user/{id}/role")
@roles.super_user
async def change_role(request: web.Request) -> web.Response:
    target_id = read.uid_param(request)
    body = await validation.json_object(request)
    role = read.grantable_role(body, "role")
    why = read.reason(body)
    actor_id = request[USER].id
    roles.check_not_self(actor_id, target_id, "change the role of")
    async with changing(request, target_id, roles.SUPER_ONLY) as act:
        user = await apply_role(act, target_id, role, why)
    return web.json_response({"success": True, "user": store.view(user)})


@routes.patch("/api/super-user/user/{id}/status")
@roles.super_user
async def change_status(request: web.Request) -> web.Response:
    """`active`, `banned`, or `blocked` for a `duration` (none: until lifted)."""
    target_id = read.uid_param(request)
    body = await validation.json_object(request)
    status = body.get("status")
    if status not in store.STATUSES:
        raise bad_request(f"'status' must be one of {', '.join(store.STATUSES)}")
    length = read.duration(body, allow_missing=True)
    if length is not None and status != "blocked":
        raise bad_request("'duration' applies only to status blocked")
    why = read.reason(body)
    actor_id = request[USER].id
    roles.check_not_self(actor_id, target_id, "change the status of")
    async with changing(request, target_id, roles.SUPER_ONLY) as act:
        roles.check_may_manage(act.actor, act.target, "change the status of")
        row = await store.set_status(act.conn, target_id, status, store.DURATIONS.get(length or ""))
        await audit.record(
            act.conn,
            act.actor,
            audit.STATUS_CHANGED,
            target_id,
            {
                "from": act.target["status"],
                "to": status,
                "duration": length,
                "until": iso(row["blocked_until"]),
                "previous_until": iso(act.target["blocked_until"]),
                "reason": why,
            },
        )
    return web.json_response(
        {"success": True, "status": row["status"], "expiresAt": iso(row["blocked_until"])}
    )


@routes.post("/api/super-user/transfer/initiate")
@roles.super_user
async def initiate_transfer(request: web.Request) -> web.Response:
    """Offer the role to an admin; it changes hands when they accept. A new offer
    replaces the pending one."""
    body = await validation.json_object(request)
    target_id = read.uid(body.get("targetAdminId"), "'targetAdminId'")
    async with acting(request, roles.SUPER_ONLY, target_id) as act:
        if act.target is None or act.target["role"] != roles.ADMIN:
            raise bad_request("The transfer's target must be an existing admin")
        stored = await settings.locked_value(act.conn, settings.PENDING_TRANSFER)
        previous = settings.decode_offer(stored)
        offer = settings.TransferOffer(offered_by=act.actor["id"], to=target_id)
        await settings.put(act.conn, settings.PENDING_TRANSFER, settings.encode_offer(offer))
        await audit.record(
            act.conn,
            act.actor,
            audit.TRANSFER_INITIATED,
            target_id,
            {"replaces": previous.to if previous else None},
        )
    email = act.target["email"] or target_id
    return web.json_response(
        {
            "success": True,
            "message": f"Transfer initiated: {email} must now accept it "
            "(POST /api/admin/transfer/accept).",
        }
    )


@routes.get("/api/super-user/global-context")
@roles.super_user
async def get_platform_instructions(request: web.Request) -> web.Response:
    row = await settings.value(await pool_of(request), settings.PLATFORM_INSTRUCTIONS)
    return web.json_response(
        {
            "content": row["value"] if row else "",
            "is_default": row is None,
            "default": DEFAULT_PLATFORM_INSTRUCTIONS,
            "updated_at": iso(row["updated_at"]) if row else None,
        }
    )


@routes.post("/api/super-user/global-context")
@roles.super_user
async def set_platform_instructions(request: web.Request) -> web.Response:
    """The instructions every answer starts from; empty or null restores the default."""
    body = await validation.json_object(request)
    content = validation.text(
        body, "content", max_length=MAX_INSTRUCTIONS, nullable=True, allow_empty=True
    )
    stored = content if content and content.strip() else None
    async with acting(request, roles.SUPER_ONLY) as act:
        previous = await settings.locked_value(act.conn, settings.PLATFORM_INSTRUCTIONS)
        await settings.put(act.conn, settings.PLATFORM_INSTRUCTIONS, stored)
        await audit.record(
            act.conn,
            act.actor,
            audit.PLATFORM_INSTRUCTIONS_CHANGED,
            None,
            {"from": previous, "to": stored},
        )
    return web.json_response(
        {"success": True, "content": stored or "", "is_default": stored is None}
    )


@routes.get("/api/super-user/web-search")
@roles.super_user
async def get_web_search(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response({"enabled": await settings.web_search_enabled(pool)})


@routes.patch("/api/super-user/web-search")
@roles.super_user
async def set_web_search(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    enabled = validation.boolean(body, "enabled")
    await switch_web_search(request, enabled)
    return web.json_response({"success": True, "enabled": enabled})


@routes.get("/api/super-user/audit-log")
@roles.super_user
async def audit_log(request: web.Request) -> web.Response:
    """Newest first; pass the last entry's id as `before` for the next page."""
    limit = read.int_query(request, "limit", 50, 1, 500)
    before = read.int_query(request, "before", 0, 1, 2**63 - 1) or None
    action = request.query.get("action")
    if action is not None and action not in audit.ACTIONS:
        raise bad_request(f"'action' must be one of {', '.join(audit.ACTIONS)}")
    actor, target = (read.optional_uid_query(request, name) for name in ("actor", "target"))
    entries = await audit.entries(
        await pool_of(request),
        limit=limit,
        before=before,
        actor=actor,
        target=target,
        action=action,
    )
    more = len(entries) == limit
    return web.json_response(
        {"entries": entries, "next_before": entries[-1]["id"] if more else None}
    )


STATUS_RESULT = obj(
    ["success", "status", "expiresAt"],
    success={"const": True},
    status={"enum": list(store.STATUSES)},
    expiresAt=NULLABLE_TIME,
)
INSTRUCTIONS = {"type": ["string", "null"], "maxLength": MAX_INSTRUCTIONS}
AUDIT_ENTRY = obj(
    ["id", "actor_id", "actor_role", "target_id", "action", "details", "created_at"],
    id={"type": "integer"},
    actor_id={"type": ["string", "null"]},
    actor_role={"enum": [*roles.ROLES, audit.OPERATOR]},
    actor_email={"type": ["string", "null"]},
    target_id={"type": ["string", "null"]},
    target_email={"type": ["string", "null"]},
    action={"enum": list(audit.ACTIONS)},
    details={"type": "object"},
    created_at={"type": "string", "format": "date-time"},
)

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/super-user/admins": {
        "get": operation(
            "The super user and the admins", "The super user first.", USER_LIST, role=SUPER_ROLE
        )
    },
    "/api/super-user/promotion-requests": {
        "get": operation(
            "Pending role suggestions",
            "Promotions (`suggested_role` admin) and demotions (`user`) alike, oldest first, "
            "with `suggestion_reason` and `suggested_by` (the admin). Each holds further "
            "suggestions for that user back until it is settled: approved with "
            "PATCH /api/super-user/user/{id}/role, or denied.",
            USER_LIST,
            role=SUPER_ROLE,
        )
    },
    "/api/super-user/promotion-request/{id}": {
        "delete": operation(
            "Deny a pending role suggestion",
            "404 when the user has none. Audited as SUGGESTION_DENIED.",
            SUCCESS_MESSAGE,
            role=SUPER_ROLE,
            path=("id",),
        )
    },
    "/api/super-user/users/search/{query}": {
        "get": operation(
            "Find users by uid, email or name",
            "As /api/admin/users/search/{query}, with `last_login` (the last sign-in).",
            USER_LIST,
            role=SUPER_ROLE,
            path=("query",),
            query=PAGE,
        )
    },
    "/api/super-user/user/{id}/role": {
        "patch": operation(
            "Change a user's role",
            "`role` is `admin` or `user`; `super_user` is refused (400): the super user hands "
            "the role over with a transfer (or an operator with `python -m handler admin "
            "grant super_user UID`). Not for oneself (400). "
            "Settles any pending suggestion. Audited as ROLE_CHANGED.",
            obj(["success", "user"], success={"const": True}, user=OPERATOR_USER),
            role=SUPER_ROLE,
            body=obj(
                ["role"],
                role={"enum": list(roles.GRANTABLE)},
                reason={"type": ["string", "null"], "maxLength": 1000},
            ),
            path=("id",),
        )
    },
    "/api/super-user/user/{id}/status": {
        "patch": operation(
            "Set a user's status: active, blocked or banned",
            "`duration` (`24h`, `1w`, `1m`, `3m`, `forever`) only with `blocked`; without it "
            "the block lasts until lifted. The user is refused (403) from their next request "
            "on. Not for oneself (400). Audited as STATUS_CHANGED.",
            STATUS_RESULT,
            role=SUPER_ROLE,
            body=obj(
                ["status"],
                status={"enum": list(store.STATUSES)},
                duration={"enum": [*store.DURATIONS, None]},
                reason={"type": ["string", "null"], "maxLength": 1000},
            ),
            path=("id",),
        )
    },
    "/api/super-user/transfer/initiate": {
        "post": operation(
            "Offer the super-user role to an admin",
            "`targetAdminId`: an existing admin (400 otherwise). Nothing changes until that "
            "admin accepts (POST /api/admin/transfer/accept); a new offer replaces a pending "
            "one. Audited as TRANSFER_INITIATED.",
            SUCCESS_MESSAGE,
            role=SUPER_ROLE,
            body=obj(["targetAdminId"], targetAdminId={"type": "string"}),
        )
    },
    "/api/super-user/global-context": {
        "get": operation(
            "The platform-wide instructions",
            "Every answer's prompt starts with them. `content` is what is stored (empty when "
            "the built-in `default` applies).",
            obj(
                ["content", "is_default", "default", "updated_at"],
                content={"type": "string"},
                is_default={"type": "boolean"},
                default={"type": "string"},
                updated_at=NULLABLE_TIME,
            ),
            role=SUPER_ROLE,
        ),
        "post": operation(
            "Set the platform-wide instructions",
            "Empty or null restores the built-in default. Applies from the next chat request. "
            "Audited as PLATFORM_INSTRUCTIONS_CHANGED with the old and new text.",
            obj(
                ["success", "content", "is_default"],
                success={"const": True},
                content={"type": "string"},
                is_default={"type": "boolean"},
            ),
            role=SUPER_ROLE,
            body=obj(["content"], content=INSTRUCTIONS),
        ),
    },
    "/api/super-user/web-search": {
        "get": operation(
            "Whether web search is on for the platform",
            "On unless switched off.",
            obj(["enabled"], enabled={"type": "boolean"}),
            role=SUPER_ROLE,
        ),
        "patch": operation(
            "Switch web search on or off for the platform",
            "Audited as WEB_SEARCH_CHANGED.",
            obj(["success", "enabled"], success={"const": True}, enabled={"type": "boolean"}),
            role=SUPER_ROLE,
            body=obj(["enabled"], enabled={"type": "boolean"}),
        ),
    },
    "/api/super-user/audit-log": {
        "get": operation(
            "The audit log",
            "Every operator action, newest first: actor (null with role `operator` for "
            "the command line), target (null for platform settings), action, details, "
            "time. Filters: `actor`, `target` (uids), `action`. Next page: "
            "`before=<next_before>`.",
            obj(
                ["entries", "next_before"],
                entries={"type": "array", "items": AUDIT_ENTRY},
                next_before={"type": ["integer", "null"]},
            ),
            role=SUPER_ROLE,
            query=(("limit", "page size (1-500)"), ("before", "entries older than this id")),
            text_query=("actor", "target", "action"),
        )
    },
}
