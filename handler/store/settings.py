"""Platform-wide settings in `global_settings`: instructions and switches operators set."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import asyncpg

# The chat prompt reads this key (store/chat.py); without it a built-in default applies.
PLATFORM_INSTRUCTIONS = "platform_instructions"
# 'true' or 'false'; unset means on, as in the original.
WEB_SEARCH_ENABLED = "web_search_enabled"
WEB_SEARCH_DEFAULT = True
# The super user's offer of the role to an admin, until it is accepted (the
# original's key; the value names the offerer too, so that an offer does not
# outlive them).
PENDING_TRANSFER = "pending_super_user_transfer"


class TransferOffer(NamedTuple):
    offered_by: str  # the super user who made the offer
    to: str  # the admin who may accept it


def encode_offer(offer: TransferOffer) -> str:
    return json.dumps(offer._asdict())


def decode_offer(stored: str | None) -> TransferOffer | None:
    return None if stored is None else TransferOffer(**json.loads(stored))


async def value(conn: asyncpg.Connection | asyncpg.Pool, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT value, updated_at FROM global_settings WHERE key = $1", key)


async def locked_value(conn: asyncpg.Connection, key: str) -> str | None:
    """The current value, locked until the transaction ends (a missing key locks nothing)."""
    return await conn.fetchval("SELECT value FROM global_settings WHERE key = $1 FOR UPDATE", key)


async def put(conn: asyncpg.Connection, key: str, new: str | None) -> None:
    """Set `key`, or remove it for None (its default applies again)."""
    if new is None:
        await conn.execute("DELETE FROM global_settings WHERE key = $1", key)
        return
    await conn.execute(
        "INSERT INTO global_settings (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        new,
    )


def as_bool(stored: str | None, default: bool) -> bool:
    return default if stored is None else stored == "true"


async def web_search_enabled(pool: asyncpg.Pool) -> bool:
    """What the chat turn asks before searching the web."""
    row = await value(pool, WEB_SEARCH_ENABLED)
    return as_bool(row["value"] if row else None, WEB_SEARCH_DEFAULT)
