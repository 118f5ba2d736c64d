"""A fleet, not one container: N Lambda containers chat at once against one PostgreSQL.

Each container is the packaged function started as Lambda starts it (exec wrapper,
our Runtime API loop) under its own Runtime API stand-in (devtools' emulator), one
chat at a time, as Lambda gives each concurrent request its own container. They all
use one PostgreSQL whose `max_connections` is low, either directly or through
pgbouncer in transaction mode with its default settings (tests/pgbouncer.py; only
the server pool size is set), the closest local stand-in for RDS Proxy. The model is
the HuggingFace stand-in, streaming a short answer slowly enough that the chats
overlap. The database is migrated once before (as `make deploy` does); the
containers only check the schema.

Each container first starts and serves one signed-in request (not counted), a few
at a time as cores allow: Lambda starts each on a CPU of its own. Then per path and
N, per round (every round reuses the same containers):
  answered  chats that streamed the whole answer and [DONE]
  stored    of those, answers whose stored text is the whole answer
  503       refused with the database's 503 (the body's message is printed once)
  other     anything else (a 500, a broken stream): must be 0
  peak      most server connections at once (pg_stat_activity, sampled every 10 ms)
  held      server connections still open once the round is over
  first byte  median and worst time from invocation to the first body byte

Also the cost of DATABASE_IDLE_TIMEOUT=0 (a new connection per invocation): a query
on a kept connection against one that must connect first, direct and pooled.

Usage: python bench/fleet.py [--n 20 60] [--rounds 2] [--max-connections 40]
       [--pool-size 10] [--paths direct pgbouncer] [--package ZIP | --task-root DIR]
       [--json]
Target (issue 21): through pgbouncer every user answered and every answer stored at
every N; directly, past max_connections, the rest get 503, never anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
from aiohttp import web
from lambda_setup import ROOT, clean_python, event, figure, function_env, package

from devtools.lambda_emulator import Emulator, LocalCertificates, ensure_signing_key
from handler.auth.emulator import LOCAL_PROJECT, signed_token
from handler.db.migrate import migrate

SAMPLE_EVERY = 0.01  # seconds between pg_stat_activity samples
QUESTION = "TypeError: cannot read properties of undefined (reading 'id')"
ANSWER_WORDS = ["The ", "bug ", "is ", "a ", "missing ", "null ", "check ", "on ", "id."]
WORD_DELAY = 0.05  # seconds between the model's chunks: about half a second per answer
# Lambda's own limit is 900 s; twenty cold starts at once on two busy cores take ~30 s.
INVOCATION_TIMEOUT = 300.0
DRAIN_SECONDS = 30.0  # for the server to see a finished run's sessions go
BENCH = "fleet-bench"  # the bench's own sessions, left out of the counts


@dataclass
class Outcome:
    status: int
    text: str = ""
    done: bool = False
    error: str = ""
    first_byte: float | None = None


@dataclass
class Round:
    path: str
    n: int
    round: int
    answered: int = 0
    stored: int = 0
    refused: int = 0
    other: int = 0
    peak: int = 0
    held: int = 0
    first_byte_median_ms: float | None = None
    first_byte_max_ms: float | None = None
    refusals: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def start_postgres(directory: Path, max_connections: int):
    """pgserver's PostgreSQL (with pgvector) restarted with a low max_connections."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(directory, cleanup_mode="stop")
        server.psql(f"ALTER SYSTEM SET max_connections = {max_connections}")
        server.cleanup()  # stops it; the setting needs a restart
        return pgserver.get_server(directory, cleanup_mode="delete")


