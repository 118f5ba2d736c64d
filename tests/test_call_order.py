"""What a chat turn calls before the answer's first token, and what runs at the same time.

The real services (HuggingFace model and embedder, Tavily, pgvector, PostgreSQL)
against loopback stand-ins that record when each call arrived and ended. Where
concurrency is the point, a stand-in waits for another call instead of for a
time: the fast model's decision is only answered once the answer's request has
arrived, so a turn that waits for the decision before asking for its answer
never gets one (the decision runs out of time and the test sees it).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from handler.auth.identity import User
from handler.background import BackgroundTasks
from handler.chat.events import Delta, Sources
from handler.chat.index import KNOWN_LOG, Document
from handler.chat.plan import ChatRequest
from handler.chat.services import make_services
from handler.chat.turn import Timing, run_turn
from handler.db.pool import Database
from handler.secrets import Secrets
from tests.standins import huggingface as hf
from tests.standins import tavily as tv

USER = User("alice", "alice@example.com", "Alice", "user", "active", "free", None)
TRACE = (
    "TypeError: Cannot read properties of undefined (reading 'map')\n"
    "    at TodoList (webpack-internal:///./src/TodoList.jsx:14:23)"
)
LIVE = "What changed in the latest release of asyncpg?"
AMBIGUOUS = "Which pool size does asyncpg use?"
ANSWER = "The bug is a missing null check."
TIMING = Timing(decision=5.0)


@dataclass
class Call:
    kind: str  # answer, decision, title, facts, summary, embed, search
    arrived: float
    ended: float = 0.0


@dataclass
class RecordingHuggingFace(hf.HuggingFace):
    """The HuggingFace stand-in, recording each call's kind and times.

    `decision_waits_for_answer`: the decision is answered once an answer's request
    has arrived. `answer_waits_for_decision`: the answer's first token follows the
    decision's reply. `embedding_waits_for_decision`: the embedding is answered once
    the decision's request has arrived.
    """

    calls: list[Call] = field(default_factory=list)
    decision_waits_for_answer: bool = False
    answer_waits_for_decision: bool = False
    embedding_waits_for_decision: bool = False
    decision_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    answer_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    decided: asyncio.Event = field(default_factory=asyncio.Event)

    def kinds(self) -> list[str]:
        return [c.kind for c in self.calls]

    def first(self, kind: str) -> Call:
        return next(c for c in self.calls if c.kind == kind)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        system = body["messages"][0]["content"]
        kind = (
            "answer"
            if body["model"] == hf.MAIN_MODEL
            else "decision"
            if "[NO_SEARCH]" in system
            else "title"
            if "title" in system
            else "facts"
            if "durable facts" in system
            else "summary"
        )
        call = Call(kind, time.monotonic())
        self.calls.append(call)
        if kind == "answer":
            self.answer_arrived.set()
            if self.answer_waits_for_decision:
                await self.decided.wait()
        if kind == "decision":
            self.decision_arrived.set()
            if self.decision_waits_for_answer:
                await self.answer_arrived.wait()
        try:
            return await super()._chat(request)
        finally:
            call.ended = time.monotonic()
            if kind == "decision":
                self.decided.set()

    async def _embed(self, request: web.Request) -> web.Response:
        call = Call("embed", time.monotonic())
        self.calls.append(call)
        if self.embedding_waits_for_decision:
            await self.decision_arrived.wait()
        try:
            return await super()._embed(request)
        finally:
            call.ended = time.monotonic()


@dataclass
class RecordingTavily(tv.Tavily):
    calls: list[Call] = field(default_factory=list)

    async def _search(self, request: web.Request) -> web.Response:
        call = Call("search", time.monotonic())
        self.calls.append(call)
        try:
            return await super()._search(request)
        finally:
            call.ended = time.monotonic()


async def _serve(make_client, stand_in):
    server = await make_client(stand_in.app())
    stand_in.url = str(server.make_url("")).rstrip("/")
    return stand_in


@pytest.fixture
async def model(make_client) -> RecordingHuggingFace:
    return await _serve(make_client, RecordingHuggingFace(words=[ANSWER], split_frames=False))


@pytest.fixture
async def search(make_client) -> RecordingTavily:
    return await _serve(make_client, RecordingTavily())


@pytest.fixture
async def services(make_settings, db, model, search):
    """What the app would build from these settings, web search configured."""
    await db.execute("INSERT INTO users (id, email) VALUES ('alice', 'alice@example.com')")
    settings = make_settings(
        hf_api_key=hf.API_KEY,
        hf_base_url=model.url,
        hf_model=hf.MAIN_MODEL,
        hf_fast_model=hf.FAST_MODEL,
        tavily_api_key=tv.API_KEY,
        tavily_base_url=search.url,
    )
    secrets = Secrets(settings)
    database = Database(settings, secrets)
    background = BackgroundTasks()
    async with aiohttp.ClientSession() as http:
        yield make_services(settings, database, http, background, secrets)
        await background.drain(5)
    await database.close()


async def _turn(services, db, message: str) -> list:
    session = await db.fetchval("INSERT INTO sessions (user_id) VALUES ('alice') RETURNING id")
    request = ChatRequest(session, message, None)
    return [e async for e in run_turn(services, USER, request, timing=TIMING)]


def _prompt(request: dict) -> str:
    """Everything the model reads in one request."""
    return "\n".join(m["content"] for m in request["messages"])


def _text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, Delta))


async def _index_known_log(services) -> None:
    text = "Which pool size does asyncpg use: ten connections unless max_size says otherwise"
    await services.index.upsert(
        Document("log:pool", KNOWN_LOG, "Pool size", text, url="https://wiki.example/pool"),
        await services.embedder.embed(text),
    )


async def test_a_stack_trace_is_answered_without_asking_or_embedding(services, db, model, search):
    events = await _turn(services, db, TRACE)
    assert _text(events) == ANSWER
    # Nothing indexed: no embedding; a trace: no decision, no search.
    assert "decision" not in model.kinds() and "embed" not in model.kinds()
    assert search.calls == []


async def test_a_live_question_is_searched_as_written_before_the_answer(
    services, db, model, search
):
    events = await _turn(services, db, LIVE)
    assert "decision" not in model.kinds()
    (searched,) = search.requests
    assert searched["query"] == LIVE
    (answer,) = [c for c in model.calls if c.kind == "answer"]
    assert answer.arrived >= search.calls[0].ended  # the answer reads the results
    assert "Release notes 1" in _prompt(model.main_requests()[0])
    assert any(isinstance(e, Sources) for e in events)


async def test_an_ambiguous_question_starts_the_answer_while_the_decision_runs(
    services, db, model, search
):
    model.decision_waits_for_answer = True
    events = await _turn(services, db, AMBIGUOUS)
    decision, answer = model.first("decision"), model.first("answer")
    assert answer.arrived < decision.ended  # else the decision would have timed out
    assert model.kinds().count("answer") == 1  # no search needed: the early answer is kept
    assert _text(events) == ANSWER
    assert search.calls == []


async def test_a_search_decided_after_the_answer_started_drops_that_answer(
    services, db, model, search
):
    model.decision = "[SEARCH: asyncpg pool size]"
    model.decision_waits_for_answer = model.answer_waits_for_decision = True
    events = await _turn(services, db, AMBIGUOUS)
    early, final = [c for c in model.calls if c.kind == "answer"]
    assert early.arrived < model.first("decision").ended <= search.calls[0].arrived
    assert final.arrived >= search.calls[0].ended
    assert _text(events) == ANSWER  # the early answer's tokens never reach the reader
    early_prompt, final_prompt = (_prompt(r) for r in model.main_requests())
    assert "Release notes 1" not in early_prompt and "Release notes 1" in final_prompt


async def test_retrieval_runs_beside_the_decision_and_before_the_answer(
    services, db, model, search
):
    await _index_known_log(services)
    model.calls.clear()
    model.decision_waits_for_answer = model.embedding_waits_for_decision = True
    events = await _turn(services, db, AMBIGUOUS)
    embed, decision, answer = (model.first(k) for k in ("embed", "decision", "answer"))
    # Side by side: each was answered only while the other was out.
    assert decision.arrived <= embed.ended and embed.ended <= answer.arrived < decision.ended
    assert "Pool size" in _prompt(model.main_requests()[0])
    assert any(isinstance(e, Sources) for e in events)


async def test_a_session_with_summaries_is_embedded(services, db, model, search):
    other = await db.fetchval("INSERT INTO sessions (user_id) VALUES ('alice') RETURNING id")
    await services.index.upsert(
        Document(f"session:{other}", "session_summary", "Earlier", "A null check.",
                 user_id="alice", session_id=other),
        await services.embedder.embed("A null check."),
    )  # fmt: skip
    model.calls.clear()
    await _turn(services, db, TRACE)
    assert "embed" in model.kinds()
    assert model.first("answer").arrived >= model.first("embed").ended


async def test_another_users_summaries_are_not_a_reason_to_embed(services, db, model, search):
    await db.execute("INSERT INTO users (id, email) VALUES ('bob', 'bob@example.com')")
    theirs = await db.fetchval("INSERT INTO sessions (user_id) VALUES ('bob') RETURNING id")
    await services.index.upsert(
        Document(f"session:{theirs}", "session_summary", "Bob's", "A null check.",
                 user_id="bob", session_id=theirs),
        [1.0] + [0.0] * 383,
    )  # fmt: skip
    await _turn(services, db, TRACE)
    assert "embed" not in model.kinds()


async def test_summaries_of_another_project_are_not_a_reason_to_embed(services, db, model, search):
    project = await db.fetchval(
        "INSERT INTO projects (user_id, name) VALUES ('alice', 'Other') RETURNING id"
    )
    theirs = await db.fetchval(
        "INSERT INTO sessions (user_id, project_id) VALUES ('alice', $1) RETURNING id", project
    )
    await services.index.upsert(
        Document(f"session:{theirs}", "session_summary", "Other project", "A null check.",
                 user_id="alice", project_id=project, session_id=theirs),
        [1.0] + [0.0] * 383,
    )  # fmt: skip
    await _turn(services, db, TRACE)  # a session in no project
    assert "embed" not in model.kinds()
