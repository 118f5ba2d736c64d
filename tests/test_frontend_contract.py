"""What the existing front end relies on: sign-in, the memory ledger, project memory,
the usage window, and limits that fit its text areas and real pastes."""

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from handler.db.migrate import migrate
from handler.keys import BACKGROUND, CHAT
from handler.settings import RateLimits
from tests.chatstream import chat
from tests.prompt_capture import system_text
from tests.standins.huggingface import embedding
from tests.standins.pinecone import API_KEY

MIGRATIONS = Path(__file__).resolve().parent.parent / "handler" / "db" / "migrations"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _session(api, uid="alice", **body) -> str:
    return (await api.json("POST", "/api/sessions", uid=uid, json=body, status=201))["id"]


async def test_protected_confirms_sign_in_and_creates_the_user(api, db):
    body = await api.json("GET", "/protected", uid="newcomer")
    assert body["user"] == {
        "uid": "newcomer",
        "email": "newcomer@example.com",
        "name": "User newcomer",
    }
    assert body["dbUser"]["id"] == "newcomer"
    assert (body["dbUser"]["role"], body["dbUser"]["tier"]) == ("user", "free")
    assert body["message"]
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = 'newcomer'") == 1
    assert (await api.call("GET", "/protected", uid=None)).status == 401


async def test_memory_ledger_vocabulary_dedup_and_limit(api, db):
    first = await api.json(
        "POST", "/api/user/memories", json={"content": "Uses Go 1.22"}, status=201
    )
    assert (first["type"], first["status"]) == ("EXPLICIT", "ACTIVE")
    again = await api.json(
        "POST", "/api/user/memories", json={"content": "  uses go 1.22 "}, status=201
    )
    assert again["id"] == first["id"]  # the same fact, not a second row
    # 25 at once, on top of the first: exactly 20 become active, nothing more is stored.
    resps = await asyncio.gather(
        *(api.call("POST", "/api/user/memories", json={"content": f"Fact {i}"}) for i in range(25))
    )
    bodies = [await r.json() for r in resps]
    refused = [b for b in bodies if b.get("status") == "LIMIT_EXCEEDED"]
    assert len(refused) == 6 and all(r.status in (200, 201) for r in resps)
    assert {r.status for r, b in zip(resps, bodies, strict=True) if b in refused} == {200}
    assert await db.fetchval("SELECT count(*) FROM user_memories WHERE status = 'ACTIVE'") == 20
    assert await db.fetchval("SELECT count(*) FROM user_memories") == 20
    listed = await api.json("GET", "/api/user/memories")
    assert len(listed) == 20 and {m["status"] for m in listed} == {"ACTIVE"}
    # Forget one: it is no longer listed, and there is room for one more.
    forgotten = await api.json("PATCH", f"/api/user/memories/{first['id']}/archive")
    assert forgotten["status"] == "ARCHIVED"
    assert first["id"] not in [m["id"] for m in await api.json("GET", "/api/user/memories")]
    await api.json("POST", "/api/user/memories", json={"content": "Fact 99"}, status=201)
    # Promoting the archived one again would make 21.
    body = await api.json("PATCH", f"/api/user/memories/{first['id']}/promote")
    assert body["status"] == "LIMIT_EXCEEDED"


async def test_inferred_suggestions_wait_for_approval(chat_api, huggingface, db):
    huggingface.facts = "- Uses PostgreSQL 16 on Debian\n- Prefers TypeScript\n- x"
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": "My Postgres 16 on Debian refuses"})
    assert t.events[-1] == "[DONE]"
    await chat_api.app[BACKGROUND].drain(5)
    listed = await chat_api.json("GET", "/api/user/memories")
    assert sorted((m["content"], m["type"], m["status"]) for m in listed) == [
        ("Prefers TypeScript", "INFERRED", "CANDIDATE"),
        ("Uses PostgreSQL 16 on Debian", "INFERRED", "CANDIDATE"),
    ]
    # The fast model read only the user's own words.
    (ask,) = [r for r in huggingface.requests if "durable facts" in r["messages"][0]["content"]]
    assert ask["messages"][1]["content"] == "My Postgres 16 on Debian refuses"

    by_content = {m["content"]: m for m in listed}
    await chat_api.json(
        "PATCH", f"/api/user/memories/{by_content['Prefers TypeScript']['id']}/promote"
    )
    rejected = by_content["Uses PostgreSQL 16 on Debian"]
    await chat_api.json("PATCH", f"/api/user/memories/{rejected['id']}/archive")
    # Proposed again later: a rejected suggestion does not come back.
    await chat(chat_api, {"sessionId": sid, "message": "again", "parentId": t.first("messageId")})
    await chat_api.app[BACKGROUND].drain(5)
    listed = await chat_api.json("GET", "/api/user/memories")
    assert [(m["content"], m["status"]) for m in listed] == [("Prefers TypeScript", "ACTIVE")]
    # Only ACTIVE memories reach the model.
    system = system_text(huggingface.main_requests()[-1])
    assert "Prefers TypeScript" in system and "PostgreSQL 16 on Debian" not in system


