"""The embedded PostgreSQL `serve` starts when DATABASE_URL is unset.

pgserver ships PostgreSQL 16 with pgvector as a wheel, so local development
needs no system install. As a normal user, PostgreSQL runs as that user with
its data under `.data/postgres` (git-ignored), mode 0700.

As root, pgserver runs PostgreSQL as a system user of its own (`pgserver`),
which must enter every folder above its data and its binaries; to allow it,
pgserver would make each of those folders readable by everyone, root's
private home included. So as root, everything that user must reach goes to
a folder of this checkout's own under /var/tmp instead: a copy of the
binaries, libraries and shared files, laid out as their RPATH expects, and
the data directory (owned by `pgserver`, mode 0700). No folder of the
checkout or above it is changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import stat
import subprocess
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(".data") / "postgres"
# World-traversable and kept across reboots, unlike /tmp on many systems.
SHARED_ROOT = Path("/var/tmp")
# What pgserver would add to every folder above the data and the binaries.
_OPEN_TO_OTHERS = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
# The wheel's pginstall folders the server needs (include/ is for building extensions).
_RUNTIME_PARTS = ("bin", "lib", "share")


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot start here; the message says what to do."""


@dataclass(frozen=True)
class Placement:
    """Where the server's data and binaries live for this user."""

    data: Path
    binaries: Path  # the `bin` folder of a pgserver `pginstall` tree


def closed_parents(path: Path) -> list[Path]:
    """Folders above `path` that other users cannot list and enter (no g+rx, o+rx)."""
    return [
        p for p in path.resolve().parents if p.stat().st_mode & _OPEN_TO_OTHERS != _OPEN_TO_OTHERS
    ]


def check_parents(*paths: Path) -> None:
    """Refuse when PostgreSQL's own user could not reach `paths` without a chmod."""
    closed = sorted({p for path in paths for p in closed_parents(path)})
    if closed:
        listed = ", ".join(f"{p} ({stat.S_IMODE(p.stat().st_mode):o})" for p in closed)
        raise EmbeddedPostgresError(
            "as root, the embedded PostgreSQL runs as the user `pgserver`, which cannot "
            f"enter {listed}; allow it yourself (chmod go+rx), run as a normal user, or "
            "set DATABASE_URL to a PostgreSQL of your own"
        )


def shared_folder(data_dir: Path, shared_root: Path = SHARED_ROOT) -> Path:
    """This user's and checkout's folder under `shared_root` (the same on every run)."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return shared_root / f"debugflow-{os.geteuid()}-{digest}"


def _own_folder(path: Path, mode: int) -> Path:
    """Create `path`, or accept it only if it is ours and no one else may write in it.

    The name under /var/tmp is predictable: someone else may have made it first.
    """
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=mode)
    info = path.lstat()
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise EmbeddedPostgresError(
            f"{path} exists but is not a folder of yours that only you can write to: "
            "remove it, or set DATABASE_URL to a PostgreSQL of your own"
        )
    path.chmod(mode)  # mkdir's mode is narrowed by the umask
    return path


def _readable_copy(source: Path, target: Path) -> None:
    """Copy a tree so that every user may read it (and run what its owner may run)."""
    shutil.copytree(source, target, symlinks=True)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                path.chmod(0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644)


def stage_binaries(pginstall: Path, folder: Path) -> Path:
    """A reachable copy of the wheel's server under `folder`; its `bin` folder.

    The executables find their libraries through RPATH `$ORIGIN/../../../pgserver.libs`,
    so the copy keeps the wheel's layout: pgserver/pginstall/... beside pgserver.libs.
    A stamp names the source and version; a stale copy is replaced whole.
    """
    runtime = folder / "runtime"
    stamp = f"{pginstall.resolve()}\n{metadata.version('pgserver')}\n"
    bin_dir = runtime / "pgserver" / "pginstall" / "bin"
    if (runtime / "source").is_file() and (runtime / "source").read_text() == stamp:
        return bin_dir
    partial = folder / f"runtime.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    for part in _RUNTIME_PARTS:
        _readable_copy(pginstall / part, partial / "pgserver" / "pginstall" / part)
    libs = pginstall.parent.parent / "pgserver.libs"
    if libs.is_dir():
        _readable_copy(libs, partial / "pgserver.libs")
    (partial / "source").write_text(stamp)
    shutil.rmtree(runtime, ignore_errors=True)
    partial.rename(runtime)
    return bin_dir


def place(
    data_dir: Path, pginstall: Path, *, as_root: bool, shared_root: Path = SHARED_ROOT
) -> Placement:
    """Where PostgreSQL will run from: the checkout as a normal user, a shared folder as root."""
    if not as_root:
        return Placement(data_dir, pginstall / "bin")
    folder = _own_folder(shared_folder(data_dir, shared_root), 0o755)
    placement = Placement(folder / "postgres", stage_binaries(pginstall, folder))
    check_parents(placement.data, placement.binaries)
    return placement


def _use_binaries(pgserver_modules: tuple, binaries: Path) -> None:
    """Point pgserver at `binaries`: it reads this module-level path on every command."""
    for module in pgserver_modules:
        module.POSTGRES_BIN_PATH = binaries


def start(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start (or reuse) the embedded server and return its connection URL."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR on headless machines.
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver import _commands, postgres_server
    except ImportError as exc:
        raise EmbeddedPostgresError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "run `make dev`, or pip install 'debugflow-backend[dev]'"
        ) from exc
    as_root = os.geteuid() == 0
    pginstall = Path(_commands.POSTGRES_BIN_PATH).parent
    placement = place(data_dir, pginstall, as_root=as_root)
    if as_root:
        log.info(
            "running as root: PostgreSQL runs as the user `pgserver`, with its data and a "
            "copy of its binaries outside this checkout, so no folder of yours is opened",
            extra={"folder": str(placement.data.parent)},
        )
        _use_binaries((_commands, postgres_server), placement.binaries)
    placement.data.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        server = pgserver.get_server(placement.data.resolve(), cleanup_mode="stop")
    except (subprocess.SubprocessError, OSError) as exc:
        raise EmbeddedPostgresError(
            f"PostgreSQL did not start ({exc}); its log is {placement.data / 'log'}: "
            "read it, or set DATABASE_URL to a PostgreSQL of your own"
        ) from None
    return server.get_uri()
