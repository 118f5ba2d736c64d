"""Past any database limit a clear 503 with Retry-After, never a 500 or a hang; one log
line (no traceback) says what failed and which setting to look at."""

import asyncio
import logging
from urllib.parse import urlsplit

import asyncpg
import pytest

from handler.db.migrate import migrate
from handler.keys import DATABASE
from tests.pgbouncer import start as start_pgbouncer


def _failure_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "database connection failed"]


async def _refused(api, path: str = "/api/sessions", **kwargs) -> dict:
    resp = await api.call("GET", path, **kwargs)
    body = await resp.json()
    assert resp.status == 503, body
    assert resp.headers["Retry-After"] == "5"
    assert resp.content_type == "application/json"
    return body


async def test_a_busy_pool_answers_503_then_recovers(make_api):
    api = await make_api(database_pool_max=1, database_acquire_timeout=0.2)
    assert (await api.call("GET", "/api/sessions")).status == 200
    pool = await api.app[DATABASE].pool()

    held = await pool.acquire()  # e.g. a streamed answer still writing
    try:
        assert await _refused(api) == {"error": "The database is busy; try again shortly"}
    finally:
        await pool.release(held)

    assert (await api.call("GET", "/api/sessions")).status == 200


@pytest.fixture
async def limited_role(db, database_url):
    """A login role the server lets in no more: every connect gets 53300, as past
    max_connections."""
    name = f"limited_{urlsplit(database_url).path.lstrip('/')}"
    await db.execute(f"CREATE ROLE {name} LOGIN CONNECTION LIMIT 0")
    yield database_url.replace("postgres:@", f"{name}:@", 1)
    await db.execute(f"DROP ROLE {name}")


async def test_too_many_connections_is_a_503_naming_the_setting(make_api, limited_role, caplog):
    api = await make_api(database_url=limited_role)
    with caplog.at_level(logging.ERROR):
        body = await _refused(api)
    assert body == {"error": "The database has no free connections; try again shortly"}
    [line] = _failure_lines(caplog)
    assert line.reason == "too many connections" and line.exc_info is None
    assert "max_connections" in line.check and "DATABASE_POOLER=transaction" in line.check


async def test_a_chat_without_a_connection_gets_the_503_before_any_stream(
    make_chat_api, limited_role, db, huggingface
):
    api = await make_chat_api()
    session = await api.json("POST", "/api/sessions", status=201, json={})
    full = await make_chat_api(database_url=limited_role)
    resp = await full.call(
        "POST", "/api/chat", json={"sessionId": session["id"], "message": "why null?"}
    )
    assert resp.status == 503 and resp.content_type == "application/json"
    assert resp.headers["Retry-After"] == "5"
    assert huggingface.requests == []  # the model was never asked
    # Nothing was half-stored: the user sends the same message again once it answers.
    assert await db.fetchval("SELECT count(*) FROM messages") == 0
    chat = await api.call(
        "POST", "/api/chat", json={"sessionId": session["id"], "message": "why null?"}
    )
    assert chat.status == 200
    await chat.read()
    assert await db.fetchval("SELECT count(*) FROM messages") == 2


async def test_a_refused_connection_is_a_503(make_api, caplog):
    api = await make_api(database_url="postgresql://app@127.0.0.1:1/app")
    with caplog.at_level(logging.ERROR):
        body = await _refused(api)
    assert body == {
        "error": "Cannot connect to the database (connection refused); try again shortly"
    }
    [line] = _failure_lines(caplog)
    assert "DATABASE_URL" in line.check
    assert not any(r.exc_info for r in caplog.records)  # no traceback anywhere (issue 25)


@pytest.fixture
async def silent_server():
    """Accepts TCP connections and never says a word: a black-holed database."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader, writer):
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_connection_that_times_out_is_a_503_not_a_busy_pool(make_api, silent_server):
    api = await make_api(
        database_url=f"postgresql://app@127.0.0.1:{silent_server}/app",
        database_ssl="disable",
        database_connect_timeout=0.3,
    )
    body = await _refused(api)
    assert body == {"error": "Cannot connect to the database (no answer); try again shortly"}


async def test_a_pooler_refusing_is_a_503_and_names_the_pooler_setting(
    make_api, pgbouncer, database_url, caplog
):
    # Session settings sent at connect, as without DATABASE_POOLER=transaction: refused.
    pooled = pgbouncer.url(urlsplit(database_url).path.lstrip("/"))
    api = await make_api(database_url=pooled, database_pooler="none")
    with caplog.at_level(logging.ERROR):
        body = await _refused(api)
    assert body == {"error": "The database's pooler refused us; try again shortly"}
    [line] = _failure_lines(caplog)
    assert "unsupported startup parameter" in line.error
    assert "DATABASE_POOLER=transaction" in line.check
    ok = await make_api(database_url=pooled, database_pooler="transaction")
    assert (await ok.call("GET", "/api/sessions")).status == 200


async def test_a_schema_behind_the_release_is_refused_until_migrated(
    make_api, fresh_database, caplog
):
    url = await fresh_database()
    api = await make_api(database_url=url)
    with caplog.at_level(logging.ERROR):
        body = await _refused(api)
    assert "make admin ARGS=migrate" in body["error"]
    assert any("make admin ARGS=migrate" in r.getMessage() for r in caplog.records)
    assert (await api.call("GET", "/health")).status == 200

    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    assert (await api.call("GET", "/api/sessions")).status == 200  # no restart needed


async def test_a_query_waiting_for_a_pooled_server_connection_is_a_503(
    make_api, postgres, database_url, caplog
):
    """pgbouncer with one server connection, held by an open transaction: the app's query
    waits in pgbouncer's queue until the client's bound (statement timeout + 1 s)."""
    bouncer = start_pgbouncer(postgres.url(), pool_size=1)
    try:
        pooled = bouncer.url(urlsplit(database_url).path.lstrip("/"))
        holder = await asyncpg.connect(pooled, statement_cache_size=0)
        try:
            await holder.execute("BEGIN")
            await holder.execute("SELECT 1")  # pgbouncer keeps the server connection for it
            api = await make_api(
                database_url=pooled,
                database_pooler="transaction",
                database_statement_timeout_ms=100,
            )
            with caplog.at_level(logging.ERROR):
                body = await _refused(api)
            assert body == {"error": "The database is busy; try again shortly"}
            assert any(r.getMessage() == "database query timed out" for r in caplog.records)
            await holder.execute("COMMIT")
            assert (await api.call("GET", "/api/sessions")).status == 200
        finally:
            await holder.close()
    finally:
        bouncer.stop()
