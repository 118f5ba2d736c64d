"""Unexpected exceptions (bugs, not upstream failures): logged with their traceback and
counted.

Each line carries `unexpected` (where it happened) and `unexpected_total` (how many so
far in this process), so a log metric filter (`{ $.unexpected = * }`) counts them
across containers. Expected upstream failures (a model or index that is down) are
logged by their callers in one line, without a traceback, and not counted here.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

_counts: Counter[str] = Counter()


def log_unexpected(
    log: logging.Logger,
    where: str,
    message: str,
    exc: BaseException | None = None,
    **extra: Any,
) -> None:
    """Log `exc` (by default the one being handled), its traceback and its count."""
    _counts[where] += 1
    log.error(
        message,
        exc_info=exc if exc is not None else True,
        extra={**extra, "unexpected": where, "unexpected_total": sum(_counts.values())},
    )


def counts() -> dict[str, int]:
    """How many unexpected exceptions each place has logged in this process."""
    return dict(_counts)
