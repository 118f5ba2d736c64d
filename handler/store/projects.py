"""Projects: folders of sessions with shared instructions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from handler.store import shapes

if TYPE_CHECKING:
    import asyncpg

COLUMNS = "id, name, context_instructions, context_enabled, created_at, updated_at"


async def list_for(pool: asyncpg.Pool, user_id: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT {COLUMNS} FROM projects WHERE user_id = $1 ORDER BY updated_at DESC", user_id
    )
    return [shapes.project(r) for r in rows]


async def create(pool: asyncpg.Pool, user_id: str, name: str) -> dict[str, Any]:
    row = await pool.fetchrow(
        f"INSERT INTO projects (user_id, name) VALUES ($1, $2) RETURNING {COLUMNS}", user_id, name
    )
    return shapes.project(row)


async def get(pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        f"SELECT {COLUMNS} FROM projects WHERE id = $1 AND user_id = $2", project_id, user_id
    )
    return shapes.project(row) if row else None


async def update(
    pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID, column: str, value: Any
) -> dict[str, Any] | None:
    if column not in ("name", "context_instructions", "context_enabled"):
        raise ValueError(column)
    row = await pool.fetchrow(
        f"UPDATE projects SET {column} = $3, updated_at = now() "
        f"WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}",
        project_id,
        user_id,
        value,
    )
    return shapes.project(row) if row else None


async def delete(pool: asyncpg.Pool, user_id: str, project_id: uuid.UUID) -> bool:
    """Delete the project; its sessions fall back to no project (ON DELETE SET NULL)."""
    status = await pool.execute(
        "DELETE FROM projects WHERE id = $1 AND user_id = $2", project_id, user_id
    )
    return status == "DELETE 1"
