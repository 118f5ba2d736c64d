"""Database failures a client can do nothing about but retry: 503, never a 500.

Both are `ApiError`s, so the errors middleware answers them as they are; the
reason an operator needs is logged where it is known, never sent.
"""

from __future__ import annotations

from handler.errors import ApiError


class DatabaseUnavailable(ApiError):
    """No connection could be opened (credentials refused, secret unreadable)."""

    def __init__(self) -> None:
        super().__init__(503, "The database is not available right now; try again shortly")


class DatabaseBusy(ApiError):
    """Every pooled connection stayed in use for the whole acquire timeout."""

    def __init__(self) -> None:
        super().__init__(503, "The database is busy; try again shortly")


class ConnectTimeout(TimeoutError):
    """The server did not answer within DATABASE_CONNECT_TIMEOUT: unreachable, not busy."""
