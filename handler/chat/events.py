"""What a chat turn produces, in the contract's vocabulary; HTTP writes them as SSE.

`run_turn` yields these; `routes/chat.py` turns each into one `data:` frame
(`KeepAlive` into a comment). Nothing here knows about sockets.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

DONE = "[DONE]"


@dataclass(frozen=True, slots=True)
class Status:
    """A phase the front end shows a spinner for (`building_context`, ...)."""

    name: str

    def data(self) -> dict[str, Any]:
        return {"status": self.name}


@dataclass(frozen=True, slots=True)
class ModelFallback:
    """The chat model failed before its first token; `model` answers instead."""

    model: str
    failed: str

    def data(self) -> dict[str, Any]:
        return {"status": "model_fallback", "model": self.model, "failed_model": self.failed}


@dataclass(frozen=True, slots=True)
class UserMessage:
    id: uuid.UUID

    def data(self) -> dict[str, Any]:
        return {"userMessageId": str(self.id)}


@dataclass(frozen=True, slots=True)
class AnswerMessage:
    id: uuid.UUID

    def data(self) -> dict[str, Any]:
        return {"messageId": str(self.id)}


@dataclass(frozen=True, slots=True)
class Sources:
    sources: list[dict[str, Any]]

    def data(self) -> dict[str, Any]:
        return {"sources": self.sources}


@dataclass(frozen=True, slots=True)
class Delta:
    text: str

    def data(self) -> dict[str, Any]:
        return {"content": self.text}


@dataclass(frozen=True, slots=True)
class Title:
    text: str

    def data(self) -> dict[str, Any]:
        return {"title": self.text}


@dataclass(frozen=True, slots=True)
class Failed:
    """The turn ended early; what was generated is stored."""

    message: str

    def data(self) -> dict[str, Any]:
        return {"error": self.message}


@dataclass(frozen=True, slots=True)
class Done:
    """The answer is complete and stored."""

    def data(self) -> str:
        return DONE


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """Nothing new for a while; keeps proxies and the browser from giving up."""

    def data(self) -> None:
        return None


Event = (
    Status
    | ModelFallback
    | UserMessage
    | AnswerMessage
    | Sources
    | Delta
    | Title
    | Failed
    | Done
    | KeepAlive
)
