"""Reading a user's rows under something they own, in one snapshot with the check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg

# What can own rows: a user's sessions (messages) and projects (sessions).
OWNERS = {"sessions", "projects"}


async def rows_under(
    pool: asyncpg.Pool, owner: str, owner_id: Any, user_id: str, query: str, *args: Any
) -> list[Any] | None:
    """`query`'s rows ($1 is `owner_id`), or None when `owner_id` is not the user's."""
    if owner not in OWNERS:
        raise ValueError(owner)
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        if not await conn.fetchval(
            f"SELECT 1 FROM {owner} WHERE id = $1 AND user_id = $2", owner_id, user_id
        ):
            return None
        return await conn.fetch(query, owner_id, *args)
