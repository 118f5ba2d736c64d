"""One chat turn, from the stored user message to the last event, without HTTP.

`run_turn` is an async generator of `events`; the caller writes them (as SSE
in routes/chat.py) and may stop reading at any time (a client that left):
closing the generator stops the model's stream and still saves the answer.
Nothing written is lost: the user message is committed before the model is
called, the answer is saved every `Timing.save_every` seconds while it streams
and once more at the end, whatever ended it (done, model failure, deadline,
client gone, database failure).

With web search configured (services.web_search), the decision whether to
search runs alongside retrieval; a search shows as `searching`, `reading`
(results to read) and `generating` before the one `sources` event. Without it
nothing is started or awaited: the path to the first token is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from handler.auth.identity import User
from handler.chat import context, memories, plan, prompt, summaries, web_lookup
from handler.chat.answer import Answer
from handler.chat.events import (
    AnswerMessage,
    Delta,
    Done,
    Event,
    Failed,
    KeepAlive,
    ModelFallback,
    Sources,
    Status,
    Title,
    UserMessage,
)
from handler.chat.model import ModelError, complete
from handler.chat.model import answer as model_answer
from handler.chat.plan import ChatRequest, TurnFailed
from handler.chat.services import ChatServices
from handler.chat.web_search import WebSearch
from handler.store import memories as ledger
from handler.store import messages, sessions

log = logging.getLogger(__name__)

TITLE_PROMPT = (
    "Write a title of at most six words for a debugging session that starts with the "
    "message below. Reply with the title only, without quotes."
)
SAVE_FAILED = "The answer could not be saved; copy it before leaving this page"


@dataclass(frozen=True, slots=True)
class Timing:
    save_every: float = 2.0  # seconds between incremental saves of a streaming answer
    keepalive: float = 15.0  # seconds of silence before a keep-alive
    deadline_margin: float = 3.0  # seconds kept back before Lambda's deadline to end cleanly
    title_wait: float = 5.0  # how long a finished answer waits for its title
    decision: float = 5.0  # seconds the fast model may take to decide on a web search


class _DeadlineReached(Exception):
    pass


async def run_turn(
    services: ChatServices,
    user: User,
    request: ChatRequest,
    *,
    deadline: float | None = None,
    timing: Timing = Timing(),
) -> AsyncIterator[Event]:
    """The turn's events; `deadline` is the time.time() by which the stream must end."""
    turn = _Turn(services, user, request, deadline, timing)
    try:
        async for event in turn.events():
            yield event
    finally:
        await turn.close()


