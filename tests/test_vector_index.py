"""Both vector indexes: pgvector in real PostgreSQL, Pinecone's SDK against a stand-in."""

import uuid

import pytest

from handler.chat.index import KNOWN_LOG, SESSION_SUMMARY, Document, PgVectorIndex
from handler.chat.pinecone_index import PineconeIndex
from handler.db.pool import Database
from handler.keys import CHAT
from handler.secrets import Secrets
from tests.chatstream import chat
from tests.standins.huggingface import embedding
from tests.standins.pinecone import API_KEY

TEXTS = {
    "oom": "java heap space out of memory error in the worker",
    "cors": "browser blocked request missing access control allow origin header",
    "pg": "postgres connection refused on port 5432",
}


async def _sessions(db, user_id: str, project_id=None, n: int = 3) -> list[uuid.UUID]:
    await db.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user_id)
    return [
        await db.fetchval(
            "INSERT INTO sessions (user_id, project_id) VALUES ($1, $2) RETURNING id",
            user_id,
            project_id,
        )
        for _ in range(n)
    ]


async def _fill(index, sessions, user_id, project_id=None):
    for (name, text), sid in zip(TEXTS.items(), sessions, strict=True):
        await index.upsert(
            Document(
                f"session:{sid}",
                SESSION_SUMMARY,
                name,
                text,
                user_id=user_id,
                project_id=project_id,
                session_id=sid,
            ),
            embedding(text),
        )


@pytest.fixture
async def pg_index(make_settings):
    settings = make_settings()
    database = Database(settings, Secrets(settings))
    yield PgVectorIndex(database)
    await database.close()


async def test_pgvector_returns_the_nearest_summaries(pg_index, db):
    mine = await _sessions(db, "alice")
    theirs = await _sessions(db, "bob")
    await _fill(pg_index, mine, "alice")
    await _fill(pg_index, theirs, "bob")
    current = (await _sessions(db, "alice", n=1))[0]
    found = await pg_index.summaries(
        embedding("postgres refused my connection"),
        user_id="alice",
        project_id=None,
        exclude_session=current,
        top_k=2,
    )
    assert found[0].document.title == "pg"
    assert found[0].score > found[1].score
    assert all(m.document.user_id == "alice" for m in found)
    # The current session is never its own context.
    found = await pg_index.summaries(
        embedding(TEXTS["pg"]),
        user_id="alice",
        project_id=None,
        exclude_session=mine[2],
        top_k=5,
    )
    assert "pg" not in [m.document.title for m in found]


async def test_pgvector_keeps_projects_apart(pg_index, db):
    await db.execute("INSERT INTO users (id) VALUES ('alice')")
    project = await db.fetchval(
        "INSERT INTO projects (user_id, name) VALUES ('alice', 'P') RETURNING id"
    )
    in_project = await _sessions(db, "alice", project)
    await _fill(pg_index, in_project, "alice", project)
    current = (await _sessions(db, "alice", n=1))[0]
    assert (
        await pg_index.summaries(
            embedding(TEXTS["oom"]),
            user_id="alice",
            project_id=None,
            exclude_session=current,
            top_k=3,
        )
        == []
    )
    found = await pg_index.summaries(
        embedding(TEXTS["oom"]),
        user_id="alice",
        project_id=project,
        exclude_session=current,
        top_k=1,
    )
    assert found[0].document.title == "oom" and found[0].score == pytest.approx(1.0)


async def test_pgvector_known_logs_and_account_deletion(pg_index, db):
    await pg_index.upsert(
        Document("log:1", KNOWN_LOG, "CORS", TEXTS["cors"], url="https://x"),
        embedding(TEXTS["cors"]),
    )
    (found,) = await pg_index.known_logs(embedding("access control allow origin"), top_k=1)
    assert (found.document.title, found.document.url) == ("CORS", "https://x")
    sessions = await _sessions(db, "alice")
    await _fill(pg_index, sessions, "alice")
    await db.execute("DELETE FROM users WHERE id = 'alice'")
    assert await db.fetchval("SELECT count(*) FROM vector_items WHERE user_id = 'alice'") == 0
    assert await db.fetchval("SELECT count(*) FROM vector_items") == 1


async def test_pinecone_upsert_query_delete(pinecone):
    async def key():
        return API_KEY

    index = PineconeIndex(key, pinecone.url)
    try:
        alice = [uuid.uuid4() for _ in TEXTS]
        bob = [uuid.uuid4() for _ in TEXTS]
        await _fill(index, alice, "alice")
        await _fill(index, bob, "bob")
        await index.upsert(
            Document("log:1", KNOWN_LOG, "CORS", TEXTS["cors"], url="https://x"),
            embedding(TEXTS["cors"]),
        )
        found = await index.summaries(
            embedding("postgres connection refused"),
            user_id="alice",
            project_id=None,
            exclude_session=uuid.uuid4(),
            top_k=2,
        )
        assert found[0].document.title == "pg"
        assert found[0].document.session_id == alice[2]
        assert {m.document.user_id for m in found} == {"alice"}
        found = await index.summaries(
            embedding(TEXTS["pg"]),
            user_id="alice",
            project_id=None,
            exclude_session=alice[2],
            top_k=3,
        )
        assert "pg" not in [m.document.title for m in found]
        (log,) = await index.known_logs(embedding("allow origin header"), top_k=1)
        assert (log.document.title, log.document.url) == ("CORS", "https://x")
        await index.delete_user("alice")
        assert {v["metadata"]["user_id"] for v in pinecone.vectors.values()} == {"bob", ""}
        assert set(pinecone.requests) == {"/vectors/upsert", "/query", "/vectors/delete"}
    finally:
        await index.close()


async def test_app_uses_pinecone_when_configured(make_chat_api, pinecone, db):
    api = await make_chat_api(pinecone_api_key=API_KEY, pinecone_index_host=pinecone.url)
    assert isinstance(api.app[CHAT].index, PineconeIndex)
    await api.app[CHAT].index.upsert(
        Document("log:pg", KNOWN_LOG, "PG refused", TEXTS["pg"], url="https://pg"),
        embedding(TEXTS["pg"]),
    )
    sid = (await api.json("POST", "/api/sessions", status=201))["id"]
    t = await chat(api, {"sessionId": sid, "message": "postgres connection refused 5432"})
    assert t.first("sources") == [{"index": 1, "title": "PG refused", "url": "https://pg"}]
    await api.app[CHAT].index.upsert(
        Document("session:x", SESSION_SUMMARY, "mine", "t", user_id="alice"), embedding("t")
    )
    assert await api.json("DELETE", "/api/user/account") == {"success": True}
    assert [v["id"] for v in pinecone.vectors.values()] == ["log:pg"]


async def test_account_is_kept_when_the_index_cannot_delete(make_chat_api, db):
    api = await make_chat_api(
        pinecone_api_key="wrong-key", pinecone_index_host="http://127.0.0.1:1"
    )
    await api.json("GET", "/api/sessions")
    body = await api.json("DELETE", "/api/user/account", status=503)
    assert "try again" in body["error"]
    assert await db.fetchval("SELECT count(*) FROM users") == 1
