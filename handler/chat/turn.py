"""One chat turn, from the stored user message to the last event.

The order of events is the contract's. Nothing written is lost: the user
message is committed before the model is called, the answer is saved every
SAVE_EVERY seconds while it streams and once more at the end, whatever ended
it (done, model failure, deadline, client gone, database failure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from handler import validation
from handler.auth.identity import User
from handler.chat import memories, prompt, summaries
from handler.chat.index import Match
from handler.chat.model import ModelError, complete
from handler.chat.services import ChatServices
from handler.errors import bad_request
from handler.sse import EventStream
from handler.store import chat as store
from handler.store import users
from handler.store.sessions import DEFAULT_TITLE

log = logging.getLogger(__name__)

SAVE_EVERY = 2.0  # seconds between incremental saves of a streaming answer
KEEPALIVE = 15.0  # seconds of silence before a keep-alive comment
DEADLINE_MARGIN = 3.0  # seconds kept back before Lambda's deadline to end cleanly
TITLE_WAIT = 5.0  # how long a finished answer waits for its title
RETRIEVAL_TOP_K = 3
MIN_SCORE = 0.3
CONTINUE_PROMPT = "Continue your previous answer exactly where it stopped. Do not repeat anything."
TITLE_PROMPT = (
    "Write a title of at most six words for a debugging session that starts with the "
    "message below. Reply with the title only, without quotes."
)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    session_id: uuid.UUID
    message: str
    parent_id: uuid.UUID | None
    skip_user_message: bool
    is_continuation: bool

    @classmethod
    def parse(cls, body: dict[str, Any], *, max_length: int) -> ChatRequest:
        """The request; a message is bounded only by the body limit (`max_length`).

        Pasted logs of any size the body allows are accepted: the prompt builder
        trims an oversized message to the model's budget instead.
        """
        session_id = validation.required_uuid(body, "sessionId")
        parent_id = validation.optional_uuid(body, "parentId")
        skip = validation.boolean(body, "skipUserMessage", required=False) or False
        cont = validation.boolean(body, "isContinuation", required=False) or False
        if skip and cont:
            raise bad_request("'skipUserMessage' and 'isContinuation' cannot both be true")
        reuses = skip or cont
        if reuses and parent_id is None:
            raise bad_request("'parentId' is required with 'skipUserMessage' or 'isContinuation'")
        message = validation.text(
            body, "message", max_length=max_length, required=not reuses, allow_empty=reuses
        )
        return cls(session_id, message or "", parent_id, skip, cont)


class TurnFailed(Exception):
    """Ends the stream with an `error` event carrying this message."""


class ClientGone(Exception):
    pass


class DeadlineReached(Exception):
    pass


@dataclass
class Answer:
    """The assistant message being written, saved as it grows."""

    id: uuid.UUID
    text: str
    sources: list[dict[str, Any]] = field(default_factory=list)
    stored_length: int = 0  # how much of `text` the database has (a continuation's prefix)
    saved_once: bool = False
    saved_at: float = field(default_factory=time.monotonic)

    def due(self) -> bool:
        return time.monotonic() - self.saved_at >= SAVE_EVERY

    def unsaved(self) -> bool:
        return not self.saved_once or self.stored_length < len(self.text)

    async def save(self, services: ChatServices) -> None:
        pool = await services.database.pool()
        await store.append_answer(pool, self.id, self.text[self.stored_length :], self.sources)
        self.stored_length = len(self.text)
        self.saved_once = True
        self.saved_at = time.monotonic()


class ChatTurn:
    def __init__(
        self,
        services: ChatServices,
        user: User,
        request: ChatRequest,
        events: EventStream,
        deadline: float | None,
    ) -> None:
        self.services = services
        self.user = user
        self.request = request
        self.events = events
        self.deadline = deadline  # time.time() by which the stream must have ended
        self.title_task: asyncio.Task[str | None] | None = None
        self.answered = False  # an assistant message exists for this turn
        self.user_words: list[str] = []  # what the user wrote, read for memory suggestions

    async def run(self) -> None:
        try:
            await self._answer()
        except ClientGone:
            log.info("client disconnected", extra={"session_id": str(self.request.session_id)})
        except TurnFailed as exc:
            await self._send_error(str(exc))
        except Exception:
            log.exception("chat turn failed")
            await self._send_error("Something went wrong while answering; please try again")
        finally:
            if self.title_task is not None and not self.title_task.done():
                self.title_task.cancel()
            if self.answered:  # only a turn that wrote messages can make a summary stale
                self.services.background.spawn(
                    summaries.refresh(self.services, self.request.session_id),
                    name=f"summary:{self.request.session_id}",
                )
            if self.user_words:
                self.services.background.spawn(
                    memories.propose(self.services, self.user.id, self.user_words),
                    name=f"memories:{self.user.id}",
                )

    async def _send_error(self, message: str) -> None:
        with contextlib.suppress(ConnectionResetError):
            await self.events.send({"error": message})

    async def _send(self, event: dict[str, Any]) -> None:
        try:
            await self.events.send(event)
        except ConnectionResetError:
            raise ClientGone from None

    async def _answer(self) -> None:
        req, services = self.request, self.services
        pool = await services.database.pool()
        session = await store.session_context(pool, self.user.id, req.session_id)
        if session is None:
            raise TurnFailed("Session not found")

        prefix = ""
        if req.is_continuation:
            target = await store.message(pool, req.session_id, req.parent_id)
            if target is None or target["role"] != "assistant":
                raise TurnFailed("Message to continue not found")
            conversation = await store.path(pool, req.session_id, target["id"])
            question = next(
                (m["content"] for m in reversed(conversation) if m["role"] == "user"), ""
            )
            new_message = {"role": "user", "content": CONTINUE_PROMPT}
            user_message_id, prefix = target["parent_id"], target["content"]
        elif req.skip_user_message:
            target = await store.message(pool, req.session_id, req.parent_id)
            if target is None or target["role"] != "user":
                raise TurnFailed("Message to answer not found")
            conversation = await store.path(pool, req.session_id, target["parent_id"])
            question = target["content"]
            new_message = {"role": "user", "content": question}
            user_message_id = target["id"]
        else:
            if req.parent_id and await store.message(pool, req.session_id, req.parent_id) is None:
                raise TurnFailed("Parent message not found")
            conversation = await store.path(pool, req.session_id, req.parent_id)
            question = req.message
            new_message = {"role": "user", "content": question}
            user_message_id = await store.add_message(
                pool, req.session_id, req.parent_id, "user", question
            )
            await self._remember(pool, question)
            self.user_words = [m["content"] for m in conversation if m["role"] == "user"][-2:]
            self.user_words.append(question)
        if user_message_id is not None:
            await self._send({"userMessageId": str(user_message_id)})

        if req.is_continuation:
            # The conversation ends with the partial answer being continued.
            answer = Answer(
                target["id"], prefix, list(target["sources"]), stored_length=len(prefix)
            )
        else:
            answer_id = await store.add_message(
                pool, req.session_id, user_message_id, "assistant", ""
            )
            answer = Answer(answer_id, "")
        self.answered = True
        await self._send({"messageId": str(answer.id)})

        if session["title"] == DEFAULT_TITLE and not req.is_continuation:
            self.title_task = asyncio.create_task(self._make_title(question))

        await self._send({"status": "building_context"})
        layers, matches = await self._context(session, question)
        if matches:
            answer.sources = [
                {"index": i, "title": m.document.title, "url": m.document.url}
                for i, m in enumerate(matches, start=1)
            ]
            await self._send({"sources": answer.sources})
        built = prompt.build(
            layers, conversation, new_message, services.settings.context_token_budget
        )
        if built.dropped:
            log.info("prompt trimmed to budget", extra={"dropped": list(built.dropped)})

        try:
            await self._stream(built.messages, answer)
        except ModelError as exc:
            raise TurnFailed(str(exc)) from None
        except DeadlineReached:
            raise TurnFailed("The answer was cut short by the server's time limit") from None
        finally:
            await self._final_save(answer)
        await self._finish_title(wait=TITLE_WAIT)
        try:
            await self.events.done()
        except ConnectionResetError:
            raise ClientGone from None

    async def _remember(self, pool: Any, question: str) -> None:
        """`remember: ...` stores an explicit memory before the answer is written."""
        fact = memories.explicit_fact(question)
        if fact is None:
            return
        if await users.add_memory(pool, self.user.id, fact) is None:
            log.info("explicit memory not stored: the active limit is reached")

    async def _final_save(self, answer: Answer) -> None:
        if not answer.unsaved():
            return
        try:
            await answer.save(self.services)
        except Exception:
            log.exception("could not save the answer", extra={"message_id": str(answer.id)})
            raise TurnFailed(
                "The answer could not be saved; copy it before leaving this page"
            ) from None

    def _time_left(self) -> float:
        if self.deadline is None:
            return math.inf
        return self.deadline - DEADLINE_MARGIN - time.time()

    async def _stream(self, messages: list[dict[str, str]], answer: Answer) -> None:
        stream = self.services.model.stream(messages)
        pending: asyncio.Future[str] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(stream))
                waiting: set[asyncio.Future[Any]] = {pending}
                if self.title_task is not None:
                    waiting.add(self.title_task)
                time_left = self._time_left()
                if time_left <= 0:
                    raise DeadlineReached
                done, _ = await asyncio.wait(
                    waiting, timeout=min(KEEPALIVE, time_left), return_when=asyncio.FIRST_COMPLETED
                )
                if self.title_task is not None and self.title_task in done:
                    await self._finish_title(wait=0)
                if pending in done:
                    chunk, pending = pending, None
                    try:
                        delta = chunk.result()
                    except StopAsyncIteration:
                        return
                    answer.text += delta
                    await self._send({"content": delta})
                    if answer.due():
                        await self._save_during_stream(answer)
                elif not done:
                    try:
                        await self.events.comment("keep-alive")
                    except ConnectionResetError:
                        raise ClientGone from None
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await stream.aclose()  # closes the upstream connection

    async def _save_during_stream(self, answer: Answer) -> None:
        try:
            await answer.save(self.services)
        except Exception:
            log.exception("saving the answer failed mid-stream")
            raise TurnFailed(
                "The answer could not be saved; copy it before leaving this page"
            ) from None

    async def _finish_title(self, *, wait: float) -> None:
        task, self.title_task = self.title_task, None
        if task is None:
            return
        if wait:
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                task.cancel()
                return
        title = task.result() if not task.cancelled() else None
        if title:
            await self._send({"title": title})

    async def _make_title(self, question: str) -> str | None:
        """A stored title for the session, or None; never raises (titles are optional)."""
        try:
            raw = await complete(
                self.services.model,
                [
                    {"role": "system", "content": TITLE_PROMPT},
                    {"role": "user", "content": question[:2000]},
                ],
            )
            title = re.sub(r"\s+", " ", raw).strip().strip("\"'*#").strip()[:80]
            pool = await self.services.database.pool()
            if title and await store.set_title_if_default(pool, self.request.session_id, title):
                return title
        except Exception as exc:
            log.warning("title generation failed", extra={"error": str(exc)[:200]})
        return None

    async def _context(self, session: Any, question: str) -> tuple[list[prompt.Layer], list[Match]]:
        memories = "\n".join(f"- {m}" for m in session["memories"])
        layers = [
            prompt.Layer(
                "platform",
                "## Platform instructions",
                session["platform_instructions"] or prompt.DEFAULT_PLATFORM_INSTRUCTIONS,
            ),
            prompt.Layer(
                "user", "## The user's instructions", session["global_instructions"] or ""
            ),
            prompt.Layer("memories", "## What you know about the user", memories),
        ]
        if session["context_enabled"]:
            layers.append(
                prompt.Layer(
                    "project", "## Project instructions", session["context_instructions"] or ""
                )
            )
        services = self.services
        try:
            vector = await services.embedder.embed(question[:4000])
            related = await services.index.summaries(
                vector,
                user_id=self.user.id,
                project_id=session["project_id"],
                exclude_session=session["id"],
                top_k=RETRIEVAL_TOP_K,
            )
            logs = await services.index.known_logs(vector, top_k=RETRIEVAL_TOP_K)
        except Exception as exc:
            log.warning(
                "retrieval failed; answering without retrieved context",
                extra={"error_type": type(exc).__name__, "error": str(exc)[:200]},
            )
            return layers, []
        matches = [m for m in related + logs if m.score >= MIN_SCORE]
        numbered = list(enumerate(matches, start=1))
        layers.append(
            prompt.Layer(
                "sessions",
                "## Summaries of the user's related sessions",
                "\n".join(
                    f"[{i}] {m.document.title}: {m.document.content}"
                    for i, m in numbered
                    if m in related
                ),
            )
        )
        layers.append(
            prompt.Layer(
                "known_logs",
                "## Similar known logs (cite as [n])",
                "\n".join(
                    f"[{i}] {m.document.title}: {m.document.content}"
                    for i, m in numbered
                    if m in logs
                ),
            )
        )
        return layers, matches
