"""Cold start and warm overhead of our Lambda runtime, under the local emulator.

(a) Cold start: from exec of the function process (exec wrapper, as Lambda
    starts it) to the first /health response received by the emulator, next to
    `python -c pass` and `python -c "import aiohttp.web"` run the same way.
(b) Warm overhead: per-invocation time of /health through the Runtime API loop,
    minus the same request handled by the app in-process.

Usage: python bench/lambda_runtime.py [--cold 15] [--warm 1000] [--task-root DIR]
Targets: cold start at most 1.3x the `import aiohttp.web` baseline; warm
overhead under 1 ms median.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from devtools.lambda_emulator import Emulator
from handler.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HEALTH = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "bench.lambda-url.us-east-1.on.aws", "x-forwarded-proto": "https"},
    "requestContext": {"http": {"method": "GET", "path": "/health", "sourceIp": "127.0.0.1"}},
    "isBase64Encoded": False,
}
# Lambda cannot write bytecode into the read-only /var/task: neither may the function here.
ENV = {
    "DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",
    "LOG_LEVEL": "ERROR",
    "PYTHONDONTWRITEBYTECODE": "1",
}


def process_time(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def invoke(emulator: Emulator) -> float:
    started = time.perf_counter()
    invocation = await emulator.invoke(HEALTH)
    start = await invocation.start
    assert start.get("statusCode") == 200, start
    await invocation.done.wait()
    while not invocation.body.empty():
        invocation.body.get_nowait()
    return time.perf_counter() - started


async def cold_starts(task_root: Path, python: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        emulator = Emulator(task_root, ENV, python=python)
        await emulator.start()
        try:
            invocation = await emulator.invoke(HEALTH)  # starts the process
            started = emulator.process_started_at
            await invocation.done.wait()
            samples.append(time.monotonic() - started)
        finally:
            await emulator.close()
    return statistics.median(samples)


async def warm_loop(task_root: Path, python: str, runs: int) -> float:
    emulator = Emulator(task_root, ENV, python=python)
    await emulator.start()
    try:
        for _ in range(50):
            await invoke(emulator)
        return statistics.median([await invoke(emulator) for _ in range(runs)])
    finally:
        await emulator.close()


async def in_process(runs: int) -> float:
    from handler.app import create_app

    runner = web.AppRunner(create_app(Settings.from_env(ENV)))
    await runner.setup()
    handler = runner.server.request_handler
    samples = []
    try:
        for i in range(runs + 50):
            # Built outside the timer: the mock objects cost more than the request.
            request = make_mocked_request("GET", "/health", app=runner.app)
            started = time.perf_counter()
            response = await handler(request)
            await response.prepare(request)
            await response.write_eof()
            if i >= 50:
                samples.append(time.perf_counter() - started)
    finally:
        await runner.cleanup()
    return statistics.median(samples)


async def measure(args: argparse.Namespace, task_root: Path) -> tuple[float, float, float]:
    cold = await cold_starts(task_root, args.python, args.cold)
    warm = await warm_loop(task_root, args.python, args.warm)
    app_only = await in_process(args.warm)
    return cold, warm, app_only


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=15)
    parser.add_argument("--warm", type=int, default=1000)
    parser.add_argument("--task-root", default=str(ROOT))
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()

    bare = process_time("pass", args.cold)
    aiohttp_import = process_time("import aiohttp.web", args.cold)
    cold, warm, app_only = asyncio.run(measure(args, Path(args.task_root).resolve()))
    rows = [
        ("python -c pass", bare, f"{bare / aiohttp_import:.2f}x"),
        ('python -c "import aiohttp.web" (baseline)', aiohttp_import, "1.00x"),
        (
            "cold start: exec to first /health response",
            cold,
            f"{cold / aiohttp_import:.2f}x  (target <= 1.30x)",
        ),
        ("warm /health through the Runtime API loop", warm, ""),
        ("warm /health in-process (app only)", app_only, ""),
        ("warm overhead of the loop", warm - app_only, "(target < 1 ms)"),
    ]
    print(f"task root: {args.task_root}")
    print(f"{'measure':<44} {'median ms':>10}  ratio to baseline")
    for name, seconds, note in rows:
        print(f"{name:<44} {seconds * 1e3:>10.3f}  {note}")


if __name__ == "__main__":
    main()
