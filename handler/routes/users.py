"""The signed-in user's profile, memories, history and account."""

from __future__ import annotations

import logging

from aiohttp import web

from handler import validation
from handler.errors import ApiError, not_found
from handler.keys import CHAT, DATABASE, USER
from handler.store import sessions, users

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

MAX_INSTRUCTIONS = 10_000
MAX_MEMORY = 2_000


@routes.get("/api/user/profile")
async def get_profile(request: web.Request) -> web.Response:
    profile = await users.profile(await request.app[DATABASE].pool(), request[USER].id)
    return web.json_response({"global_instructions": profile["global_instructions"]})


@routes.get("/api/user/profile/full")
async def get_full_profile(request: web.Request) -> web.Response:
    return web.json_response(
        await users.profile(await request.app[DATABASE].pool(), request[USER].id)
    )


@routes.patch("/api/user/profile")
async def patch_profile(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    value = validation.text(
        body, "global_instructions", max_length=MAX_INSTRUCTIONS, nullable=True, allow_empty=True
    )
    await users.set_global_instructions(await request.app[DATABASE].pool(), request[USER].id, value)
    return web.json_response({"success": True, "global_instructions": value})


@routes.get("/api/user/memories")
async def list_memories(request: web.Request) -> web.Response:
    pool = await request.app[DATABASE].pool()
    return web.json_response(await users.memories(pool, request[USER].id))


@routes.post("/api/user/memories")
async def add_memory(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    content = validation.text(body, "content", max_length=MAX_MEMORY)
    pool = await request.app[DATABASE].pool()
    return web.json_response(await users.add_memory(pool, request[USER].id, content), status=201)


async def _change_memory(request: web.Request, type_: str | None, status: str) -> web.Response:
    memory_id = validation.path_uuid(request, "id", "memory")
    pool = await request.app[DATABASE].pool()
    memory = await users.change_memory(
        pool, request[USER].id, memory_id, type_=type_, status=status
    )
    if memory is None:
        raise not_found("Memory")
    return web.json_response(memory)


@routes.patch("/api/user/memories/{id}/archive")
async def archive_memory(request: web.Request) -> web.Response:
    return await _change_memory(request, None, "archived")


@routes.patch("/api/user/memories/{id}/promote")
async def promote_memory(request: web.Request) -> web.Response:
    """Make a memory long-term (and active again if it was archived)."""
    return await _change_memory(request, "long_term", "active")


@routes.delete("/api/user/history")
async def delete_history(request: web.Request) -> web.Response:
    pool = await request.app[DATABASE].pool()
    deleted = await sessions.delete_all(pool, request[USER].id)
    return web.json_response({"success": True, "deleted_sessions": deleted})


@routes.delete("/api/user/account")
async def delete_account(request: web.Request) -> web.Response:
    """Vectors first: if the index cannot be reached, nothing is deleted and the user retries."""
    user_id = request[USER].id
    try:
        await request.app[CHAT].index.delete_user(user_id)
    except Exception:
        log.exception("could not delete the user's vectors")
        raise ApiError(503, "Could not delete your data right now; try again shortly") from None
    await users.delete_account(await request.app[DATABASE].pool(), user_id)
    return web.json_response({"success": True})
