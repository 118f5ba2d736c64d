"""The Lambda runtime, run as Lambda runs it: a separate process behind the emulator."""

import asyncio
import base64
import json
import time

import pytest
from yarl import URL

from tests.chatstream import read


async def test_health_through_the_runtime(start_lambda):
    url = await start_lambda()
    resp = await url.get("/health")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ok"
    assert resp.headers["Content-Type"].startswith("application/json")
    # The same container serves the next invocation.
    pid = url.emulator.process.pid
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid


async def test_request_details_survive_the_bridge(start_lambda):
    url = await start_lambda()
    payload = bytes(range(256))
    target = f"http://{url.host}:{url.port}/test/echo?q=a+b&path=x%2Fy&k=1&k=2&frag=%23top"
    resp = await url.session.post(
        URL(target, encoded=True),  # sent exactly as written
        data=payload,
        headers={
            "Content-Type": "application/octet-stream",
            "Cookie": "debugflow_token=t1; x=2",
            "X-Custom": "v",
        },
    )
    assert resp.status == 200
    echo = await resp.json()
    assert echo["method"] == "POST"
    assert echo["raw_path"] == "/test/echo?q=a+b&path=x%2Fy&k=1&k=2&frag=%23top"  # byte for byte
    assert echo["query"] == [
        ["q", "a b"],
        ["path", "x/y"],
        ["k", "1"],
        ["k", "2"],
        ["frag", "#top"],
    ]
    assert base64.b64decode(echo["body_b64"]) == payload  # base64 body decoded to bytes
    assert echo["content_length"] == 256
    assert echo["cookies"] == {"debugflow_token": "t1", "x": "2"}
    assert len(echo["cookie_header"]) == 1  # from cookies[], not doubled
    assert echo["headers"]["x-custom"] == "v"
    assert echo["remote"] == "127.0.0.1"
    assert echo["scheme"] == "https"
    assert echo["trace_id"].startswith("Root=1-")


async def test_raw_path_stays_percent_encoded(start_lambda):
    url = await start_lambda()
    # %2F inside a segment is not a separator: this is not the /test/echo route.
    assert (await url.get("/test%2Fecho")).status == 404
    resp = await url.get("/api/sessions/abc%2Fdef")
    assert resp.status == 401  # one segment, routed to a session, refused for want of a token


async def test_json_post_with_base64_body_and_cookie_auth(start_lambda, firebase):
    url = await start_lambda()
    token = firebase.token("alice")
    resp = await url.post(
        "/api/projects",
        data=json.dumps({"name": "Lambda"}).encode(),
        headers={
            "Content-Type": "application/x-binary-json",
            "Cookie": f"debugflow_token={token}",
            "Origin": "http://localhost:3000",  # a cookie-authenticated write needs its origin
        },
    )
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["name"] == "Lambda"


async def test_head_and_404(start_lambda):
    url = await start_lambda()
    head = await url.head("/health")
    assert head.status == 200
    assert await head.read() == b""
    missing = await url.get("/nowhere")
    assert missing.status == 404
    assert await missing.json() == {"error": "Not found"}


