"""An asyncpg pool whose every acquire is bounded in time.

asyncpg's Pool.fetch/execute/... acquire a connection with no timeout: with
every connection in use, a request would wait until the function times out.
Here each acquire, explicit or inside those methods, waits at most
DATABASE_ACQUIRE_TIMEOUT seconds and then answers 503 (DatabaseBusy); a
query that outlives the client's bound (behind a pooler: waiting for a server
connection) and a connection lost while in use are 503s too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from handler.db.errors import DatabaseBusy, query_failure


class BoundedPool(asyncpg.Pool):
    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        # Pool wants as keywords what asyncpg.create_pool defaults for it.
        kwargs.setdefault("loop", None)
        kwargs.setdefault("connection_class", asyncpg.Connection)
        kwargs.setdefault("record_class", asyncpg.Record)
        kwargs.setdefault("max_queries", 50_000)
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> _BoundedAcquire:
        return _BoundedAcquire(super().acquire(timeout=timeout or self._acquire_timeout))

    async def close_idle(self) -> None:
        """Close the connections nobody holds now (asyncpg has no public way)."""
        idle = [h for h in self._holders if h.is_connected() and h.is_idle()]
        await asyncio.gather(*(h.close() for h in idle), return_exceptions=True)


class _BoundedAcquire:
    """asyncpg's acquire context (`async with` or `await`), a timeout becoming DatabaseBusy."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> PoolConnectionProxy:
        try:
            return await self._inner.__aenter__()
        except TimeoutError:
            raise DatabaseBusy() from None

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        await self._inner.__aexit__(kind, exc, tb)
        failure = None if exc is None else query_failure(exc)
        if failure is not None:
            raise failure from None

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy]:
        return self._acquired().__await__()

    async def _acquired(self) -> PoolConnectionProxy:
        try:
            return await self._inner
        except TimeoutError:
            raise DatabaseBusy() from None
