"""Log lines: JSON for CloudWatch, readable text on a terminal."""

import json
import logging
import os
import pty
import subprocess
import sys

from handler.logs import JsonFormatter, TextFormatter


def _record(**extra) -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": "request", "levelname": "INFO", "name": "access"})
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_every_field():
    line = JsonFormatter().format(_record(method="GET", path="/x", status=200, duration_ms=1.5))
    entry = json.loads(line)
    assert (entry["message"], entry["method"], entry["status"]) == ("request", "GET", 200)


def test_text_lines_read_like_an_access_log():
    text = TextFormatter().format(
        _record(method="GET", path="/api/sessions", status=200, duration_ms=3.1, request_id="r")
    )
    assert text.endswith("INFO  GET /api/sessions 200 3.1 ms")
    other = TextFormatter().format(_record(msg="serving", url="http://127.0.0.1:8080"))
    assert other.endswith("INFO  serving url=http://127.0.0.1:8080")


def _configured_output(use_terminal: bool) -> str:
    code = (
        "import logging; from handler import logs; logs.configure(); "
        "logging.getLogger('x').info('hello', extra={'k': 1})"
    )
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_RUNTIME_API"}
    if not use_terminal:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        ).stdout
    leader, follower = pty.openpty()
    subprocess.run([sys.executable, "-c", code], stdout=follower, env=env, check=True)
    os.close(follower)
    output = os.read(leader, 4096).decode()
    os.close(leader)
    return output


def test_configure_picks_text_on_a_terminal_and_json_otherwise():
    assert json.loads(_configured_output(use_terminal=False))["k"] == 1
    assert _configured_output(use_terminal=True).strip().endswith("INFO  hello k=1")
