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

from handler.unexpected import log_unexpected

log = logging.getLogger(__name__)

# After cancelling, how long a drain waits for tasks to end: within the runtime's
# margin before Lambda's deadline (lambda_runtime/loop.py DRAIN_MARGIN_SECONDS).
CANCEL_WAIT_SECONDS = 0.5


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # Expected upstream failures are handled (in one line) by the work itself.
            log_unexpected(log, "background", "background task failed", exc, task=task.get_name())

    async def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for all pending work, including work spawned while
        waiting (a summary that starts an index write); then cancel what is left and
        wait for it to end, at most CANCEL_WAIT_SECONDS, so the caller's time holds."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while pending := self._pending():
            if (left := end - loop.time()) <= 0:
                break
            await asyncio.wait(pending, timeout=left)
        if not (pending := self._pending()):
            return
        for task in pending:
            log.warning("background task cancelled", extra={"task": task.get_name()})
            task.cancel()
        _, stuck = await asyncio.wait(pending, timeout=CANCEL_WAIT_SECONDS)
        for task in stuck:
            log.error("background task ignored its cancellation", extra={"task": task.get_name()})

    def _pending(self) -> set[asyncio.Task[Any]]:
        return {task for task in self._tasks if not task.done()}
