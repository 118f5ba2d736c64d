"""What a turn answers, decided per mode before the model is called.

- new: store the user's message under `parent_id`, answer it in a new message.
- regenerate (`skipUserMessage`): answer the stored user message `parent_id`
  again, in a new message; nothing new is stored for the user.
- continue (`isContinuation`): extend the stored assistant message `parent_id`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from handler.chat.answer import Answer
from handler.store import messages

if TYPE_CHECKING:
    import asyncpg

CONTINUE_PROMPT = "Continue your previous answer exactly where it stopped. Do not repeat anything."


@dataclass(frozen=True, slots=True)
class ChatRequest:
    session_id: uuid.UUID
    message: str
    parent_id: uuid.UUID | None
    skip_user_message: bool = False
    is_continuation: bool = False


class TurnFailed(Exception):
    """Ends the turn with a `Failed` event carrying this message."""


@dataclass(frozen=True, slots=True)
class TurnPlan:
    question: str  # what retrieval and the title are about
    conversation: list[dict[str, str]]  # the path before the new message
    new_message: dict[str, str]  # the last message the model reads
    user_message_id: uuid.UUID | None
    answer: Answer | None  # the message being continued; None: a new one
    user_words: list[str]  # what the user wrote in this turn and just before, newest last


async def _new(pool: asyncpg.Pool, request: ChatRequest) -> TurnPlan:
    conversation: list[dict[str, str]] = []
    if request.parent_id:
        # Side by side: both are on the way to the model's request.
        parent, conversation = await asyncio.gather(
            messages.get(pool, request.session_id, request.parent_id),
            messages.path(pool, request.session_id, request.parent_id),
        )
        if parent is None:
            raise TurnFailed("Parent message not found")
    user_message_id = await messages.add(
        pool, request.session_id, request.parent_id, "user", request.message
    )
    earlier = [m["content"] for m in conversation if m["role"] == "user"][-2:]
    return TurnPlan(
        question=request.message,
        conversation=conversation,
        new_message={"role": "user", "content": request.message},
        user_message_id=user_message_id,
        answer=None,
        user_words=[*earlier, request.message],
    )


async def _regenerate(pool: asyncpg.Pool, request: ChatRequest) -> TurnPlan:
    target = await messages.get(pool, request.session_id, request.parent_id)
    if target is None or target["role"] != "user":
        raise TurnFailed("Message to answer not found")
    return TurnPlan(
        question=target["content"],
        conversation=await messages.path(pool, request.session_id, target["parent_id"]),
        new_message={"role": "user", "content": target["content"]},
        user_message_id=target["id"],
        answer=None,
        user_words=[],
    )


async def _continue(pool: asyncpg.Pool, request: ChatRequest) -> TurnPlan:
    target = await messages.get(pool, request.session_id, request.parent_id)
    if target is None or target["role"] != "assistant":
        raise TurnFailed("Message to continue not found")
    # The conversation ends with the partial answer being continued.
    conversation = await messages.path(pool, request.session_id, target["id"])
    question = next((m["content"] for m in reversed(conversation) if m["role"] == "user"), "")
    prefix = target["content"]
    return TurnPlan(
        question=question,
        conversation=conversation,
        new_message={"role": "user", "content": CONTINUE_PROMPT},
        user_message_id=target["parent_id"],
        answer=Answer(target["id"], prefix, list(target["sources"]), stored_length=len(prefix)),
        user_words=[],
    )


def _mode(request: ChatRequest) -> Callable[[asyncpg.Pool, ChatRequest], Awaitable[TurnPlan]]:
    if request.is_continuation:
        return _continue
    if request.skip_user_message:
        return _regenerate
    return _new


async def prepare(pool: asyncpg.Pool, request: ChatRequest) -> TurnPlan:
    return await _mode(request)(pool, request)
