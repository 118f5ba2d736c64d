"""Migrations: the schema, idempotence, and two runners at once."""

import asyncio
import sys

import asyncpg

from handler.db.migrate import discover, migrate


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
