"""What several route modules share: the way to the database, the ledger's limit answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from handler.keys import DATABASE
from handler.store import memories

if TYPE_CHECKING:
    import asyncpg


async def pool_of(request: web.Request) -> asyncpg.Pool:
    """The application's pool, connected on first use."""
    return await request.app[DATABASE].pool()


def limit_exceeded() -> web.Response:
    """As the original: a 200 the settings page reads, with nothing stored."""
    return web.json_response(
        {
            "status": memories.LIMIT_EXCEEDED,
            "message": f"You can keep at most {memories.ACTIVE_LIMIT} active memories; "
            "forget one first.",
            "limit": memories.ACTIVE_LIMIT,
        }
    )
