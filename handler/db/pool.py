"""A connection pool created on first use and kept for the container's life.

asyncpg is imported here, lazily, so that a cold start answering `/health`
never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from handler.db.errors import MIGRATE_COMMAND, SchemaBehind
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
        token: asyncpg's import, the first connection and the schema check (that
        connection then waits in the pool) overlap the certificate fetch instead
        of following it. The caller takes the
        outcome, so that a failure costs one attempt, not two; if nobody does, the
        next request starts again.
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
            # The client's bound on every query, pooled or not: past it asyncpg cancels the
            # query on the server (pgbouncer and RDS Proxy forward the cancel request).
            command_timeout=s.database_statement_timeout_ms / 1000 + 1,
            # asyncpg closes a connection unused this long while the process runs; 0 means
            # never to asyncpg, and for us "when the invocation ends" (after_invoke).
            max_inactive_connection_lifetime=s.database_idle_seconds,
            init=_init_connection,
            reset=_keep_session,
            **_session_options(s),
        )
        try:
            async with pool.acquire() as conn:
                await self._check_schema(conn)
        except BaseException:
            await pool.close()  # the next request makes a new one; leave none behind
            raise
        return pool

    async def _check_schema(self, conn: asyncpg.Connection) -> None:
        """Migrate (`make dev`, MIGRATE_ON_START) or check, without a lock, that the schema
        has every migration this release needs: that connection then serves requests."""
        from handler.db import migrate

        if self._settings.migrate_on_start:
            applied = await migrate.migrate(conn)
            if applied:
                log.info("migrations applied", extra={"versions": applied})
            return
        behind = await migrate.missing(conn)
        if behind:
            log.error(
                "database schema is behind this release: refusing requests until the "
                f"migrations run ({MIGRATE_COMMAND})",
                extra={"missing": behind},
            )
            raise SchemaBehind(behind)

    async def after_invoke(self, seconds: float) -> None:
        """AFTER_INVOKE: a Lambda container may now be frozen for minutes, and a frozen
        process closes nothing; with DATABASE_IDLE_TIMEOUT 0 (Lambda's default) its idle
        connections go back now, so that thousands of sleeping containers hold none."""
        if self._pool is not None and self._settings.database_idle_seconds == 0:
            await self._pool.close_idle()

    async def close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            await asyncio.gather(self._starting, return_exceptions=True)
        self._starting = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def _session_options(settings: Settings) -> dict:
    """What each connection keeps for its whole session: nothing behind a transaction pooler.

    Behind one (RDS Proxy, pgbouncer in transaction mode) consecutive transactions run on
    different server connections, and whatever a session sets pins it to one connection
    under RDS Proxy (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html)
    or is refused by pgbouncer: startup parameters, named prepared statements (asyncpg's
    statement cache; off, it uses the unnamed statement of each query). The server-side
    statement timeout then comes from the database role (docs/deploy.md).
    """
    if settings.database_pooler == "transaction":
        return {"statement_cache_size": 0, "server_settings": {}}
    return {
        "server_settings": {
            "statement_timeout": str(settings.database_statement_timeout_ms),
            "application_name": "debugflow",
        }
    }


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: asyncpg rolls back an open transaction first, and the
    service keeps no session state (no SET, LISTEN, cursors; migrate()'s advisory locks
    are transaction-level and end with their transactions).

    The default reset (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`)
    was 2 of the 4 round trips of GET /api/sessions, and it calls a locking function,
    which pins the connection under RDS Proxy
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-pinning.html).
    """


async def _init_connection(conn: asyncpg.Connection) -> None:
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
