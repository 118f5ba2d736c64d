"""Every ```sh block of the README runs as pasted: in a fresh shell, from the root.

Blocks are run one after another with bash's job control on (`set -m`), as in
a terminal, so `make dev &` ... `kill %%` stops make and the server it runs;
then all of them pasted one after another into one shell, and each with a
server that cannot start, which must end the wait with the server's one-line
reason. Reference listings use other fences (```text) and are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def _blocks(repo_root) -> list[str]:
    return BLOCK.findall((repo_root / "README.md").read_text())


def _environment() -> dict[str, str]:
    """A new user's shell: none of the service's settings, nothing of pytest's."""
    keep = ("PATH", "HOME", "LANG", "TERM", "TMPDIR", "USER")
    return {k: v for k, v in os.environ.items() if k in keep}


def _port_free(port: int, wait: float = 10.0) -> bool:
    """Nothing answers on the port (a server told to stop gets `wait` seconds to go)."""
    give_up = time.monotonic() + wait
    while True:
        answered = (
            subprocess.run(
                ["curl", "-s", "-o", "/dev/null", f"localhost:{port}/health"], check=False
            ).returncode
            == 0
        )
        if not answered:
            return True
        if time.monotonic() > give_up:
            return False
        time.sleep(0.2)


def test_the_readme_has_runnable_blocks(repo_root):
    assert len(_blocks(repo_root)) >= 3


@pytest.mark.parametrize("index", range(3))
def test_readme_block_runs_as_pasted(repo_root, index):
    block = _blocks(repo_root)[index]
    assert _port_free(8080) and _port_free(9000), "a server from an earlier block is still up"
    result = subprocess.run(
        ["bash", "-c", "set -m\n" + block],
        cwd=repo_root,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout
    report = (
        f"--- block ---\n{block}\n--- stdout ---\n{output[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-3000:]}"
    )
    assert "curl: (" not in result.stderr, report
    assert "Traceback" not in result.stderr, report
    if "/health" in block and "/api/chat" not in block:
        assert '"status": "ok"' in output and '"success": true' in output, report
    if "/api/chat" in block:
        assert '"dbUser"' in output, report  # /protected signed the user in
        assert '"userMessageId"' in output and "data: [DONE]" in output, report
    # The block's own `kill %1` stopped what it started.
    assert _port_free(8080) and _port_free(9000), report


def test_the_blocks_pasted_into_one_shell(repo_root):
    blocks = _blocks(repo_root)[:3]
    assert _port_free(8080) and _port_free(9000), "a server from an earlier test is still up"
    result = subprocess.run(
        ["bash", "-c", "set -m\n" + "\n".join(blocks)],
        cwd=repo_root,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report = f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr and "curl: (" not in result.stderr, report
    # Both chats (make dev's, then make emulate's after the block unset emulator mode).
    assert result.stdout.count("data: [DONE]") == 2, report
    assert _port_free(8080) and _port_free(9000), report


@pytest.mark.parametrize("index", range(2))
def test_a_block_stops_waiting_when_make_dev_cannot_start(repo_root, index):
    block = _blocks(repo_root)[index]
    assert "make dev &" in block
    result = subprocess.run(
        ["bash", "-c", "set -m\n" + block],
        cwd=repo_root,
        env={**_environment(), "PORT": "eighty"},  # a setting serve refuses at once
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}"
    assert "configuration error: PORT" in result.stderr, report
    assert "Traceback" not in result.stderr, report
