"""Work that must not delay a response: summaries, index writes.

Tasks are kept referenced until done and their failures logged. On Lambda the
runtime drains them after each invocation's response, before asking for the
next event, because a frozen container runs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task failed",
                extra={"task": task.get_name()},
                exc_info=task.exception(),
            )

    async def drain(self, seconds: float) -> None:
        """Wait for pending work; cancel what is still running after `seconds`."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            log.warning("background task cancelled", extra={"task": task.get_name()})
            task.cancel()
        if pending:
            await asyncio.wait(pending)
