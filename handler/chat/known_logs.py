"""Known logs: errors with their explanation, shared by every user's retrieval.

Loaded from JSON Lines (`python -m handler index-logs FILE`), one object a
line: `{"title": ..., "content": ..., "url"?: ..., "id"?: ...}`. Loading the
same entry again replaces it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from handler.chat.index import KNOWN_LOG, Document
from handler.chat.services import ChatServices


class BadLogEntry(ValueError):
    """A line that is not a known log; the message names the line."""


def parse(lines: Iterable[str]) -> list[Document]:
    documents = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry: Any = json.loads(line)
        except ValueError:
            raise BadLogEntry(f"line {number}: not JSON") from None
        if not isinstance(entry, dict):
            raise BadLogEntry(f"line {number}: expected a JSON object")
        title, content, url = entry.get("title"), entry.get("content"), entry.get("url")
        if not (isinstance(title, str) and title.strip()):
            raise BadLogEntry(f"line {number}: 'title' must be a non-empty string")
        if not (isinstance(content, str) and content.strip()):
            raise BadLogEntry(f"line {number}: 'content' must be a non-empty string")
        if url is not None and not isinstance(url, str):
            raise BadLogEntry(f"line {number}: 'url' must be a string")
        key = entry.get("id") or hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()[:32]
        documents.append(Document(f"log:{key}", KNOWN_LOG, title.strip(), content, url=url))
    return documents


async def load(services: ChatServices, documents: list[Document]) -> int:
    for document in documents:
        vector = await services.embedder.embed(f"{document.title}\n{document.content}")
        await services.index.upsert(document, vector)
    return len(documents)
