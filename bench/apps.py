"""Apps the memory benchmarks name as `_HANDLER` (apps.big_body), with bench/ on PYTHONPATH."""

from __future__ import annotations

from aiohttp import web

BODY_BYTES = 20 * 1024 * 1024


def big_body() -> web.Application:
    """GET /big answers BODY_BYTES made for the request (written in one piece, as
    aiohttp writes a Response's body); GET /small answers a few bytes."""

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * BODY_BYTES, content_type="application/octet-stream")

    async def small(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/small", small)
    return app
