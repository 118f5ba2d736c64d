"""The audit log: who did what to whom, written in the transaction of the change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handler.timeutil import iso

if TYPE_CHECKING:
    import asyncpg

# The actions, as stored in audit_log.action.
USER_BLOCKED = "USER_BLOCKED"
USER_UNBLOCKED = "USER_UNBLOCKED"
TIER_CHANGED = "TIER_CHANGED"
ROLE_SUGGESTED = "ROLE_SUGGESTED"
SUGGESTION_DENIED = "SUGGESTION_DENIED"
ROLE_CHANGED = "ROLE_CHANGED"
STATUS_CHANGED = "STATUS_CHANGED"
PLATFORM_INSTRUCTIONS_CHANGED = "PLATFORM_INSTRUCTIONS_CHANGED"
WEB_SEARCH_CHANGED = "WEB_SEARCH_CHANGED"
SELF_DEMOTED = "SELF_DEMOTED"
TRANSFER_INITIATED = "TRANSFER_INITIATED"
TRANSFER_ACCEPTED = "TRANSFER_ACCEPTED"
ACTIONS = (
    USER_BLOCKED,
    USER_UNBLOCKED,
    TIER_CHANGED,
    ROLE_SUGGESTED,
    SUGGESTION_DENIED,
    ROLE_CHANGED,
    STATUS_CHANGED,
    PLATFORM_INSTRUCTIONS_CHANGED,
    WEB_SEARCH_CHANGED,
    SELF_DEMOTED,
    TRANSFER_INITIATED,
    TRANSFER_ACCEPTED,
)

# The command line acts without an account.
OPERATOR = "operator"


async def record(
    conn: asyncpg.Connection,
    actor: asyncpg.Record | None,
    action: str,
    target_id: str | None,
    details: dict[str, Any],
) -> None:
    """Append one entry; `conn` must be inside the transaction that made the change.

    `details` is encoded by the pool's jsonb codec (db/pool.py).
    """
    await conn.execute(
        "INSERT INTO audit_log (actor_id, actor_role, target_id, action, details) "
        "VALUES ($1, $2, $3, $4, $5)",
        actor["id"] if actor else None,
        actor["role"] if actor else OPERATOR,
        target_id,
        action,
        details,
    )


async def entries(
    pool: asyncpg.Pool,
    *,
    limit: int,
    before: int | None,
    actor: str | None,
    target: str | None,
    action: str | None,
) -> list[dict[str, Any]]:
    """Newest first; `before` is the id the previous page ended at."""
    rows = await pool.fetch(
        """
        SELECT a.id, a.actor_id, a.actor_role, actor.email AS actor_email,
               a.target_id, target.email AS target_email, a.action, a.details, a.created_at
        FROM audit_log a
        LEFT JOIN users actor ON actor.id = a.actor_id
        LEFT JOIN users target ON target.id = a.target_id
        WHERE ($1::bigint IS NULL OR a.id < $1)
          AND ($2::text IS NULL OR a.actor_id = $2)
          AND ($3::text IS NULL OR a.target_id = $3)
          AND ($4::text IS NULL OR a.action = $4)
        ORDER BY a.id DESC
        LIMIT $5
        """,
        before,
        actor,
        target,
        action,
        limit,
    )
    return [{**dict(r), "created_at": iso(r["created_at"])} for r in rows]
