"""Operator commands inside the function: management events through the real runtime.

The function runs as Lambda runs it, behind the Runtime API stand-in
(devtools/lambda_emulator.py). A management event is what `aws lambda invoke`
delivers; the Function URL (the emulator's front) can only deliver HTTP events,
and every one of those is refused at /internal/manage, whatever it carries.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web

from devtools.lambda_admin import DELIMITER
from devtools.lambda_emulator import function_url_event
from tests import deploy_guide
from tests.conftest import ROOT

GRANT = {"command": "grant", "args": ["super_user", "founder"]}
TIMEOUT = 20  # seconds an invocation may take before the test gives up


async def _user(db, uid: str, role: str = "user") -> None:
    await db.execute(
        "INSERT INTO users (id, email, role) VALUES ($1, $2, $3)", uid, f"{uid}@example.com", role
    )


async def _invoke(emulator, event: Any) -> tuple[int, Any]:
    """A direct invoke, as `aws lambda invoke` makes it: (status, JSON body)."""
    invocation = await emulator.invoke(event)
    start = await asyncio.wait_for(invocation.start, TIMEOUT)
    assert "error" not in start, start
    chunks = []
    while (chunk := await asyncio.wait_for(invocation.body.get(), TIMEOUT)) is not None:
        chunks.append(chunk)
    return start["statusCode"], json.loads(b"".join(chunks))


async def test_a_management_event_grants_inside_the_function(start_lambda, db):
    url = await start_lambda()
    await _user(db, "founder")
    status, body = await _invoke(url.emulator, {"debugflow": GRANT})
    assert status == 200, body
    assert body == {
        "command": "grant",
        "output": "founder@example.com (founder) is now super_user (was user)",
    }
    assert await db.fetchval("SELECT role FROM users WHERE id = 'founder'") == "super_user"
    entry = await db.fetchrow("SELECT actor_id, actor_role, details FROM audit_log")
    assert (entry["actor_id"], entry["actor_role"]) == (None, "operator")
    details = json.loads(entry["details"])
    assert details["via"] == "lambda-invoke" and details["request_id"]
    # The command line's own rules: a second super user needs --replace.
    await _user(db, "heir")
    status, body = await _invoke(
        url.emulator, {"debugflow": {"command": "grant", "args": ["super_user", "heir"]}}
    )
    assert status == 409 and "--replace" in body["error"]
    status, body = await _invoke(
        url.emulator,
        {"debugflow": {"command": "grant", "args": ["super_user", "heir", "--replace"]}},
    )
    assert status == 200, body
    roles = dict(await db.fetch("SELECT id, role FROM users"))
    assert roles == {"founder": "admin", "heir": "super_user"}


async def test_a_management_event_migrates(start_lambda, fresh_database, db):
    empty = await fresh_database()  # no schema at all
    url = await start_lambda(DATABASE_URL=empty)
    status, body = await _invoke(url.emulator, {"debugflow": {"command": "migrate"}})
    assert status == 200, body
    assert body["output"].startswith("applied: 0001, ")
    status, body = await _invoke(url.emulator, {"debugflow": {"command": "migrate", "args": []}})
    assert (status, body["output"]) == (200, "schema is up to date")


@pytest.mark.parametrize(
    ("management", "status", "says"),
    [
        ({"command": "drop-everything"}, 400, "Unknown command"),
        ("grant admin founder", 400, "JSON object"),
        ({"command": "grant", "args": "admin founder"}, 400, "list of strings"),
        ({"command": "grant", "args": ["admin"]}, 400, "ROLE UID"),
        ({"command": "grant", "args": ["emperor", "founder"]}, 400, "ROLE UID"),
        ({"command": "grant", "args": ["admin", "a\u0000b"]}, 400, "Firebase uid"),
        ({"command": "grant", "args": ["admin", "ghost"]}, 409, "sign in once"),
        ({"command": "migrate", "args": ["--all"]}, 400, "no arguments"),
    ],
)
async def test_bad_management_events_say_why(start_lambda, db, management, status, says):
    url = await start_lambda()
    await _user(db, "founder")
    answer = await _invoke(url.emulator, {"debugflow": management})
    assert answer[0] == status and says in answer[1]["error"], answer
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


async def test_the_function_url_never_reaches_the_commands(start_lambda, db, make_client):
    url = await start_lambda()
    await _user(db, "founder")
    attempts = [
        ("/internal/manage", GRANT, {}),
        ("/internal/manage", GRANT, {"X-DebugFlow-Management": "true"}),
        ("/internal/manage", {"debugflow": GRANT}, {}),
        ("/", {"debugflow": GRANT}, {}),
    ]
    for path, body, headers in attempts:
        resp = await url.post(path, json=body, headers=headers)
        assert resp.status in (403, 404, 405), (path, resp.status)
        if path == "/internal/manage":
            assert "aws lambda invoke" in (await resp.json())["error"]
    # A URL event that also carries the management key at its top level is HTTP all the same.
    capture = web.Application()
    captured: dict[str, Any] = {}

    async def record(request: web.Request) -> web.Response:
        captured["event"] = await function_url_event(request)
        return web.Response()

    capture.router.add_post("/internal/manage", record)
    front = await make_client(capture)
    await front.post("/internal/manage", json=GRANT)
    status, body = await _invoke(url.emulator, {**captured["event"], "debugflow": GRANT})
    assert status == 403 and "aws lambda invoke" in body["error"]
    assert await db.fetchval("SELECT role FROM users WHERE id = 'founder'") == "user"
    assert await db.fetchval("SELECT count(*) FROM audit_log") == 0


def _script(path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


async def test_make_admin_invokes_the_stacks_function(start_lambda, db, make_client, tmp_path):
    """docs/deploy.md's `make admin` commands as an operator runs them: the function's name,
    alias and region from `terraform output`, the AWS CLI's `lambda invoke` (here answered
    by the emulated function), the command's output printed."""
    url = await start_lambda()
    await _user(db, "founder")

    async def invoke(request: web.Request) -> web.Response:
        invocation = await url.emulator.invoke(json.loads(await request.read()))
        start = await invocation.start
        body = b""
        while (chunk := await invocation.body.get()) is not None:
            body += chunk
        return web.Response(body=json.dumps(start).encode() + DELIMITER + body)

    lambda_api = web.Application()
    lambda_api.router.add_post("/invoke", invoke)
    api = await make_client(lambda_api)
    _script(tmp_path / "aws", f'#!/bin/sh\nexec {sys.executable} -m tests.standins.aws_cli "$@"\n')
    _script(
        tmp_path / "terraform",
        '#!/bin/sh\ncase "$*" in\n'
        "  *function_name) printf debugflow-prod ;;\n"
        "  *function_alias) printf live ;;\n"
        "  *region) printf eu-west-1 ;;\n"
        "  *) exit 1 ;;\nesac\n",
    )
    log = tmp_path / "aws.log"
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "AWS_STANDIN_URL": str(api.make_url("/invoke")),
        "AWS_STANDIN_LOG": str(log),
    }

    def shell(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            shell=True,
            cwd=ROOT,
            env={**env, "FIREBASE_UID": "founder", "MAKEFLAGS": "-s --no-print-directory"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def make(*args: str) -> subprocess.CompletedProcess:
        return shell(" ".join(["make", "admin", *args]))

    # docs/deploy.md's commands, as written.
    grant, migrate = deploy_guide.starting_with("make admin")
    done = await asyncio.to_thread(shell, grant)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(
        "founder@example.com (founder) is now super_user (was user)"
    )
    assert await db.fetchval("SELECT role FROM users WHERE id = 'founder'") == "super_user"
    (call,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert (call["function_name"], call["qualifier"], call["region"]) == (
        "debugflow-prod",
        "live",
        "eu-west-1",
    )
    done = await asyncio.to_thread(shell, migrate)
    assert (done.returncode, done.stdout.strip()) == (0, "schema is up to date"), done.stderr
    done = await asyncio.to_thread(make, "ARGS='grant admin ghost'")
    assert done.returncode != 0 and "admin: grant: no user 'ghost'" in done.stderr
    done = await asyncio.to_thread(make)
    assert done.returncode == 2 and "usage: make admin" in done.stdout
