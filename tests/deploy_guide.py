"""The commands of docs/deploy.md, for the tests that run them as written."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"
PROGRAMS = ("make ", "terraform ", "aws ", "curl ", "cp ")


def commands() -> list[str]:
    """Every command line in the guide: shell blocks, and `code` in its tables."""
    text = GUIDE.read_text()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        found += [line.strip() for line in block.splitlines() if line.strip()]
    for line in text.splitlines():
        if line.startswith("|"):
            found += [c for c in re.findall(r"`([^`]+)`", line) if c.startswith(PROGRAMS)]
    return found


def starting_with(prefix: str) -> list[str]:
    return [c for c in commands() if c.startswith(prefix)]
