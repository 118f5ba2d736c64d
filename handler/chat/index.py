"""The vector index of session summaries and known logs, behind one interface.

`PgVectorIndex` (the default) keeps vectors in the service's own PostgreSQL;
`handler.chat.pinecone_index.PineconeIndex` is used when PINECONE_API_KEY is set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from handler.db.pool import Database

SESSION_SUMMARY = "session_summary"
KNOWN_LOG = "known_log"


def summary_id(session_id: uuid.UUID) -> str:
    """The index id of a session's summary (one per session, replaced when refreshed)."""
    return f"session:{session_id}"


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    kind: str
    title: str
    content: str
    url: str | None = None
    user_id: str | None = None
    project_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Match:
    document: Document
    score: float  # cosine similarity, 1 is identical


class VectorIndex(Protocol):
    async def upsert(self, document: Document, vector: list[float]) -> None: ...

    async def summaries(
        self,
        vector: list[float],
        *,
        user_id: str,
        project_id: uuid.UUID | None,
        exclude_session: uuid.UUID,
        top_k: int,
    ) -> list[Match]:
        """Summaries of the user's other sessions in the same project (or none)."""
        ...

    async def known_logs(self, vector: list[float], *, top_k: int) -> list[Match]: ...

    async def delete(self, ids: list[str]) -> None:
        """Remove these documents; unknown ids are ignored."""
        ...

    async def delete_user(self, user_id: str) -> None:
        """Remove every document of the user (their session summaries)."""
        ...

    async def close(self) -> None: ...


def vector_literal(vector: list[float]) -> str:
    return "[" + ",".join(f"{v:.7g}" for v in vector) + "]"


class PgVectorIndex:
    COLUMNS = "id, kind, title, content, url, user_id, project_id, session_id"

    def __init__(self, database: Database) -> None:
        self._database = database

    async def upsert(self, document: Document, vector: list[float]) -> None:
        pool = await self._database.pool()
        await pool.execute(
            f"""
            INSERT INTO vector_items ({self.COLUMNS}, embedding)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector)
            ON CONFLICT (id) DO UPDATE SET
                title = EXCLUDED.title, content = EXCLUDED.content, url = EXCLUDED.url,
                project_id = EXCLUDED.project_id, embedding = EXCLUDED.embedding,
                updated_at = now()
            """,
            document.id,
            document.kind,
            document.title,
            document.content,
            document.url,
            document.user_id,
            document.project_id,
            document.session_id,
            vector_literal(vector),
        )

    async def _search(self, where: str, vector: list[float], top_k: int, *args: object):
        pool = await self._database.pool()
        rows = await pool.fetch(
            f"""
            SELECT {self.COLUMNS}, 1 - (embedding <=> $1::vector) AS score
            FROM vector_items WHERE {where}
            ORDER BY embedding <=> $1::vector LIMIT $2
            """,
            vector_literal(vector),
            top_k,
            *args,
        )
        return [
            Match(Document(**{k: r[k] for k in self.COLUMNS.split(", ")}), r["score"]) for r in rows
        ]

    async def summaries(
        self,
        vector: list[float],
        *,
        user_id: str,
        project_id: uuid.UUID | None,
        exclude_session: uuid.UUID,
        top_k: int,
    ) -> list[Match]:
        return await self._search(
            "kind = 'session_summary' AND user_id = $3 "
            "AND project_id IS NOT DISTINCT FROM $4 AND session_id <> $5",
            vector,
            top_k,
            user_id,
            project_id,
            exclude_session,
        )

    async def known_logs(self, vector: list[float], *, top_k: int) -> list[Match]:
        return await self._search("kind = 'known_log'", vector, top_k)

    async def delete(self, ids: list[str]) -> None:
        pool = await self._database.pool()
        await pool.execute("DELETE FROM vector_items WHERE id = ANY($1::text[])", ids)

    async def delete_user(self, user_id: str) -> None:
        pool = await self._database.pool()
        await pool.execute("DELETE FROM vector_items WHERE user_id = $1", user_id)

    async def close(self) -> None:
        """The pool belongs to the application, which closes it."""
