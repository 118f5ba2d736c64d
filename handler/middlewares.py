"""Cross-cutting request handling: access log and metrics, CORS, body limit, JSON errors."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from handler.db.errors import DatabaseBusy, DatabaseUnavailable
from handler.errors import ApiError, json_error
from handler.keys import REQUEST_ID, RESPONSE_STARTED, SETTINGS
from handler.metrics import METRICS, RECEIVED_AT, Metric, Metrics, route_of

log = logging.getLogger("handler.access")
cors_log = logging.getLogger("handler.cors")

CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Content-Type, Authorization, X-Requested-With"
CORS_MAX_AGE = "600"

_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
}

# Origins already named in a warning. Bounded: arbitrary Origin headers must not
# grow memory or the log; past the bound, refusals are no longer logged.
REFUSED_ORIGINS = web.AppKey("refused_origins", set[str])
MAX_REFUSED_ORIGINS = 256


def install(app: web.Application) -> None:
    """The state these middlewares keep: the metrics writer, origins warned about."""
    app[METRICS] = Metrics.from_settings(app[SETTINGS])
    app[REFUSED_ORIGINS] = set()


@web.middleware
async def access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One JSON line per request; never headers, tokens or bodies."""
    if REQUEST_ID not in request:
        request[REQUEST_ID] = uuid.uuid4().hex
    started = request[RECEIVED_AT] = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers["X-Request-Id"] = request[REQUEST_ID]
        return response
    except asyncio.CancelledError:
        status = 499  # the client went away
        raise
    finally:
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request[REQUEST_ID],
            },
        )
        _count(request, status)


def _count(request: web.Request, status: int) -> None:
    """Requests per service; 4xx and 5xx per route as well. A client that went
    away (499) is neither: closing a tab mid-answer is not an error."""
    errors = {}
    if status >= 500:
        errors["ServerErrors"] = Metric(1)
    elif 400 <= status < 499:
        errors["ClientErrors"] = Metric(1)
    request.app[METRICS].emit(
        {"Requests": Metric(1)},
        route=route_of(request),
        by_route=errors,
        method=request.method,
        status=status,
        request_id=request[REQUEST_ID],
    )


@web.middleware
async def preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer CORS preflights for listed origins; the app, not AWS, decides them."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin is None:
        return json_error(403, "A CORS preflight needs an Origin header")
    if origin not in request.app[SETTINGS].cors_origins:
        _warn_once(request, origin, "CORS preflight refused")
        return json_error(
            403,
            f"Origin {origin!r} is not allowed: the server's CORS_ORIGINS does not list it",
            origin=origin,
        )
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
        },
    )


async def cors_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: allow listed origins on EVERY response, with credentials.

    A browser hides any response without these headers from the page, a
    streamed chat included; the signal runs for responses prepared by a
    handler (streams), by a middleware, or by aiohttp itself, so no route can
    forget them.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if "Origin" not in response.headers.getall("Vary", []):
        response.headers.add("Vary", "Origin")
    if origin in request.app[SETTINGS].cors_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    else:
        _warn_once(request, origin, "a browser will hide this response from its page")


def _warn_once(request: web.BaseRequest, origin: str, consequence: str) -> None:
    """One warning per refused origin, naming it and the setting that would allow it."""
    seen = request.app[REFUSED_ORIGINS]
    if origin in seen or len(seen) >= MAX_REFUSED_ORIGINS:
        return
    seen.add(origin)
    cors_log.warning(
        f"origin not in CORS_ORIGINS: {consequence} (warned once per origin)",
        extra={"origin": origin, "cors_origins": ",".join(request.app[SETTINGS].cors_origins)},
    )


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes the contract's `{"error": ...}` JSON, without internals.

    Once a response has started (a stream), it is too late for another one:
    the failure is re-raised to whoever sent the first bytes (the server
    drops the connection; the Lambda runtime reports it in the trailers).
    """
    limit = request.app[SETTINGS].max_body_bytes
    try:
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(limit, request.content_length)
        return await handler(request)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        if request.get(RESPONSE_STARTED):
            raise
        if isinstance(exc, ApiError):
            if isinstance(exc, DatabaseUnavailable | DatabaseBusy):
                request.app[METRICS].emit(
                    {"DatabaseRefusals": Metric(1)},
                    reason=type(exc).__name__,
                    request_id=request.get(REQUEST_ID),
                )
            return exc.response()
        if isinstance(exc, web.HTTPException) and exc.status >= 400:
            message = _MESSAGES.get(exc.status, exc.reason)
            if exc.status == 413:
                message = f"Request body too large (limit {limit} bytes)"
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            return json_error(exc.status, message, headers=headers)
        if isinstance(exc, web.HTTPException):
            raise
        log.exception("unhandled error", extra={"request_id": request.get(REQUEST_ID)})
        return json_error(500, "Internal server error")


async def mark_started(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: remember that this request's response has begun."""
    request[RESPONSE_STARTED] = True
