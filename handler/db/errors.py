"""Database failures a client can do nothing about but retry: 503, never a 500.

Each is an `ApiError` with `Retry-After`, so the errors middleware answers it as
it is; what an operator needs (what failed, which setting to look at) is logged
once, in one line, where it is known, and never sent.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl

from handler.errors import ApiError

log = logging.getLogger(__name__)

# Seconds: a connection slot or a pooler's queue usually frees within a few.
RETRY_AFTER = "5"
UNAVAILABLE = "The database is not available right now; try again shortly"
MIGRATE_COMMAND = "make admin ARGS=migrate"


class DatabaseUnavailable(ApiError, ConnectionError):
    """No connection could be opened: refused, timed out, too many clients, pooler refusing,
    credentials refused, secret unreadable.

    Also a ConnectionError (`strerror` is the reason), so a command-line caller that
    reports an unreachable database as an OSError says so without knowing this class.
    """

    def __init__(self, message: str = UNAVAILABLE, reason: str = "") -> None:
        super().__init__(503, message, headers={"Retry-After": RETRY_AFTER})
        self.strerror = reason or message


class DatabaseBusy(ApiError):
    """Every pooled connection stayed in use for the whole acquire timeout."""

    def __init__(self) -> None:
        super().__init__(
            503, "The database is busy; try again shortly", headers={"Retry-After": RETRY_AFTER}
        )


class SchemaBehind(ApiError):
    """The database lacks migrations this release needs; a deploy runs them, not a container."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            503,
            "The database schema is behind this version of the service; an operator must "
            f"run the migrations ({MIGRATE_COMMAND})",
            headers={"Retry-After": RETRY_AFTER},
        )
        self.missing = missing


def unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 for a failure to open or keep a connection, logged once in one line; None
    if `exc` is not one (a TLS verification failure is configuration and stays itself)."""
    import asyncpg

    if isinstance(exc, ApiError | ssl.SSLError):
        return None
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        reason, message = "too many connections", "The database has no free connections"
        check = (
            "the server's max_connections: put a pooler in front (DATABASE_POOLER=transaction), "
            "or lower DATABASE_POOL_MAX or the function's reserved concurrency"
        )
    elif isinstance(exc, asyncpg.CannotConnectNowError):
        reason, message = "the server is starting or stopping", "The database is restarting"
        check = "the database's state (a failover, a restart, maintenance)"
    elif isinstance(
        exc,
        asyncpg.AdminShutdownError | asyncpg.CrashShutdownError | asyncpg.IdleSessionTimeoutError,
    ):
        reason, message = "the server ended the session", "The database closed our connection"
        check = "the database's state (a failover, a restart) and idle_session_timeout"
    elif isinstance(exc, asyncpg.PostgresError) and _connection_class(exc):
        # pgbouncer and RDS Proxy refuse with SQLSTATE class 08: max_client_conn,
        # query_wait_timeout, "cannot connect to server", ...
        reason, message = "the connection pooler refused", "The database's pooler refused us"
        check = (
            "DATABASE_POOLER=transaction (a pooler refuses session settings), then the "
            "pooler's limits (max_client_conn, default_pool_size, query_wait_timeout)"
        )
    elif isinstance(exc, TimeoutError):
        reason, message = "no answer in time", "Cannot connect to the database (no answer)"
        check = "DATABASE_URL's host and port, the network path, DATABASE_CONNECT_TIMEOUT"
    elif isinstance(exc, socket.gaierror):
        reason, message = "unknown host", "Cannot connect to the database (unknown host)"
        check = "DATABASE_URL's host name"
    elif isinstance(exc, OSError | asyncpg.ConnectionDoesNotExistError):
        # The errno's words only: asyncio's own text names the host and port.
        errno = getattr(exc, "errno", None)
        reason = os.strerror(errno).lower() if errno else "unreachable"
        message = f"Cannot connect to the database ({reason})"
        check = "DATABASE_URL's host and port, and that the database (or its proxy) is up"
    else:
        return None
    log.error(
        "database connection failed",
        extra={"reason": reason, "error": f"{type(exc).__name__}: {exc}", "check": check},
    )
    return DatabaseUnavailable(f"{message}; try again shortly", reason)


def query_failure(exc: BaseException) -> ApiError | None:
    """The 503 for a query that failed for want of a connection, logged once; else None."""
    if isinstance(exc, TimeoutError):
        # asyncpg's command_timeout: the server's statement_timeout would have answered
        # first, so the query most likely waited for a pooler's server connection.
        log.error(
            "database query timed out",
            extra={
                "check": "the pooler's server pool (default_pool_size; RDS Proxy's "
                "MaxConnectionsPercent, ConnectionBorrowTimeout) and DATABASE_STATEMENT_TIMEOUT_MS"
            },
        )
        return DatabaseBusy()
    return unavailable(exc)


def _connection_class(exc: BaseException) -> bool:
    return str(getattr(exc, "sqlstate", "") or "").startswith("08")
