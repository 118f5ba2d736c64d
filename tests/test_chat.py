"""POST /api/chat end to end: real PostgreSQL, a HuggingFace stand-in on loopback."""

import json
import logging
import uuid

import pytest

from handler.keys import BACKGROUND
from handler.settings import RateLimits
from tests.chatstream import chat
from tests.prompt_capture import system_text, talk
from tests.standins import huggingface as hf

# Both paths: straight to PostgreSQL, and through pgbouncer in transaction mode.
pytestmark = pytest.mark.parametrize("database_path", ["direct", "pgbouncer"], indirect=True)

ANSWER = "The bug is a missing null check."


async def _session(api, uid="alice", **body) -> str:
    return (await api.json("POST", "/api/sessions", uid=uid, json=body, status=201))["id"]


async def _rows(db, session_id):
    return await db.fetch(
        "SELECT id, role, content, parent_id, sources FROM messages WHERE session_id = $1 "
        "ORDER BY created_at",
        uuid.UUID(session_id),
    )


async def test_first_message_streams_the_contract_sequence(chat_api, db, huggingface):
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "Why does parse() crash?"})
    assert t.status == 200
    assert t.headers["Content-Type"].startswith("text/event-stream")
    assert t.headers["Cache-Control"] == "no-cache"
    kinds = t.kinds()
    assert kinds[:4] == ["connecting", "userMessageId", "messageId", "building_context"]
    assert kinds[-1] == "[DONE]"
    assert kinds.count("title") == 1
    assert [k for k in kinds[4:-1] if k != "title"] == ["content"] * 7
    assert t.events[0] == {"status": "connecting", "model": hf.MAIN_MODEL}
    assert t.text() == ANSWER
    assert t.first("title") == "Missing null check"

    user, assistant = await _rows(db, sid)
    assert (user["role"], user["content"], user["parent_id"]) == (
        "user",
        "Why does parse() crash?",
        None,
    )
    assert str(user["id"]) == t.first("userMessageId")
    assert (assistant["role"], assistant["content"]) == ("assistant", ANSWER)
    assert assistant["parent_id"] == user["id"]
    assert str(assistant["id"]) == t.first("messageId")
    session = await chat_api.json("GET", f"/api/sessions/{sid}")
    assert session["title"] == "Missing null check"
    assert (await chat_api.json("GET", "/api/user/profile/full"))["daily_requests_count"] == 1

    (request,) = huggingface.main_requests()
    assert request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert "DebugFlow" in request["messages"][0]["content"]
    assert request["messages"][-1] == {"role": "user", "content": "Why does parse() crash?"}


async def test_follow_up_on_a_branch_sees_only_its_path(chat_api, db, huggingface):
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "first question"})
    a1 = first.first("messageId")
    left = await chat(chat_api, {"sessionId": sid, "message": "left branch", "parentId": a1})
    right = await chat(chat_api, {"sessionId": sid, "message": "right branch", "parentId": a1})
    assert left.kinds()[-1] == right.kinds()[-1] == "[DONE]"
    assert "title" not in left.kinds()  # only the first exchange names the session
    convo = talk(huggingface.main_requests()[-1])
    assert convo == [
        ("user", "first question"),
        ("assistant", ANSWER),
        ("user", "right branch"),
    ]
    rows = await _rows(db, sid)
    by_id = {str(r["id"]): r for r in rows}
    assert str(by_id[right.first("userMessageId")]["parent_id"]) == a1
    assert str(by_id[left.first("userMessageId")]["parent_id"]) == a1
    messages = await chat_api.json("GET", f"/api/sessions/{sid}/messages")
    assert len(messages) == 6


async def test_regeneration_reuses_the_user_message(chat_api, db, huggingface):
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "explain the trace"})
    u1 = first.first("userMessageId")
    huggingface.words = ["Another ", "answer."]
    again = await chat(
        chat_api, {"sessionId": sid, "message": "", "parentId": u1, "skipUserMessage": True}
    )
    assert again.kinds()[:4] == ["connecting", "userMessageId", "messageId", "building_context"]
    assert again.first("userMessageId") == u1
    assert again.text() == "Another answer."
    rows = await _rows(db, sid)
    assert [r["role"] for r in rows] == ["user", "assistant", "assistant"]
    assert str(rows[2]["parent_id"]) == u1 and rows[2]["content"] == "Another answer."
    request = huggingface.main_requests()[-1]["messages"]
    assert request[-1] == {"role": "user", "content": "explain the trace"}
    assert all(m["content"] != ANSWER for m in request)  # the old answer is not in the path


