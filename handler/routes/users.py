"""The signed-in user: sign-in confirmation, profile, memories, history and account."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import validation
from handler.errors import not_found
from handler.keys import CHAT, USER
from handler.routes.common import blocked_by_platform, forget_vectors, limit_exceeded, pool_of
from handler.store import memories, sessions, users
from handler.timeutil import now_iso

routes = web.RouteTableDef()

# The front end's text areas allow 16,000 characters.
MAX_INSTRUCTIONS = 16_000


@routes.get("/protected")
async def protected(request: web.Request) -> web.Response:
    """The front end's sign-in confirmation: the user row is created or refreshed by now."""
    user = request[USER]
    pool = await pool_of(request)
    return web.json_response(
        {
            "message": "Signed in",
            # What the verified token said, as stored on this request.
            "user": {"uid": user.id, "email": user.email, "name": user.name},
            "dbUser": await _full_profile(pool, user.id),
        }
    )


async def _full_profile(pool: Any, user_id: str) -> dict[str, Any]:
    profile = await users.profile(pool, user_id)
    return {
        **profile,
        # The original's per-user grants (JSON); ours come from the role alone.
        "permissions": {},
        # Before the first chat no window is open: one would start now (the front
        # end adds the 24 hours for its usage banner).
        "rate_limit_reset_at": profile["rate_limit_reset_at"] or now_iso(),
    }


@routes.get("/api/user/profile")
async def get_profile(request: web.Request) -> web.Response:
    profile = await users.profile(await pool_of(request), request[USER].id)
    return web.json_response(
        {
            "global_instructions": profile["global_instructions"] or "",
            # The operators' dashboard reads the caller's role from here.
            "user": {k: profile[k] for k in ("id", "role", "tier", "status")},
        }
    )


@routes.get("/api/user/profile/full")
async def get_full_profile(request: web.Request) -> web.Response:
    return web.json_response(await _full_profile(await pool_of(request), request[USER].id))


@routes.patch("/api/user/profile")
async def patch_profile(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    value = validation.instructions(
        validation.text(
            body,
            "global_instructions",
            max_length=MAX_INSTRUCTIONS,
            nullable=True,
            allow_empty=True,
        )
    )
    await users.set_global_instructions(await pool_of(request), request[USER].id, value)
    return web.json_response({"success": True, "global_instructions": value})


@routes.get("/api/user/memories")
async def list_memories(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response(await memories.list_for(pool, request[USER].id))


@routes.post("/api/user/memories")
async def add_memory(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    content = validation.text(body, "content", max_length=memories.MAX_CONTENT).strip()
    pool = await pool_of(request)
    memory = await memories.add(pool, request[USER].id, content)
    if memory is None:
        return limit_exceeded()
    if memory == memories.BLOCKED_BY_SGC:
        return blocked_by_platform(content)
    return web.json_response(memory, status=201)


@routes.patch("/api/user/memories/{id}/archive")
async def archive_memory(request: web.Request) -> web.Response:
    """Forget an active memory, or reject a suggestion."""
    memory_id = validation.path_uuid(request, "id", "memory")
    pool = await pool_of(request)
    memory = await memories.archive(pool, request[USER].id, memory_id)
    if memory is None:
        raise not_found("Memory")
    return web.json_response({"success": True, **memory})


@routes.patch("/api/user/memories/{id}/promote")
async def promote_memory(request: web.Request) -> web.Response:
    """Approve a suggestion (or bring back an archived memory): it becomes ACTIVE."""
    memory_id = validation.path_uuid(request, "id", "memory")
    pool = await pool_of(request)
    memory = await memories.promote(pool, request[USER].id, memory_id)
    if memory is None:
        raise not_found("Memory")
    if memory == memories.LIMIT_EXCEEDED:
        return limit_exceeded()
    return web.json_response(memory)


@routes.delete("/api/user/history")
async def delete_history(request: web.Request) -> web.Response:
    user_id = request[USER].id
    pool = await pool_of(request)
    # The user's row stays locked from before the index is cleared until the sessions
    # are gone, so that no summary written in the background can come back.
    async with sessions.deleting(pool, user_id) as connection:
        await forget_vectors(request.app[CHAT].index.delete_user(user_id))
        deleted = await sessions.delete_all(connection or pool, user_id)
    return web.json_response({"success": True, "deleted_sessions": deleted})


@routes.delete("/api/user/account")
async def delete_account(request: web.Request) -> web.Response:
    user_id = request[USER].id
    pool = await pool_of(request)
    async with sessions.deleting(pool, user_id) as connection:  # as delete_history
        await forget_vectors(request.app[CHAT].index.delete_user(user_id))
        await users.delete_account(connection or pool, user_id)
    return web.json_response({"success": True})