async def test_short_or_remember_messages_ask_the_fast_model_nothing(chat_api, huggingface):
    huggingface.facts = "- Uses PostgreSQL 16 on Debian"
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "thanks, it works"})
    await chat(
        chat_api,
        {
            "sessionId": sid,
            "message": "remember: I deploy with Terraform 1.11 on AWS",
            "parentId": first.first("messageId"),
        },
    )
    await chat_api.app[BACKGROUND].drain(5)
    asked = [r for r in huggingface.requests if "durable facts" in r["messages"][0]["content"]]
    assert asked == []
    listed = await chat_api.json("GET", "/api/user/memories")
    assert [(m["content"], m["type"]) for m in listed] == [
        ("I deploy with Terraform 1.11 on AWS", "EXPLICIT")
    ]


async def test_remember_stores_an_explicit_memory_and_the_offline_model_proposes_none(api, db):
    sid = await _session(api)  # `api` has no HuggingFace key: the offline model answers
    t = await chat(api, {"sessionId": sid, "message": "remember: I deploy with Terraform 1.11"})
    assert t.events[-1] == "[DONE]"
    await api.app[BACKGROUND].drain(5)
    listed = await api.json("GET", "/api/user/memories")
    assert [(m["content"], m["type"], m["status"]) for m in listed] == [
        ("I deploy with Terraform 1.11", "EXPLICIT", "ACTIVE")
    ]


async def test_old_memory_rows_are_migrated(fresh_database, tmp_path):
    conn = await asyncpg.connect(await fresh_database())
    try:
        for path in sorted(MIGRATIONS.glob("000[12]_*.sql")):  # the schema before the ledger
            (tmp_path / path.name).write_text(path.read_text())
        await migrate(conn, tmp_path)
        await conn.execute("INSERT INTO users (id) VALUES ('u')")
        await conn.execute(
            "INSERT INTO user_memories (user_id, content, type, status) VALUES "
            "('u', 'a', 'short_term', 'active'), ('u', 'b', 'long_term', 'active'), "
            "('u', 'c', 'short_term', 'archived')"
        )
        # The same fact again, later: the first one stays.
        await conn.execute("INSERT INTO user_memories (user_id, content) VALUES ('u', ' A ')")
        assert (await migrate(conn))[0] == "0003"
        rows = await conn.fetch("SELECT content, type, status FROM user_memories ORDER BY content")
        assert [tuple(r) for r in rows] == [
            ("a", "EXPLICIT", "ACTIVE"),
            ("b", "EXPLICIT", "ACTIVE"),
            ("c", "EXPLICIT", "ARCHIVED"),
        ]
    finally:
        await conn.close()


async def _summarised(api, db, project_id: str | None, title: str) -> str:
    """A session whose summary chat has written, in the database and the index."""
    sid = await _session(api, project_id=project_id)
    await db.execute(
        "UPDATE sessions SET title = $2, summary = $3, summary_updated_at = now() WHERE id = $1",
        uuid.UUID(sid),
        title,
        f"{title}: the fix was a retry",
    )
    from handler.chat.index import SESSION_SUMMARY, Document, summary_id

    await api.app[CHAT].index.upsert(
        Document(
            summary_id(uuid.UUID(sid)),
            SESSION_SUMMARY,
            title,
            "fix",
            user_id="alice",
            project_id=uuid.UUID(project_id) if project_id else None,
            session_id=uuid.UUID(sid),
        ),
        embedding(title),
    )
    return sid


@pytest.mark.parametrize("backend", ["pgvector", "pinecone"])
async def test_project_memory_list_forget_promote(make_chat_api, pinecone, db, backend):
    settings = {}
    if backend == "pinecone":
        settings = {"pinecone_api_key": API_KEY, "pinecone_index_host": pinecone.url}
    api = await make_chat_api(**settings)

    async def indexed() -> set[str]:
        if backend == "pinecone":
            return set(pinecone.vectors)
        return {r["id"] for r in await db.fetch("SELECT id FROM vector_items")}

    project = await api.json("POST", "/api/projects", json={"name": "P"}, status=201)
    pid = project["id"]
    first = await _summarised(api, db, pid, "Timeouts")
    second = await _summarised(api, db, pid, "Deadlock")
    await _session(api, project_id=pid)  # no summary: not part of the project memory
    listed = await api.json("GET", f"/api/projects/{pid}/summaries")
    assert {(s["id"], s["title"]) for s in listed} == {(first, "Timeouts"), (second, "Deadlock")}
    assert set(listed[0]) == {"id", "title", "context_summary", "summary_updated_at"}
    assert listed[0]["summary_updated_at"].endswith("Z")
    await api.json("GET", f"/api/projects/{pid}/summaries", uid="eve", status=404)

    assert await api.json("DELETE", f"/api/sessions/{first}/summary") == {"success": True}
    assert [s["id"] for s in await api.json("GET", f"/api/projects/{pid}/summaries")] == [second]
    assert await indexed() == {f"session:{second}"}
    await api.json("DELETE", f"/api/sessions/{second}/summary", uid="eve", status=404)

    promoted = await api.json("POST", f"/api/sessions/{second}/promote")
    assert promoted["success"] is True
    assert promoted["memory"]["content"] == "Deadlock: the fix was a retry"
    assert promoted["memory"]["status"] == "ACTIVE"
    body = await api.json("POST", f"/api/sessions/{first}/promote", status=400)
    assert "no summary" in body["error"]


