"""The command line as a newcomer meets it: help with examples, one-line errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from handler.auth.emulator import emulator_token
from tests.standins.firebase import PROJECT_ID

COMMANDS = ["serve", "migrate", "verify", "pgadmin-servers", "index-logs", "emulator-token"]


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "handler", *args],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("command", [None, *COMMANDS, "admin grant"])
def test_help_says_what_and_shows_an_example(command):
    result = _run(*(command.split() if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "example:" in result.stdout
    assert "python -m handler" in result.stdout


def _one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_taken_port_is_one_line_and_never_announced(database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = _run(
            "serve",
            env={"PORT": port, "DATABASE_URL": database_url, "DATABASE_SSL": "disable"},
        )
    line = _one_line_error(result)
    assert f"127.0.0.1:{port} is already in use" in line and "PORT" in line
    assert '"message": "serving"' not in result.stdout


def test_a_malformed_database_url_says_the_shape_not_the_secret():
    result = _run("migrate", env={"DATABASE_URL": "postgresql://app:s3cret@db:port/x"})
    line = _one_line_error(result)
    assert line.startswith("configuration error: DATABASE_URL: expected postgresql://")
    assert "s3cret" not in result.stderr
    line = _one_line_error(_run("migrate", env={"DATABASE_URL": "mysql://db/x"}))
    assert "scheme is 'mysql'" in line


def test_index_logs_without_a_reachable_database(tmp_path):
    logs = tmp_path / "logs.jsonl"
    logs.write_text(json.dumps({"title": "t", "content": "c"}) + "\n")
    result = _run(
        "index-logs",
        str(logs),
        env={"DATABASE_URL": "postgresql://app@127.0.0.1:1/x", "DATABASE_SSL": "disable"},
    )
    line = _one_line_error(result)
    assert "cannot reach the database" in line and "DATABASE_URL" in line


async def test_an_emulator_token_at_a_verifying_server_says_why(api):
    resp = await api.call(
        "GET",
        "/api/sessions",
        uid=None,
        headers={"Authorization": f"Bearer {emulator_token(PROJECT_ID, 'alice')}"},
    )
    assert resp.status == 401
    error = (await resp.json())["error"]
    assert "unsigned (Auth emulator) token" in error and "emulator-token" in error


# ---------------------------------------------------------------------------
# `admin grant` beside `make dev`: the embedded database, found by itself.

SERVE_TIMEOUT = 120  # seconds for a first start of the embedded PostgreSQL (initdb)


def _grant(cwd, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "handler", "admin", "grant", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "DATABASE_SSL": "disable", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _open_for_postgres(path) -> None:
    """As root, the embedded PostgreSQL runs as its own user, which must enter the
    test's folders (pytest makes them 0700); we open ours, as the error asks."""
    for folder in [path, *path.parents]:
        if str(folder).startswith(tempfile.gettempdir()) and folder != Path("/tmp"):
            folder.chmod(folder.stat().st_mode | stat.S_IXOTH)


async def test_admin_grant_finds_the_database_make_dev_started(tmp_path):
    _open_for_postgres(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handler",
        "serve",
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PORT": str(port), "LOG_LEVEL": "INFO"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:

        async def serving() -> None:
            seen = []
            while b'"serving"' not in (line := await serve.stdout.readline()):
                assert line, b"".join(seen).decode()  # serve ended without serving
                seen.append(line)

        await asyncio.wait_for(serving(), SERVE_TIMEOUT)
        record = tmp_path / ".data" / "database-url"
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        url = record.read_text().strip()
        # The schema is made on the first use of the database.
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/debug-db") as resp,
        ):
            assert resp.status == 200, await resp.text()
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("INSERT INTO users (id, email) VALUES ('ops', 'ops@example.com')")
            done = await asyncio.to_thread(_grant, tmp_path, "super_user", "ops")
            assert done.returncode == 0, done.stderr
            assert "ops@example.com (ops) is now super_user" in done.stdout
            assert await conn.fetchval("SELECT role FROM users WHERE id = 'ops'") == "super_user"
        finally:
            await conn.close()
    finally:
        serve.send_signal(signal.SIGINT)
        await asyncio.wait_for(serve.wait(), SERVE_TIMEOUT)


def test_admin_grant_without_a_database_says_where_it_looked(tmp_path):
    done = _grant(tmp_path, "admin", "ops")
    assert done.returncode == 1
    assert "DATABASE_URL is not set" in done.stderr and ".data/database-url" in done.stderr
    # A make dev that has stopped since: its record names a server that is gone.
    (tmp_path / ".data").mkdir()
    (tmp_path / ".data" / "database-url").write_text("postgresql://postgres@127.0.0.1:1/x\n")
    done = _grant(tmp_path, "admin", "ops")
    assert done.returncode == 1 and "is make dev running?" in done.stderr
    assert "Traceback" not in done.stderr
