"""From a payload-v2.0 event (Function URL or HTTP API) to an aiohttp request.

The request goes through aiohttp's own handling (middlewares, routing,
`allow_head`), exactly like one that arrived on a socket.

A management event, `{"debugflow": {...}}` sent by `aws lambda invoke` (an
IAM-authorised call on the function itself), becomes a POST of that object to
MANAGEMENT_PATH whose request state carries MANAGEMENT. Nothing else can set
request state: not a Function URL event (its shape is AWS's, and it is always
read as HTTP), not a request on a socket. The app decides what the path does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.base_protocol import BaseProtocol
from aiohttp.http import HttpVersion11, RawRequestMessage
from aiohttp.streams import StreamReader
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from handler.lambda_runtime.contract import DEADLINE_MS, REQUEST_ID

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

MANAGEMENT_KEY = "debugflow"
MANAGEMENT_PATH = "/internal/manage"
# Set only on the requests built from management events.
MANAGEMENT = web.RequestKey("management", bool)


class NotAnHttpEvent(ValueError):
    """The event is not a payload-v2.0 HTTP event."""


class _EventProtocol(BaseProtocol):
    """Stands where the socket's protocol would; there is no transport."""

    max_field_size = 8190
    max_headers = 32768
    ssl_context = None  # TLS ended at the Function URL; the scheme comes from the event
    peername = None
    sockname = None


def _http_context(event: Any) -> dict[str, Any]:
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    if not isinstance(http, dict) or event.get("version") != "2.0" or "method" not in http:
        raise NotAnHttpEvent(
            "not a payload v2.0 HTTP event (Function URL or HTTP API): this function "
            "serves only HTTP requests"
        )
    return http


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise NotAnHttpEvent("the event body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise NotAnHttpEvent("the event body is not valid base64") from None
    return body.encode("utf-8")


def _management_event(event: Any) -> dict[str, Any]:
    """A payload-v2.0-shaped event carrying the management object as its JSON body."""
    return {
        "version": "2.0",
        "rawPath": MANAGEMENT_PATH,
        "headers": {"content-type": "application/json", "host": "management.invalid"},
        "requestContext": {"http": {"method": "POST", "path": MANAGEMENT_PATH}},
        "body": json.dumps(event[MANAGEMENT_KEY]),
    }


def build_request(
    event: Any,
    writer: AbstractStreamWriter,
    *,
    client_max_size: int,
    request_id: str,
    deadline_ms: int | None,
) -> web.Request:
    state: dict[Any, Any] = {REQUEST_ID: request_id}
    if deadline_ms:
        state[DEADLINE_MS] = deadline_ms
    # An HTTP event is HTTP whatever else it carries; only a non-HTTP event manages.
    if isinstance(event, dict) and MANAGEMENT_KEY in event and "requestContext" not in event:
        event = _management_event(event)
        state[MANAGEMENT] = True
    http = _http_context(event)
    method = str(http["method"]).upper()
    raw_path = event.get("rawPath") or http.get("path") or "/"
    raw_query = event.get("rawQueryString") or ""
    target = f"{raw_path}?{raw_query}" if raw_query else raw_path
    body = _body(event)

    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "content-length":
            continue  # recomputed below from the decoded body
        if name.lower() == "cookie" and event.get("cookies"):
            continue  # Function URLs repeat cookies[] here; cookies[] wins
        headers.add(name, str(value))
    if event.get("cookies"):
        headers["Cookie"] = "; ".join(event["cookies"])
    if body or method in BODY_METHODS:
        headers["Content-Length"] = str(len(body))

    loop = asyncio.get_running_loop()
    protocol = _EventProtocol(loop)
    payload = StreamReader(protocol, max(2**16, len(body) + 1), loop=loop)
    if body:
        payload.feed_data(body)
    payload.feed_eof()
    message = RawRequestMessage(
        method,
        target,
        HttpVersion11,
        CIMultiDictProxy(headers),
        tuple((k.encode(), v.encode()) for k, v in headers.items()),
        False,
        None,
        False,
        False,
        URL(target, encoded=True),
    )
    context = event.get("requestContext") or {}
    return web.Request(
        message,
        payload,
        protocol,  # type: ignore[arg-type]
        writer,
        asyncio.current_task(),  # type: ignore[arg-type]
        loop,
        client_max_size=client_max_size,
        state=state,
        scheme=headers.get("X-Forwarded-Proto", "https").split(",")[0].strip(),
        host=headers.get("Host") or context.get("domainName"),
        remote=http.get("sourceIp"),
    )
