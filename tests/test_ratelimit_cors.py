"""The reusable rate-limit check, and CORS as the front end needs it."""

import asyncio
import logging
from datetime import datetime

from aiohttp import web

from handler import ratelimit
from handler.app import create_app
from handler.keys import USER
from handler.middlewares import MAX_REFUSED_ORIGINS
from handler.settings import RateLimits
from tests.conftest import Api


async def _limited_api(make_client, api_settings, firebase, **overrides) -> Api:
    """The real app plus one route that counts like chat does."""

    async def counted(request: web.Request) -> web.Response:
        allowance = await ratelimit.consume(request, request[USER])
        return web.json_response({"remaining": allowance.remaining}, headers=allowance.headers())

    app = create_app(api_settings(**overrides))
    app.router.add_post("/api/counted", counted)
    return Api(await make_client(app), firebase)


async def test_101st_request_of_a_free_user_is_refused(make_client, api_settings, firebase):
    api = await _limited_api(make_client, api_settings, firebase)
    for i in range(100):
        resp = await api.call("POST", "/api/counted")
        assert resp.status == 200, i
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    resp = await api.call("POST", "/api/counted")
    assert resp.status == 429
    body = await resp.json()
    assert body["error"] == "Rate limit exceeded"
    assert (body["tier"], body["limit"]) == ("free", 100)
    assert "100 requests per 24 hours" in body["message"]
    reset = datetime.fromisoformat(body["reset_at"].replace("Z", "+00:00"))
    assert resp.headers["X-RateLimit-Limit"] == "100"
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(resp.headers["X-RateLimit-Reset"]) == int(reset.timestamp())
    profile = await api.json("GET", "/api/user/profile/full")
    assert profile["daily_requests_count"] == 100  # the refused request is not counted
    # Another user is unaffected.
    assert (await api.call("POST", "/api/counted", uid="bob")).status == 200


