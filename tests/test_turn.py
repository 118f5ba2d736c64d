"""The chat turn without HTTP: `run_turn` driven directly, its events and what it stores.

The model is a scripted stand-in for HuggingFace; web search is the real
Tavily client against the loopback Tavily stand-in; the database, the index
and the embedder are the real ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from handler.auth.identity import User
from handler.background import BackgroundTasks
from handler.chat.embeddings import EmbeddingError, HashingEmbedder
from handler.chat.events import (
    AnswerMessage,
    Delta,
    Done,
    Failed,
    KeepAlive,
    Sources,
    Status,
    Title,
    UserMessage,
)
from handler.chat.index import KNOWN_LOG, Document, PgVectorIndex
from handler.chat.model import ModelError
from handler.chat.plan import ChatRequest
from handler.chat.services import ChatServices
from handler.chat.turn import Timing, run_turn
from handler.chat.web_search import TavilySearch
from handler.db.pool import Database
from handler.secrets import Secrets
from tests.standins import tavily as tv

USER = User("alice", "alice@example.com", "Alice", "user", "active", "free", None)


@dataclass
class ScriptedModel:
    """Streams `words` (`delay` apart); fails after `fail_after` words if set.

    The fast model titles, or answers the web-search decision with `decision`
    (after `decision_delay`, or raising if `decision_fails`).
    """

    words: list[str] = field(default_factory=lambda: ["It ", "is ", "a ", "typo."])
    delay: float = 0.0
    fail_after: int | None = None
    decision: str = "[NO_SEARCH]"
    decision_delay: float = 0.0
    decision_fails: bool = False
    title_never_comes: bool = False  # the title request waits until it is cancelled
    stall_after: int | None = None  # after this many words, silence until cancelled
    slow_close: asyncio.Event | None = None  # closing waits for this event
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    name: str = "scripted"
    fallback: str | None = None  # no second model: a failure stays a failure
    closed: int = 0
    asked: list[list[dict[str, str]]] = field(default_factory=list)
    decisions: list[list[dict[str, str]]] = field(default_factory=list)

    async def stream(
        self, messages, *, fast: bool = False, max_tokens: int | None = None
    ) -> AsyncIterator[str]:
        if fast and "[NO_SEARCH]" in messages[0]["content"]:
            self.decisions.append(messages)
            await asyncio.sleep(self.decision_delay)
            if self.decision_fails:
                raise ModelError("The model service is busy (rate limited); try again shortly")
            yield self.decision
            return
        if fast:
            if self.title_never_comes:
                await asyncio.Event().wait()
            yield "Typo in config"
            return
        self.asked.append(messages)
        try:
            for i, word in enumerate(self.words):
                if self.fail_after is not None and i == self.fail_after:
                    raise ModelError("The model failed mid-answer: overloaded")
                if self.stall_after is not None and i == self.stall_after:
                    await asyncio.Event().wait()
                await asyncio.sleep(self.delay)
                yield word
        finally:
            self.closed += 1
            if self.slow_close is not None:
                self.closing.set()
                await self.slow_close.wait()


@pytest.fixture
async def services(make_settings, db):
    await db.execute("INSERT INTO users (id, email) VALUES ('alice', 'alice@example.com')")
    settings = make_settings()
    database = Database(settings, Secrets(settings))
    background = BackgroundTasks()
    model = ScriptedModel()
    yield ChatServices(
        settings, database, model, HashingEmbedder(), PgVectorIndex(database), background
    )
    await background.drain(5)
    await database.close()


async def _session(db) -> uuid.UUID:
    return await db.fetchval("INSERT INTO sessions (user_id) VALUES ('alice') RETURNING id")


async def _run(services, request, **kwargs) -> list:
    return [event async for event in run_turn(services, USER, request, **kwargs)]


def _kinds(events) -> list[str]:
    return [type(e).__name__ for e in events]


async def test_new_message(services, db):
    sid = await _session(db)
    events = await _run(services, ChatRequest(sid, "Why does it crash?", None))
    # The title is made alongside the answer: it comes whenever it is ready.
    assert [k for k in _kinds(events) if k != "Title"] == [
        "UserMessage",
        "AnswerMessage",
        "Status",
        *["Delta"] * 4,
        "Done",
    ]
    assert events[2] == Status("building_context")
    assert [e for e in events if isinstance(e, Title)] == [Title("Typo in config")]
    rows = await db.fetch("SELECT id, role, content, parent_id FROM messages ORDER BY created_at")
    assert [(r["role"], r["content"]) for r in rows] == [
        ("user", "Why does it crash?"),
        ("assistant", "It is a typo."),
    ]
    assert events[0] == UserMessage(rows[0]["id"]) and events[1] == AnswerMessage(rows[1]["id"])
    assert rows[1]["parent_id"] == rows[0]["id"]


async def test_regenerate_answers_the_stored_message_again(services, db):
    sid = await _session(db)
    first = await _run(services, ChatRequest(sid, "q", None))
    user_id = first[0].id
    again = await _run(services, ChatRequest(sid, "", user_id, skip_user_message=True))
    assert again[0] == UserMessage(user_id)
    assert "Title" not in _kinds(again)  # the session has its title by now
    assert await db.fetchval("SELECT count(*) FROM messages WHERE role = 'user'") == 1
    assert await db.fetchval("SELECT count(*) FROM messages WHERE role = 'assistant'") == 2


async def test_continue_appends_to_the_answer(services, db):
    sid = await _session(db)
    first = await _run(services, ChatRequest(sid, "q", None))
    answer_id = first[1].id
    services.model.words = [" More."]
    events = await _run(services, ChatRequest(sid, "", answer_id, is_continuation=True))
    assert events[0] == UserMessage(first[0].id) and events[1] == AnswerMessage(answer_id)
    assert [e.text for e in events if isinstance(e, Delta)] == [" More."]
    stored = await db.fetchval("SELECT content FROM messages WHERE id = $1", answer_id)
    assert stored == "It is a typo. More."
    # The model saw the partial answer, then the request to continue.
    assert services.model.asked[-1][-2] == {"role": "assistant", "content": "It is a typo."}


async def test_model_failure_keeps_the_partial_answer(services, db):
    services.model.fail_after = 2
    sid = await _session(db)
    events = await _run(services, ChatRequest(sid, "q", None))
    assert events[-1] == Failed("The model failed mid-answer: overloaded")
    assert "Done" not in _kinds(events)
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == "It is "


async def test_deadline_ends_the_turn_and_keeps_the_text(services, db):
    services.model.words = [f"w{i} " for i in range(100)]
    services.model.delay = 0.05
    sid = await _session(db)
    # The stream ends 1 s before the deadline; the final save may use all of that second.
    timing = Timing(deadline_margin=1.0, finish_by=0.0)
    events = await _run(
        services, ChatRequest(sid, "q", None), deadline=time.time() + 1.5, timing=timing
    )
    assert events[-1] == Failed("The answer was cut short by the server's time limit")
    text = "".join(e.text for e in events if isinstance(e, Delta))
    assert 0 < len(text.split()) < 100
    assert await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'") == text


async def test_a_reader_that_stops_closes_the_model_and_keeps_the_text(services, db):
    services.model.words = [f"w{i} " for i in range(50)]
    services.model.delay = 0.01
    sid = await _session(db)
    turn = run_turn(services, USER, ChatRequest(sid, "q", None))
    deltas = []
    async for event in turn:
        if isinstance(event, Delta):
            deltas.append(event.text)
            if len(deltas) == 3:
                break
    await turn.aclose()
    assert services.model.closed == 1
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'")
    assert stored == "".join(deltas)


async def test_keep_alive_while_the_model_is_silent(services, db):
    services.model.words = ["slow ", "answer"]
    services.model.delay = 0.3
    sid = await _session(db)
    events = await _run(services, ChatRequest(sid, "q", None), timing=Timing(keepalive=0.05))
    assert KeepAlive() in events
    assert "".join(e.text for e in events if isinstance(e, Delta)) == "slow answer"
    assert events[-1] == Done()


async def test_another_users_session_is_not_found(services, db):
    other = await db.fetchval(
        "WITH u AS (INSERT INTO users (id) VALUES ('bob') RETURNING id) "
        "INSERT INTO sessions (user_id) SELECT id FROM u RETURNING id"
    )
    assert await _run(services, ChatRequest(other, "q", None)) == [Failed("Session not found")]
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


# Web search: the decision, Tavily (the loopback stand-in), the one list of sources.

SEARCH = "[SEARCH: asyncpg default pool size]"
WEB_SOURCES = [
    {"index": 1, "title": "Release notes 1", "url": "https://docs.example.com/releases/1"},
    {"index": 2, "title": "Release notes 2", "url": "https://docs.example.com/releases/2"},
]


@pytest.fixture
async def web_services(services, tavily, make_settings):
    settings = make_settings(tavily_base_url=tavily.url, tavily_timeout=5.0)

    async def key() -> str:
        return tv.API_KEY

    async with aiohttp.ClientSession() as http:
        yield ChatServices(
            settings,
            services.database,
            services.model,
            services.embedder,
            services.index,
            services.background,
            TavilySearch(http, settings, key),
        )


def _statuses(events) -> list[str]:
    return [e.name for e in events if isinstance(e, Status)]


async def test_search_decided_and_used(web_services, db, tavily):
    model = web_services.model
    model.decision = SEARCH
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "Which pool size does asyncpg use?", None))
    assert [k for k in _kinds(events) if k != "Title"] == [
        "UserMessage",
        "AnswerMessage",
        *["Status"] * 4,
        "Sources",
        *["Delta"] * 4,
        "Done",
    ]
    assert _statuses(events) == ["building_context", "searching", "reading", "generating"]
    assert Sources(WEB_SOURCES) in events
    (asked,) = tavily.requests
    assert asked["query"] == "asyncpg default pool size"
    assert (asked["search_depth"], asked["max_results"]) == ("basic", 5)
    # The decision read the new message; the answer's prompt numbers the results to cite.
    assert "Which pool size does asyncpg use?" in model.decisions[0][-1]["content"]
    system = "\n".join(m["content"] for m in model.asked[-1])
    assert "cite as [n]" in system
    assert "[2] Release notes 2 (docs.example.com): Version 2.0" in system
    stored = await db.fetchval("SELECT sources FROM messages WHERE role = 'assistant'")
    assert json.loads(stored) == WEB_SOURCES


async def test_web_results_are_numbered_after_retrieved_known_logs(web_services, db, tavily):
    text = "asyncpg pool exhausted too many connections"
    await web_services.index.upsert(
        Document("log:pool", KNOWN_LOG, "Pool exhausted", text, url="https://wiki.example/pool"),
        await web_services.embedder.embed(text),
    )
    web_services.model.decision = SEARCH
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "asyncpg pool exhausted", None))
    (sources,) = [e for e in events if isinstance(e, Sources)]
    assert sources.sources == [
        {"index": 1, "title": "Pool exhausted", "url": "https://wiki.example/pool"},
        *[{**s, "index": s["index"] + 1} for s in WEB_SOURCES],
    ]
    system = "\n".join(m["content"] for m in web_services.model.asked[-1])
    assert "[1] Pool exhausted" in system and "[3] Release notes 2" in system


async def test_no_search_decision(web_services, db, tavily):
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "Why does it crash?", None))
    assert len(web_services.model.decisions) == 1
    assert _statuses(events) == ["building_context"]
    assert tavily.requests == []
    assert events[-1] == Done()


@pytest.mark.parametrize("reply", ["Maybe search?", "[SEARCH: ]", "SEARCH the web"])
async def test_an_unclear_decision_is_no_search(web_services, db, tavily, reply):
    web_services.model.decision = reply
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None))
    assert _statuses(events) == ["building_context"] and tavily.requests == []
    assert events[-1] == Done()


async def test_slow_decision_answers_without_the_web(web_services, db, tavily, caplog):
    caplog.set_level(logging.WARNING)
    web_services.model.decision = SEARCH
    web_services.model.decision_delay = 5
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None), timing=Timing(decision=0.05))
    assert _statuses(events) == ["building_context"] and tavily.requests == []
    assert "".join(e.text for e in events if isinstance(e, Delta)) == "It is a typo."
    assert events[-1] == Done()
    assert any("decision failed" in r.getMessage() for r in caplog.records)


async def test_failed_decision_answers_without_the_web(web_services, db, tavily, caplog):
    caplog.set_level(logging.WARNING)
    web_services.model.decision_fails = True
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None))
    assert _statuses(events) == ["building_context"] and tavily.requests == []
    assert events[-1] == Done()
    (record,) = [r for r in caplog.records if "decision failed" in r.getMessage()]
    assert record.error_type == "ModelError"


async def test_search_off_asks_nothing_and_starts_nothing(services, db):
    """Without a WebSearch the turn is the one it was: no decision, no extra status."""
    assert services.web_search is None
    sid = await _session(db)
    events = await _run(services, ChatRequest(sid, "Which version fixed it?", None))
    assert services.model.decisions == []
    assert _statuses(events) == ["building_context"]


async def test_setting_off_asks_no_decision(web_services, db, tavily):
    await db.execute(
        "INSERT INTO global_settings (key, value) VALUES ('web_search_enabled', 'false')"
    )
    web_services.model.decision = SEARCH
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None))
    assert web_services.model.decisions == [] and tavily.requests == []
    assert _statuses(events) == ["building_context"]


async def test_a_search_slower_than_the_keep_alive_keeps_the_stream_alive(web_services, db, tavily):
    tavily.delay = 0.3
    web_services.model.decision = SEARCH
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None), timing=Timing(keepalive=0.05))
    searching = events.index(Status("searching"))
    assert KeepAlive() in events[searching : events.index(Status("reading"))]
    assert events[-1] == Done()


async def test_continuation_never_searches_and_keeps_its_sources(web_services, db, tavily):
    web_services.model.decision = SEARCH
    sid = await _session(db)
    first = await _run(web_services, ChatRequest(sid, "q", None))
    answer_id = first[1].id
    events = await _run(web_services, ChatRequest(sid, "", answer_id, is_continuation=True))
    assert len(tavily.requests) == 1 and len(web_services.model.decisions) == 1
    assert _statuses(events) == ["building_context"]
    assert Sources(WEB_SOURCES) in events
    stored = await db.fetchval("SELECT sources FROM messages WHERE id = $1", answer_id)
    assert json.loads(stored) == WEB_SOURCES


async def test_regeneration_decides_again(web_services, db, tavily):
    web_services.model.decision = SEARCH
    sid = await _session(db)
    first = await _run(web_services, ChatRequest(sid, "q", None))
    again = await _run(web_services, ChatRequest(sid, "", first[0].id, skip_user_message=True))
    assert _statuses(again) == ["building_context", "searching", "reading", "generating"]
    assert len(tavily.requests) == 2


async def test_a_search_that_finds_nothing_has_nothing_to_read(web_services, db, tavily):
    tavily.results = []
    web_services.model.decision = SEARCH
    sid = await _session(db)
    events = await _run(web_services, ChatRequest(sid, "q", None))
    assert _statuses(events) == ["building_context", "searching", "generating"]
    assert "Sources" not in _kinds(events) and events[-1] == Done()


class NeverEmbeds:
    """An embedder whose service never answers."""

    async def embed(self, text: str) -> list[float]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def _title_tasks() -> list[asyncio.Task]:
    return [
        t
        for t in asyncio.all_tasks()
        if not t.done() and "_make_title" in getattr(t.get_coro(), "__qualname__", "")
    ]


async def test_a_title_that_never_comes_does_not_hold_the_answer_past_the_deadline(services, db):
    services.model.title_never_comes = True
    sid = await _session(db)
    deadline = time.time() + 4  # the stream's 3 s margin leaves 1 s to answer
    events = await asyncio.wait_for(
        _run(services, ChatRequest(sid, "q", None), deadline=deadline), 30
    )
    assert time.time() < deadline  # the title wait fitted inside the margin
    assert events[-1] == Done() and "Title" not in _kinds(events)
    assert await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'") == (
        "It is a typo."
    )
    assert _title_tasks() == []  # cancelled, and awaited to its end


async def test_retrieval_that_never_answers_is_left_out_before_the_deadline(services, db):
    services = dataclasses.replace(services, embedder=NeverEmbeds())
    sid = await _session(db)
    deadline = time.time() + 5
    timing = Timing(retrieval=0.5)
    events = await asyncio.wait_for(
        _run(services, ChatRequest(sid, "q", None), deadline=deadline, timing=timing), 30
    )
    assert time.time() < deadline
    assert events[-1] == Done()
    assert await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'") == (
        "It is a typo."
    )


async def test_a_reader_that_leaves_early_leaves_no_title_task_behind(services, db):
    services.model.title_never_comes = True
    sid = await _session(db)
    turn = run_turn(services, USER, ChatRequest(sid, "q", None))
    async for event in turn:
        if isinstance(event, Delta):
            break
    await turn.aclose()
    assert _title_tasks() == []


class FailingEmbedder:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def embed(self, text: str) -> list[float]:
        raise self.error


async def test_retrieval_failures_expected_in_one_line_bugs_with_traceback(services, db, caplog):
    sid = await _session(db)
    # Something to retrieve, so the question is embedded (and the embedding fails).
    await db.execute(
        "INSERT INTO vector_items (id, kind, title, content, embedding) "
        "VALUES ('log:help', 'known_log', 'Help', 'help', $1::vector)",
        "[" + ",".join(["1"] + ["0"] * 383) + "]",
    )
    down = dataclasses.replace(services, embedder=FailingEmbedder(EmbeddingError("HTTP 503")))
    buggy = dataclasses.replace(services, embedder=FailingEmbedder(KeyError("vector")))
    with caplog.at_level(logging.WARNING, logger="handler.chat.context"):
        assert (await _run(down, ChatRequest(sid, "q", None)))[-1] == Done()
        assert (await _run(buggy, ChatRequest(sid, "q", None)))[-1] == Done()
    expected, bug = caplog.records
    assert expected.levelname == "WARNING" and expected.exc_info is None
    assert expected.error_type == "EmbeddingError"
    assert bug.levelname == "ERROR" and bug.exc_info is not None
    assert bug.unexpected == "retrieval" and bug.unexpected_total >= 1


async def test_a_turn_cancelled_while_it_winds_down_stays_cancelled(services, db):
    services.model.stall_after = 1
    services.model.slow_close = asyncio.Event()
    sid = await _session(db)
    # The stream's time ends 0.5 s in, while the model is silent; closing it is slow.
    timing = Timing(deadline_margin=1.0, finish_by=0.0)
    consumer = asyncio.create_task(
        _run(services, ChatRequest(sid, "q", None), deadline=time.time() + 1.5, timing=timing)
    )
    await asyncio.wait_for(services.model.closing.wait(), 30)
    consumer.cancel()  # e.g. the server shutting down, while the turn waits for the close
    try:
        with pytest.raises(asyncio.CancelledError):
            await consumer
    finally:
        services.model.slow_close.set()
    # The text so far was still saved on the way out.
    assert await db.fetchval("SELECT content FROM messages WHERE role = 'assistant'") == "It "
