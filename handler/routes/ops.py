"""Unauthenticated operational checks: process, database, outbound internet.

They report what failed in words an operator can act on, never connection
strings, keys or stack traces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web

from handler.errors import ApiError
from handler.keys import HTTP, SETTINGS, STARTED_AT
from handler.routes.common import pool_of
from handler.sse import DONE, encode_data
from handler.store import server
from handler.timeutil import elapsed_ms, now_iso

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

INTERNET_TIMEOUT = aiohttp.ClientTimeout(total=8)


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    uptime = time.monotonic() - request.app[STARTED_AT]
    return web.json_response({"status": "ok", "uptime": round(uptime, 3), "timestamp": now_iso()})


def describe_db_error(exc: BaseException) -> str:
    """A safe, actionable description of a database failure."""
    import asyncpg

    if isinstance(exc, ApiError):  # the pool's own verdict (busy, refused secret), already safe
        return exc.error
    if isinstance(exc, TimeoutError):
        return "Database did not answer in time"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return "Database rejected the credentials"
    if isinstance(exc, asyncpg.PostgresError):
        return f"Database error: {type(exc).__name__}"
    if isinstance(exc, OSError):
        reason = exc.strerror or type(exc).__name__
        return f"Cannot connect to the database: {reason}"
    if isinstance(exc, RuntimeError) and "DATABASE_URL" in str(exc):
        return "Database is not configured (DATABASE_URL is unset)"
    return f"Database check failed: {type(exc).__name__}"


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _database_whereabouts(database_url: str | None) -> dict[str, bool]:
    """As the original reports them: whether DATABASE_URL is set, and whether the
    database is on this machine: a loopback host, a Unix socket (no host, or a
    `host=/path` parameter, as libpq reads them), or the embedded server when unset."""
    if not database_url:
        return {"env_db_set": False, "db_is_localhost": True}
    try:
        parts = urlsplit(database_url)
        host = parts.hostname or dict(parse_qsl(parts.query)).get("host") or "/"
    except ValueError:
        host = ""
    local = host in LOOPBACK_HOSTS or host.startswith("/")
    return {"env_db_set": True, "db_is_localhost": local}


@routes.get("/debug-db")
async def debug_db(request: web.Request) -> web.Response:
    started = time.perf_counter()
    whereabouts = _database_whereabouts(request.app[SETTINGS].database_url)
    try:
        pool = await pool_of(request)
        row = await server.status(pool)
    except Exception as exc:
        log.warning("database check failed", extra={"error_type": type(exc).__name__})
        return web.json_response(
            {
                "success": False,
                "message": "The database could not be reached",
                "error": describe_db_error(exc),
                "latency": elapsed_ms(started),
                **whereabouts,
            },
            status=500,
        )
    return web.json_response(
        {
            "success": True,
            "message": "The database answered",
            "latency": elapsed_ms(started),
            "version": row["version"],
            "time_on_db": row["time_on_db"].isoformat(),
            **whereabouts,
        }
    )


@routes.get("/debug-internet")
async def debug_internet(request: web.Request) -> web.Response:
    started = time.perf_counter()
    url = request.app[SETTINGS].firebase_certs_url
    try:
        async with request.app[HTTP].get(url, timeout=INTERNET_TIMEOUT) as resp:
            if resp.status != 200:
                raise ValueError(f"certificate endpoint answered HTTP {resp.status}")
            keys = await resp.json(content_type=None)
        if not isinstance(keys, dict):
            raise ValueError("certificate endpoint did not return a JSON object")
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
        log.warning("internet check failed", extra={"error": message})
        return web.json_response(
            {
                "success": False,
                "error": f"Cannot fetch Firebase certificates: {message}",
                "latency": elapsed_ms(started),
            },
            status=500,
        )
    return web.json_response(
        {"success": True, "latency": elapsed_ms(started), "keys_count": len(keys)}
    )


STREAM_EVENTS = 5
STREAM_INTERVAL = 0.3  # seconds; five events stay well under the 2 s bound


@routes.get("/debug-stream")
async def debug_stream(request: web.Request) -> web.StreamResponse:
    """A few timed events, so an operator can see streaming work without a token.

    Each event says when it was sent; a client that receives them all at once
    is behind a buffering hop (a BUFFERED Function URL, a proxy).
    """
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    started = time.monotonic()
    for seq in range(STREAM_EVENTS):
        if seq:
            await asyncio.sleep(STREAM_INTERVAL)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        event = {"seq": seq, "of": STREAM_EVENTS, "elapsed_ms": elapsed_ms}
        await response.write(encode_data(json.dumps(event)))
    await response.write(encode_data(DONE))
    return response
