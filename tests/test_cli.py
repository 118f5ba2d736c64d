"""The command line as a newcomer meets it: help with examples, one-line errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

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