async def test_two_cookies_and_repeated_headers(start_lambda):
    url = await start_lambda()
    resp = await url.get("/test/cookies")
    cookies = resp.headers.getall("Set-Cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("a=1") and "HttpOnly" in cookies[0]
    assert cookies[1].startswith("b=2") and "Secure" in cookies[1]
    assert resp.headers["X-Multi"] == "one, two"


async def test_binary_response(start_lambda):
    url = await start_lambda()
    resp = await url.get("/test/binary")
    assert await resp.read() == bytes(range(256))


async def test_empty_body(start_lambda):
    url = await start_lambda()
    resp = await url.get("/test/empty")
    assert resp.status == 200
    assert await resp.read() == b""


async def test_stream_chunks_arrive_one_by_one(start_lambda):
    url = await start_lambda()
    resp = await url.get("/test/ticks?n=5&gap=0.25")
    arrivals, sent = [], []
    async for line in resp.content:
        if line.startswith(b"data:"):
            arrivals.append(time.monotonic())
            sent.append(float(line.split()[2]))
    assert len(arrivals) == 5
    for i in range(4):  # each event reached the client before the next was written
        assert arrivals[i] < sent[i + 1], f"event {i} arrived after event {i + 1} was sent"


async def test_chat_streams_through_the_runtime(start_lambda, firebase, huggingface):
    huggingface.delay = 0.2
    url = await start_lambda()
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    resp = await url.post(
        "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
    )
    t = await read(resp)
    assert t.kinds()[0] == "connecting" and t.kinds()[-1] == "[DONE]"
    arrivals = [at for at, e in zip(t.times, t.events, strict=True) if "content" in e]
    sent = huggingface.sent_at
    assert len(arrivals) == len(sent) == 7
    for i in range(len(sent) - 1):
        assert arrivals[i] < sent[i + 1], f"chunk {i} arrived after chunk {i + 1} was sent"


async def test_exception_before_the_first_byte_is_an_invocation_error(start_lambda):
    url = await start_lambda()
    resp = await url.get("/test/raise-before")
    assert resp.status == 502
    (error,) = url.emulator.invocation_errors
    assert error["errorType"] == "RuntimeError"
    assert error["errorMessage"] == "failed before the first byte"
    assert (await url.get("/health")).status == 200  # the runtime lives on


async def test_exception_after_the_first_byte_goes_in_the_trailers(start_lambda, caplog):
    url = await start_lambda()
    resp = await url.get("/test/raise-after")
    assert resp.status == 200
    with pytest.raises(Exception):  # noqa: B017 - the stream is cut, as on AWS
        await resp.read()
    assert (await url.get("/health")).status == 200


async def test_a_failure_while_the_headers_go_out_keeps_the_connection_sound(start_lambda):
    url = await start_lambda()
    assert (await url.get("/health")).status == 200
    pid = url.emulator.process.pid
    resp = await url.get("/test/raise-after-prepare")
    with pytest.raises(Exception):  # noqa: B017 - reported in the trailers: the stream is cut
        await resp.read()
    # The error report did not interleave with the headers on the one connection.
    for _ in range(2):
        assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid


async def test_malformed_events_get_a_clear_error(start_lambda):
    url = await start_lambda()
    emulator = url.emulator
    for event in ({"hello": "world"}, [1, 2], {"version": "2.0", "requestContext": {}}):
        invocation = await emulator.invoke(event)  # a direct invoke, not through the URL
        start = await asyncio.wait_for(invocation.start, 10)
        assert start["error"]["errorType"] == "InvalidEvent"
        assert "HTTP" in start["error"]["errorMessage"]
    assert (await url.get("/health")).status == 200


async def test_start_up_failure_is_reported_as_init_error(start_lambda):
    url = await start_lambda(PORT="not-a-port")
    resp = await url.get("/health")
    assert resp.status == 502
    (error,) = url.emulator.init_errors
    assert error["errorType"] == "SettingsError"
    assert "PORT" in error["errorMessage"]


async def test_buffered_mode(start_lambda):
    url = await start_lambda(LAMBDA_INVOKE_MODE="BUFFERED")
    health = await url.get("/health")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    assert await (await url.get("/test/binary")).read() == bytes(range(256))
    cookies = await url.get("/test/cookies")
    assert len(cookies.headers.getall("Set-Cookie")) == 2
    resp = await url.get("/test/raise-before")
    assert resp.status == 502


async def test_chat_ends_cleanly_before_the_deadline(start_lambda, firebase, huggingface, db):
    huggingface.delay = 0.3
    huggingface.words = [f"w{i} " for i in range(30)]
    url = await start_lambda(EMULATOR_TIMEOUT="5")  # 3 s margin leaves 2 s to stream
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    resp = await url.post(
        "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
    )
    t = await read(resp)
    assert t.events[-1] == {"error": "The answer was cut short by the server's time limit"}
    assert 0 < t.kinds().count("content") < 30
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == t.text()


async def test_a_slow_title_never_holds_the_answer_past_the_deadline(
    start_lambda, firebase, db, huggingface
):
    huggingface.title_delay = 60  # the fast model is stuck: no title (nor summary) comes
    url = await start_lambda(EMULATOR_TIMEOUT="4.5")  # less than the title's 5 s wait
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    pid = url.emulator.process.pid
    resp = await url.post(
        "/api/chat", json={"sessionId": session["id"], "message": "hi"}, headers=auth
    )
    t = await read(resp)
    assert t.kinds()[-1] == "[DONE]" and "title" not in t.kinds()
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == t.text()
    # Lambda did not have to stop the function: the same container serves on.
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid


async def test_background_work_finishes_before_the_next_event(start_lambda, firebase, db):
    url = await start_lambda()
    auth = {"Authorization": f"Bearer {firebase.token('alice')}"}
    session = await (await url.post("/api/sessions", headers=auth)).json()
    first = await read(
        await url.post(
            "/api/chat", json={"sessionId": session["id"], "message": "one"}, headers=auth
        )
    )
    await read(
        await url.post(
            "/api/chat",
            json={
                "sessionId": session["id"],
                "message": "two",
                "parentId": first.first("messageId"),
            },
            headers=auth,
        )
    )
    # The runtime asks for this invocation only after the summary task is done.
    assert (await url.get("/health")).status == 200
    assert (
        await db.fetchval("SELECT count(*) FROM vector_items WHERE kind = 'session_summary'") == 1
    )


def _event(**changes) -> dict:
    """A valid Function URL event for GET /health, with `changes` applied (None deletes)."""
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/health",
        "rawQueryString": "",
        "headers": {"host": "fn.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "domainName": "fn.lambda-url.us-east-1.on.aws",
            "http": {"method": "GET", "path": "/health", "sourceIp": "192.0.2.1"},
        },
        "isBase64Encoded": False,
    }
    for key, value in changes.items():
        if value is None:
            event.pop(key, None)
        else:
            event[key] = value
    return event


