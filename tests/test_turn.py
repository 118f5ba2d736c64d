"""The chat turn without HTTP: `run_turn` driven directly, its events and what it stores.

The model is a scripted stand-in for HuggingFace (the one external part);
the database, the index and the embedder are the real ones.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from handler.auth.identity import User
from handler.background import BackgroundTasks
from handler.chat.embeddings import HashingEmbedder
from handler.chat.events import (
    AnswerMessage,
    Delta,
    Done,
    Failed,
    KeepAlive,
    Status,
    Title,
    UserMessage,
)
from handler.chat.index import PgVectorIndex
from handler.chat.model import ModelError
from handler.chat.plan import ChatRequest
from handler.chat.services import ChatServices
from handler.chat.turn import Timing, run_turn
from handler.db.pool import Database
from handler.secrets import Secrets

USER = User("alice", "alice@example.com", "Alice", "user", "active", "free", None)


@dataclass
class ScriptedModel:
    """Streams `words` (`delay` apart); fails after `fail_after` words if set."""

    words: list[str] = field(default_factory=lambda: ["It ", "is ", "a ", "typo."])
    delay: float = 0.0
    fail_after: int | None = None
    name: str = "scripted"
    closed: int = 0
    asked: list[list[dict[str, str]]] = field(default_factory=list)

    async def stream(self, messages, *, fast: bool = False) -> AsyncIterator[str]:
        if fast:
            yield "Typo in config"
            return
        self.asked.append(messages)
        try:
            for i, word in enumerate(self.words):
                if self.fail_after is not None and i == self.fail_after:
                    raise ModelError("The model failed mid-answer: overloaded")
                await asyncio.sleep(self.delay)
                yield word
        finally:
            self.closed += 1


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
    timing = Timing(deadline_margin=0.0)
    events = await _run(
        services, ChatRequest(sid, "q", None), deadline=time.time() + 0.5, timing=timing
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