async def test_continuation_appends_to_the_answer(chat_api, db, huggingface):
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "long answer please"})
    a1 = first.first("messageId")
    huggingface.words = [" And", " more."]
    more = await chat(chat_api, {"sessionId": sid, "parentId": a1, "isContinuation": True})
    assert more.first("messageId") == a1
    assert more.first("userMessageId") == first.first("userMessageId")
    assert more.kinds()[-1] == "[DONE]"
    rows = await _rows(db, sid)
    assert len(rows) == 2
    assert rows[1]["content"] == ANSWER + " And more."
    request = huggingface.main_requests()[-1]["messages"]
    assert request[-2] == {"role": "assistant", "content": ANSWER}
    assert "Continue" in request[-1]["content"]


async def test_another_users_session_is_not_found(chat_api, db):
    sid = await _session(chat_api, uid="bob")
    t = await chat(chat_api, {"sessionId": sid, "message": "hi"})
    assert t.events == [
        {"status": "connecting", "model": hf.MAIN_MODEL},
        {"error": "Session not found"},
    ]
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_bad_requests_are_400_before_the_stream(chat_api):
    sid = await _session(chat_api)
    cases = [
        ({}, "'sessionId' is required"),
        ({"sessionId": "x", "message": "m"}, "'sessionId' must be a UUID"),
        ({"sessionId": sid}, "'message' is required"),
        ({"sessionId": sid, "message": ""}, "'message' must not be empty"),
        ({"sessionId": sid, "message": 3}, "'message' must be a string"),
        ({"sessionId": sid, "skipUserMessage": True}, "'parentId' is required"),
        ({"sessionId": sid, "message": "m", "isContinuation": "yes"}, "true or false"),
        (
            {"sessionId": sid, "parentId": sid, "skipUserMessage": True, "isContinuation": True},
            "cannot both be true",
        ),
    ]
    for body, message in cases:
        t = await chat(chat_api, body)
        assert t.status == 400, body
        assert message in t.events[0]["error"], (body, t.events)
    resp = await chat_api.call("POST", "/api/chat", data=b"[oops")
    assert resp.status == 400


async def test_unknown_parent_is_an_error_event(chat_api, db):
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "m", "parentId": str(uuid.uuid4())})
    assert t.kinds() == ["connecting", "error"]
    assert t.events[-1] == {"error": "Parent message not found"}
    assert await db.fetchval("SELECT count(*) FROM messages") == 0


async def test_rate_limit_is_checked_before_the_stream(make_chat_api):
    api = await make_chat_api(rate_limits=RateLimits(free=1))
    sid = await _session(api)
    assert (await chat(api, {"sessionId": sid, "message": "one"})).status == 200
    t = await chat(api, {"sessionId": sid, "message": "two"})
    assert t.status == 429
    assert t.events[0]["error"] == "Rate limit exceeded"
    assert t.headers["X-RateLimit-Remaining"] == "0"


async def test_chunks_reach_the_client_before_the_next_is_sent(chat_api, huggingface):
    huggingface.delay = 0.2
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "stream it"})
    arrivals = [at for at, e in zip(t.times, t.events, strict=True) if "content" in e]
    sent = huggingface.sent_at
    assert len(arrivals) == len(sent) == 7
    for i in range(len(sent) - 1):
        assert arrivals[i] < sent[i + 1], f"chunk {i} arrived after chunk {i + 1} was sent"