def _http(**http) -> dict:
    return {"domainName": "x", "http": {"method": "GET", "path": "/", **http}}


# What a misconfigured trigger, a test console or a fuzzer can hand the function.
MALFORMED_EVENTS = [
    None,
    0,
    "GET /health",
    [],
    [_event()],
    {},
    {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
    _event(version="1.0"),
    _event(version=None),
    _event(requestContext=None),
    _event(requestContext="http"),
    _event(requestContext={"http": None}),
    _event(requestContext={"http": []}),
    _event(requestContext={"http": {"path": "/"}}),
    _event(requestContext=_http(method=None)),
    _event(requestContext=_http(method=7)),
    _event(requestContext=_http(method="")),
    _event(requestContext=_http(method="GET /x HTTP/1.1\r\nX: y")),
    _event(requestContext=_http(method="\u00e9")),
    _event(requestContext=_http(sourceIp=["1.2.3.4"])),
    _event(rawPath=None, requestContext=_http(path=None)),
    _event(rawPath=42),
    _event(rawPath=["/health"]),
    _event(rawPath="health"),
    _event(rawPath="//"),
    _event(rawPath="/\u00e9\u0000"),
    _event(rawPath="/%zz"),
    _event(rawPath="/" + "a" * 100_000),
    _event(rawQueryString=5),
    _event(rawQueryString="a=%zz&&=&\u0000"),
    _event(headers=[]),
    _event(headers="host: x"),
    _event(headers={"host": None}),
    _event(headers={"x-bad": "a\r\nInjected: 1"}),
    _event(headers={"x\u00e9": "\u00e9"}),
    _event(headers={"": "empty name"}),
    _event(headers={"content-length": "-1"}),
    _event(headers={"x-forwarded-proto": 5}),
    _event(headers={f"x-{i}": "v" for i in range(5000)}),
    _event(cookies="a=1"),
    _event(cookies=[1, 2]),
    _event(cookies={"a": "1"}),
    _event(body=123),
    _event(body={"json": True}),
    _event(body="not base64!", isBase64Encoded=True),
    _event(body="\u00e9\ud800", isBase64Encoded=False),
    _event(isBase64Encoded="yes", body="aGk="),
    _event(requestContext=_http(method="POST"), rawPath="/api/projects", body="{"),
    _event(requestContext=_http(method="POST"), rawPath="/api/chat", body="[" * 50_000),
    _event(requestContext=_http(method="TRACE")),
]


async def test_a_hundred_malformed_events_in_a_row_never_stop_the_loop(start_lambda):
    url = await start_lambda()
    assert (await url.get("/health")).status == 200
    pid = url.emulator.process.pid
    events = [MALFORMED_EVENTS[i % len(MALFORMED_EVENTS)] for i in range(100)]
    for i, event in enumerate(events):
        invocation = await url.emulator.invoke(event)
        start = await asyncio.wait_for(invocation.start, 20)
        if "error" in start:  # refused as a whole: the function said why
            assert start["error"]["errorType"] and start["error"]["errorMessage"], (i, start)
        else:  # served as a request: an HTTP answer, never a 500
            assert 200 <= start["statusCode"] < 500, (i, event, start)
        await asyncio.wait_for(invocation.done.wait(), 20)
        assert url.emulator.process.pid == pid and url.emulator.process.returncode is None, i
    assert url.emulator.init_errors == []
    assert (await url.get("/health")).status == 200
    assert url.emulator.process.pid == pid