@pytest.mark.parametrize("path", ["session", "history", "account"])
async def test_pinecone_deletions_follow_every_delete_path(make_chat_api, pinecone, db, path):
    api = await make_chat_api(pinecone_api_key=API_KEY, pinecone_index_host=pinecone.url)
    sid = await _summarised(api, db, None, "Leak")
    await _summarised(api, db, None, "Other")
    target = {
        "session": f"/api/sessions/{sid}",
        "history": "/api/user/history",
        "account": "/api/user/account",
    }[path]
    await api.json("DELETE", target)
    left = set(pinecone.vectors)
    assert f"session:{sid}" not in left
    assert len(left) == (1 if path == "session" else 0)


async def test_usage_window_starts_at_the_first_chat(make_chat_api, db):
    api = await make_chat_api(rate_limits=RateLimits(free=1))
    sid = await _session(api)
    await chat(api, {"sessionId": sid, "message": "one"})
    started = await db.fetchval("SELECT window_started_at FROM usage_counters")
    profile = await api.json("GET", "/api/user/profile/full")
    assert profile["daily_requests_count"] == 1
    assert _time(profile["rate_limit_reset_at"]) == started  # the START of the window
    refused = await api.call("POST", "/api/chat", json={"sessionId": sid, "message": "two"})
    body = await refused.json()
    assert refused.status == 429
    assert set(body) == {"error", "message", "tier", "limit", "reset_at"}
    assert _time(body["reset_at"]) == started + timedelta(hours=24)  # the END of it
    assert int(refused.headers["X-RateLimit-Reset"]) == int(_time(body["reset_at"]).timestamp())


async def test_instructions_up_to_16000_characters(api):
    text = "y" * 16_000
    await api.json("PATCH", "/api/user/profile", json={"global_instructions": text})
    pid = (await api.json("POST", "/api/projects", json={"name": "P"}, status=201))["id"]
    body = await api.json(
        "PATCH", f"/api/projects/{pid}/context", json={"context_instructions": text}
    )
    assert body["context_instructions"] == text
    for path, key in (
        ("/api/user/profile", "global_instructions"),
        (f"/api/projects/{pid}/context", "context_instructions"),
    ):
        body = await api.json("PATCH", path, json={key: text + "y"}, status=400)
        assert "16000" in body["error"]


async def test_a_one_megabyte_paste_is_answered_with_its_middle_cut(chat_api, huggingface, db):
    paste = "Traceback (most recent call last):\n" + "  frame\n" * 130_000 + "KeyError: 'id'"
    assert len(paste) > 1_000_000
    sid = await _session(chat_api)
    t = await chat(chat_api, {"sessionId": sid, "message": paste})
    assert t.events[-1] == "[DONE]"
    stored = await db.fetchval("SELECT content FROM messages WHERE role = 'user'")
    assert stored == paste  # the message is kept whole
    sent = huggingface.main_requests()[-1]["messages"][-1]["content"]
    assert sent.startswith("Traceback (most recent call last):")
    assert sent.endswith("KeyError: 'id'")
    assert "characters cut from the middle of this message" in sent
    assert len(sent) < 6000 * 4


async def test_too_large_a_body_is_a_json_error(make_chat_api):
    api = await make_chat_api(max_body_bytes=10_000)
    sid = await _session(api)
    resp = await api.call("POST", "/api/chat", json={"sessionId": sid, "message": "x" * 20_000})
    assert resp.status == 413
    assert "too large" in (await resp.json())["error"]


async def test_two_continuations_at_once_lose_no_text(chat_api, huggingface, db):
    sid = await _session(chat_api)
    first = await chat(chat_api, {"sessionId": sid, "message": "q"})
    answer_id = first.first("messageId")
    huggingface.words = [f"c{i} " for i in range(40)]
    huggingface.delay = 0.01
    body = {"sessionId": sid, "message": "", "parentId": answer_id, "isContinuation": True}
    a, b = await asyncio.gather(chat(chat_api, body), chat(chat_api, body))
    stored = await db.fetchval("SELECT content FROM messages WHERE id = $1", uuid.UUID(answer_id))
    assert len(stored) == len(first.text()) + len(a.text()) + len(b.text())
    assert stored.startswith(first.text())