async def test_offline_model_announces_itself(make_api, caplog):
    caplog.set_level(logging.WARNING)
    api = await make_api()
    sid = await _session(api)
    t = await chat(api, {"sessionId": sid, "message": "what is wrong?"})
    assert t.events[0] == {"status": "connecting", "model": "offline"}
    assert t.headers["X-Model"] == "offline"
    assert t.text().startswith("[Offline model]")
    assert "what is wrong?" in t.text()
    assert t.kinds()[-1] == "[DONE]"
    assert t.kinds().count("content") > 10  # word by word
    assert any("OFFLINE MODEL" in r.getMessage() for r in caplog.records)


async def test_summaries_are_written_after_four_messages_and_retrieved(chat_api, db, huggingface):
    project = await chat_api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    sid = await _session(chat_api, project_id=project["id"])
    first = await chat(chat_api, {"sessionId": sid, "message": "null pointer in parser"})
    await chat_api.app[BACKGROUND].drain(5)
    assert await db.fetchval("SELECT count(*) FROM vector_items") == 0  # 2 messages: too few
    await chat(
        chat_api,
        {"sessionId": sid, "message": "still crashing", "parentId": first.first("messageId")},
    )
    await chat_api.app[BACKGROUND].drain(5)
    row = await db.fetchrow("SELECT * FROM vector_items")
    assert row["kind"] == "session_summary" and row["content"] == huggingface.summary
    assert str(row["session_id"]) == sid and str(row["project_id"]) == project["id"]
    assert await db.fetchval("SELECT summary_message_count FROM sessions") == 4

    other = await _session(chat_api, project_id=project["id"])
    t = await chat(chat_api, {"sessionId": other, "message": "null pointer again"})
    assert t.first("sources") == [{"index": 1, "title": "Missing null check", "url": None}]
    assert huggingface.summary in system_text(huggingface.main_requests()[-1])
    # Another project's (or user's) sessions are not drawn on.
    lone = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": lone, "message": "null pointer again"})
    assert "sources" not in t.kinds()


async def test_known_logs_become_sources(chat_api, db, huggingface):
    from handler.chat.index import KNOWN_LOG, Document
    from handler.keys import CHAT

    services = chat_api.app[CHAT]
    text = "ECONNREFUSED 127.0.0.1:5432 postgres connection refused"
    await services.index.upsert(
        Document(
            "log:pg", KNOWN_LOG, "Postgres refused connection", text, url="https://wiki.example/pg"
        ),
        await services.embedder.embed(text),
    )
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "connection refused postgres 5432"})
    sources = [
        {"index": 1, "title": "Postgres refused connection", "url": "https://wiki.example/pg"}
    ]
    assert t.first("sources") == sources
    assert t.kinds().index("sources") < t.kinds().index("content")
    assert json.loads((await _rows(db, sid))[1]["sources"]) == sources
    assert "[1] Postgres refused connection" in system_text(huggingface.main_requests()[-1])


async def test_context_layers_in_order(chat_api, db, huggingface):
    await db.execute(
        "INSERT INTO global_settings (key, value) VALUES ('platform_instructions', 'PLATFORM')"
    )
    await chat_api.json("PATCH", "/api/user/profile", json={"global_instructions": "USER-GLOBAL"})
    await chat_api.json("POST", "/api/user/memories", json={"content": "MEMORY-1"}, status=201)
    archived = await chat_api.json(
        "POST", "/api/user/memories", json={"content": "OLD"}, status=201
    )
    await chat_api.json("PATCH", f"/api/user/memories/{archived['id']}/archive")
    project = await chat_api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    await chat_api.json(
        "PATCH",
        f"/api/projects/{project['id']}/context",
        json={"context_instructions": "PROJECT-CTX"},
    )
    sid = await _session(chat_api, project_id=project["id"])
    await chat(chat_api, {"sessionId": sid, "message": "hello"})
    system = system_text(huggingface.main_requests()[-1])
    positions = [system.index(x) for x in ("PLATFORM", "USER-GLOBAL", "MEMORY-1", "PROJECT-CTX")]
    assert positions == sorted(positions)
    assert "OLD" not in system
    await chat_api.json(
        "PATCH", f"/api/projects/{project['id']}/context-toggle", json={"context_enabled": False}
    )
    await chat(chat_api, {"sessionId": sid, "message": "hello"})
    assert "PROJECT-CTX" not in system_text(huggingface.main_requests()[-1])
