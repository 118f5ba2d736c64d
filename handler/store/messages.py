"""Soft deletion of messages, owned through their session."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes

if TYPE_CHECKING:
    import asyncpg


async def set_deleted(
    pool: asyncpg.Pool, user_id: str, message_id: uuid.UUID, deleted: bool
) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        """
        UPDATE messages m SET is_deleted = $3, updated_at = clock_timestamp()
        FROM sessions s
        WHERE m.id = $1 AND m.session_id = s.id AND s.user_id = $2
        RETURNING m.id, m.role, m.content, m.sources, m.created_at, m.parent_id, m.is_deleted
        """,
        message_id,
        user_id,
        deleted,
    )
    return shapes.message(row) if row else None
