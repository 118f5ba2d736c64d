"""Removing a user's documents from the vector index before their rows go.

Vectors go first: if the index cannot be reached, nothing is deleted and the
user can retry; the reverse order would leave orphaned summaries that later
chats could still cite (pgvector cascades, Pinecone does not).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from handler.errors import ApiError

log = logging.getLogger(__name__)


async def forget(removal: Awaitable[None]) -> None:
    try:
        await removal
    except Exception:
        log.exception("could not delete from the vector index")
        raise ApiError(503, "Could not delete your data right now; try again shortly") from None
