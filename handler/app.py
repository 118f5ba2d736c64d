"""The application factory shared by `serve`, the tests and the Lambda runtime."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from handler import middlewares
from handler.db.pool import Database
from handler.keys import DATABASE, HTTP, SETTINGS, STARTED_AT
from handler.routes import ops
from handler.settings import Settings


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    """One outbound HTTP client per application, closed at shutdown."""
    app[HTTP] = aiohttp.ClientSession(raise_for_status=False)
    yield
    await app[HTTP].close()


async def _database(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[DATABASE].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[middlewares.access_log, middlewares.cors, middlewares.errors],
    )
    app[SETTINGS] = settings
    app[STARTED_AT] = time.monotonic()
    # The pool object exists from the start; it connects on first use.
    app[DATABASE] = Database(settings)
    app.cleanup_ctx.extend([_http_client, _database])
    app.add_routes(ops.routes)
    return app
