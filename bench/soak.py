"""Resident memory of the service over a long mixed load of chats and REST calls.

One run starts the upstream stand-ins (bench/upstream.py `--timed`, latencies as
bench/ttft.py's, web search configured) and two services on one database: the
one under load, and its baseline, the same service answering only GET /health,
as many as the loaded one has answered. Workers repeat a cycle that leaves the
database as it found it: a new user signs in, opens a session, asks a question
and a follow-up (each read to its end), reads the session, its messages and the
session list, creates, renames, toggles and deletes a project, reads the profile
and the memories, deletes the session, then the account. Both processes' RSS is
sampled from /proc; the curve and the growth after the warm-up are printed side
by side.

Both services run with devtools/native_heap.py's MALLOC_ENV, as production starts
them (why: that module); --glibc-dynamic-threshold runs them without it, as before.

--tracemalloc: the loaded service runs under bench/traced_serve.py, which dumps a
tracemalloc snapshot on SIGUSR1; the run prints the 15 places whose allocations
grew most between the end of the warm-up and the end.

Usage: python bench/soak.py [--minutes 30] [--warm-up-minutes 5] [--workers 4]
       [--sample-seconds 30] [--short] [--tracemalloc] [--glibc-dynamic-threshold]
       [--upstream-host localhost]
--short: 2 minutes, 30 s of warm-up, a sample every 5 s (a smoke run).
Target (issue 26): RSS within 5 MiB after the warm-up over 30 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import aiohttp
from chat_latency import free_port
from lambda_setup import figure
from memory import status_kib
from service import ROOT, processes, service_command, signed_in, upstream_command, wait_until_up
from ttft import FOLLOW_UP, STACK_TRACE, chat
from upstream import Latencies

from devtools.native_heap import MALLOC_ENV

MIB = 1024


async def cycle(http: aiohttp.ClientSession, service: str) -> int:
    """One round of the mixed load; the number of requests it made."""

    async def call(method: str, path: str, status: int = 200, **kwargs) -> dict | list:
        async with http.request(method, f"{service}{path}", **kwargs) as resp:
            body = await resp.json()
            assert resp.status == status, (method, path, resp.status, body)
            return body

    session = (await call("POST", "/api/sessions", 201))["id"]
    _, answer = await chat(http, service, session, STACK_TRACE, None)
    await chat(http, service, session, FOLLOW_UP, answer)
    await call("GET", f"/api/sessions/{session}")
    await call("GET", f"/api/sessions/{session}/messages")
    await call("GET", "/api/sessions")
    project = (await call("POST", "/api/projects", 201, json={"name": "soak"}))["id"]
    await call("PATCH", f"/api/projects/{project}", json={"name": "soak, renamed"})
    await call("PATCH", f"/api/projects/{project}/context-toggle", json={"context_enabled": True})
    await call("GET", "/api/projects")
    await call("DELETE", f"/api/projects/{project}")
    await call("GET", "/api/user/profile/full")
    await call("GET", "/api/user/memories")
    await call("DELETE", f"/api/sessions/{session}")
    await call("DELETE", "/api/user/account")
    return 16


async def load(service: str, until: float, counts: list[int]) -> None:
    while time.monotonic() < until:
        async with signed_in(f"soak-{uuid.uuid4()}") as http:  # a new user every cycle
            async with http.get(f"{service}/protected") as resp:
                assert resp.status == 200, resp.status
            counts.append(await cycle(http, service))


async def health_load(service: str, until: float, counts: list[int], paced_by: list[int]) -> None:
    """As many GET /health as the loaded service has had requests (not a busy loop that
    would take the CPU from it)."""
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < until:
            if sum(counts) >= sum(paced_by):
                await asyncio.sleep(0.1)
                continue
            async with http.get(f"{service}/health") as resp:
                await resp.read()
            counts.append(1)


async def sample(
    pids: dict[str, int], started: float, until: float, every: float
) -> list[tuple[float, dict[str, int]]]:
    curve = []
    while True:
        now = time.monotonic()
        curve.append(
            (now - started, {name: status_kib(pid, "VmRSS") for name, pid in pids.items()})
        )
        if now >= until:
            return curve
        await asyncio.sleep(min(every, max(until - now, 0)))


def snapshot(pid: int, path: Path) -> tracemalloc.Snapshot:
    os.kill(pid, signal.SIGUSR1)
    for _ in range(3000):  # the dump of a large snapshot takes a while on a busy machine
        if path.exists():
            return tracemalloc.Snapshot.load(str(path))
        time.sleep(0.1)
    raise RuntimeError("no tracemalloc snapshot came back")


async def soak(args: argparse.Namespace, services: dict[str, str], pids: dict[str, int],
               dumps: Path | None) -> None:  # fmt: skip
    for url in services.values():
        await wait_until_up(f"{url}/health")
    started = time.monotonic()
    warm_until = started + args.warm_up_minutes * 60
    until = started + args.minutes * 60
    counts: dict[str, list[int]] = {"loaded": [], "baseline": []}
    workers = [
        asyncio.ensure_future(load(services["loaded"], until, counts["loaded"]))
        for _ in range(args.workers)
    ]
    workers.append(
        asyncio.ensure_future(
            health_load(services["baseline"], until, counts["baseline"], counts["loaded"])
        )
    )
    sampler = asyncio.ensure_future(sample(pids, started, until, args.sample_seconds))
    before = None
    if dumps is not None:
        await asyncio.sleep(warm_until - time.monotonic())
        before = await asyncio.to_thread(snapshot, pids["loaded"], dumps / "warm.snapshot")
    await asyncio.gather(*workers)
    curve = await sampler
    after = None
    if dumps is not None:
        after = await asyncio.to_thread(snapshot, pids["loaded"], dumps / "end.snapshot")
    report(args, curve, counts, started, warm_until)
    if before is not None and after is not None:
        grown = sum(s.size_diff for s in after.compare_to(before, "filename")) / MIB / 1024
        print(
            "tracemalloc (its traces and snapshots are in the RSS above): the traced heap grew "
            f"{grown:+.2f} MiB between the end of the warm-up and the end; largest growth:"
        )
        for stat in after.compare_to(before, "lineno")[:15]:
            print(f"  {stat}")


def report(
    args: argparse.Namespace,
    curve: list[tuple[float, dict[str, int]]],
    counts: dict[str, list[int]],
    started: float,
    warm_until: float,
) -> None:
    print(f"{'seconds':>8} {'loaded MiB':>11} {'baseline MiB':>13}")
    for at, rss in curve:
        print(f"{at:>8.0f} {rss['loaded'] / MIB:>11.1f} {rss['baseline'] / MIB:>13.1f}")
    warm = [rss for at, rss in curve if at >= warm_until - started]
    growth = {name: (warm[-1][name] - warm[0][name]) / MIB for name in ("loaded", "baseline")}
    spread = {
        name: (max(r[name] for r in warm) - min(r[name] for r in warm)) / MIB
        for name in ("loaded", "baseline")
    }
    figure(
        f"soak RSS growth after a {args.warm_up_minutes:g}-minute warm-up over "
        f"{args.minutes:g} minutes",
        f"{growth['loaded']:+.1f} MiB (max-min {spread['loaded']:.1f}); baseline "
        f"(GET /health only) {growth['baseline']:+.1f} MiB (max-min {spread['baseline']:.1f})",
        "within 5 MiB",
        requests=sum(counts["loaded"]),
        baseline_requests=sum(counts["baseline"]),
        rss=f"{warm[0]['loaded'] / MIB:.1f}->{warm[-1]['loaded'] / MIB:.1f}MiB",
        malloc="glibc-dynamic-threshold"
        if args.glibc_dynamic_threshold
        else ",".join(f"{k}={v}" for k, v in MALLOC_ENV.items()),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--warm-up-minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument("--short", action="store_true", help="2 minutes: a smoke run")
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument(
        "--glibc-dynamic-threshold",
        action="store_true",
        help="run the services without MALLOC_ENV (glibc's default: the RSS creep)",
    )
    parser.add_argument(
        "--upstream-host",
        default="127.0.0.1",
        help="`localhost`: the service resolves its upstreams by name, as on Lambda "
        "(aiohttp's getaddrinfo runs in the default executor's threads)",
    )
    args = parser.parse_args()
    if args.short:
        args.minutes, args.warm_up_minutes, args.sample_seconds = 2, 0.5, 5

    import pgserver

    ports = {"upstream": free_port(), "loaded": free_port(), "baseline": free_port()}
    upstream = f"http://{args.upstream_host}:{ports['upstream']}"
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        db = pgserver.get_server(Path(scratch) / "pg", cleanup_mode="delete")
        try:
            loaded, env = service_command(ports["loaded"], db.get_uri(), upstream, web_search=True)
            baseline, baseline_env = service_command(
                ports["baseline"], db.get_uri(), upstream, web_search=True
            )
            if args.glibc_dynamic_threshold:  # service_command sets MALLOC_ENV
                for environment in (env, baseline_env):
                    for name in MALLOC_ENV:
                        del environment[name]
            dumps = None
            if args.tracemalloc:
                dumps = Path(scratch)
                loaded = [sys.executable, str(ROOT / "bench" / "traced_serve.py"), str(dumps)]
            with processes(
                (upstream_command(ports["upstream"], Latencies()), None),
                (loaded, env),
                (baseline, baseline_env),
            ) as (_, loaded_pid, baseline_pid):
                services = {n: f"http://127.0.0.1:{ports[n]}" for n in ("loaded", "baseline")}
                pids = {"loaded": loaded_pid, "baseline": baseline_pid}
                asyncio.run(soak(args, services, pids, dumps))
        finally:
            db.cleanup()


if __name__ == "__main__":
    main()
