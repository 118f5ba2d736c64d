"""Memory of the function process under the runtime: growth over many invocations,
and the peak of writing one large body.

(a) Growth: GET /health of the real app (the packaged zip, as bench/cold_start.py
    runs it), each invocation with its own trace id (as Lambda sends them); resident
    memory after a warm-up, then after all invocations.
(b) Peak: one 20 MiB body (bench/apps.py, made by the handler for the request and
    written in one piece) through the streaming runtime; the process's peak resident
    memory (VmHWM, reset just before) over its resident memory before the request,
    as a multiple of the body.
Both run the function with devtools/native_heap.py's MALLOC_ENV, as Lambda does (the
emulator sets it, as terraform does).

Usage: python bench/memory.py [--invocations 100000] [--warm-up 5000] [--package ZIP]
Targets (issue 18): growth < 1 MiB after warm-up; peak <= 1.25x the body.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from apps import BODY_BYTES
from lambda_setup import HEALTH, ROOT, clean_python, event, figure, function_env, package

from devtools.lambda_emulator import Emulator

MIB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """VmHWM becomes the current resident size (Linux's clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def invoke(emulator: Emulator, request: dict) -> int:
    invocation = await emulator.invoke(request)
    start = await invocation.start
    assert start.get("statusCode") == 200, start
    size = 0
    while (chunk := await invocation.body.get()) is not None:
        size += len(chunk)
    return size


async def growth(task_root: Path, python: str, invocations: int, warm_up: int) -> tuple[int, int]:
    env = function_env(DATABASE_URL="postgresql://bench@127.0.0.1:1/bench")
    emulator = Emulator(task_root, env, python=python)
    await emulator.start()
    try:
        for _ in range(warm_up):
            await invoke(emulator, HEALTH)  # the emulator gives each its own trace id
        assert emulator.process is not None
        pid = emulator.process.pid
        before = status_kib(pid, "VmRSS")
        for _ in range(invocations):
            await invoke(emulator, HEALTH)
        return before, status_kib(pid, "VmRSS")
    finally:
        await emulator.close()


async def peak(task_root: Path, python: str) -> tuple[int, int]:
    env = function_env(_HANDLER="apps.big_body", PYTHONPATH=str(ROOT / "bench"))
    emulator = Emulator(task_root, env, python=python)
    await emulator.start()
    try:
        for _ in range(20):
            await invoke(emulator, event("GET", "/small"))
        assert emulator.process is not None
        pid = emulator.process.pid
        reset_peak(pid)
        before = status_kib(pid, "VmRSS")
        assert await invoke(emulator, event("GET", "/big")) == BODY_BYTES
        return before, status_kib(pid, "VmHWM")
    finally:
        await emulator.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--warm-up", type=int, default=5_000)
    parser.add_argument("--package", help="a zip built with --python-version local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        task_root = package(Path(scratch), args.package)
        python = clean_python(Path(scratch))
        rss_before, peak_kib = asyncio.run(peak(task_root, python))
        figure(
            "peak memory writing one 20 MiB body through the runtime",
            f"+{(peak_kib - rss_before) / 1024:.1f} MiB = "
            f"{(peak_kib - rss_before) * 1024 / BODY_BYTES:.2f}x the body",
            "<= 1.25x",
            rss_before=f"{rss_before / 1024:.1f}MiB",
        )
        start, end = asyncio.run(growth(task_root, python, args.invocations, args.warm_up))
        figure(
            f"memory growth over {args.invocations:,} invocations with distinct trace ids",
            f"{(end - start) / 1024:+.2f} MiB after a {args.warm_up:,}-invocation warm-up",
            "< 1 MiB",
            rss=f"{start / 1024:.1f}->{end / 1024:.1f}MiB",
        )


if __name__ == "__main__":
    main()