async def prepare_users(url: str, n: int) -> list[tuple[str, str]]:
    """Migrated schema (as a deploy leaves it), and one user with one session per container."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        users = []
        for i in range(n):
            uid, sid = f"fleet-{i}-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
            await conn.execute("INSERT INTO users (id, email) VALUES ($1, $2)", uid, f"{uid}@x")
            await conn.execute(
                "INSERT INTO sessions (id, user_id, title) VALUES ($1, $2, 'Fleet')", sid, uid
            )
            users.append((uid, sid))
        return users
    finally:
        await conn.close()


async def chat(emulator: Emulator, token: str, session_id: str) -> Outcome:
    body = json.dumps({"sessionId": session_id, "message": QUESTION})
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    started = time.monotonic()
    invocation = await emulator.invoke(event("POST", "/api/chat", headers, body))
    start = await invocation.start
    if "error" in start:
        return Outcome(502, error=json.dumps(start["error"]))
    raw = b""
    first_byte = None
    while (chunk := await invocation.body.get()) is not None:
        first_byte = first_byte or time.monotonic() - started
        raw += chunk
    outcome = Outcome(start.get("statusCode", 0), first_byte=first_byte)
    if invocation.trailer_error is not None:
        outcome.error = json.dumps(invocation.trailer_error)
    if outcome.status != 200:
        outcome.error = outcome.error or raw.decode(errors="replace")
        return outcome
    for line in raw.decode().splitlines():
        if line == "data: [DONE]":
            outcome.done = True
        elif line.startswith("data: "):
            data = json.loads(line[6:])
            outcome.text += data.get("content", "") if isinstance(data, dict) else ""
            if isinstance(data, dict) and "error" in data:
                outcome.error = data["error"]
    return outcome


async def server_connections(admin: asyncpg.Connection) -> int:
    """Client sessions on the server: the containers' or pgbouncer's, not the bench's."""
    return await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND application_name <> $1",
        BENCH,
    )


async def bench_connection(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, server_settings={"application_name": BENCH})


async def sample_peak(admin: asyncpg.Connection, stop: asyncio.Event) -> int:
    peak = 0
    while not stop.is_set():
        peak = max(peak, await server_connections(admin))
        await asyncio.sleep(SAMPLE_EVERY)
    return peak


async def stored_answers(admin: asyncpg.Connection, sessions: list[str]) -> dict[str, str]:
    rows = await admin.fetch(
        "SELECT DISTINCT ON (session_id) session_id::text AS sid, content FROM messages "
        "WHERE role = 'assistant' AND session_id = ANY($1::uuid[]) "
        "ORDER BY session_id, created_at DESC",
        sessions,
    )
    return {r["sid"]: r["content"] for r in rows}


async def run_round(
    label: tuple[str, int, int],
    emulators: list[Emulator],
    users: list[tuple[str, str]],
    tokens: list[str],
    admin: asyncpg.Connection,
    sampling: asyncpg.Connection,
) -> Round:
    await admin.execute("DELETE FROM messages")  # this round's answers only
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_peak(sampling, stop))
    outcomes = await asyncio.gather(
        *(chat(e, t, sid) for e, t, (_, sid) in zip(emulators, tokens, users, strict=True))
    )
    stop.set()
    result = Round(*label, peak=await sampler)
    result.held = await server_connections(admin)
    stored = await stored_answers(admin, [sid for _, sid in users])
    answer = "".join(ANSWER_WORDS)
    times = []
    for outcome, (_, sid) in zip(outcomes, users, strict=True):
        if outcome.status == 200 and outcome.done and outcome.text == answer:
            result.answered += 1
            result.stored += stored.get(sid) == answer
            times.append(outcome.first_byte)
        elif outcome.status == 503:
            result.refused += 1
            if outcome.error not in result.refusals:
                result.refusals.append(outcome.error)
        else:
            result.other += 1
            result.failures.append(f"{outcome.status}: {outcome.error or outcome.text!r}")
    if times:
        result.first_byte_median_ms = round(statistics.median(times) * 1e3, 1)
        result.first_byte_max_ms = round(max(times) * 1e3, 1)
    return result


