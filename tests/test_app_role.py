"""The service's own login: rows yes, schema no; the owner migrates and manages it.

Against a PostgreSQL that checks passwords (scram-sha-256, as RDS), with an
owner that is no superuser but may create roles, as RDS's master user.
"""

import itertools

import asyncpg
import pytest

from handler.app import create_app
from handler.db.app_role import ensure_app_role, scram_verifier
from handler.db.migrate import migrate
from handler.settings import Settings
from tests.conftest import Api
from tests.standins.firebase import PROJECT_ID
from tests.tcp_postgres import start

_numbers = itertools.count()


@pytest.fixture(scope="module")
def server():
    running = start()
    yield running.server
    running.stop()


class Stack:
    def __init__(self, server, owner: str, app: str, database: str) -> None:
        self.server, self.owner, self.app, self.database = server, owner, app, database

    async def as_owner(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.server.url(self.database, user=self.owner, password="o"))

    async def as_app(self, password: str = "app-password-1") -> asyncpg.Connection:
        return await asyncpg.connect(
            self.server.url(self.database, user=self.app, password=password)
        )

    async def ensure(self, password: str) -> None:
        conn = await self.as_owner()
        try:
            await ensure_app_role(conn, self.app, password)
        finally:
            await conn.close()


@pytest.fixture
async def stack(server) -> Stack:
    """A database owned by an RDS-master-like role, migrated by it, with the app's login."""
    n = next(_numbers)
    stack = Stack(server, f"owner_{n}", f"debugflow_app_{n}", f"least_{n}")
    admin = await asyncpg.connect(server.admin_url())
    try:
        await admin.execute(f"CREATE ROLE {stack.owner} LOGIN CREATEROLE PASSWORD 'o'")
        await admin.execute(f"CREATE DATABASE {stack.database} OWNER {stack.owner}")
    finally:
        await admin.close()
    conn = await stack.as_owner()
    try:
        await migrate(conn)
    finally:
        await conn.close()
    await stack.ensure("app-password-1")
    return stack


async def test_the_app_role_reads_and_writes_rows(stack):
    conn = await stack.as_app()
    try:
        await conn.execute("INSERT INTO users (id, email) VALUES ('u1', 'a@example.com')")
        await conn.execute("UPDATE users SET name = 'A' WHERE id = 'u1'")
        assert await conn.fetchval("SELECT name FROM users WHERE id = 'u1'") == "A"
        await conn.execute("DELETE FROM users WHERE id = 'u1'")
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE intruder (id int)",
        "CREATE TEMPORARY TABLE scratch (id int)",
        "CREATE SCHEMA intruder",
        "CREATE INDEX users_name ON users (name)",
        "ALTER TABLE users ADD COLUMN intruder text",
        "DROP TABLE messages",
        "TRUNCATE users CASCADE",
        "INSERT INTO schema_migrations (version) VALUES ('9999')",
        "DELETE FROM schema_migrations",
        "ALTER ROLE CURRENT_USER CREATEDB",
    ],
)
async def test_the_app_role_is_refused_ddl(stack, statement):
    conn = await stack.as_app()
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_running_it_again_changes_the_password_and_keeps_the_grants(stack):
    await stack.ensure("app-password-2")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await stack.as_app("app-password-1")
    conn = await stack.as_app("app-password-2")
    try:
        assert await conn.fetchval("SELECT count(*) FROM users") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE intruder (id int)")
    finally:
        await conn.close()


async def test_the_server_stores_only_a_verifier(stack):
    admin = await asyncpg.connect(stack.server.admin_url())
    try:
        stored = await admin.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1", stack.app
        )
    finally:
        await admin.close()
    assert stored.startswith("SCRAM-SHA-256$4096:") and "app-password-1" not in stored
    # A fresh salt each time; the same salt gives the same verifier.
    assert scram_verifier("x") != scram_verifier("x")
    assert scram_verifier("x", salt=bytes(16)) == scram_verifier("x", salt=bytes(16))


async def test_an_empty_password_is_refused_before_anything_changes(stack):
    with pytest.raises(ValueError, match="empty password"):
        await stack.ensure("")
    (await stack.as_app()).terminate()  # the old password still works


async def test_the_service_works_as_the_app_role(stack, make_client, firebase):
    settings = Settings.from_env(
        {},
        database_url=stack.server.url(stack.database, user=stack.app, password="app-password-1"),
        database_ssl="require",
        firebase_project_id=PROJECT_ID,
        firebase_certs_url=firebase.url,
    )
    api = Api(await make_client(create_app(settings)), firebase)
    created = await api.json("POST", "/api/sessions", status=201)
    sessions = await api.json("GET", "/api/sessions")
    assert [s["id"] for s in sessions] == [created["id"]]


async def test_a_role_with_more_than_a_login_is_refused(stack):
    admin = await asyncpg.connect(stack.server.admin_url())
    try:
        await admin.execute(f"ALTER ROLE {stack.app} CREATEDB")
    finally:
        await admin.close()
    with pytest.raises(PermissionError, match=f"role {stack.app} may createdb"):
        await stack.ensure("app-password-2")
    (await stack.as_app()).terminate()  # rolled back: the password did not change either


async def test_the_migrate_step_runs_as_the_owner_and_keeps_the_apps_login(server, extension):
    """What `make admin ARGS=migrate` runs in the function: the owner's secret migrates,
    the service's secret becomes a DML-only login; run again, it changes nothing."""
    from handler import admin_cli
    from handler.secrets import Secrets

    n = next(_numbers)
    owner, app, database = f"owner_{n}", f"debugflow_app_{n}", f"least_{n}"
    admin = await asyncpg.connect(server.admin_url())
    try:
        await admin.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE PASSWORD 'o'")
        await admin.execute(f"CREATE DATABASE {database} OWNER {owner}")
    finally:
        await admin.close()
    owner_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-owner-AbCdEf"
    app_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:debugflow-app-GhIjKl"
    extension.secrets[owner_arn] = {"username": owner, "password": "o"}
    extension.secrets[app_arn] = {"username": app, "password": "app-password-9"}
    settings = Settings.from_env(
        {},
        database_url=server.url(database),  # no login in the URL: the secrets carry them
        database_owner_secret_arn=owner_arn,
        database_secret_arn=app_arn,
        secrets_extension_port=extension.port,
    )

    assert (await admin_cli.migrate_database(settings, Secrets(settings))).startswith("applied: ")
    stack = Stack(server, owner, app, database)
    conn = await stack.as_app("app-password-9")
    try:
        await conn.execute("INSERT INTO users (id, email) VALUES ('u1', 'a@example.com')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE sneaky (id int)")
    finally:
        await conn.close()
    conn = await stack.as_owner()
    try:
        assert (
            await conn.fetchval("SELECT tableowner FROM pg_tables WHERE tablename = 'users'")
            == owner
        )
    finally:
        await conn.close()
    assert await admin_cli.migrate_database(settings, Secrets(settings)) == "schema is up to date"
