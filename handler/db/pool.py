"""A connection pool created on first use and kept for the container's life.

asyncpg is imported here, lazily, so that a cold start answering `/health`
never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from handler.secrets import Secrets
from handler.settings import Settings

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)


class Database:
    """Owns the asyncpg pool; one per application."""

    def __init__(self, settings: Settings, secrets: Secrets) -> None:
        self._settings = settings
        self._secrets = secrets
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()
        self._starting: asyncio.Task[asyncpg.Pool] | None = None

    def start(self) -> asyncio.Task[asyncpg.Pool] | None:
        """Begin making the pool in the background, unless it exists or is being made;
        the task, for the caller to await (shielded) when it needs the pool.

        A container's first signed-in request calls this before it verifies the
        token: asyncpg's import and, with MIGRATE_ON_START, the first connection and
        the migration check (that connection then waits in the pool) overlap the
        certificate fetch and google-auth's import instead of following them. The
        caller takes the outcome, so that a failure costs one attempt, not two; if
        nobody does, the next request starts again.
        """
        if self._pool is not None or self._starting is not None:
            return None
        self._starting = asyncio.ensure_future(self.pool())
        self._starting.add_done_callback(self._started)
        return self._starting

    def _started(self, task: asyncio.Task[asyncpg.Pool]) -> None:
        self._starting = None
        if not task.cancelled():
            task.exception()  # retrieved: a failure is the caller's, never "unhandled"

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await self._create()
        return self._pool

    async def _create(self) -> asyncpg.Pool:
        from handler.db.bounded import BoundedPool
        from handler.db.connect import Connector

        s = self._settings
        if not s.database_url:
            raise RuntimeError("DATABASE_URL is not set")
        # min_size=0: nothing connects here; each new connection goes through the
        # Connector, which reads the (rotating) secret and builds the TLS context.
        pool = await BoundedPool(
            s.database_url,
            connect=Connector(s, self._secrets),
            acquire_timeout=s.database_acquire_timeout,
            min_size=0,
            max_size=s.database_pool_size,
            timeout=s.database_connect_timeout,
            command_timeout=s.database_statement_timeout_ms / 1000 + 1,
            # Lambda containers freeze between invocations; drop connections
            # the server or a NAT may have closed meanwhile.
            max_inactive_connection_lifetime=240,
            server_settings={
                "statement_timeout": str(s.database_statement_timeout_ms),
                "application_name": "debugflow",
            },
            init=_init_connection,
            reset=_keep_session,
        )
        if s.migrate_on_start:
            from handler.db.migrate import migrate

            try:
                async with pool.acquire() as conn:
                    applied = await migrate(conn)
            except BaseException:
                await pool.close()  # the next request makes a new one; leave none behind
                raise
            if applied:
                log.info("migrations applied", extra={"versions": applied})
        return pool

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
        self._starting = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: asyncpg rolls back an open transaction first, and the
    service keeps no session state (no SET, LISTEN, cursors or advisory locks past a
    call: migrate() unlocks in `finally`, and a pool whose migration failed is closed).

    The default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`)
    was 2 of the 4 round trips of GET /api/sessions, and it calls a locking function,
    which pins the connection under RDS Proxy
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html).
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