class _Turn:
    def __init__(
        self,
        services: ChatServices,
        user: User,
        request: ChatRequest,
        deadline: float | None,
        timing: Timing,
    ) -> None:
        self.services = services
        self.user = user
        self.request = request
        self.deadline = deadline
        self.timing = timing
        self.title_task: asyncio.Task[str | None] | None = None
        self.web_task: asyncio.Task[Any] | None = None  # the web search's decision, then search
        self.answer: Answer | None = None
        self.user_words: list[str] = []

    async def events(self) -> AsyncIterator[Event]:
        try:
            async for event in self._answer():
                yield event
        except TurnFailed as exc:
            yield Failed(str(exc))
        except Exception:
            log.exception("chat turn failed")
            yield Failed("Something went wrong while answering; please try again")

    async def close(self) -> None:
        """Whatever ended the turn: the answer is stored, the side work scheduled."""
        for task in (self.title_task, self.web_task):
            if task is not None and not task.done():
                task.cancel()
        if self.answer is not None:
            with contextlib.suppress(TurnFailed):
                await self._final_save()  # a client that left cannot be told; it is logged
            self.services.background.spawn(
                summaries.refresh(self.services, self.request.session_id),
                name=f"summary:{self.request.session_id}",
            )
        if self.user_words:
            self.services.background.spawn(
                memories.propose(self.services, self.user.id, self.user_words),
                name=f"memories:{self.user.id}",
            )

    async def _answer(self) -> AsyncIterator[Event]:
        services, request = self.services, self.request
        pool = await services.database.pool()
        session = await sessions.context(pool, self.user.id, request.session_id)
        if session is None:
            raise TurnFailed("Session not found")
        turn_plan = await plan.prepare(pool, request)
        if turn_plan.user_words:
            await self._remember(pool, request.message)
        self.user_words = turn_plan.user_words
        if turn_plan.user_message_id is not None:
            yield UserMessage(turn_plan.user_message_id)

        answer = turn_plan.answer
        if answer is None:
            answer = Answer(
                await messages.add(
                    pool, request.session_id, turn_plan.user_message_id, "assistant", ""
                )
            )
        self.answer = answer
        yield AnswerMessage(answer.id)

        if session["title"] == sessions.DEFAULT_TITLE and not request.is_continuation:
            self.title_task = asyncio.create_task(self._make_title(turn_plan.question))

        yield Status("building_context")
        # A continuation never searches: it goes on with what its answer already cites.
        web = None if request.is_continuation else services.web_search
        if web is not None:  # off: nothing is started here, nor awaited below
            self.web_task = self._decide_on_web_search(web, pool, turn_plan)
        built_context = await context.build(services, self.user.id, session, turn_plan.question)
        web_failed = False
        if web is not None and self.web_task is not None:
            query = await self.web_task
            if query is not None:
                yield Status("searching")
                self.web_task = asyncio.create_task(
                    web_lookup.search(web, query, self._time_left())
                )
                async for event in self._keep_alive_until(self.web_task):
                    yield event
                results = self.web_task.result()
                web_failed = results is None
                if results:
                    yield Status("reading")
                    built_context = context.with_web(built_context, results)
                yield Status("generating")
        if not answer.sources:  # a continuation keeps the sources its text already cites
            answer.sources = built_context.sources
        if answer.sources:
            yield Sources(answer.sources)
        built = prompt.build(
            built_context.layers,
            turn_plan.conversation,
            turn_plan.new_message,
            services.settings.context_token_budget,
            web_unavailable=web_failed,
        )
        if built.dropped:
            log.info("prompt trimmed to budget", extra={"dropped": list(built.dropped)})

        failure = None
        try:
            async for event in self._stream(built.messages, answer):
                yield event
        except ModelError as exc:
            failure = str(exc)
        except _DeadlineReached:
            failure = "The answer was cut short by the server's time limit"
        await self._final_save()  # before the error event: what was generated is kept
        if failure:
            raise TurnFailed(failure)
        title = await self._finish_title(wait=self.timing.title_wait)
        if title:
            yield Title(title)
        yield Done()

    def _decide_on_web_search(
        self, web: WebSearch, pool: Any, turn_plan: plan.TurnPlan
    ) -> asyncio.Task[str | None]:
        """The decision, started to run alongside retrieval."""
        recent = [*turn_plan.conversation, turn_plan.new_message]
        within = min(self.timing.decision, self._time_left())
        return asyncio.create_task(
            web_lookup.decide(web, self.services.model, pool, recent, within)
        )

    async def _keep_alive_until(self, task: asyncio.Task[Any]) -> AsyncIterator[Event]:
        """Keep-alives while `task` runs: a web search may outlast the keep-alive interval."""
        while not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.timing.keepalive)
            if not done:
                yield KeepAlive()

    async def _remember(self, pool: Any, message: str) -> None:
        """`remember: ...` stores an explicit memory before the answer is written."""
        fact = memories.explicit_fact(message)
        if fact is not None and await ledger.add(pool, self.user.id, fact) is None:
            log.info("explicit memory not stored: the active limit is reached")

    async def _final_save(self) -> None:
        answer = self.answer
        if answer is None or not answer.unsaved():
            return
        try:
            await answer.save(self.services.database)
        except Exception:
            log.exception("could not save the answer", extra={"message_id": str(answer.id)})
            raise TurnFailed(SAVE_FAILED) from None

    def _time_left(self) -> float:
        if self.deadline is None:
            return math.inf
        return self.deadline - self.timing.deadline_margin - time.time()

    async def _stream(self, messages: list[dict[str, str]], answer: Answer) -> AsyncIterator[Event]:
        stream = model_answer(self.services.model, messages)
        answer.model = self.services.model.name
        pending: asyncio.Future[str | ModelFallback] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(stream))
                waiting: set[asyncio.Future[Any]] = {pending}
                if self.title_task is not None:
                    waiting.add(self.title_task)
                time_left = self._time_left()
                if time_left <= 0:
                    raise _DeadlineReached
                done, _ = await asyncio.wait(
                    waiting,
                    timeout=min(self.timing.keepalive, time_left),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if self.title_task is not None and self.title_task in done:
                    title = await self._finish_title(wait=0)
                    if title:
                        yield Title(title)
                if pending in done:
                    chunk, pending = pending, None
                    try:
                        delta = chunk.result()
                    except StopAsyncIteration:
                        return
                    if isinstance(delta, ModelFallback):
                        answer.model = delta.model
                        yield delta
                        continue
                    answer.text += delta
                    yield Delta(delta)
                    if answer.due(self.timing.save_every):
                        await self._save_during_stream(answer)
                elif not done:
                    yield KeepAlive()
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
            await stream.aclose()  # closes the upstream connection

    async def _save_during_stream(self, answer: Answer) -> None:
        try:
            await answer.save(self.services.database)
        except Exception:
            log.exception("saving the answer failed mid-stream")
            raise TurnFailed(SAVE_FAILED) from None

    async def _finish_title(self, *, wait: float) -> str | None:
        task, self.title_task = self.title_task, None
        if task is None:
            return None
        if wait:
            done, _ = await asyncio.wait({task}, timeout=wait)
            if not done:
                task.cancel()
                return None
        return task.result() if not task.cancelled() else None

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
            if title and await sessions.set_title_if_default(pool, self.request.session_id, title):
                return title
        except Exception as exc:
            log.warning("title generation failed", extra={"error_type": type(exc).__name__})
        return None
