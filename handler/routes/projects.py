"""Projects: folders of sessions with shared, switchable instructions."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handler import validation
from handler.errors import not_found
from handler.keys import USER
from handler.routes.common import pool_of
from handler.store import projects, sessions

routes = web.RouteTableDef()

MAX_NAME = 200
# The front end's text areas allow 16,000 characters.
MAX_INSTRUCTIONS = 16_000


@routes.get("/api/projects")
async def list_projects(request: web.Request) -> web.Response:
    pool = await pool_of(request)
    return web.json_response(await projects.list_for(pool, request[USER].id))


@routes.post("/api/projects")
async def create_project(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    name = validation.text(body, "name", max_length=MAX_NAME).strip()
    pool = await pool_of(request)
    return web.json_response(await projects.create(pool, request[USER].id, name), status=201)


@routes.get("/api/projects/{id}")
async def get_project(request: web.Request) -> web.Response:
    project_id = validation.path_uuid(request, "id", "project")
    project = await projects.get(await pool_of(request), request[USER].id, project_id)
    if project is None:
        raise not_found("Project")
    return web.json_response(project)


async def _update(request: web.Request, column: str, value: Any) -> web.Response:
    project_id = validation.path_uuid(request, "id", "project")
    pool = await pool_of(request)
    project = await projects.update(pool, request[USER].id, project_id, column, value)
    if project is None:
        raise not_found("Project")
    return web.json_response(project)


@routes.patch("/api/projects/{id}")
async def rename_project(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    name = validation.text(body, "name", max_length=MAX_NAME).strip()
    return await _update(request, "name", name)


@routes.patch("/api/projects/{id}/context")
async def set_project_context(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    instructions = validation.instructions(
        validation.text(
            body,
            "context_instructions",
            max_length=MAX_INSTRUCTIONS,
            nullable=True,
            allow_empty=True,
        )
    )
    return await _update(request, "context_instructions", instructions)


@routes.patch("/api/projects/{id}/context-toggle")
async def toggle_project_context(request: web.Request) -> web.Response:
    body = await validation.json_object(request)
    return await _update(request, "context_enabled", validation.boolean(body, "context_enabled"))


@routes.get("/api/projects/{id}/summaries")
async def project_summaries(request: web.Request) -> web.Response:
    """The project's memory: summaries of its sessions, as chat wrote them."""
    project_id = validation.path_uuid(request, "id", "project")
    pool = await pool_of(request)
    found = await sessions.project_summaries(pool, request[USER].id, project_id)
    if found is None:
        raise not_found("Project")
    return web.json_response(found)


@routes.delete("/api/projects/{id}")
async def delete_project(request: web.Request) -> web.Response:
    project_id = validation.path_uuid(request, "id", "project")
    pool = await pool_of(request)
    if not await projects.delete(pool, request[USER].id, project_id):
        raise not_found("Project")
    return web.json_response({"success": True})
