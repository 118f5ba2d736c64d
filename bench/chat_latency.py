"""Latency the service adds between a model chunk and its arrival at the browser.

One run starts a local upstream (bench/upstream.py) and the service
(`python -m handler serve`, embedded PostgreSQL, emulator-mode auth), then reads
the same upstream twice: directly with an aiohttp client (the baseline), and
through POST /api/chat. Each chunk carries its send time, so every arrival
gives one latency sample. Prints median and p99 of both and the difference.

Usage: python bench/chat_latency.py [--chunks 1000] [--interval-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from handler.auth.emulator import emulator_token

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def read_direct(upstream: str) -> list[float]:
    samples = []
    payload = {"model": "m", "messages": [], "stream": True, "max_tokens": 2048}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{upstream}/v1/chat/completions", json=payload) as resp,
    ):
        async for line in resp.content:
            now = time.monotonic()
            if line.startswith(b"data: {"):
                text = json.loads(line[6:])["choices"][0]["delta"]["content"]
                samples.append(now - float(text))
    return samples


async def read_through_service(service: str, token: str) -> list[float]:
    samples = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(f"{service}/api/sessions") as resp:
            session = (await resp.json())["id"]
        body = {"sessionId": session, "message": "benchmark"}
        async with http.post(f"{service}/api/chat", json=body) as resp:
            async for line in resp.content:
                now = time.monotonic()
                if line.startswith(b'data: {"content"'):
                    samples.append(now - float(json.loads(line[6:])["content"]))
    return samples


def report(name: str, samples: list[float]) -> tuple[float, float]:
    median, p99 = statistics.median(samples) * 1e3, percentile(samples, 0.99) * 1e3
    print(f"{name:<28} {len(samples):>6} {median:>10.3f} {p99:>10.3f}")
    return median, p99


async def measure(upstream: str, service: str, chunks: int, interval_ms: float) -> None:
    await wait_for(f"{upstream}/")
    await wait_for(f"{service}/health")
    token = emulator_token("bench", "bench-user")
    await read_through_service(service, token)  # warm-up: pool, migrations, imports
    print(f"{chunks} chunks every {interval_ms} ms; latency in ms")
    print(f"{'path':<28} {'chunks':>6} {'median':>10} {'p99':>10}")
    direct = report("upstream read directly", await read_direct(upstream))
    through = report("through POST /api/chat", await read_through_service(service, token))
    print(
        f"{'added by the service':<28} {'':>6} {through[0] - direct[0]:>10.3f} "
        f"{through[1] - direct[1]:>10.3f}"
    )
    print(
        f"chat: latency added per chunk, median / p99: {through[0] - direct[0]:.2f} / "
        f"{through[1] - direct[1]:.2f} ms over reading the upstream directly  "
        "(target: the README states this line)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--interval-ms", type=float, default=5.0)
    args = parser.parse_args()

    import pgserver

    upstream_port, service_port = free_port(), free_port()
    upstream = f"http://127.0.0.1:{upstream_port}"
    service = f"http://127.0.0.1:{service_port}"
    with tempfile.TemporaryDirectory() as data:
        db = pgserver.get_server(data, cleanup_mode="delete")
        env = {
            **os.environ,
            "PORT": str(service_port),
            "DATABASE_URL": db.get_uri(),
            "MIGRATE_ON_START": "true",
            "FIREBASE_PROJECT_ID": "bench",
            "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099",
            "HUGGINGFACE_API_KEY": "bench",
            "HF_BASE_URL": upstream,
            "RATE_LIMITS": "free=100000",
            "LOG_LEVEL": "WARNING",
        }
        upstream_cmd = [
            sys.executable,
            str(ROOT / "bench" / "upstream.py"),
            str(upstream_port),
            str(args.chunks),
            str(args.interval_ms),
        ]
        procs = [
            subprocess.Popen(upstream_cmd),
            subprocess.Popen([sys.executable, "-m", "handler", "serve"], cwd=ROOT, env=env),
        ]
        try:
            asyncio.run(measure(upstream, service, args.chunks, args.interval_ms))
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()
            db.cleanup()


if __name__ == "__main__":
    main()
