"""The assistant message being written, saved as it grows.

Saves append in SQL (`content || new text`), so nothing is lost even when two
writers extend the same message (two continuations at once).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from handler.db.pool import Database
from handler.store import messages


@dataclass
class Answer:
    id: uuid.UUID
    text: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None  # the model writing it (the fallback, when it answered)
    stored_length: int = 0  # how much of `text` the database has (a continuation's prefix)
    saved_once: bool = False
    saved_at: float = field(default_factory=time.monotonic)

    def due(self, every: float) -> bool:
        return time.monotonic() - self.saved_at >= every

    def unsaved(self) -> bool:
        return not self.saved_once or self.stored_length < len(self.text)

    async def save(self, database: Database) -> None:
        pool = await database.pool()
        await messages.append_answer(
            pool, self.id, self.text[self.stored_length :], self.sources, self.model
        )
        self.stored_length = len(self.text)
        self.saved_once = True
        self.saved_at = time.monotonic()
