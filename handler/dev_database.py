"""Where `make dev`'s embedded PostgreSQL can be found by the other commands.

`python -m handler serve` without DATABASE_URL starts the embedded server and
records its URL in .data/database-url (mode 0600: it is a way into the
database); `python -m handler admin grant`, run from the same folder with
DATABASE_URL unset, reads it there.
"""

from __future__ import annotations

import os
from pathlib import Path

RECORD = Path(".data") / "database-url"


def record(url: str, path: Path = RECORD) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # an older file may have had another mode
        out.write(url + "\n")


def recorded(path: Path = RECORD) -> str | None:
    """The URL a `make dev` in this folder recorded, if any."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
