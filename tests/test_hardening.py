"""Hardening (issue 12): each test starts from the reproduction that used to fail."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid

import aiohttp
import pytest
from aiohttp import web

from handler import validation
from handler.chat.huggingface import HuggingFace
from handler.chat.model import MAX_LINE_BYTES, HuggingFaceModel, ModelError
from tests.chatstream import chat

SIGN_IN_ROUNDS = 3
NEW_USERS = 20
PARALLEL = 8


async def test_concurrent_first_requests_of_new_users_all_succeed(make_api, db):
    # Reproduction: several first requests of a brand-new user at once; the
    # upsert's fallback SELECT ran on the statement's snapshot and saw no row
    # when another transaction inserted it (TypeError in sign_in, 500).
    api = await make_api(database_pool_max=PARALLEL * 2)
    for round_ in range(SIGN_IN_ROUNDS):
        uids = [f"new-{round_}-{i}" for i in range(NEW_USERS)]
        calls = [
            api.call("GET", "/api/user/profile", uid=uid) for uid in uids for _ in range(PARALLEL)
        ]
        statuses = [resp.status for resp in await asyncio.gather(*calls)]
        assert statuses == [200] * len(calls), sorted(set(statuses))
        stored = await db.fetchval("SELECT count(*) FROM users WHERE id = ANY($1)", uids)
        assert stored == NEW_USERS


EVIL = "https://evil.example"
FRONT_END = "http://localhost:3000"  # the default CORS_ORIGINS


async def _projects(db) -> list[str]:
    return sorted(r["name"] for r in await db.fetch("SELECT name FROM projects"))


async def test_cross_site_form_post_with_the_cookie_is_refused(api, db):
    # Reproduction: what an HTML form on another site sends (text/plain, no
    # preflight) with the cookie attached used to be stored (201); the same
    # planted a memory that entered every later prompt.
    cookie = {"debugflow_token": api.firebase.token("alice")}
    planted = '{"name": "Planted by evil.example"}'
    for origin in (EVIL, "null", None):
        headers = {"Content-Type": "text/plain"} | ({"Origin": origin} if origin else {})
        resp = await api.call(
            "POST", "/api/projects", uid=None, cookies=cookie, data=planted, headers=headers
        )
        body = await resp.json()
        assert resp.status == 403, (origin, body)
        assert "Cross-site request refused" in body["error"]
    delete = await api.call(
        "DELETE", "/api/user/history", uid=None, cookies=cookie, headers={"Origin": EVIL}
    )
    assert delete.status == 403
    assert await _projects(db) == []


async def test_cookie_writes_from_the_front_end_and_header_writes_still_work(api, db):
    cookie = {"debugflow_token": api.firebase.token("alice")}
    own = await api.call(
        "POST",
        "/api/projects",
        uid=None,
        cookies=cookie,
        json={"name": "Mine"},
        headers={"Origin": FRONT_END},
    )
    assert own.status == 201, await own.text()
    # A page on another site cannot set Authorization without a preflight,
    # which is refused for unlisted origins: header-authenticated calls are unaffected.
    header = await api.call(
        "POST", "/api/projects", json={"name": "By header"}, headers={"Origin": EVIL}
    )
    assert header.status == 201, await header.text()
    read = await api.call("GET", "/api/user/profile", uid=None, cookies=cookie)
    assert read.status == 200  # safe methods need no Origin
    assert await _projects(db) == ["By header", "Mine"]


# JSON text as a client can send it: "\u0000" parses to NUL, "\ud800" to a lone surrogate.
BAD_TEXT = {"NUL": r"a\u0000b", "lone surrogate": r"a\ud800b"}


async def _raw(api, method: str, path: str, raw: str):
    resp = await api.call(
        method, path, data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    return resp.status, await resp.json()


@pytest.mark.parametrize("kind", BAD_TEXT)
async def test_nul_and_lone_surrogates_are_a_400_naming_the_field(api, db, kind):
    # Reproduction: each of these stored text and answered 500.
    bad = BAD_TEXT[kind]
    session = await api.json("POST", "/api/sessions", status=201)
    project = await api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    cases = [
        ("POST", "/api/projects", "name", f'{{"name": "{bad}"}}'),
        ("PATCH", f"/api/projects/{project['id']}", "name", f'{{"name": "{bad}"}}'),
        (
            "PATCH",
            f"/api/projects/{project['id']}/context",
            "context_instructions",
            f'{{"context_instructions": "{bad}"}}',
        ),
        (
            "PATCH",
            "/api/user/profile",
            "global_instructions",
            f'{{"global_instructions": "{bad}"}}',
        ),
        ("POST", "/api/user/memories", "content", f'{{"content": "{bad}"}}'),
        ("PATCH", f"/api/sessions/{session['id']}", "title", f'{{"title": "{bad}"}}'),
        ("POST", "/api/chat", "message", f'{{"sessionId": "{session["id"]}", "message": "{bad}"}}'),
    ]
    for method, path, field, raw in cases:
        status, body = await _raw(api, method, path, raw)
        assert status == 400, (method, path, body)
        assert f"'{field}'" in body["error"], body
    # The refused chat was not counted against the rate limit.
    assert (await api.json("GET", "/api/user/profile/full"))["daily_requests_count"] == 0
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_nul_and_lone_surrogates_from_the_model_are_stored(chat_api, db, huggingface):
    # Reproduction: the model's "\u0000" or "\ud800" ended the stream in a
    # generic error and the answer and title were lost.
    huggingface.words = ["The \u0000bug ", "is \ud800here."]
    huggingface.title = "Null\u0000 \udc00title"
    session = await chat_api.json("POST", "/api/sessions", status=201)
    t = await chat(chat_api, {"sessionId": session["id"], "message": "help"})
    assert t.events[-1] == "[DONE]", t.events
    assert t.text() == "The bug is \ufffdhere."
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == "The bug is \ufffdhere."
    assert t.first("title") == "Null \ufffdtitle"
    title = await db.fetchval("SELECT title FROM sessions WHERE id = $1", uuid.UUID(session["id"]))
    assert title == "Null \ufffdtitle"


async def _body_routes(api) -> list[tuple[str, str]]:
    """Every route that takes a body, as the API description says (a POST such as
    self-demote takes none), with its path parameters filled in."""
    described = await api.json("GET", "/openapi.json")
    found = []
    for route in api.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method not in ("POST", "PUT", "PATCH") or not path:
            continue
        operation = described["paths"].get(path, {}).get(route.method.lower())
        if operation is not None and "requestBody" in operation:
            found.append((route.method, path.replace("{id}", str(uuid.uuid4()))))
    return found


async def test_deeply_nested_json_is_a_400_on_every_body_route(api, db):
    # Reproduction: json.loads raised RecursionError, answered 500.
    await api.json("GET", "/api/user/profile")
    await db.execute("UPDATE users SET role = 'super_user' WHERE id = 'alice'")  # every route
    deep = "[" * 100_000 + "]" * 100_000
    routes = await _body_routes(api)
    assert ("POST", "/api/chat") in routes and len(routes) >= 8
    refused = 0
    for method, path in routes:
        for raw in (deep, '{"a": ' + deep + "}"):
            status, body = await _raw(api, method, path, raw)
            assert status < 500, (method, path, body)
            if path == "/internal/manage":  # refuses every HTTP request before its body
                assert status == 403, body
            elif status != 404:  # routes without a body check the id first
                assert status == 400, (method, path, body)
                assert body["error"] == "Request body is nested too deeply", (method, path, body)
                refused += 1
    assert refused >= 16


async def test_an_unfinished_body_gets_408(api, monkeypatch):
    # Reproduction: a client that sends headers and half a body held the
    # connection and its handler open indefinitely (still open after 120 s).
    monkeypatch.setattr(validation, "BODY_TIMEOUT", 0.5)
    reader, writer = await asyncio.open_connection(api.client.host, api.client.port)
    token = api.firebase.token("alice")
    writer.write(
        (
            "POST /api/projects HTTP/1.1\r\n"
            f"Host: {api.client.host}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
            '{"name": '
        ).encode()
    )
    await writer.drain()
    async with asyncio.timeout(30):  # a guard against hanging, far above the 0.5 s
        status_line = await reader.readline()
        head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 408"), status_line
    assert b"application/json" in head


def _frame(text: str) -> bytes:
    chunk = {"choices": [{"delta": {"content": text}}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


async def _model_server(make_client, pieces: list[bytes]) -> str:
    """A model endpoint that streams `pieces` one write each, then ends."""

    async def completions(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for piece in pieces:
            await resp.write(piece)
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return str((await make_client(app)).make_url("")).rstrip("/")


async def _stream(make_settings, url: str) -> tuple[list[str], str | None]:
    async def key() -> str:
        return "k"

    deltas: list[str] = []
    async with aiohttp.ClientSession() as http:
        model = HuggingFaceModel(HuggingFace(http, make_settings(hf_base_url=url), key))
        try:
            async for delta in model.stream([{"role": "user", "content": "hi"}]):
                deltas.append(delta)
        except ModelError as exc:
            return deltas, str(exc)
    return deltas, None


async def test_an_endless_model_line_is_refused(make_client, make_settings):
    # Reproduction: a 16 MB line without a line end was buffered whole and
    # re-scanned on every chunk (1.3 s of CPU, 66 MB).
    piece = b"x" * 65536
    endless = [b"data: ", *[piece] * ((MAX_LINE_BYTES // len(piece)) + 2)]
    url = await _model_server(make_client, [_frame("Before "), *endless])
    deltas, error = await _stream(make_settings, url)
    assert deltas == ["Before "]
    assert (
        error == f"The model service sent a malformed answer (a line over {MAX_LINE_BYTES} bytes)"
    )


async def test_model_lines_split_anywhere_still_parse(make_client, make_settings):
    frames = _frame("a\u00e9") + _frame("b\r\n") + b"data: [DONE]\r\n\r\n"
    pieces = [frames[i : i + 3] for i in range(0, len(frames), 3)]
    url = await _model_server(make_client, pieces)
    assert await _stream(make_settings, url) == (["a\u00e9", "b\r\n"], None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "example.internal"])
def test_emulator_mode_refuses_to_serve_beyond_loopback(repo_root, database_url, host):
    # Reproduction: with FIREBASE_AUTH_EMULATOR_HOST mis-set on a container,
    # `serve` listened on every interface and accepted unsigned tokens for any account.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOST": host,
        "PORT": "0",
        "DATABASE_URL": database_url,
        "DATABASE_SSL": "disable",
        "FIREBASE_PROJECT_ID": "demo-debugflow",
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
    }
    result = subprocess.run(
        [sys.executable, "-m", "handler", "serve"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a server that started would never exit: fail, do not hang
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"configuration error: HOST: {host!r} is not a loopback")
