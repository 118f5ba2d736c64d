"""`python -m handler verify` against the local Lambda emulator, healthy and broken."""

import asyncio
import os
import re
import subprocess
import sys

from aiohttp import web

from handler import verify
from tests import deploy_guide
from tests.conftest import ROOT


def _by_name(checks):
    return {c.name: c for c in checks}


async def test_all_checks_pass_against_a_healthy_service(start_lambda, firebase):
    url = await start_lambda()
    checks = await verify.run(str(url.make_url("")), token=firebase.token("alice"))
    assert [(c.name, c.ok) for c in checks] == [
        ("health", True),
        ("database", True),
        ("internet", True),
        ("streaming", True),
        ("chat", True),
    ], verify.table(checks)
    streaming = _by_name(checks)["streaming"].detail
    assert streaming.startswith("first byte") and streaming.count(",") == 4  # five arrivals
    assert _by_name(checks)["internet"].detail == "2 Firebase signing keys fetched"
    assert "model test/main-model" in _by_name(checks)["chat"].detail


async def test_database_down(start_lambda):
    url = await start_lambda(
        DATABASE_URL="postgresql://app@127.0.0.1:1/app", DATABASE_CONNECT_TIMEOUT="2"
    )
    checks = _by_name(await verify.run(str(url.make_url(""))))
    assert checks["health"].ok and checks["internet"].ok and checks["streaming"].ok
    assert not checks["database"].ok
    assert "HTTP 500: Cannot connect to the database" in checks["database"].detail


async def test_certificate_url_unreachable(start_lambda):
    url = await start_lambda(FIREBASE_CERTS_URL="http://127.0.0.1:1/certs")
    checks = _by_name(await verify.run(str(url.make_url(""))))
    assert not checks["internet"].ok
    assert "Cannot fetch Firebase certificates" in checks["internet"].detail
    assert checks["database"].ok


async def test_buffered_response_instead_of_a_stream(start_lambda):
    url = await start_lambda(LAMBDA_INVOKE_MODE="BUFFERED")
    checks = _by_name(await verify.run(str(url.make_url(""))))
    assert checks["health"].ok
    assert not checks["streaming"].ok
    assert "arrived in one burst" in checks["streaming"].detail
    assert "RESPONSE_STREAM" in checks["streaming"].detail


async def test_unreachable_url_fails_every_check():
    checks = await verify.run("http://127.0.0.1:1")
    assert not any(c.ok for c in checks)
    assert all("request failed" in c.detail for c in checks)


def test_cli_prints_a_table_and_exits_non_zero_on_failure():
    result = subprocess.run(
        [sys.executable, "-m", "handler", "verify", "http://127.0.0.1:1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["check", "result", "ms", "detail"]
    assert lines[-1] == "0 passed, 4 failed"


async def _shell(command: str, **env: str) -> tuple[int, str]:
    """Run a shell command without blocking the loop the emulator serves on."""
    process = await asyncio.create_subprocess_shell(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode, output.decode()


async def test_guide_commands_against_the_emulator(start_lambda):
    """docs/deploy.md's `make verify` and CORS `curl`, as written, at a local "Lambda"."""
    url = await start_lambda(CORS_ORIGINS="https://app.example.com")
    base = str(url.make_url("")).rstrip("/")
    (make_verify,) = deploy_guide.starting_with("make verify URL=")
    command = re.sub(r"URL=\S+", f"URL={base}", make_verify)
    code, output = await _shell(command)
    assert code == 0, output
    assert "4 passed, 0 failed" in output.splitlines()  # (make may add directory lines)

    (curl,) = deploy_guide.starting_with("curl ")
    code, output = await _shell(curl, URL=base)
    assert code == 0, output
    assert output.startswith("HTTP/1.1 204")
    assert output.lower().count("access-control-allow-origin: https://app.example.com") == 1


async def test_a_url_without_its_permission_is_named(make_client):
    """The URL answers 403 itself when the alias's policy lacks a statement."""

    async def forbidden(request: web.Request) -> web.Response:
        return web.json_response(verify.URL_FORBIDDEN, status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forbidden)
    base = str((await make_client(app)).make_url("")).rstrip("/")
    checks = _by_name(await verify.run(base))
    assert not checks["health"].ok
    assert "FunctionURLAllowInvokeAction" in checks["health"].detail
    assert "-replace='module.function.terraform_data.invoke_via_url[0]'" in (
        checks["health"].detail
    )


async def test_make_verify_never_shows_the_token(make_client):
    async def forbidden(request: web.Request) -> web.Response:
        return web.json_response(verify.URL_FORBIDDEN, status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forbidden)
    base = str((await make_client(app)).make_url("")).rstrip("/")
    token = "eyJ-a-secret-token-never-printed"
    code, output = await _shell(f"make verify URL={base} TOKEN={token}")
    assert code != 0  # the URL refuses everything
    assert "handler verify" in output and "TOKEN, not shown" in output
    assert token not in output
