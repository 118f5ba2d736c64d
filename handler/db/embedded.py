"""The embedded PostgreSQL `serve` starts when DATABASE_URL is unset.

pgserver ships PostgreSQL 16 with pgvector as a wheel, so local development
needs no system install. Data lives under `.data/` (git-ignored).
"""

from __future__ import annotations

import warnings
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data") / "postgres"


def start(data_dir: Path = DEFAULT_DATA_DIR) -> str:
    """Start (or reuse) the embedded server and return its connection URL."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR on headless machines.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:
        raise RuntimeError(
            "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
            "run `make dev`, or pip install 'debugflow-backend[dev]'"
        ) from exc
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")
    return server.get_uri()
