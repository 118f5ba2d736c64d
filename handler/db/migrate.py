"""Ordered, versioned SQL migrations, applied once per deploy; what a container checks.

Files in `migrations/` are named `NNNN_description.sql` and applied in order,
each in its own transaction, and recorded in `schema_migrations`. Each of those
transactions takes a transaction-level advisory lock first and checks again,
so concurrent runners apply each file once; the lock ends with its transaction,
so it cannot outlive the runner on a pooled server connection (a session lock
did, behind pgbouncer) and nothing pins an RDS Proxy connection past it.

Containers do not migrate (MIGRATE_ON_START is for `make dev`): they read the
applied versions, without a lock, and refuse while any is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# An arbitrary constant: "debug" in ASCII (64 65 62 75 67); shared by every runner.
LOCK_KEY = 0x6465627567


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        version = path.stem.split("_", 1)[0]
        if not version.isdigit():
            raise ValueError(f"migration {path.name} must start with a number")
        found.append(Migration(version, path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}")
    return found


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; return the versions applied by this call."""
    if not await missing(conn, directory):
        return []  # one read, instead of a lock and a transaction per migration
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    return [m.version for m in discover(directory) if await _apply(conn, m)]


async def _apply(conn: asyncpg.Connection, migration: Migration) -> bool:
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        if await conn.fetchval(
            "SELECT true FROM schema_migrations WHERE version = $1", migration.version
        ):
            return False  # another runner applied it while this one waited for the lock
        # The role's statement_timeout (docs/deploy.md) bounds requests, not a migration;
        # LOCAL ends with the transaction, so nothing outlives it on a pooled connection.
        await conn.execute("SET LOCAL statement_timeout = 0")
        await conn.execute(migration.path.read_text())
        await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", migration.version)
    return True


async def missing(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Versions this release needs that the database lacks (no lock: a read)."""
    import asyncpg

    try:
        rows = await conn.fetch("SELECT version FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        rows = []
    applied = {r["version"] for r in rows}
    return [m.version for m in discover(directory) if m.version not in applied]
