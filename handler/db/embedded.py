"""The embedded PostgreSQL `serve` starts when DATABASE_URL is unset.

pgserver ships PostgreSQL 16 with pgvector as a wheel, so local development
needs no system install. Data lives under `.data/` (git-ignored), mode 0700.

As root, pgserver runs PostgreSQL as a system user of its own (`pgserver`),
which must traverse every folder above the data directory and above its
binaries (in the virtual environment); pgserver would make each such folder
readable by everyone to allow it. We refuse instead, naming the folder, so
that nothing on the machine is opened up without the user deciding it.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data") / "postgres"
_TRAVERSE = stat.S_IXOTH


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot start here; the message says what to do."""


def closed_parents(path: Path) -> list[Path]:
    """Folders above `path` that other users cannot traverse (no o+x)."""
    return [p for p in path.resolve().parents if not p.stat().st_mode & _TRAVERSE]


def check_parents(*paths: Path, as_root: bool) -> None:
    """Refuse, as root, when PostgreSQL's own user could not reach `paths`."""
    if not as_root:
        return  # PostgreSQL then runs as this user, who can reach them already
    closed = sorted({p for path in paths for p in closed_parents(path)})
    if closed:
        listed = ", ".join(f"{p} ({stat.S_IMODE(p.stat().st_mode):o})" for p in closed)
        raise EmbeddedPostgresError(
            "as root, the embedded PostgreSQL runs as the user `pgserver`, which cannot "
            f"enter {listed}. Run as a normal user, allow it yourself (chmod o+x on those "
            "folders), or set DATABASE_URL to a PostgreSQL of your own"
        )


def start(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start (or reuse) the embedded server and return its connection URL."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR on headless machines.
            warnings.simplefilter("ignore")
            import pgserver
            from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError as exc:
        raise EmbeddedPostgresError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "run `make dev`, or pip install 'debugflow-backend[dev]'"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_parents(data_dir, Path(POSTGRES_BIN_PATH), as_root=os.geteuid() == 0)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")
    return server.get_uri()
