"""REST and chat latency direct to PostgreSQL and through pgbouncer, side by side.

One run starts real PostgreSQL (pgserver), a local certificate endpoint for real
RS256 tokens, the chunk-timestamping upstream (bench/upstream.py) and three
`python -m handler serve` on the same database: one with DATABASE_POOLER=none
straight to PostgreSQL (the baseline), one with DATABASE_POOLER=transaction
straight to PostgreSQL (`nocache`), one with DATABASE_POOLER=transaction
through pgbouncer in transaction mode with its default settings but a server
pool of 10 (tests/pgbouncer.py, as bench/fleet.py): no statement cache, so
every query is parsed again. Each server has its own signed-in user with 10
sessions. They take turns under the same load: `concurrency` clients on GET
/health, GET /api/sessions and GET /api/sessions/{id} (a session with messages)
for a fixed time each, `rounds` times; then `chats` chats each, one after
another: time from POST /api/chat to the first answer chunk, and the latency each
chunk gains over reading the upstream directly. Prints every figure for each
path and its ratio to direct.

Usage: python bench/pooled.py [--seconds 5] [--rounds 2] [--concurrency 16]
       [--chats 10] [--chunks 100] [--interval-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from chat_latency import percentile, read_direct
from lambda_setup import ROOT
from rest_throughput import certificate_endpoint, free_port, wait_for

from handler.auth.emulator import LOCAL_PROJECT, signed_token

SESSIONS = 10  # the signed-in user's, as in bench/rest_throughput.py
# `nocache`: straight to PostgreSQL as DATABASE_POOLER=transaction configures it (no
# statement cache), which splits pgbouncer's cost into the parses and the extra hop.
PATHS = ("direct", "nocache", "pgbouncer")


@dataclass
class Load:
    """Answers per second and each answer's time in seconds."""

    rate: float
    times: list[float]


