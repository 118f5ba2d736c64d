"""One chat turn, from the stored user message to the last event, without HTTP.

`run_turn` is an async generator of `events`; the caller writes them (as SSE
in routes/chat.py) and may stop reading at any time (a client that left):
closing the generator stops the model's stream and still saves the answer.
Nothing written is lost: the user message is committed before the model is
called, the answer is saved every `Timing.save_every` seconds while it streams
and once more at the end, whatever ended it (done, model failure, deadline,
client gone, database failure).

Every wait is bounded by the invocation's deadline: the stream ends
`deadline_margin` seconds before it, retrieval and web search fit before that,
and the final save and the title wait end `finish_by` seconds before it, so the
answer is stored before Lambda stops the function.

With web search configured (services.web_search), the decision whether to
search runs alongside retrieval; a search shows as `searching`, `reading`
(results to read) and `generating` before the one `sources` event. Without it
nothing is started or awaited: the path to the first token is the same. When
the fast model is still deciding once retrieval is done, the answer's request
goes out meanwhile, without the web: it is kept if no search is needed, and
closed if one is (its prompt is paid for twice; at the usual latencies the
decision comes back before the first token, so no answer token is wasted).
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
from handler.chat import context, memories, plan, prompt, search_need, summaries, web_lookup
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
from handler.chat.search_need import Need
from handler.chat.services import ChatServices
from handler.chat.web_search import WebSearch
from handler.store import memories as ledger
from handler.store import messages, sessions
from handler.unexpected import log_unexpected

log = logging.getLogger(__name__)

TITLE_PROMPT = (
    "Write a title of at most six words for a debugging session that starts with the "
    "message below. Reply with the title only, without quotes."
)
# Six words, with room for identifiers that split into many tokens.
TITLE_TOKENS = 32
SAVE_FAILED = "The answer could not be saved; copy it before leaving this page"
OUT_OF_TIME = "The server ran out of time before answering; please try again"


@dataclass(frozen=True, slots=True)
class Timing:
    save_every: float = 2.0  # seconds between incremental saves of a streaming answer
    keepalive: float = 15.0  # seconds of silence before a keep-alive
    deadline_margin: float = 3.0  # seconds kept back before Lambda's deadline to end cleanly
    title_wait: float = 5.0  # how long a finished answer waits for its title, at most
    decision: float = 5.0  # seconds the fast model may take to decide on a web search
    retrieval: float = 5.0  # seconds retrieval may take before the answer goes on without it
    # Seconds before Lambda's deadline by which the final save and the title wait are
    # over (inside deadline_margin): what is left is for the last bytes and the runtime.
    finish_by: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.finish_by <= self.deadline_margin:
            raise ValueError("Timing: finish_by must be between 0 and deadline_margin")


class _DeadlineReached(Exception):
    pass


def _timeout(seconds: float) -> asyncio.Timeout:
    """asyncio.timeout for a number of seconds that may be infinite (no deadline)."""
    return asyncio.timeout(None if math.isinf(seconds) else max(seconds, 0.0))


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel a side task and wait until it has ended. Only the task's own outcome is
    set aside (side tasks log their own failures): the caller's cancellation still
    propagates."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved, so that asyncio does not report it again


@dataclass(slots=True)
class _Started:
    """The answer's model stream, its request out: `pending` awaits the next chunk."""

    stream: AsyncIterator[str | ModelFallback]
    pending: asyncio.Future[str | ModelFallback] | None

    async def close(self) -> None:
        pending, self.pending = self.pending, None
        try:
            await _cancel(pending)
        finally:
            # Closes the upstream connection; a chunk still running (the turn was
            # cancelled while it wound down) closes the stream as it ends.
            if pending is None or pending.done():
                await self.stream.aclose()


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
        self.early: _Started | None = None  # the answer, started while the decision runs
        self.answer: Answer | None = None
        self.user_words: list[str] = []
        # A save that overran its time may still have been applied: never retried, since
        # saves append (a retry could store the text twice).
        self.save_abandoned = False

    async def events(self) -> AsyncIterator[Event]:
        try:
            async for event in self._answer():
                yield event
        except TurnFailed as exc:
            yield Failed(str(exc))
        except Exception:
            log_unexpected(log, "chat_turn", "chat turn failed")
            yield Failed("Something went wrong while answering; please try again")

    async def close(self) -> None:
        """Whatever ended the turn: the answer is stored, the side work scheduled."""
        title_task, self.title_task = self.title_task, None
        web_task, self.web_task = self.web_task, None
        await _cancel(title_task)
        await _cancel(web_task)
        await self._drop_early()
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
        try:
            async with _timeout(self._time_left()):
                pool = await services.database.pool()
                session = await sessions.context(pool, self.user.id, request.session_id)
                if session is None:
                    raise TurnFailed("Session not found")
                turn_plan = await plan.prepare(pool, request)
                if turn_plan.user_words:
                    await self._remember(pool, request.message)
        except TimeoutError:
            raise TurnFailed(OUT_OF_TIME) from None
        self.user_words = turn_plan.user_words
        if turn_plan.user_message_id is not None:
            yield UserMessage(turn_plan.user_message_id)

        answer = turn_plan.answer
        if answer is None:
            try:
                async with _timeout(self._time_left()):
                    answer_id = await messages.add(
                        pool, request.session_id, turn_plan.user_message_id, "assistant", ""
                    )
            except TimeoutError:
                raise TurnFailed(OUT_OF_TIME) from None
            answer = Answer(answer_id)
        self.answer = answer
        yield AnswerMessage(answer.id)

        if session["title"] == sessions.DEFAULT_TITLE and not request.is_continuation:
            self.title_task = asyncio.create_task(self._make_title(turn_plan.question))

        yield Status("building_context")
        # A continuation never searches: it goes on with what its answer already cites;
        # nor does a plain question about the user's own problem (a trace, code, an error).
        need = search_need.classify(turn_plan.new_message["content"])
        web = None if request.is_continuation or need is Need.SKIP else services.web_search
        if web is not None:  # off: nothing is started here, nor awaited below
            self.web_task = self._decide_on_web_search(web, pool, turn_plan)
        built_context = await context.build(
            services,
            self.user.id,
            session,
            turn_plan.question,
            min(self.timing.retrieval, self._time_left()),
        )
        web_failed = False
        if web is not None and self.web_task is not None:
            if need is Need.ASK and not self.web_task.done():  # the fast model is deciding
                self.early = self._start(self._prompt(built_context, turn_plan, web_failed))
            query = await self._within_time(self.web_task)
            if query is not None:
                await self._drop_early()
                yield Status("searching")
                self.web_task = asyncio.create_task(
                    web_lookup.search(web, query, self._time_left())
                )
                async for event in self._keep_alive_until(self.web_task):
                    yield event
                # None: the search failed or ran out of time; the model is told so.
                results = await self._within_time(self.web_task)
                web_failed = results is None
                if results:
                    yield Status("reading")
                    built_context = context.with_web(built_context, results)
                yield Status("generating")
        if not answer.sources:  # a continuation keeps the sources its text already cites
            answer.sources = built_context.sources
        if answer.sources:
            yield Sources(answer.sources)
        started, self.early = self.early, None
        if started is None:
            started = self._start(self._prompt(built_context, turn_plan, web_failed))

        failure = None
        try:
            async for event in self._stream(started, answer):
                yield event
        except ModelError as exc:
            failure = str(exc)
        except _DeadlineReached:
            failure = "The answer was cut short by the server's time limit"
        await self._final_save()  # before the error event: what was generated is kept
        if failure:
            raise TurnFailed(failure)
        title = await self._finish_title(wait=min(self.timing.title_wait, self._time_to_finish()))
        if title:
            yield Title(title)
        yield Done()

    def _prompt(
        self, built: context.Context, turn_plan: plan.TurnPlan, web_failed: bool
    ) -> list[dict[str, str]]:
        trimmed = prompt.build(
            built.layers,
            turn_plan.conversation,
            turn_plan.new_message,
            self.services.settings.context_token_budget,
            web_unavailable=web_failed,
        )
        if trimmed.dropped:
            log.info("prompt trimmed to budget", extra={"dropped": list(trimmed.dropped)})
        return trimmed.messages

    def _start(self, messages: list[dict[str, str]]) -> _Started:
        """The answer's request sent now; its chunks are read by `_stream`."""
        stream = model_answer(self.services.model, messages)
        return _Started(stream, asyncio.ensure_future(anext(stream)))

    async def _drop_early(self) -> None:
        """The answer started without the web is not wanted (a search, or the turn ended)."""
        early, self.early = self.early, None
        if early is not None:
            await early.close()

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
        """Keep-alives while `task` runs (a web search may outlast the keep-alive
        interval), until the stream's time is up."""
        while not task.done() and (time_left := self._time_left()) > 0:
            done, _ = await asyncio.wait({task}, timeout=min(self.timing.keepalive, time_left))
            if not done:
                yield KeepAlive()

    async def _within_time(self, task: asyncio.Task[Any]) -> Any:
        """The side task's result, or None (it is cancelled) if the stream's time runs out
        first; the tasks given their own time limit finish within it already."""
        time_left = self._time_left()
        done, _ = await asyncio.wait(
            {task}, timeout=None if math.isinf(time_left) else max(time_left, 0.0)
        )
        if not done:
            log.warning("a side task ran out of the turn's time; going on without it")
            await _cancel(task)
            return None
        return task.result()

    async def _remember(self, pool: Any, message: str) -> None:
        """`remember: ...` stores an explicit memory before the answer is written."""
        fact = memories.explicit_fact(message)
        if fact is not None and await ledger.add(pool, self.user.id, fact) is None:
            log.info("explicit memory not stored: the active limit is reached")

    async def _final_save(self) -> None:
        answer = self.answer
        if answer is None or not answer.unsaved():
            return
        await self._save(answer)

    async def _save(self, answer: Answer) -> None:
        """Save within the turn's time (`finish_by` before the deadline)."""
        if self.save_abandoned:
            raise TurnFailed(SAVE_FAILED)
        try:
            async with _timeout(self._time_to_finish()):
                await answer.save(self.services.database)
        except TimeoutError:
            self.save_abandoned = True
            log.error("saving the answer ran out of time", extra={"message_id": str(answer.id)})
            raise TurnFailed(SAVE_FAILED) from None
        except Exception:
            log_unexpected(
                log, "answer_save", "could not save the answer", message_id=str(answer.id)
            )
            raise TurnFailed(SAVE_FAILED) from None

    def _time_left(self) -> float:
        """Seconds until the stream must end (deadline_margin before the deadline)."""
        if self.deadline is None:
            return math.inf
        return self.deadline - self.timing.deadline_margin - time.time()

    def _time_to_finish(self) -> float:
        """Seconds until the final save and the title wait must be over."""
        if self.deadline is None:
            return math.inf
        return self.deadline - self.timing.finish_by - time.time()

    async def _stream(self, started: _Started, answer: Answer) -> AsyncIterator[Event]:
        answer.model = self.services.model.name
        try:
            while True:
                if started.pending is None:
                    started.pending = asyncio.ensure_future(anext(started.stream))
                pending = started.pending
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
                    started.pending = None
                    try:
                        delta = pending.result()
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
            await started.close()

    async def _save_during_stream(self, answer: Answer) -> None:
        await self._save(answer)

    async def _finish_title(self, *, wait: float) -> str | None:
        task, self.title_task = self.title_task, None
        if task is None:
            return None
        if not task.done() and wait > 0:
            await asyncio.wait({task}, timeout=wait)
        if not task.done():
            await _cancel(task)
            return None
        return None if task.cancelled() else task.result()

    async def _make_title(self, question: str) -> str | None:
        """A stored title for the session, or None; never raises (titles are optional)."""
        try:
            raw = await complete(
                self.services.model,
                [
                    {"role": "system", "content": TITLE_PROMPT},
                    {"role": "user", "content": question[:2000]},
                ],
                max_tokens=TITLE_TOKENS,
            )
            title = re.sub(r"\s+", " ", raw).strip().strip("\"'*#").strip()[:80]
            pool = await self.services.database.pool()
            if title and await sessions.set_title_if_default(pool, self.request.session_id, title):
                return title
        except Exception as exc:
            log.warning("title generation failed", extra={"error_type": type(exc).__name__})
        return None
