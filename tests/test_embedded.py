"""The embedded PostgreSQL starts from a private folder and opens nothing up.

As root, PostgreSQL runs as the user `pgserver`: its data and a copy of its
binaries go to a folder of the checkout's own under /var/tmp, and the
checkout's folders keep their modes. As a normal user, it runs as that user
from the checkout. Both are started for real, in a subprocess (whose exit
stops the server) from a folder of mode 0700.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from handler.db import embedded
from tests.browser.processes import ROOT, START_TIMEOUT

# Starts the server the way `serve` does, then proves it answers SQL (pgvector included).
PROBE = """
import asyncio, json, asyncpg
from handler.db import embedded

async def probe(url):
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return await conn.fetchval("SELECT current_setting('data_directory')")
    finally:
        await conn.close()

url = embedded.start()
print(json.dumps({"url": url, "data": asyncio.run(probe(url))}))
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def private_checkout(tmp_path: Path):
    """`home/checkout` with `home` closed to others, as root's home is (mode 0700)."""
    home = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="debugflow-test-home-"))
    checkout = home / "checkout"
    checkout.mkdir()
    home.chmod(0o700)
    yield checkout
    shutil.rmtree(home)


def _interpreter(user: str | None) -> tuple[str, str]:
    """A Python `user` may run with this environment's packages; (executable, PYTHONPATH).

    The test environment's interpreter may live in root's private home (pyenv):
    another user then runs the system's, of the same version, on the same packages.
    """
    if user is None:
        return sys.executable, str(ROOT)
    system = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    assert Path(system).exists(), f"{system} is needed to run Python as {user}"
    packages = next(p for p in sys.path if p.endswith("site-packages"))
    return system, f"{ROOT}:{packages}"


def _start_from(checkout: Path, user: str | None) -> dict:
    """Run PROBE in `checkout` as `user` (None: as whoever runs the tests)."""
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (checkout.parent, checkout):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    python, path = _interpreter(user)
    result = subprocess.run(
        [python, "-c", PROBE],
        cwd=checkout,
        env={"PATH": os.environ["PATH"], "HOME": str(checkout), "PYTHONPATH": path},
        user=user,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_server_starts_from_a_private_checkout_and_opens_nothing(private_checkout):
    home = private_checkout.parent
    started = _start_from(private_checkout, user=None)
    data = Path(started["data"])
    try:
        assert _mode(home) == 0o700 and _mode(private_checkout) == 0o755  # as they were
        assert _mode(data) == 0o700
        if os.geteuid() == 0:
            shared = embedded.shared_folder(private_checkout / embedded.DEFAULT_DATA_DIR)
            assert data == shared / "postgres"
            assert pwd.getpwuid(data.stat().st_uid).pw_name == "pgserver"
            assert not (private_checkout / ".data").exists()
        else:
            assert data == (private_checkout / embedded.DEFAULT_DATA_DIR).resolve()
    finally:
        if os.geteuid() == 0:
            shutil.rmtree(data.parent)


def test_a_normal_user_keeps_the_data_in_the_checkout(private_checkout):
    # As root, `nobody` is that normal user; otherwise the tests already run as one.
    user = "nobody" if os.geteuid() == 0 else None
    started = _start_from(private_checkout, user=user)
    data = Path(started["data"])
    assert data == (private_checkout / embedded.DEFAULT_DATA_DIR).resolve()
    assert _mode(data) == 0o700 and _mode(private_checkout.parent) == 0o700
    assert data.stat().st_uid == private_checkout.stat().st_uid


@pytest.fixture
def shared_root():
    """Like /var/tmp: everyone may enter and create, under folders everyone may enter."""
    root = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="debugflow-test-shared-"))
    root.chmod(0o1777)
    yield root
    shutil.rmtree(root)


@pytest.fixture
def pginstall(tmp_path: Path) -> Path:
    """A small tree shaped like the wheel's: pgserver/pginstall/{bin,lib,share}, pgserver.libs."""
    pginstall = tmp_path / "site" / "pgserver" / "pginstall"
    for part in ("bin", "lib", "share", "include"):
        (pginstall / part).mkdir(parents=True)
    postgres = pginstall / "bin" / "postgres"
    postgres.write_text("#!/bin/sh\n")
    postgres.chmod(0o700)  # as a umask of 077 leaves it
    (pginstall / "share" / "postgres.bki").write_text("data")
    (pginstall / "share" / "postgres.bki").chmod(0o600)
    (tmp_path / "site" / "pgserver.libs").mkdir()
    (tmp_path / "site" / "pgserver.libs" / "libpq.so").write_text("lib")
    (tmp_path / "site").chmod(0o700)
    return pginstall


def test_root_gets_a_readable_copy_laid_out_for_rpath(tmp_path, shared_root, pginstall):
    data_dir = tmp_path / "checkout" / ".data" / "postgres"
    placement = embedded.place(data_dir, pginstall, as_root=True, shared_root=shared_root)
    runtime = placement.binaries.parents[2]
    assert placement.data.parent == embedded.shared_folder(data_dir, shared_root)
    assert _mode(placement.binaries / "postgres") == 0o755
    assert _mode(placement.binaries.parent / "share" / "postgres.bki") == 0o644
    # $ORIGIN/../../../pgserver.libs from bin/
    assert (placement.binaries / ".." / ".." / ".." / "pgserver.libs" / "libpq.so").is_file()
    assert not (placement.binaries.parent / "include").exists()
    assert _mode(tmp_path / "site") == 0o700  # the source stays as it was

    (placement.binaries / "postgres").write_text("changed")  # a copy up to date is kept...
    again = embedded.place(data_dir, pginstall, as_root=True, shared_root=shared_root)
    assert (again.binaries / "postgres").read_text() == "changed"
    (runtime / "source").write_text("another wheel\n")  # ...and a stale one replaced
    embedded.place(data_dir, pginstall, as_root=True, shared_root=shared_root)
    assert (again.binaries / "postgres").read_text() == "#!/bin/sh\n"


def test_a_shared_folder_someone_else_can_write_is_refused(tmp_path, shared_root, pginstall):
    data_dir = tmp_path / "checkout" / ".data" / "postgres"
    planted = embedded.shared_folder(data_dir, shared_root)
    planted.mkdir()
    planted.chmod(0o777)
    with pytest.raises(embedded.EmbeddedPostgresError) as refused:
        embedded.place(data_dir, pginstall, as_root=True, shared_root=shared_root)
    assert str(planted) in str(refused.value) and "DATABASE_URL" in str(refused.value)
    assert not (planted / "runtime").exists()


def test_a_normal_user_runs_from_the_checkout(tmp_path, pginstall):
    data_dir = tmp_path / "checkout" / ".data" / "postgres"
    placement = embedded.place(data_dir, pginstall, as_root=False)
    assert placement == embedded.Placement(data_dir, pginstall / "bin")


def test_a_closed_folder_on_the_way_is_named_and_left_closed(tmp_path):
    closed = tmp_path / "closed"
    data = closed / "postgres"
    data.mkdir(parents=True)
    closed.chmod(0o711)  # enterable but not listable: pgserver would chmod it
    with pytest.raises(embedded.EmbeddedPostgresError) as refused:
        embedded.check_parents(data)
    assert f"{closed} (711)" in str(refused.value)
    assert _mode(closed) == 0o711
