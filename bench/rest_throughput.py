"""REST throughput: GET /api/sessions against GET /health on the same server.

One run starts real PostgreSQL (pgserver), a local endpoint publishing the
certificate of a local RS256 key (as Google publishes Firebase's), and
`python -m handler serve` for each pool size asked (the default first). A signed-in
user with 10 sessions is made; then 16 clients at once send GET /health, then
GET /api/sessions with a real RS256 token, each for a fixed time, twice in turn.

Usage: python bench/rest_throughput.py [--seconds 5] [--concurrency 16] [--pools default,2]
Target: /api/sessions at least 0.20x the /health rate (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from lambda_setup import ROOT, figure

from devtools.lambda_emulator import LocalCertificates, ensure_signing_key
from handler.auth.emulator import LOCAL_PROJECT, signed_token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(http: aiohttp.ClientSession, url: str) -> None:
    for _ in range(300):
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def rate(
    http: aiohttp.ClientSession, url: str, headers: dict, seconds: float, concurrency: int
) -> float:
    """Requests answered 200 per second, `concurrency` at a time."""
    done = 0
    stop = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        while time.monotonic() < stop:
            async with http.get(url, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def measure_server(
    base: str, token: str, seconds: float, concurrency: int
) -> tuple[float, float]:
    auth = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_for(http, f"{base}/health")
        async with http.get(f"{base}/api/sessions", headers=auth) as response:
            if not await response.json():
                for _ in range(10):
                    async with http.post(f"{base}/api/sessions", headers=auth) as created:
                        assert created.status == 201, created.status
        health, sessions = [], []
        await rate(http, f"{base}/health", {}, 1.0, concurrency)  # warm-up
        await rate(http, f"{base}/api/sessions", auth, 1.0, concurrency)
        for _ in range(2):
            health.append(await rate(http, f"{base}/health", {}, seconds, concurrency))
            sessions.append(await rate(http, f"{base}/api/sessions", auth, seconds, concurrency))
        return sum(health) / 2, sum(sessions) / 2


async def certificate_endpoint(keys: Path) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(LocalCertificates(ensure_signing_key(keys)).app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/certs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--pools", default="default,2", help="DATABASE_POOL_MAX values")
    args = parser.parse_args()

    import pgserver

    with tempfile.TemporaryDirectory(prefix="bench-rest-") as scratch:
        db = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="delete")
        keys = Path(scratch) / "local-auth"
        loop = asyncio.new_event_loop()
        certs_runner, certs_url = loop.run_until_complete(certificate_endpoint(keys))
        token = signed_token(LOCAL_PROJECT, "bench-user", keys)
        try:
            for pool in args.pools.split(","):
                port = free_port()
                env = {
                    **os.environ,
                    "PORT": str(port),
                    "DATABASE_URL": db.get_uri(),
                    "MIGRATE_ON_START": "true",
                    "FIREBASE_PROJECT_ID": LOCAL_PROJECT,
                    "FIREBASE_CERTS_URL": certs_url,
                    "LOG_LEVEL": "WARNING",
                }
                env.pop("DATABASE_POOL_MAX", None)
                if pool != "default":
                    env["DATABASE_POOL_MAX"] = pool
                server = subprocess.Popen(
                    [sys.executable, "-m", "handler", "serve"], cwd=ROOT, env=env
                )
                try:
                    health, sessions = loop.run_until_complete(
                        measure_server(
                            f"http://127.0.0.1:{port}", token, args.seconds, args.concurrency
                        )
                    )
                finally:
                    server.terminate()
                    server.wait()
                figure(
                    f"GET /api/sessions throughput, {args.concurrency} concurrent, pool {pool}",
                    f"{sessions:.0f}/s = {sessions / health:.2f}x GET /health ({health:.0f}/s)",
                    ">= 0.20x",
                    seconds=f"2x{args.seconds:g}",
                )
        finally:
            loop.run_until_complete(certs_runner.cleanup())
            loop.close()
            db.cleanup()


if __name__ == "__main__":
    main()
