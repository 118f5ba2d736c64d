"""Migrations: the schema, idempotence, and two runners at once."""

import asyncio
import sys
from urllib.parse import urlsplit

import asyncpg
import pytest

from handler.db.migrate import LOCK_KEY, discover, migrate, missing
from tests.pgbouncer import start as start_pgbouncer


async def _tables(conn):
    rows = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    return {r["table_name"] for r in rows}


async def test_first_migration_creates_the_schema(fresh_database):
    conn = await asyncpg.connect(await fresh_database())
    try:
        applied = await migrate(conn)
        assert applied == [m.version for m in discover()]
        assert {
            "users",
            "projects",
            "sessions",
            "messages",
            "user_memories",
            "usage_counters",
            "global_settings",
            "schema_migrations",
        } <= await _tables(conn)
    finally:
        await conn.close()


async def test_applying_twice_changes_nothing(fresh_database):
    conn = await asyncpg.connect(await fresh_database())
    try:
        await migrate(conn)
        before = await conn.fetch("SELECT version, applied_at FROM schema_migrations")
        assert await migrate(conn) == []
        after = await conn.fetch("SELECT version, applied_at FROM schema_migrations")
        assert before == after
    finally:
        await conn.close()


async def test_an_up_to_date_schema_is_not_locked(fresh_database):
    """A container starting with MIGRATE_ON_START on a migrated database reads, and does
    not queue behind a migration another runner holds the lock for."""
    url = await fresh_database()
    conn, holder = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        await migrate(conn)
        await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        # Waiting for the lock would never end: the holder keeps it until the check is done.
        assert await asyncio.wait_for(migrate(conn), 30) == []
    finally:
        await holder.close()
        await conn.close()


async def test_concurrent_runners_apply_each_version_once(fresh_database):
    url = await fresh_database()
    conns = [await asyncpg.connect(url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in discover()]
        count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert count == len(discover())
    finally:
        for c in conns:
            await c.close()


async def test_every_foreign_key_is_indexed(db):
    # A foreign key column without an index makes ON DELETE scans slow.
    rows = await db.fetch(
        """
        SELECT c.conrelid::regclass::text AS tbl, a.attname AS col
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
        )
        """
    )
    assert [dict(r) for r in rows] == []


async def test_the_migrate_command_as_operators_run_it(fresh_database):
    url = await fresh_database()
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "DATABASE_SSL": "disable"}

    async def run() -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "handler",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        return out.decode().strip()

    versions = ", ".join(m.version for m in discover())
    assert await run() == f"applied: {versions}"
    assert await run() == "schema is up to date"


async def test_runners_sharing_a_pooled_server_connection_apply_each_version_once(
    fresh_database, postgres
):
    """Two runners through pgbouncer with one server connection: their statements
    interleave on the same server session, where a session lock taken by one is already
    held by the other (it is the same session), and neither waits."""
    url = await fresh_database()
    bouncer = start_pgbouncer(postgres.url(), pool_size=1)
    try:
        pooled = bouncer.url(urlsplit(url).path.lstrip("/"))
        conns = [await asyncpg.connect(pooled, statement_cache_size=0) for _ in range(2)]
        try:
            results = await asyncio.gather(*(migrate(c) for c in conns))
        finally:
            for c in conns:
                await c.close()
    finally:
        bouncer.stop()
    assert sorted(v for result in results for v in result) == [m.version for m in discover()]
    admin = await postgres.admin()
    try:
        locks = await admin.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert locks == 0
    finally:
        await admin.close()


async def test_missing_names_what_a_container_would_refuse_for(fresh_database):
    conn = await asyncpg.connect(await fresh_database())
    try:
        every = [m.version for m in discover()]
        assert await missing(conn) == every  # not even schema_migrations yet
        await migrate(conn)
        assert await missing(conn) == []
        await conn.execute("DELETE FROM schema_migrations WHERE version = $1", every[-1])
        assert await missing(conn) == [every[-1]]
    finally:
        await conn.close()


async def test_a_migration_outlasts_the_roles_statement_timeout(fresh_database, tmp_path):
    """Behind a pooler the statement timeout is set on the role (docs/deploy.md); it bounds
    requests, and a long migration still runs to the end."""
    (tmp_path / "0001_slow.sql").write_text("SELECT pg_sleep(0.6);")
    url = await fresh_database()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            f"ALTER DATABASE {urlsplit(url).path.lstrip('/')} SET statement_timeout = '300ms'"
        )
    finally:
        await conn.close()
    conn = await asyncpg.connect(url)  # a new session, with the database's timeout
    try:
        with pytest.raises(asyncpg.QueryCanceledError):
            await conn.execute("SELECT pg_sleep(0.6)")
        assert await migrate(conn, tmp_path) == ["0001"]
    finally:
        await conn.close()
