"""The vector index of session summaries and known logs, behind one interface.

`PgVectorIndex` (the default) keeps vectors in the service's own PostgreSQL;
`handler.chat.pinecone_index.PineconeIndex` is used when PINECONE_API_KEY is set.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from handler.db.pool import Database
from handler.store import vectors

SESSION_SUMMARY = "session_summary"
KNOWN_LOG = "known_log"


class IndexUnavailable(Exception):
    """The index (its database or service) failed or could not be reached: an expected,
    upstream failure, which callers report in one line."""


@contextlib.contextmanager
def unavailable_on(*failures: type[BaseException]) -> Iterator[None]:
    """Raise these failures as IndexUnavailable, saying what they were."""
    try:
        yield
    except failures as exc:
        raise IndexUnavailable(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _database_failures() -> tuple[type[BaseException], ...]:
    """What the database under pgvector raises when it is down or refuses (asyncpg is
    imported on first use: the health check never loads it)."""
    import asyncpg

    return (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


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

    async def may_match(
        self, *, user_id: str, project_id: uuid.UUID | None, exclude_session: uuid.UUID
    ) -> bool:
        """False only when `summaries` and `known_logs` certainly find nothing: the
        question need not be embedded."""
        ...

    async def delete(self, ids: list[str]) -> None:
        """Remove these documents; unknown ids are ignored."""
        ...

    async def delete_user(self, user_id: str) -> None:
        """Remove every document of the user (their session summaries)."""
        ...

    async def close(self) -> None: ...


class PgVectorIndex:
    """The default index: pgvector in the service's own database (store/vectors.py)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def upsert(self, document: Document, vector: list[float]) -> None:
        values = tuple(getattr(document, column) for column in vectors.COLUMNS)
        with unavailable_on(*_database_failures()):
            # Nothing is written for a session deleted meanwhile (its key is gone).
            await vectors.upsert(await self._database.pool(), values, vector)

    async def summaries(
        self,
        vector: list[float],
        *,
        user_id: str,
        project_id: uuid.UUID | None,
        exclude_session: uuid.UUID,
        top_k: int,
    ) -> list[Match]:
        with unavailable_on(*_database_failures()):
            pool = await self._database.pool()
            rows = await vectors.nearest_summaries(
                pool, vector, top_k, user_id, project_id, exclude_session
            )
        return [_match(r) for r in rows]

    async def known_logs(self, vector: list[float], *, top_k: int) -> list[Match]:
        with unavailable_on(*_database_failures()):
            rows = await vectors.nearest_known_logs(await self._database.pool(), vector, top_k)
        return [_match(r) for r in rows]

    async def may_match(
        self, *, user_id: str, project_id: uuid.UUID | None, exclude_session: uuid.UUID
    ) -> bool:
        with unavailable_on(*_database_failures()):
            pool = await self._database.pool()
            return await vectors.any_candidates(pool, user_id, project_id, exclude_session)

    async def delete(self, ids: list[str]) -> None:
        with unavailable_on(*_database_failures()):
            await vectors.delete(await self._database.pool(), ids)

    async def delete_user(self, user_id: str) -> None:
        with unavailable_on(*_database_failures()):
            await vectors.delete_user(await self._database.pool(), user_id)

    async def close(self) -> None:
        """The pool belongs to the application, which closes it."""


def _match(row: Any) -> Match:
    return Match(Document(**{c: row[c] for c in vectors.COLUMNS}), row["score"])
