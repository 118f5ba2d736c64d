"""The database server itself, as an operator's check sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg


async def status(pool: asyncpg.Pool) -> Any:
    """A real round trip: the server's version and clock."""
    return await pool.fetchrow("SELECT version() AS version, now() AS time_on_db")
