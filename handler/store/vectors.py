"""The `vector_items` table (pgvector): session summaries and known logs with embeddings.

Rows come back with the columns of COLUMNS plus `score`, the cosine similarity.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg

COLUMNS = ("id", "kind", "title", "content", "url", "user_id", "project_id", "session_id")
_COLUMNS = ", ".join(COLUMNS)


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in vector) + "]"


async def upsert(pool: asyncpg.Pool, values: tuple[Any, ...], vector: list[float]) -> bool:
    """Insert or replace one item; `values` in the order of COLUMNS. False, with nothing
    written, when its session or user no longer exists (deleted meanwhile)."""
    import asyncpg

    try:
        await pool.execute(
            f"""
            INSERT INTO vector_items ({_COLUMNS}, embedding)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector)
            ON CONFLICT (id) DO UPDATE SET
                title = EXCLUDED.title, content = EXCLUDED.content, url = EXCLUDED.url,
                project_id = EXCLUDED.project_id, embedding = EXCLUDED.embedding,
                updated_at = now()
            """,
            *values,
            vector_literal(vector),
        )
    except asyncpg.ForeignKeyViolationError:
        return False
    return True


async def _nearest(
    pool: asyncpg.Pool, where: str, vector: list[float], top_k: int, *args: object
) -> list[Any]:
    return await pool.fetch(
        f"""
        SELECT {_COLUMNS}, 1 - (embedding <=> $1::vector) AS score
        FROM vector_items WHERE {where}
        ORDER BY embedding <=> $1::vector LIMIT $2
        """,
        vector_literal(vector),
        top_k,
        *args,
    )


async def nearest_summaries(
    pool: asyncpg.Pool,
    vector: list[float],
    top_k: int,
    user_id: str,
    project_id: Any,
    exclude_session: Any,
) -> list[Any]:
    """The user's summaries in the same project (or none), this session's left out."""
    return await _nearest(
        pool,
        "kind = 'session_summary' AND user_id = $3 "
        "AND project_id IS NOT DISTINCT FROM $4 AND session_id <> $5",
        vector,
        top_k,
        user_id,
        project_id,
        exclude_session,
    )


async def any_candidates(
    pool: asyncpg.Pool, user_id: str, project_id: Any, exclude_session: Any
) -> bool:
    """Whether `nearest_summaries` or `nearest_known_logs` could return a row (both
    use the (user_id, kind) index: known logs have no user)."""
    return await pool.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM vector_items WHERE user_id IS NULL AND kind = 'known_log')
            OR EXISTS (SELECT 1 FROM vector_items
                       WHERE user_id = $1 AND kind = 'session_summary'
                         AND project_id IS NOT DISTINCT FROM $2 AND session_id <> $3)
        """,
        user_id,
        project_id,
        exclude_session,
    )


async def nearest_known_logs(pool: asyncpg.Pool, vector: list[float], top_k: int) -> list[Any]:
    return await _nearest(pool, "kind = 'known_log'", vector, top_k)


async def delete(pool: asyncpg.Pool, ids: list[str]) -> None:
    await pool.execute("DELETE FROM vector_items WHERE id = ANY($1::text[])", ids)


async def delete_user(pool: asyncpg.Pool, user_id: str) -> None:
    await pool.execute("DELETE FROM vector_items WHERE user_id = $1", user_id)