async def test_limits_follow_the_tier_and_the_window(make_client, api_settings, firebase, db):
    api = await _limited_api(
        make_client, api_settings, firebase, rate_limits=RateLimits(free=2, pro=4)
    )
    statuses = [(await api.call("POST", "/api/counted")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    await db.execute("UPDATE users SET tier = 'pro' WHERE id = 'alice'")
    statuses = [(await api.call("POST", "/api/counted")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    await db.execute("UPDATE usage_counters SET window_started_at = now() - interval '25 hours'")
    resp = await api.call("POST", "/api/counted")
    assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "3"


async def test_concurrent_requests_cannot_exceed_the_limit(make_client, api_settings, firebase):
    api = await _limited_api(
        make_client, api_settings, firebase, rate_limits=RateLimits(free=5), database_pool_max=5
    )
    await api.call("GET", "/api/sessions")  # create the user first
    resps = await asyncio.gather(*(api.call("POST", "/api/counted") for _ in range(12)))
    assert sorted(r.status for r in resps) == [200] * 5 + [429] * 7


ORIGIN = "http://localhost:3000"


async def test_preflight_for_an_allowed_origin(api):
    resp = await api.call(
        "OPTIONS",
        "/api/chat",
        uid=None,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    assert "PATCH" in resp.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]


async def test_preflight_for_another_origin_is_refused_and_named(api, caplog):
    async def preflight(origin: str):
        return await api.call(
            "OPTIONS",
            "/api/sessions",
            uid=None,
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )

    caplog.set_level(logging.WARNING, logger="handler.cors")
    resp = await preflight("https://evil.example")
    assert resp.status == 403
    assert "Access-Control-Allow-Origin" not in resp.headers
    body = await resp.json()
    assert body["origin"] == "https://evil.example"
    assert "'https://evil.example'" in body["error"] and "CORS_ORIGINS" in body["error"]
    (warning,) = caplog.records
    assert (warning.origin, warning.cors_origins) == ("https://evil.example", ORIGIN)
    assert "CORS_ORIGINS" in warning.getMessage()
    # Named once per origin: a retrying page does not fill the log.
    assert (await preflight("https://evil.example")).status == 403
    assert (await preflight("http://localhost:3001")).status == 403
    assert [r.origin for r in caplog.records] == ["https://evil.example", "http://localhost:3001"]


async def test_a_preflight_without_an_origin_says_so(api):
    resp = await api.call(
        "OPTIONS", "/api/sessions", uid=None, headers={"Access-Control-Request-Method": "GET"}
    )
    assert resp.status == 403
    assert "Origin header" in (await resp.json())["error"]


async def test_requests_from_a_refused_origin_are_warned_about_once(api, caplog):
    caplog.set_level(logging.WARNING, logger="handler.cors")
    other = {"Origin": "https://app.example.com"}
    for _ in range(3):
        resp = await api.call("GET", "/api/sessions", headers=other)
        assert resp.status == 200  # served; the browser is what hides it
        assert "Access-Control-Allow-Origin" not in resp.headers
    assert (await api.call("GET", "/api/sessions", headers={"Origin": ORIGIN})).status == 200
    (warning,) = caplog.records
    assert warning.origin == "https://app.example.com"
    assert "hide" in warning.getMessage()


async def test_responses_carry_cors_headers_even_on_errors(api):
    ok = await api.call("GET", "/api/sessions", headers={"Origin": ORIGIN})
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert ok.headers["Vary"] == "Origin"
    # The front end must be able to read a 401 to send the user to its login page.
    denied = await api.call("GET", "/api/sessions", uid=None, headers={"Origin": ORIGIN})
    assert denied.status == 401
    assert denied.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = await api.call("GET", "/api/sessions", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


# A browser hides any response without these headers from a page on another
# origin (Fetch standard, "CORS check"): streams, errors and 429s included.
def _assert_cors(resp) -> None:
    assert resp.headers.get("Access-Control-Allow-Origin") == ORIGIN, dict(resp.headers)
    assert resp.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "Origin" in resp.headers.getall("Vary")


async def test_streamed_chat_carries_cors_headers(chat_api):
    session = await chat_api.json("POST", "/api/sessions", status=201, json={})
    resp = await chat_api.call(
        "POST",
        "/api/chat",
        json={"sessionId": session["id"], "message": "TypeError"},
        headers={"Origin": ORIGIN},
    )
    assert resp.status == 200
    _assert_cors(resp)
    assert (await resp.text()).rstrip().endswith("data: [DONE]")


async def test_debug_stream_and_unknown_routes_carry_cors_headers(api):
    stream = await api.call("GET", "/debug-stream", uid=None, headers={"Origin": ORIGIN})
    assert stream.status == 200
    _assert_cors(stream)
    missing = await api.call("GET", "/nope", uid=None, headers={"Origin": ORIGIN})
    assert missing.status == 404
    _assert_cors(missing)


async def test_rate_limited_chat_carries_cors_headers(make_chat_api):
    api = await make_chat_api(rate_limits=RateLimits(free=1))
    session = await api.json("POST", "/api/sessions", status=201, json={})
    body = {"sessionId": session["id"], "message": "x"}
    assert (await api.call("POST", "/api/chat", json=body)).status == 200
    resp = await api.call("POST", "/api/chat", json=body, headers={"Origin": ORIGIN})
    assert resp.status == 429
    _assert_cors(resp)
    assert resp.headers["X-RateLimit-Remaining"] == "0"


async def test_refused_origins_cannot_grow_the_log_without_bound(api, caplog):
    caplog.set_level(logging.WARNING, logger="handler.cors")
    for i in range(MAX_REFUSED_ORIGINS + 5):
        headers = {"Origin": f"https://{i}.example", "Access-Control-Request-Method": "GET"}
        assert (await api.call("OPTIONS", "/api/sessions", uid=None, headers=headers)).status == 403
    assert len(caplog.records) == MAX_REFUSED_ORIGINS
