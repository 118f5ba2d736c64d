"""The answer for a memory that was not stored because the platform already states it:
one shape for every route that stores a memory (POST /api/user/memories and
POST /api/sessions/{id}/promote)."""

from __future__ import annotations

from aiohttp import web

from handler.store import memories


def blocked_by_platform(content: str) -> web.Response:
    # As the original: a 200 with nothing stored; the platform already says it.
    return web.json_response(
        {
            "id": None,
            "content": content,
            "status": memories.BLOCKED_BY_SGC,
            "message": "The platform's instructions already say this; it was not stored.",
        }
    )
