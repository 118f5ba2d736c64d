"""`make dev` from a fresh copy of the checkout in a private folder (mode 0700), as a user would.

As root (CI, most containers) this is the case pgserver could not serve
without opening the folder: PostgreSQL's own user now gets what it needs
under /var/tmp. The copy holds what a clone of this work tree would (git's
files, committed or not); `make dev` creates its .venv with pip (about a
minute), so the test is slow.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import aiohttp
import pytest

from handler.db import embedded
from tests.browser.processes import (
    ROOT,
    START_TIMEOUT,
    Backend,
    base_environment,
    free_port,
    spawn,
    until,
)

pytestmark = pytest.mark.slow
# A new .venv (pip, warm cache) and the first initdb on a busy 2-core machine; not a bar.
INSTALL_AND_START_TIMEOUT = 600.0


def _copy_checkout(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted in the work tree is not in a clone of it
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _modes(folder: Path) -> dict[Path, int]:
    """Modes of the folder and every folder in it, but what make dev creates."""
    found = {folder: stat.S_IMODE(folder.stat().st_mode)}
    for path in folder.rglob("*"):
        if path.is_dir() and not {".venv", ".data"} & set(path.relative_to(folder).parts):
            found[path] = stat.S_IMODE(path.stat().st_mode)
    return found


def _assert_nothing_opened(home: Path, before: dict[Path, int]) -> None:
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    after = {path: mode for path, mode in _modes(home).items() if path in before}
    assert after == before, "make dev changed a folder's mode"


async def _json(url: str) -> dict | None:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return await resp.json() if resp.status == 200 else None
    except (aiohttp.ClientError, ValueError):
        return None


async def _stop(dev: Backend) -> None:
    """Ctrl-C's effect: SIGTERM to make and the server it runs (its process group)."""
    if dev.process.returncode is None:
        os.killpg(dev.process.pid, signal.SIGTERM)
        await dev.process.wait()


async def _gone(path: Path, dev: Backend) -> None:
    """Wait while `path` exists (a postmaster.pid the server's exit removes)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while await asyncio.to_thread(path.exists):
        assert loop.time() < deadline, f"{path} still there:\n{dev.output()}"
        await asyncio.sleep(0.1)


async def test_make_dev_serves_from_a_private_folder_and_opens_nothing():
    home = Path(tempfile.mkdtemp(prefix="debugflow-private-home-"))  # mode 0700
    checkout = home / "DebugFlow"
    try:
        _copy_checkout(checkout)
        before = _modes(home)
        port = free_port()
        env = base_environment(PORT=str(port), LOG_LEVEL="INFO")
        env.pop("PYTHONPATH")  # only what make dev installs into the copy's .venv
        log = home / "make-dev.log"
        process = await spawn(["make", "dev"], env, checkout, log)
        dev = Backend(f"http://127.0.0.1:{port}", process, log)
        try:
            await until(
                lambda: _json(f"{dev.url}/health"),
                dev,
                "make dev (pip install first)",
                INSTALL_AND_START_TIMEOUT,
            )
            database = await _json(f"{dev.url}/debug-db")
            assert database and database["success"] is True, dev.output()
        finally:
            await _stop(dev)
        _assert_nothing_opened(home, before)
        if os.geteuid() == 0:  # the data went to PostgreSQL's user's own folder
            data = embedded.shared_folder(checkout / embedded.DEFAULT_DATA_DIR) / "postgres"
            assert not await asyncio.to_thread((checkout / ".data" / "postgres").exists)
        else:
            data = checkout / embedded.DEFAULT_DATA_DIR
        await _gone(data / "postmaster.pid", dev)  # the server stopped with make dev
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(embedded.shared_folder(checkout / embedded.DEFAULT_DATA_DIR), True)
        shutil.rmtree(home)
