"""The real app plus routes that exercise the Lambda runtime's edge cases.

The emulated function serves it through _HANDLER=tests.lambda_app.create_app.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time

from aiohttp import web

from handler.app import lambda_app
from handler.lambda_runtime.contract import AFTER_INVOKE

# While on, an after-invoke hook raises after every invocation (GET /test/hooks-fail?on=1).
HOOKS_FAIL = web.AppKey("hooks_fail", dict)


@web.middleware
async def raise_before_anything(request: web.Request, handler):
    # Outermost, so the failure escapes every middleware of ours, as a crash would.
    if request.path == "/test/raise-before":
        raise RuntimeError("failed before the first byte")
    return await handler(request)


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "query_string": request.query_string,
            "query": [[k, v] for k, v in request.query.items()],
            "cookies": dict(request.cookies),
            "cookie_header": request.headers.getall("Cookie", []),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body_b64": base64.b64encode(body).decode(),
            "content_length": request.content_length,
            "remote": request.remote,
            "scheme": request.scheme,
            "host": request.host,
            "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        }
    )


async def cookies(request: web.Request) -> web.Response:
    response = web.json_response({"ok": True})
    response.set_cookie("a", "1", httponly=True)
    response.set_cookie("b", "2", secure=True)
    response.headers.add("X-Multi", "one")
    response.headers.add("X-Multi", "two")
    return response


async def binary(request: web.Request) -> web.Response:
    return web.Response(body=bytes(range(256)), content_type="application/octet-stream")


async def empty(request: web.Request) -> web.Response:
    return web.Response(status=200, body=b"", content_type="text/plain")


async def raise_after(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    await response.write(b"partial ")
    raise RuntimeError("failed after the first byte")


async def raise_after_prepare(request: web.Request) -> web.StreamResponse:
    # prepare() starts sending the headers in a task of the writer's; the failure comes
    # before that task has run.
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await response.prepare(request)
    raise RuntimeError("failed right after the headers")


async def ticks(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(int(request.query.get("n", "5"))):
        await asyncio.sleep(float(request.query.get("gap", "0.2")))
        # The send time (one clock for every process) lets the test order events.
        await response.write(f"data: {i} {time.monotonic()}\n\n".encode())
    return response


async def hooks_fail(request: web.Request) -> web.Response:
    request.app[HOOKS_FAIL]["on"] = request.query.get("on") == "1"
    return web.json_response({"on": request.app[HOOKS_FAIL]["on"]})


def failing_hook(app: web.Application):
    async def hook(seconds: float) -> None:
        if app[HOOKS_FAIL]["on"]:
            raise RuntimeError("after-invoke hook failed on purpose")

    return hook


def create_app() -> web.Application:
    app = lambda_app()
    app.middlewares.insert(0, raise_before_anything)
    app.router.add_route("*", "/test/echo", echo)
    app.router.add_get("/test/cookies", cookies)
    app.router.add_get("/test/binary", binary)
    app.router.add_get("/test/empty", empty)
    app.router.add_get("/test/raise-after", raise_after)
    app.router.add_get("/test/ticks", ticks)
    app.router.add_get("/test/raise-after-prepare", raise_after_prepare)
    app.router.add_get("/test/hooks-fail", hooks_fail)
    app[HOOKS_FAIL] = {"on": False}
    app[AFTER_INVOKE].insert(0, failing_hook(app))  # before the background drain
    return app
