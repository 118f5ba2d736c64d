"""Timestamps as the contract writes them: ISO 8601 in UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now_iso() -> str | None:
    return iso(datetime.now(UTC))


def elapsed_ms(started: float) -> str:
    """The operational routes report latency as "<n>ms"."""
    return f"{round((time.perf_counter() - started) * 1000)}ms"