async def fleet(
    path: str,
    n: int,
    rounds: int,
    database_url: str,
    env: dict[str, str],
    task_root: Path,
    python: str,
    keys: Path,
) -> list[Round]:
    users = await prepare_users(database_url, n)
    tokens = [signed_token(LOCAL_PROJECT, uid, keys) for uid, _ in users]
    # Opened first, so that they never compete with the containers for a slot.
    admin, sampling = await bench_connection(database_url), await bench_connection(database_url)
    emulators = [
        Emulator(task_root, env, timeout=INVOCATION_TIMEOUT, python=python) for _ in range(n)
    ]
    try:
        for emulator in emulators:
            await emulator.start()
        await warm_up(emulators, tokens)
        return [
            await run_round((path, n, r + 1), emulators, users, tokens, admin, sampling)
            for r in range(rounds)
        ]
    finally:
        await asyncio.gather(*(e.close() for e in emulators))
        await admin.close()
        await sampling.close()


async def warm_up(emulators: list[Emulator], tokens: list[str]) -> None:
    """Each container starts and serves one signed-in request before the rounds, a few at a
    time: on Lambda each starts on its own CPU, here N cold starts at once would starve
    each other (imports, token checks) past their timeouts. Outcomes are not counted."""
    gate = asyncio.Semaphore(os.cpu_count() or 1)

    async def start(emulator: Emulator, token: str) -> None:
        async with gate:
            headers = {"authorization": f"Bearer {token}"}
            invocation = await emulator.invoke(event("GET", "/api/sessions", headers))
            await invocation.done.wait()

    await asyncio.gather(*(start(e, t) for e, t in zip(emulators, tokens, strict=True)))


async def reconnect_cost(url: str, pooled: bool, runs: int = 50) -> tuple[float, float]:
    """Median seconds of a query on a kept connection, and of connect + query + close."""
    options = {"statement_cache_size": 0} if pooled else {}
    kept = await asyncpg.connect(url, **options)
    warm, cold = [], []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            await kept.fetchval("SELECT 1")
            warm.append(time.perf_counter() - started)
            started = time.perf_counter()
            fresh = await asyncpg.connect(url, **options)
            await fresh.fetchval("SELECT 1")
            cold.append(time.perf_counter() - started)
            await fresh.close()
    finally:
        await kept.close()
    return statistics.median(warm), statistics.median(cold)


async def measure(args: argparse.Namespace, task_root: Path, python: str, scratch: Path):
    from tests.pgbouncer import start as start_pgbouncer
    from tests.standins import huggingface as hf

    keys = scratch / "local-auth"
    certificates = web.AppRunner(LocalCertificates(ensure_signing_key(keys)).app())
    await certificates.setup()
    await web.TCPSite(certificates, "127.0.0.1", 0).start()
    model = hf.HuggingFace(words=ANSWER_WORDS, delay=WORD_DELAY)
    model_runner = web.AppRunner(model.app())
    await model_runner.setup()
    await web.TCPSite(model_runner, "127.0.0.1", 0).start()
    server = start_postgres(scratch / "pg", args.max_connections)
    results: list[Round] = []
    costs: dict[str, tuple[float, float]] = {}
    try:
        base = function_env(
            DATABASE_SSL="disable",
            FIREBASE_PROJECT_ID=LOCAL_PROJECT,
            FIREBASE_CERTS_URL=f"http://127.0.0.1:{certificates.addresses[0][1]}/certs",
            HUGGINGFACE_API_KEY=hf.API_KEY,
            HF_BASE_URL=f"http://127.0.0.1:{model_runner.addresses[0][1]}",
            HF_MODEL=hf.MAIN_MODEL,
            HF_FAST_MODEL=hf.FAST_MODEL,
            RATE_LIMITS="free=1000000",
        )
        for n in args.n:
            for path in args.paths:
                database = f"fleet_{path}_{n}"
                await _create_database(server.get_uri(), database)
                direct_url = server.get_uri(database)
                env = {**base, "DATABASE_URL": direct_url}
                # A pgbouncer per run: its server connections would outlive the run.
                bouncer = None
                if path == "pgbouncer":
                    bouncer = start_pgbouncer(server.get_uri(), pool_size=args.pool_size)
                    env["DATABASE_URL"] = bouncer.url(database)
                    env["DATABASE_POOLER"] = "transaction"
                try:
                    runs = await fleet(
                        path, n, args.rounds, direct_url, env, task_root, python, keys
                    )
                    if bouncer is None:
                        await drained(direct_url)  # the containers' slots, for the probe
                    costs[path] = await reconnect_cost(env["DATABASE_URL"], bouncer is not None)
                finally:
                    if bouncer is not None:
                        bouncer.stop()
                await drained(direct_url)
                for result in runs:
                    results.append(result)
                    if not args.json:
                        _print_round(result)
    finally:
        server.cleanup()
        await model_runner.cleanup()
        await certificates.cleanup()
    return results, costs


