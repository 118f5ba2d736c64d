"""Cold start of the packaged function, as Lambda runs it, against its baselines.

Ours: the zip built for this machine, unzipped, started by the emulator through the
exec wrapper (our loop, an independent Runtime API stand-in), timed from exec to the
last byte of the first /health response reaching the Runtime API. Baseline, in the
same run and the same clean interpreter: `python -c "import aiohttp.web"` (the
package's aiohttp) to its first line of output. Runs are interleaved; medians.

Usage: python bench/cold_start.py [--runs 15] [--package dist/local.zip]
Target: at most 1.00x the baseline (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from lambda_setup import (
    HEALTH,
    clean_python,
    figure,
    first_output,
    function_env,
    import_aiohttp_command,
    interleaved,
    package,
)

from devtools.lambda_emulator import Emulator


async def cold_health(task_root: Path, python: str) -> float:
    env = function_env(DATABASE_URL="postgresql://bench@127.0.0.1:1/bench")
    emulator = Emulator(task_root, env, python=python)
    await emulator.start()
    try:
        invocation = await emulator.invoke(HEALTH)  # starts the function process
        started = emulator.process_started_at
        await invocation.done.wait()
        elapsed = time.monotonic() - started
        assert (await invocation.start).get("statusCode") == 200
        return elapsed
    finally:
        await emulator.close()


async def measure(runs: int, task_root: Path, python: str) -> dict[str, float]:
    command, env = import_aiohttp_command(python, task_root)
    return await interleaved(
        runs,
        {
            "ours": lambda: cold_health(task_root, python),
            "aiohttp": lambda: first_output(command, env, task_root),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--package", help="a zip built with --python-version local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        task_root = package(Path(scratch), args.package)
        python = clean_python(Path(scratch))
        medians = asyncio.run(measure(args.runs, task_root, python))
    ours, baseline = medians["ours"], medians["aiohttp"]
    figure(
        "cold start, exec to first /health response",
        f"{ours * 1e3:.1f} ms = {ours / baseline:.2f}x "
        f'`python -c "import aiohttp.web"` to first output ({baseline * 1e3:.1f} ms)',
        "<= 1.00x",
        runs=args.runs,
    )


if __name__ == "__main__":
    main()
