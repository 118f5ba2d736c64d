"""The service as the chat benchmarks run it, with its upstreams on loopback.

`python -m handler serve` on a free port, emulator-mode sign-in (unsigned tokens),
HuggingFace (and, with `web_search`, Tavily) at one stand-in URL
(bench/upstream.py `--timed`), all in child processes that `processes` ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from upstream import FAST_MODEL, Latencies

from devtools.native_heap import MALLOC_ENV
from handler.auth.emulator import emulator_token

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "bench"


def service_command(
    port: int, database_url: str, upstream: str, *, web_search: bool
) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": database_url,
        "MIGRATE_ON_START": "true",
        "FIREBASE_PROJECT_ID": PROJECT,
        "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
        "HUGGINGFACE_API_KEY": "bench",
        "HF_BASE_URL": upstream,
        "HF_MODEL": "bench/chat-model",
        "HF_FAST_MODEL": FAST_MODEL,
        "RATE_LIMITS": "free=1000000",
        "LOG_LEVEL": "WARNING",
        **MALLOC_ENV,
    }
    if web_search:
        env |= {"TAVILY_API_KEY": "bench", "TAVILY_BASE_URL": upstream}
    else:
        env.pop("TAVILY_API_KEY", None)
    return [sys.executable, "-m", "handler", "serve"], env


def upstream_command(port: int, latencies: Latencies) -> list[str]:
    return [sys.executable, str(ROOT / "bench" / "upstream.py"), str(port), *latencies.argv()]


@contextlib.contextmanager
def processes(*commands: tuple[list[str], dict[str, str] | None]) -> Iterator[list[int]]:
    """Start each command; yield their pids; end them all, whatever happened."""
    started: list[subprocess.Popen] = []
    try:
        for command, env in commands:
            started.append(subprocess.Popen(command, cwd=ROOT, env=env))
        yield [p.pid for p in started]
    finally:
        for process in reversed(started):  # the service before the upstream it calls
            process.terminate()
            process.wait()


def signed_in(uid: str) -> aiohttp.ClientSession:
    """A client session whose calls carry an emulator token for `uid`."""
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {emulator_token(PROJECT, uid)}"},
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def wait_until_up(url: str, seconds: float = 180) -> None:
    """Until `url` answers below 500 (a traced or busy server starts slowly)."""
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < until:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {seconds:g} s")
