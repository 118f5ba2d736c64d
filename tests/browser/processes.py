"""The backend as a user starts it (`make dev`, `make emulate`), in subprocesses.

Each runs with an environment built from nothing but what the test passes
(the developer's own FIREBASE_* or DATABASE_URL never leak in), writes its
output to a log file that a failure shows, and is stopped with SIGTERM, as a
terminal's Ctrl-C or `kill` would.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0  # a cold start on a busy 2-core machine, not a performance bar
_EMULATOR_URL = re.compile(r"function URL (http://\S+)")


def base_environment(**settings: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
        **settings,
    }


@dataclass
class Backend:
    url: str
    process: asyncio.subprocess.Process
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                # Its own process group: the function it started goes too.
                os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()


async def spawn(args: list[str], env: dict[str, str], cwd: Path, log: Path):
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def until(condition, backend: Backend, what: str, limit: float = START_TIMEOUT) -> None:
    """Wait for `condition()` while the process lives; fail with its output otherwise."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await condition():
        if backend.process.returncode is not None:
            raise AssertionError(
                f"{what} exited ({backend.process.returncode}):\n{backend.output()}"
            )
        if loop.time() > deadline:
            await backend.stop()
            raise AssertionError(f"{what} not ready in {limit:.0f} s:\n{backend.output()}")
        await asyncio.sleep(0.1)


async def _healthy(url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/health") as resp:
            return resp.status == 200
    except aiohttp.ClientError:
        return False


async def start_dev(workdir: Path, **settings: str) -> Backend:
    """`make dev`: `python -m handler serve` on HOST:PORT."""
    port = free_port()
    env = base_environment(HOST="127.0.0.1", PORT=str(port), **settings)
    log = workdir / "serve.log"
    process = await spawn([sys.executable, "-m", "handler", "serve"], env, workdir, log)
    backend = Backend(f"http://127.0.0.1:{port}", process, log)
    await until(lambda: _healthy(backend.url), backend, "python -m handler serve")
    return backend


async def start_emulate(workdir: Path, *, invoke_mode: str = "RESPONSE_STREAM", **settings: str):
    """`make emulate` on the source tree: the local Lambda, its sign-in included."""
    args = [sys.executable, "-m", "devtools.lambda_emulator", "--task-root", str(ROOT)]
    args += ["--port", "0", "--invoke-mode", invoke_mode]
    log = workdir / "emulate.log"
    process = await spawn(args, base_environment(**settings), workdir, log)
    backend = Backend("", process, log)

    async def announced() -> bool:
        match = _EMULATOR_URL.search(backend.log.read_text(errors="replace"))
        backend.url = match.group(1) if match else ""
        return bool(match) and await _healthy(backend.url)

    await until(announced, backend, "the Lambda emulator")
    return backend


async def run_cli(workdir: Path, *args: str, **settings: str) -> tuple[int, str, str]:
    """`python -m handler ...` as a user types it; (exit status, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "handler",
        *args,
        cwd=workdir,
        env=base_environment(**settings),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode().strip(), err.decode().strip()
