"""The pool's release: no reset query, but never an open transaction handed on."""

import asyncio

import pytest

from handler.db.pool import Database
from handler.secrets import Secrets
from handler.settings import Settings, SettingsError


async def _database(settings: Settings) -> Database:
    return Database(settings, Secrets(settings))


async def test_release_sends_no_reset_query(make_settings, db):
    database = await _database(make_settings(database_pool_max=1))
    try:
        pool = await database.pool()
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
        # Released: the server's last statement on that session is still ours, where
        # asyncpg's default reset would have run `... RESET ALL` (two round trips).
        last = await db.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT pg_backend_pid()"
    finally:
        await database.close()


async def test_an_open_transaction_is_rolled_back_on_release(make_settings, db):
    await db.execute("CREATE TABLE reset_probe (n int)")
    database = await _database(make_settings(database_pool_max=1))
    try:
        pool = await database.pool()
        conn = await pool.acquire()
        first_pid = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO reset_probe VALUES (1)")
        await pool.release(conn)  # a caller that forgot its transaction
        async with pool.acquire() as again:
            assert await again.fetchval("SELECT pg_backend_pid()") == first_pid  # same session
            assert not again.is_in_transaction()
            assert await again.fetchval("SELECT count(*) FROM reset_probe") == 0
        assert await db.fetchval("SELECT count(*) FROM reset_probe") == 0
    finally:
        await database.close()


async def test_pool_size_depends_on_the_mode(make_settings):
    assert Settings.from_env({}).database_pool_size == 10  # serve: many requests at once
    on_lambda = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "DATABASE_URL": "postgresql://x/y"}
    assert Settings.from_env(on_lambda).database_pool_size == 2  # one request at a time
    assert Settings.from_env({**on_lambda, "DATABASE_POOL_MAX": "5"}).database_pool_size == 5
    database = await _database(make_settings())
    try:
        assert (await database.pool()).get_max_size() == 10
    finally:
        await database.close()


async def test_started_early_the_pool_is_the_one_requests_get(make_settings):
    database = await _database(make_settings(migrate_on_start=True))
    try:
        starting = database.start()
        assert database.start() is None  # one pool, however often asked
        pool = await starting
        assert pool is await database.pool()
        assert pool.get_size() == 1  # the migration check's connection, kept for requests
        assert database.start() is None
    finally:
        await database.close()


async def test_a_failed_early_start_is_the_callers_and_the_next_start_retries(make_settings):
    database = await _database(
        make_settings(
            database_url="postgresql://nobody@127.0.0.1:1/none",
            migrate_on_start=True,
            database_connect_timeout=2.0,
        )
    )
    for _ in range(2):
        starting = database.start()
        assert starting is not None  # a failed start does not block the next one
        with pytest.raises(OSError):  # DatabaseUnavailable is a ConnectionError
            await starting
        await asyncio.sleep(0)  # its done-callback runs
    await database.close()


def test_idle_timeout_and_pooler_settings():
    assert Settings.from_env({}).database_idle_seconds == 240  # serve: timers run
    on_lambda = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "DATABASE_URL": "postgresql://x/y"}
    assert Settings.from_env(on_lambda).database_idle_seconds == 0  # frozen between events
    assert (
        Settings.from_env({**on_lambda, "DATABASE_IDLE_TIMEOUT": "30"}).database_idle_seconds == 30
    )
    assert Settings.from_env({}).database_pooler == "none"
    for name, bad in (("DATABASE_IDLE_TIMEOUT", "-1"), ("DATABASE_POOLER", "session")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: bad})


async def _server_sessions(db, database: Database) -> int:
    return await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )


async def test_an_idle_container_gives_its_connections_back_after_the_invocation(make_settings, db):
    database = await _database(make_settings(database_idle_timeout=0))
    try:
        pool = await database.pool()
        await asyncio.gather(pool.fetchval("SELECT pg_sleep(0.05)"), pool.fetchval("SELECT 1"))
        assert await _server_sessions(db, database) == 2
        await database.after_invoke(5.0)  # what the Lambda runtime calls before freezing
        assert await _server_sessions(db, database) == 0
        assert await pool.fetchval("SELECT 1") == 1  # the next invocation reconnects
    finally:
        await database.close()


async def test_with_an_idle_timeout_connections_outlive_the_invocation(make_settings, db):
    database = await _database(make_settings(database_idle_timeout=30))
    try:
        pool = await database.pool()
        await pool.fetchval("SELECT 1")
        await database.after_invoke(5.0)
        assert await _server_sessions(db, database) == 1
    finally:
        await database.close()


async def test_behind_a_transaction_pooler_sessions_carry_nothing(make_settings, db):
    """No startup parameter, no named prepared statement: nothing pins or is refused."""
    database = await _database(make_settings(database_pooler="transaction"))
    try:
        pool = await database.pool()
        async with pool.acquire() as conn:
            for _ in range(3):  # asyncpg would cache (prepare by name) a repeated query
                await conn.fetchval("SELECT count(*) FROM users")
            assert await conn.fetch("SELECT name FROM pg_prepared_statements") == []
            assert await conn.fetchval("SHOW application_name") == ""
            assert await conn.fetchval("SELECT current_setting('statement_timeout')") == "0"
    finally:
        await database.close()
