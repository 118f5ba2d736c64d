"""An asyncpg pool whose every acquire is bounded in time.

asyncpg's Pool.fetch/execute/... acquire a connection with no timeout: with
every connection in use, a request would wait until the function times out.
Here each acquire, explicit or inside those methods, waits at most
DATABASE_ACQUIRE_TIMEOUT seconds and then answers 503 (DatabaseBusy).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from handler.db.errors import ConnectTimeout, DatabaseBusy


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


class _BoundedAcquire:
    """asyncpg's acquire context (`async with` or `await`), a timeout becoming DatabaseBusy."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aenter__(self) -> PoolConnectionProxy:
        try:
            return await self._inner.__aenter__()
        except ConnectTimeout:
            raise
        except TimeoutError:
            raise DatabaseBusy() from None

    async def __aexit__(self, *exc_info: object) -> None:
        await self._inner.__aexit__(*exc_info)

    def __await__(self) -> Generator[Any, None, PoolConnectionProxy]:
        return self._acquired().__await__()

    async def _acquired(self) -> PoolConnectionProxy:
        try:
            return await self._inner
        except ConnectTimeout:
            raise
        except TimeoutError:
            raise DatabaseBusy() from None
