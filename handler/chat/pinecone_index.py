"""The vector index on Pinecone, through the official SDK's asyncio client.

Imported only when PINECONE_API_KEY is set. Metadata carries what the
pgvector table has as columns; filters keep users apart.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from handler.chat.index import KNOWN_LOG, SESSION_SUMMARY, Document, Match, unavailable_on


def _failures() -> tuple[type[BaseException], ...]:
    """What the SDK raises when Pinecone fails or cannot be reached."""
    import aiohttp
    from pinecone.exceptions import PineconeException

    return (PineconeException, aiohttp.ClientError, OSError, TimeoutError)


NO_PROJECT = "none"  # Pinecone metadata cannot hold null


class PineconeIndex:
    def __init__(self, api_key: Callable[[], Awaitable[str | None]], host: str) -> None:
        from pinecone import AsyncIndex

        self._client_class = AsyncIndex
        self._api_key = api_key  # read on first use: it may live in a secret
        self._host = host
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def _index(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    key = await self._api_key()
                    if not key:
                        raise RuntimeError("PINECONE_API_KEY is not set")
                    self._client = self._client_class(host=self._host, api_key=key, timeout=10.0)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def upsert(self, document: Document, vector: list[float]) -> None:
        metadata = {
            "kind": document.kind,
            "title": document.title,
            "content": document.content,
            "user_id": document.user_id or "",
            "project_id": str(document.project_id) if document.project_id else NO_PROJECT,
            "session_id": str(document.session_id) if document.session_id else "",
        }
        if document.url:
            metadata["url"] = document.url
        index = await self._index()
        with unavailable_on(*_failures()):
            await index.upsert(
                vectors=[{"id": document.id, "values": vector, "metadata": metadata}]
            )

    async def _query(self, vector: list[float], top_k: int, where: dict[str, Any]) -> list[Match]:
        index = await self._index()
        with unavailable_on(*_failures()):
            result = await index.query(
                vector=vector, top_k=top_k, filter=where, include_metadata=True
            )
        return [_match(m) for m in result.matches]

    async def summaries(
        self,
        vector: list[float],
        *,
        user_id: str,
        project_id: uuid.UUID | None,
        exclude_session: uuid.UUID,
        top_k: int,
    ) -> list[Match]:
        where = {
            "kind": {"$eq": SESSION_SUMMARY},
            "user_id": {"$eq": user_id},
            "project_id": {"$eq": str(project_id) if project_id else NO_PROJECT},
            "session_id": {"$ne": str(exclude_session)},
        }
        return await self._query(vector, top_k, where)

    async def known_logs(self, vector: list[float], *, top_k: int) -> list[Match]:
        return await self._query(vector, top_k, {"kind": {"$eq": KNOWN_LOG}})

    async def may_match(
        self, *, user_id: str, project_id: uuid.UUID | None, exclude_session: uuid.UUID
    ) -> bool:
        """Always: asking Pinecone costs a round trip, as much as the query itself."""
        return True

    async def delete(self, ids: list[str]) -> None:
        index = await self._index()
        with unavailable_on(*_failures()):
            await index.delete(ids=ids)

    async def delete_user(self, user_id: str) -> None:
        # Delete by metadata works on serverless indexes since October 2025
        # (docs.pinecone.io/guides/manage-data/delete-data#delete-records-by-metadata).
        index = await self._index()
        with unavailable_on(*_failures()):
            await index.delete(filter={"user_id": {"$eq": user_id}})


def _match(match: Any) -> Match:
    meta = dict(match.metadata or {})
    project = meta.get("project_id")
    session = meta.get("session_id")
    return Match(
        Document(
            id=match.id,
            kind=meta.get("kind", KNOWN_LOG),
            title=meta.get("title", ""),
            content=meta.get("content", ""),
            url=meta.get("url"),
            user_id=meta.get("user_id") or None,
            project_id=uuid.UUID(project) if project and project != NO_PROJECT else None,
            session_id=uuid.UUID(session) if session else None,
        ),
        float(match.score),
    )
