"""What several route modules share: the way to the database, the ledger's limit answer,
and removing a user's documents from the vector index before their rows go."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from aiohttp import web

from handler.chat.index import IndexUnavailable
from handler.errors import ApiError
from handler.keys import DATABASE
from handler.store import memories
from handler.unexpected import log_unexpected

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)


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


def blocked_by_platform(content: str) -> web.Response:
    """As the original: a 200 with nothing stored; the platform's instructions already
    state it. One shape for every route that stores a memory (POST /api/user/memories and
    POST /api/sessions/{id}/promote)."""
    return web.json_response(
        {
            "id": None,
            "content": content,
            "status": memories.BLOCKED_BY_SGC,
            "message": "The platform's instructions already say this; it was not stored.",
        }
    )


async def forget_vectors(removal: Awaitable[None]) -> None:
    """Await an index deletion, or answer 503 with nothing deleted.

    Vectors go first: if the index cannot be reached, the user retries; the
    reverse order would leave orphaned summaries that later chats could still
    cite (pgvector cascades, Pinecone does not).
    """
    try:
        await removal
    except IndexUnavailable as exc:
        log.warning("could not delete from the vector index", extra={"error": str(exc)})
    except Exception:
        log_unexpected(log, "index_delete", "could not delete from the vector index")
    else:
        return
    raise ApiError(503, "Could not delete your data right now; try again shortly")