async def load(
    http: aiohttp.ClientSession, url: str, headers: dict, seconds: float, concurrency: int
) -> Load:
    times: list[float] = []
    stop = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < stop:
            sent = time.monotonic()
            async with http.get(url, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            times.append(time.monotonic() - sent)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Load(len(times) / (time.monotonic() - started), times)


async def chat(
    http: aiohttp.ClientSession, base: str, auth: dict, session: str
) -> tuple[float, list[float]]:
    """(seconds from the POST to the first answer chunk, each chunk's age on arrival)."""
    sent = time.monotonic()
    first, ages = 0.0, []
    body = {"sessionId": session, "message": "benchmark"}
    async with http.post(f"{base}/api/chat", json=body, headers=auth) as response:
        assert response.status == 200, response.status
        async for line in response.content:
            now = time.monotonic()
            if line.startswith(b'data: {"content"'):
                first = first or now - sent
                ages.append(now - float(json.loads(line[6:])["content"]))
    return first, ages


@dataclass
class Server:
    """One `python -m handler serve` and the signed-in user the bench acts as on it."""

    base: str
    auth: dict
    session: str = ""


async def prepare(http: aiohttp.ClientSession, server: Server) -> None:
    """The user's sessions, one of them chatted in; the server warmed up."""
    await wait_for(http, f"{server.base}/health")
    for _ in range(SESSIONS):
        async with http.post(f"{server.base}/api/sessions", headers=server.auth) as created:
            assert created.status == 201, created.status
            server.session = (await created.json())["id"]
    await chat(http, server.base, server.auth, server.session)


async def measure(
    servers: dict[str, Server], upstream: str, args
) -> dict[str, dict[str, list[float]]]:
    """Each figure's samples per path (a rate is one sample a round). The paths take
    turns route by route and chat by chat, so a change in the machine's load falls
    on both."""
    figures: dict[str, dict[str, list[float]]] = {path: {} for path in servers}
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        for server in servers.values():
            await prepare(http, server)
        for round_ in range(args.rounds):
            for route in ("/health", "/api/sessions", "/api/sessions/{id}"):
                for path, server in servers.items():
                    url = server.base + route.replace("{id}", server.session)
                    headers = {} if route == "/health" else server.auth
                    if round_ == 0:
                        await load(http, url, headers, 1.0, args.concurrency)  # warm-up
                    run = await load(http, url, headers, args.seconds, args.concurrency)
                    figures[path].setdefault(f"GET {route} per s", []).append(run.rate)
                    figures[path].setdefault(f"GET {route} latency ms", []).extend(run.times)
        for _ in range(args.chats):
            for path, server in servers.items():
                first, ages = await chat(http, server.base, server.auth, server.session)
                direct = await read_direct(upstream)
                added = statistics.median(ages) - statistics.median(direct)
                figures[path].setdefault("chat: first chunk ms", []).append(first)
                figures[path].setdefault("chat: added per chunk ms", []).append(added)
    return figures


async def wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        await wait_for(http, f"{base}/health")


def summary(samples: list[float], is_rate: bool) -> tuple[float, float | None]:
    if is_rate:
        return statistics.mean(samples), None
    return statistics.median(samples) * 1e3, percentile(samples, 0.99) * 1e3


def print_table(results: dict[str, dict[str, list[float]]]) -> None:
    """A row per figure: each path's value, then each other path's ratio to direct."""
    paths = list(results)
    ratios = [f"{path}/direct" for path in paths[1:]]
    print(f"{'figure (median / p99)':<34}", *(f"{h:>16}" for h in paths + ratios))
    for name in results["direct"]:
        is_rate = name.endswith("per s")
        values = [summary(results[path][name], is_rate) for path in paths]
        base = values[0]
        if is_rate:
            cells = [f"{v[0]:.0f}" for v in values]
            cells += [f"{v[0] / base[0]:.2f}x" for v in values[1:]]
        else:
            cells = [f"{v[0]:.2f} / {v[1]:.2f}" for v in values]
            cells += [
                f"{v[0] / base[0]:.2f}x / {v[1] / base[1]:.2f}x" if min(base) > 0 else ""
                for v in values[1:]
            ]
        print(f"{name:<34}", *(f"{c:>16}" for c in cells), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per REST route")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="of the REST routes")
    parser.add_argument("--chats", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=100, help="per chat answer")
    parser.add_argument("--interval-ms", type=float, default=5.0)
    args = parser.parse_args()

    import pgserver

    sys.path.insert(0, str(ROOT))  # pgbouncer's starter lives in tests/
    from tests.pgbouncer import start as start_pgbouncer

    with tempfile.TemporaryDirectory(prefix="bench-pooled-") as scratch:
        db = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="delete")
        keys = Path(scratch) / "local-auth"
        upstream_port = free_port()
        upstream = f"http://127.0.0.1:{upstream_port}"
        upstream_cmd = [
            sys.executable,
            str(ROOT / "bench" / "upstream.py"),
            str(upstream_port),
            str(args.chunks),
            str(args.interval_ms),
        ]
        upstream_proc = subprocess.Popen(upstream_cmd)
        loop = asyncio.new_event_loop()
        certs_runner, certs_url = loop.run_until_complete(certificate_endpoint(keys))
        bouncer = start_pgbouncer(db.get_uri())
        processes: list[subprocess.Popen] = []
        try:
            servers: dict[str, Server] = {}
            for path in PATHS:
                port = free_port()
                env = {
                    **os.environ,
                    "PORT": str(port),
                    "DATABASE_URL": db.get_uri(),
                    "DATABASE_POOLER": "none",
                    "MIGRATE_ON_START": "true",
                    "FIREBASE_PROJECT_ID": LOCAL_PROJECT,
                    "FIREBASE_CERTS_URL": certs_url,
                    "HUGGINGFACE_API_KEY": "bench",
                    "HF_BASE_URL": upstream,
                    "RATE_LIMITS": "free=1000000",
                    "LOG_LEVEL": "WARNING",
                }
                env.pop("DATABASE_POOL_MAX", None)
                if path != "direct":
                    env["DATABASE_POOLER"] = "transaction"
                    env["MIGRATE_ON_START"] = "false"
                if path == "pgbouncer":
                    env["DATABASE_URL"] = bouncer.url("postgres")
                processes.append(
                    subprocess.Popen([sys.executable, "-m", "handler", "serve"], cwd=ROOT, env=env)
                )
                # A user per path: both start from the same rows (sessions, history).
                token = signed_token(LOCAL_PROJECT, f"bench-{path}", keys)
                servers[path] = Server(
                    f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
                )
                if path == "direct":  # it applies the migrations the pooled one finds done
                    loop.run_until_complete(wait_until_up(servers[path].base))
            results = loop.run_until_complete(measure(servers, upstream, args))
        finally:
            for process in processes:
                process.terminate()
                process.wait()
            bouncer.stop()
            loop.run_until_complete(certs_runner.cleanup())
            loop.close()
            upstream_proc.terminate()
            upstream_proc.wait()
            db.cleanup()
    print(
        f"{args.concurrency} concurrent for {args.rounds}x{args.seconds:g} s per route; "
        f"{args.chats} chats "
        f"of {args.chunks} chunks every {args.interval_ms:g} ms; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    print_table(results)


if __name__ == "__main__":
    main()