async def drained(url: str) -> None:
    """Until the server has no session of a finished run left: each run gets every slot."""
    admin = await bench_connection(url)
    try:
        for _ in range(int(DRAIN_SECONDS / SAMPLE_EVERY)):
            if not await server_connections(admin):
                return
            await asyncio.sleep(SAMPLE_EVERY)
    finally:
        await admin.close()


async def _create_database(url: str, name: str) -> None:
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()


def _print_round(r: Round) -> None:
    first = (
        f"{r.first_byte_median_ms} ms median, {r.first_byte_max_ms} ms worst"
        if r.first_byte_median_ms is not None
        else "-"
    )
    print(
        f"{r.path:<9} N={r.n:<3} round {r.round}: answered {r.answered}/{r.n}, "
        f"stored in full {r.stored}/{r.answered}, 503 {r.refused}, other {r.other}, "
        f"peak server connections {r.peak}, held after {r.held}, first byte {first}",
        flush=True,
    )
    for message in r.refusals:
        print(f"          503 said: {message}", flush=True)
    for failure in r.failures:
        print(f"          FAILED: {failure}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[20, 60])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-connections", type=int, default=40)
    parser.add_argument("--pool-size", type=int, default=10, help="pgbouncer's server pool")
    parser.add_argument(
        "--paths", nargs="+", choices=("direct", "pgbouncer"), default=["direct", "pgbouncer"]
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--package", help="a zip built with --python-version local")
    source.add_argument("--task-root", help="the source tree (tests: no package build)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as scratch:
        if args.task_root:
            task_root, python = Path(args.task_root).resolve(), sys.executable
        else:
            task_root = package(Path(scratch), args.package)
            python = clean_python(Path(scratch))
        if not args.json:
            print(
                f"max_connections {args.max_connections}, pgbouncer pool {args.pool_size}, "
                f"task root {task_root}",
                flush=True,
            )
        results, costs = asyncio.run(measure(args, task_root, python, Path(scratch)))
    if args.json:
        print(json.dumps({"rounds": [asdict(r) for r in results], "reconnect": costs}))
        return
    for path, (warm, cold) in costs.items():
        figure(
            f"reconnect cost ({path})",
            f"connect + SELECT 1 {cold * 1e3:.2f} ms = {cold / warm:.1f}x SELECT 1 on a kept "
            f"connection ({warm * 1e3:.2f} ms)",
        )
    pooled = [r for r in results if r.path == "pgbouncer"]
    complete = all(r.answered == r.stored == r.n for r in pooled)
    clean = all(r.other == 0 for r in results)
    figure(
        "fleet",
        "every pooled user answered and stored" if complete else "pooled users were lost",
        "all answered and stored through pgbouncer; only 503s past the limit directly",
        other_failures=sum(r.other for r in results),
        verdict="ok" if complete and clean else "FAILED",
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # the stand-ins live in tests/
    main()
