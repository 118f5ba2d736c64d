"""The event bridge in-process: real Function URL events through a real aiohttp app.

The events follow published captures of Function URL payload v2.0 (the AWS
Lambda developer guide's "Request payload" example; aws/aws-lambda-go
events/testdata/lambda-urls-request.json; aws-powertools-lambda-python
tests/events/lambdaFunctionUrlEventWithHeaders.json): lower-case header names,
repeated headers comma-joined, cookies both in `cookies[]` and (in live
captures) in `headers.cookie`, `rawQueryString` without `?`, no `body` when empty.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp import web

from handler.lambda_runtime.bridge import (
    MANAGEMENT,
    MANAGEMENT_PATH,
    NotAnHttpEvent,
    build_request,
)
from handler.lambda_runtime.contract import DEADLINE_MS, REQUEST_ID
from handler.lambda_runtime.loop import MAX_EVENT_BODY
from handler.lambda_runtime.responses import BufferedWriter

GO_CAPTURE: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1=a", "cookie2=b"],
    "headers": {
        "header1": "value1",
        "header2": "value1,value2",
        "cookie": "cookie1=a; cookie2=b",
        "content-length": "999",
    },
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "urlid",
        "domainName": "urlid.lambda-url.us-west-2.on.aws",
        "domainPrefix": "urlid",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "123.123.123.123",
            "userAgent": "agent",
        },
        "requestId": "id",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from client!",
    "isBase64Encoded": False,
}

BROWSER_GET: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "",
    "headers": {
        "sec-fetch-mode": "cors",
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "x-forwarded-for": "123.123.123.123",
        "host": "urlid.lambda-url.us-east-1.on.aws",
        "origin": "https://app.example.com",
        "accept-encoding": "gzip, deflate, br",
        "x-amzn-trace-id": "Root=1-62ecd163-5f302e550dcde3b12402207d",
    },
    "requestContext": {
        "accountId": "anonymous",
        "domainName": "urlid.lambda-url.us-east-1.on.aws",
        "http": {
            "method": "GET",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "123.123.123.123",
            "userAgent": "agent",
        },
        "requestId": "id",
        "timeEpoch": 1659687279885,
    },
    "isBase64Encoded": False,
}


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.json_response(
        {
            "method": request.method,
            "raw_path": request.raw_path,
            "query": [[k, v] for k, v in request.query.items()],
            "cookies": dict(request.cookies),
            "cookie_headers": request.headers.getall("Cookie", []),
            "header2": request.headers.get("Header2"),
            "content_length": request.content_length,
            "body": base64.b64encode(body).decode(),
            "remote": request.remote,
            "host": request.host,
            "scheme": request.scheme,
            "request_id": request[REQUEST_ID],
            "deadline_ms": request.get(DEADLINE_MS),
        }
    )


@pytest.fixture
async def runner():
    app = web.Application()
    app.router.add_route("*", "/my/path", echo)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    yield runner
    await runner.cleanup()


async def _serve(runner: web.AppRunner, event: Any) -> dict[str, Any]:
    writer = BufferedWriter()
    request = build_request(
        event, writer, client_max_size=MAX_EVENT_BODY, request_id="req-1", deadline_ms=123
    )
    response = await runner.server.request_handler(request)
    await response.prepare(request)
    await response.write_eof()
    return writer.result()


async def test_the_published_capture_reaches_the_app_intact(runner):
    result = await _serve(runner, GO_CAPTURE)
    assert result["statusCode"] == 200
    echo_ = json.loads(result["body"])
    assert echo_["method"] == "POST"
    assert echo_["raw_path"] == "/my/path?parameter1=value1&parameter1=value2&parameter2=value"
    # Repeated keys survive: queryStringParameters would have joined them with commas.
    assert echo_["query"] == [
        ["parameter1", "value1"],
        ["parameter1", "value2"],
        ["parameter2", "value"],
    ]
    assert echo_["cookies"] == {"cookie1": "a", "cookie2": "b"}
    assert len(echo_["cookie_headers"]) == 1  # from cookies[], not doubled
    assert echo_["header2"] == "value1,value2"
    assert base64.b64decode(echo_["body"]) == b"Hello from client!"
    assert echo_["content_length"] == len(b"Hello from client!")  # recomputed, not 999
    assert (echo_["remote"], echo_["scheme"]) == ("123.123.123.123", "https")
    assert echo_["host"] == "urlid.lambda-url.us-west-2.on.aws"  # from requestContext
    assert (echo_["request_id"], echo_["deadline_ms"]) == ("req-1", 123)


async def test_a_browser_get_without_body_or_cookies(runner):
    result = await _serve(runner, BROWSER_GET)
    echo_ = json.loads(result["body"])
    assert (echo_["method"], echo_["raw_path"], echo_["cookies"]) == ("GET", "/my/path", {})
    assert echo_["body"] == "" and echo_["host"] == "urlid.lambda-url.us-east-1.on.aws"


async def test_base64_bodies_are_decoded(runner):
    payload = bytes(range(256))
    event = {**GO_CAPTURE, "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}
    echo_ = json.loads((await _serve(runner, event))["body"])
    assert base64.b64decode(echo_["body"]) == payload


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "text",
        {"version": "1.0", "httpMethod": "GET", "path": "/"},  # API Gateway REST (v1)
        {"Records": [{"eventSource": "aws:sqs"}]},
        {**GO_CAPTURE, "requestContext": {"http": "GET"}},
        {**GO_CAPTURE, "body": 12},
        {**GO_CAPTURE, "body": "%%%", "isBase64Encoded": True},
    ],
)
async def test_other_events_are_refused_clearly(runner, event):
    with pytest.raises(NotAnHttpEvent):
        await _serve(runner, event)


def _request(event: Any) -> web.Request:
    return build_request(
        event, BufferedWriter(), client_max_size=MAX_EVENT_BODY, request_id="r", deadline_ms=1
    )


async def test_a_management_event_becomes_a_marked_request():
    command = {"command": "grant", "args": ["admin", "uid-1"]}
    request = _request({"debugflow": command})
    assert (request.method, request.path) == ("POST", MANAGEMENT_PATH)
    assert request[MANAGEMENT] is True
    assert await request.json() == command


async def test_no_http_event_is_marked_whatever_it_carries():
    command = {"command": "grant", "args": ["super_user", "mallory"]}
    for event in (
        GO_CAPTURE,
        {**GO_CAPTURE, "debugflow": command},
        {**GO_CAPTURE, "rawPath": MANAGEMENT_PATH, "body": json.dumps(command)},
        {
            **GO_CAPTURE,
            "rawPath": MANAGEMENT_PATH,
            "headers": {"x-debugflow-management": "true", "management": "1"},
        },
    ):
        assert MANAGEMENT not in _request(event)
