"""Cold start of the packaged function, as Lambda runs it, against its baselines.

Ours: the zip built for this machine, unzipped, started by the emulator through the
exec wrapper (our loop, an independent Runtime API stand-in), timed from exec to the
last byte of the first /health response reaching the Runtime API. Baseline, in the
same run and the same clean interpreter: `python -c "import aiohttp.web"` (the
package's aiohttp) to its first line of output. With --node-deps, also
bench/node_lower_bound.mjs (a lower bound of the Node original's cold start: the
packages its lambda.js loads, set up as it sets them up, /health answered once
through serverless-http) to its first line of output. Runs are interleaved; medians.

--node-deps DIR: a folder where `npm install` ran for the original's backend
package.json (leczy642/DebugFlow backend/package.json: express, serverless-http,
firebase-admin, pg, @pinecone-database/pinecone, @huggingface/inference, winston, ...).

Usage: python bench/cold_start.py [--runs 15] [--package dist/local.zip] [--node-deps DIR]
Targets: at most 1.00x the aiohttp baseline (issue 18); at most 0.45x the Node original
(issue 26).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from lambda_setup import (
    HEALTH,
    ROOT,
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


def node_command(deps: Path) -> tuple[list[str], dict[str, str]]:
    """The Node bound, run from the folder whose node_modules it imports."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    script = deps / "debugflow_node_lower_bound.mjs"
    shutil.copyfile(ROOT / "bench" / "node_lower_bound.mjs", script)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FIREBASE_PROJECT_ID": "bench",
        "FIREBASE_CLIENT_EMAIL": "bench@bench.iam.gserviceaccount.com",
        "FIREBASE_PRIVATE_KEY": key.decode(),
        "DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",
        "BENCH_EVENT": json.dumps(HEALTH),
    }
    return [shutil.which("node") or "node", str(script)], env


async def measure(
    runs: int, task_root: Path, python: str, node_deps: Path | None
) -> dict[str, float]:
    command, env = import_aiohttp_command(python, task_root)
    measures = {
        "ours": lambda: cold_health(task_root, python),
        "aiohttp": lambda: first_output(command, env, task_root),
    }
    if node_deps is not None:
        node, node_env = node_command(node_deps)
        measures["node"] = lambda: first_output(node, node_env, node_deps)
    return await interleaved(runs, measures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--package", help="a zip built with --python-version local")
    parser.add_argument("--node-deps", type=Path, help="node_modules' folder (see above)")
    args = parser.parse_args()
    node_deps = args.node_deps.resolve() if args.node_deps else None
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch:
        task_root = package(Path(scratch), args.package)
        python = clean_python(Path(scratch))
        medians = asyncio.run(measure(args.runs, task_root, python, node_deps))
    ours, baseline = medians["ours"], medians["aiohttp"]
    if "node" in medians:
        node = medians["node"]
        figure(
            "cold start vs the Node original",
            f"{ours * 1e3:.1f} ms = {ours / node:.2f}x a lower bound of its cold start "
            f"(bench/node_lower_bound.mjs, {node * 1e3:.1f} ms to first output)",
            "<= 0.45x the original",
            runs=args.runs,
        )
    figure(
        "cold start, exec to first /health response",
        f"{ours * 1e3:.1f} ms = {ours / baseline:.2f}x "
        f'`python -c "import aiohttp.web"` to first output ({baseline * 1e3:.1f} ms)',
        "<= 1.00x",
        runs=args.runs,
    )


if __name__ == "__main__":
    main()
