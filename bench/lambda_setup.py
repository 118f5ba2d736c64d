"""What the Lambda benchmarks share: the package as Lambda runs it, a clean interpreter,
timed process starts, and one line per figure.

- `package()`: the deployment zip built for this machine (build.py --python-version
  local), unzipped as Lambda unzips it.
- `clean_python()`: a virtual environment with nothing installed: like Lambda's
  interpreter, its `site` adds nothing to the path, so the function imports only
  from its package (this project's own venv would add its editable install).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import venv
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from devtools.lambda_emulator import unpack

ROOT = Path(__file__).resolve().parent.parent


def event(method: str, path: str, headers: dict[str, str] | None = None, body: str = "") -> dict:
    """A Function URL event (payload v2.0)."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "host": "bench.lambda-url.us-east-1.on.aws",
            "x-forwarded-proto": "https",
            **(headers or {}),
        },
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "127.0.0.1"}},
        "body": body,
        "isBase64Encoded": False,
    }


HEALTH = event("GET", "/health")


def package(scratch: Path, zip_path: str | None) -> Path:
    """The unzipped package: `zip_path`, or one built now from this tree."""
    if zip_path is None:
        built = scratch / "local.zip"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "build.py"),
                "--python-version",
                "local",
                "--output",
                str(built),
                "--max-size",
                "100000000",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        zip_path = str(built)
    return unpack(Path(zip_path), scratch / "task")


def clean_python(scratch: Path) -> str:
    target = scratch / "clean-venv"
    venv.create(target, with_pip=False, symlinks=True)
    return str(target / "bin" / "python")


def function_env(**extra: str) -> dict[str, str]:
    """As on Lambda: bytecode cannot be written next to the package (read-only there)."""
    return {"PYTHONDONTWRITEBYTECODE": "1", "LOG_LEVEL": "ERROR", **extra}


async def first_output(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds from exec to the command's first line of output."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, env=env, cwd=cwd
    )
    assert process.stdout is not None
    line = await process.stdout.readline()
    elapsed = time.monotonic() - started
    await process.wait()
    assert line, f"{command} printed nothing"
    return elapsed


def import_aiohttp_command(python: str, task_root: Path) -> tuple[list[str], dict[str, str]]:
    """The baseline: the package's aiohttp imported by the same clean interpreter."""
    code = "import aiohttp.web; print('imported', flush=True)"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(task_root), **function_env()}
    return [python, "-c", code], env


async def interleaved(
    runs: int, measures: dict[str, Callable[[], Awaitable[float]]]
) -> dict[str, float]:
    """Median seconds of each measure, run in turn `runs` times (drift hits all alike)."""
    samples: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(runs):
        for name, measure in measures.items():
            samples[name].append(await measure())
    return {name: statistics.median(values) for name, values in samples.items()}


def figure(name: str, value: str, target: str = "", **details: Any) -> None:
    """One line: the figure, what it is measured against, the target."""
    parts = [f"{name}: {value}"]
    if target:
        parts.append(f"(target {target})")
    parts += [f"{k}={v}" for k, v in details.items()]
    print("  ".join(parts), flush=True)
