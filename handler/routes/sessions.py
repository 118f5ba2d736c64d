"""Debug sessions, their messages, and soft deletion of messages."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from handler import validation
from handler.chat.index import summary_id
from handler.errors import bad_request, not_found
from handler.keys import CHAT, USER
from handler.routes.common import blocked_by_platform, forget_vectors, limit_exceeded, pool_of
from handler.store import memories, messages, projects, sessions

routes = web.RouteTableDef()

MAX_TITLE = 200


@routes.get("/api/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response(await sessions.list_for(pool, request[USER].id))


@routes.post("/api/sessions")
async def create_session(request: web.Request) -> web.Response:
    body = await validation.json_object(request, optional=True)  # no body: no project
    project_id = validation.optional_uuid(body, "project_id")
    pool = await pool_of(request)
    session = await sessions.create(pool, request[USER].id, project_id)
    if session is None:
        raise not_found("Project")
    return web.json_response(session, status=201)


@routes.get("/api/sessions/{id}")
async def get_session(request: web.Request) -> web.Response:
    session_id = validation.path_uuid(request, "id", "session")
    pool = await pool_of(request)
    session = await sessions.get(pool, request[USER].id, session_id)
    found = await messages.list_for_session(pool, request[USER].id, session_id) if session else None
    if session is None or found is None:
        raise not_found("Session")
    return web.json_response({**session, "messages": found})


@routes.get("/api/sessions/{id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    session_id = validation.path_uuid(request, "id", "session")
    found = await messages.list_for_session(await pool_of(request), request[USER].id, session_id)
    if found is None:
        raise not_found("Session")
    return web.json_response(found)


@routes.patch("/api/sessions/{id}")
async def update_session(request: web.Request) -> web.Response:
    session_id = validation.path_uuid(request, "id", "session")
    body = await validation.json_object(request)
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = validation.text(body, "title", max_length=MAX_TITLE).strip()
    if "pinned" in body:
        changes["pinned"] = validation.boolean(body, "pinned")
    if "project_id" in body:
        changes["project_id"] = validation.optional_uuid(body, "project_id")
    if not changes:
        raise bad_request("Give at least one of 'title', 'pinned', 'project_id'")
    pool = await pool_of(request)
    user_id = request[USER].id
    if changes.get("project_id") and not await projects.get(pool, user_id, changes["project_id"]):
        raise not_found("Project")
    session = await sessions.update(pool, user_id, session_id, changes)
    if session is None:
        raise not_found("Session")
    return web.json_response(session)


async def _forget_indexed_summary(request: web.Request, session_id: uuid.UUID) -> None:
    """The caller's session (404 otherwise), its summary gone from the vector index."""
    if await sessions.get(await pool_of(request), request[USER].id, session_id) is None:
        raise not_found("Session")
    await forget_vectors(request.app[CHAT].index.delete([summary_id(session_id)]))


@routes.delete("/api/sessions/{id}")
async def delete_session(request: web.Request) -> web.Response:
    session_id = validation.path_uuid(request, "id", "session")
    user_id = request[USER].id
    # The row stays locked from before its summary leaves the index until it is gone, so
    # that a summary written in the background cannot come back (store/sessions.py).
    async with sessions.deleting(await pool_of(request), user_id, session_id) as connection:
        if connection is None:
            raise not_found("Session")
        await forget_vectors(request.app[CHAT].index.delete([summary_id(session_id)]))
        await sessions.delete(connection, user_id, session_id)
    return web.json_response({"success": True})


@routes.delete("/api/sessions/{id}/summary")
async def forget_summary(request: web.Request) -> web.Response:
    """Forget the session's summary: out of the project memory and the index."""
    session_id = validation.path_uuid(request, "id", "session")
    await _forget_indexed_summary(request, session_id)
    await sessions.forget_summary(await pool_of(request), request[USER].id, session_id)
    return web.json_response({"success": True})


@routes.post("/api/sessions/{id}/promote")
async def promote_summary(request: web.Request) -> web.Response:
    """Copy the session's summary into the user's memory ledger, as an active memory."""
    session_id = validation.path_uuid(request, "id", "session")
    pool = await pool_of(request)
    found, summary = await sessions.summary(pool, request[USER].id, session_id)
    if not found:
        raise not_found("Session")
    if not summary:
        raise bad_request("This session has no summary yet")
    content = summary[: memories.MAX_CONTENT]
    memory = await memories.add(pool, request[USER].id, content)
    if memory is None:
        return limit_exceeded()
    if memory == memories.BLOCKED_BY_SGC:
        return blocked_by_platform(content)
    return web.json_response({"success": True, "memory": memory})


async def _set_deleted(request: web.Request, deleted: bool) -> web.Response:
    message_id = validation.path_uuid(request, "id", "message")
    pool = await pool_of(request)
    message = await messages.set_deleted(pool, request[USER].id, message_id, deleted)
    if message is None:
        raise not_found("Message")
    return web.json_response({"success": True, "message": message})


@routes.delete("/api/messages/{id}")
async def delete_message(request: web.Request) -> web.Response:
    return await _set_deleted(request, True)


@routes.post("/api/messages/{id}/restore")
async def restore_message(request: web.Request) -> web.Response:
    return await _set_deleted(request, False)
